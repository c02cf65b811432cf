"""The real key providers for the tests: a SoftHSM2 token and moto's KMS server, each started on this
machine by the test session, never a stand-in.

SoftHSM2 (Debian's `softhsm2`) and moto's server (the dev lock's `moto[server]`) are installed by
`.ci/run`: under CI a missing one fails the tests rather than skipping them; elsewhere they are
skipped with the reason.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
TOKEN_LABEL = "vault-tests"
# A second token nobody logs in to (PKCS#11 login is per process and token): a wrong PIN shows there.
SPARE_TOKEN_LABEL = "vault-tests-spare"
USER_PIN = "271828"
SO_PIN = "314159265"
ROOT_LABEL = "vault-root-1"


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SoftHsm:
    module: str
    token_label: str
    pin: str
    directory: Path

    def settings(self, key_label: str = ROOT_LABEL) -> dict[str, str]:
        return {
            "VAULT_PKCS11_MODULE": self.module,
            "VAULT_PKCS11_TOKEN_LABEL": self.token_label,
            "VAULT_PKCS11_KEY_LABEL": key_label,
            "VAULT_PKCS11_PIN": self.pin,
            "VAULT_PKCS11_PIN_FILE": "",
        }


def start_softhsm(directory: Path) -> SoftHsm:
    """A fresh SoftHSM2 token in *directory*, logged in with USER_PIN, holding no key yet.

    SOFTHSM2_CONF is set for this process (and the servers it starts): the library reads it once."""
    util = shutil.which("softhsm2-util")
    module = next((path for path in SOFTHSM_MODULES if os.path.exists(path)), None)
    if util is None or module is None:
        _missing("SoftHSM2 is not installed (Debian package softhsm2)")
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    config = directory / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(config)
    for label in (TOKEN_LABEL, SPARE_TOKEN_LABEL):
        subprocess.run(
            [util, "--init-token", "--free", "--label", label, "--pin", USER_PIN, "--so-pin", SO_PIN],
            check=True,
            capture_output=True,
            env={**os.environ, "SOFTHSM2_CONF": str(config)},
        )
    return SoftHsm(module=module, token_label=TOKEN_LABEL, pin=USER_PIN, directory=directory)


class MotoServer:
    """moto's server mode as a process of its own on 127.0.0.1, speaking the KMS API over HTTP."""

    def __init__(self) -> None:
        binary = Path(sys.executable).with_name("moto_server")
        if not binary.exists():
            _missing("moto's server is not installed (pip: moto[server], in requirements-dev.lock)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server did not listen on port {self.port}")

    def client(self):
        import boto3

        return boto3.session.Session().client("kms", region_name="eu-west-1", endpoint_url=self.url)

    def create_key(self, alias: str) -> str:
        """A new symmetric key under *alias*; answer the alias."""
        client = self.client()
        key_id = client.create_key(Description="vault test root key")["KeyMetadata"]["KeyId"]
        client.create_alias(AliasName=alias, TargetKeyId=key_id)
        return alias

    def settings(self, key_id: str) -> dict[str, object]:
        return {
            "VAULT_KMS_KEY_ID": key_id,
            "VAULT_KMS_REGION": "eu-west-1",
            "VAULT_KMS_ENDPOINT_URL": self.url,
            "VAULT_KMS_TIMEOUT_SECONDS": 2.0,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# moto accepts any credentials; boto3 needs some to sign with.
FAKE_AWS_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
