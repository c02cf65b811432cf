"""The payment-processor simulator (scripts/processor_simulator.py) as a separate process on
127.0.0.1, serving TLS under a certificate made by trustme, for the proxy's tests."""

import json
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import trustme

ROOT = Path(__file__).resolve().parents[2]
# Names the simulator's certificate is valid for: its address, and a name the tests' DNS server answers.
CERT_NAMES = ("127.0.0.1", "localhost", "processor.test", "rebind.test", "mixed.test")


class ProcessorSimulator:
    def __init__(self, workdir: Path) -> None:
        self.ca = trustme.CA()
        self.ca_pem = self.ca.cert_pem.bytes().decode()
        cert = self.ca.issue_cert(*CERT_NAMES)
        pem = workdir / "processor.pem"  # key and chain in one file, as ssl's load_cert_chain takes it
        cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
        self.process = subprocess.Popen(
            [sys.executable, "scripts/processor_simulator.py", "--cert", str(pem), "--key", str(pem)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        line = self.process.stdout.readline()
        if "https://" not in line:
            self.process.kill()
            raise RuntimeError(f"processor simulator did not start: {line!r} {self.process.stderr.read()[:2000]!r}")
        self.url = line.strip().rsplit(" ", 1)[-1]
        self.port = int(self.url.rsplit(":", 1)[1])
        self._context = ssl.create_default_context(cadata=self.ca_pem)

    def _call(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(  # noqa: S310 - the simulator on 127.0.0.1
            f"{self.url}{path}", method=method, data=json.dumps(body).encode() if body is not None else None
        )
        with urllib.request.urlopen(request, timeout=10, context=self._context) as response:  # noqa: S310
            raw = response.read()
        return json.loads(raw) if raw else None

    def received(self) -> list[dict]:
        return self._call("GET", "/_sim/received")

    def forget(self) -> None:
        self._call("DELETE", "/_sim/received")

    def answer(self, **how) -> None:
        self._call("POST", "/_sim/answer", how)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process.stdout.close()
        self.process.stderr.close()
