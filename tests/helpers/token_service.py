"""Run the token-service simulator as a separate process for the tests, on 127.0.0.1."""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
SIM_API_KEY = "sim-key-0123456789abcdefghijklmnopqrstuv"
WEBHOOK_SECRET = "webhook-secret-9876543210zyxwvutsrqponm"


class SimulatorProcess:
    def __init__(self, state_path: Path, webhook_url: str | None = None) -> None:
        command = [
            sys.executable, "manage.py", "run_token_service", "--port", "0", "--state", str(state_path),
            "--api-key", SIM_API_KEY, "--webhook-secret", WEBHOOK_SECRET,
        ]  # fmt: skip
        if webhook_url:
            command += ["--webhook-url", webhook_url]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if "http://" not in line:
            self.process.kill()
            raise RuntimeError(f"simulator did not start: {line!r} {self.process.stderr.read()[:2000]!r}")
        self.url = line.strip().rsplit(" ", 1)[-1]

    def call(self, method: str, path: str, body: dict | None = None, *, auth: bool = True) -> tuple[int, dict]:
        request = urllib.request.Request(  # noqa: S310 - the simulator on 127.0.0.1
            f"{self.url}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {SIM_API_KEY}"} if auth else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def configure(self, **config) -> None:
        status, _ = self.call("POST", "/_sim/config", config)
        assert status == 200

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process.stdout.close()
        self.process.stderr.close()


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
