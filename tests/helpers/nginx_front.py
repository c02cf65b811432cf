"""The vault behind its real TLS front on 127.0.0.1: gunicorn, and nginx with deploy/nginx's
configuration rendered by scripts/nginx_front.py, under a certificate made by trustme."""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import warnings
from pathlib import Path

import trustme

from tests.helpers.gunicorn_server import ROOT, GunicornServer, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CLIENT_TIMEOUT = 2  # seconds nginx waits for the next bytes of a request


class TlsFront:
    def __init__(self, database_url: str, workdir: Path) -> None:
        self.workdir = workdir
        ca = trustme.CA()
        server_cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = workdir / "ca.pem"
        self.cert_file = workdir / "server.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        server_cert.private_key_and_cert_chain_pem.write_to_path(str(self.cert_file))
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.vault = GunicornServer(
            database_url,
            workers=1,
            extra_env={"VAULT_BEHIND_TLS_PROXY": "true", "VAULT_TRUSTED_PROXIES": "127.0.0.1"},
        )
        self.nginx: subprocess.Popen | None = None

    def start(self) -> None:
        self.vault.start()
        env = {
            **os.environ,
            "VAULT_TLS_CERT": str(self.cert_file),
            "VAULT_TLS_KEY": str(self.cert_file),
            "VAULT_TLS_LISTEN": f"127.0.0.1:{self.port}",
            "VAULT_TLS_SERVER_NAMES": "127.0.0.1 localhost",
            "VAULT_BIND": f"127.0.0.1:{self.vault.port}",
            "VAULT_TLS_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT),
        }
        run_dir = self.workdir / "nginx"
        rendered = subprocess.run(
            [sys.executable, "scripts/nginx_front.py", "render", str(run_dir)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        config = rendered.stdout.strip()
        self.nginx = subprocess.Popen(
            [NGINX, "-p", str(run_dir), "-c", config, "-g", "daemon off;"], start_new_session=True
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                assert self.nginx.poll() is None, "nginx exited at start"
                time.sleep(0.1)
        raise RuntimeError("nginx did not listen")

    def tls_socket(self, *, maximum: ssl.TLSVersion | None = None) -> ssl.SSLSocket:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if maximum is not None:
            with warnings.catch_warnings():  # asking for an old version on purpose, to see it refused
                warnings.simplefilter("ignore", DeprecationWarning)
                context.maximum_version = maximum
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return context.wrap_socket(raw, server_hostname="127.0.0.1")

    def stop(self) -> None:
        if self.nginx and self.nginx.poll() is None:
            os.killpg(self.nginx.pid, signal.SIGTERM)
            self.nginx.wait(timeout=10)
        self.vault.stop()
