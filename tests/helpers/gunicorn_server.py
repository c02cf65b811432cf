"""Run the vault under gunicorn, as in production, for crash and outage tests (127.0.0.1 only)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]  # the repository


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GunicornServer:
    def __init__(self, database_url: str, workers: int = 3, extra_env: dict | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "VAULT_BIND": f"127.0.0.1:{self.port}",
            "VAULT_WORKERS": str(workers),
            "VAULT_RATE_LIMIT_PER_MINUTE": "0",
            "VAULT_ACCESS_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]

    def run_to_exit(self, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a server expected to refuse to start: its exit status and output."""
        return subprocess.run(self.command(), cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)

    def start(self, timeout: float = 60, ready_statuses: tuple[int, ...] = (200,)) -> requests.Response:
        """Start, and wait until readiness answers one of *ready_statuses*; return that answer."""
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so kill -9 takes the workers too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ready = requests.get(f"{self.url}/health/ready", timeout=2)
                if ready.status_code in ready_statuses:
                    return ready
            except requests.RequestException:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited during start-up")
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def kill_hard(self) -> None:
        """kill -9 the master and every worker: no graceful shutdown, as a crash."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
