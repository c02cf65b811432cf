"""The vault's TLS front: render deploy/nginx/card-vault.conf.in into a run directory, and (`run`)
serve the vault behind it — gunicorn on loopback, nginx on the public address — until stopped.

    python scripts/nginx_front.py render RUN_DIR     # write RUN_DIR/nginx.conf, print its path
    python scripts/nginx_front.py run RUN_DIR        # what `make serve-tls` does

Configured from the environment: VAULT_TLS_CERT and VAULT_TLS_KEY (PEM files, required),
VAULT_TLS_LISTEN (default 0.0.0.0:8443), VAULT_TLS_SERVER_NAMES (default: DJANGO_ALLOWED_HOSTS),
VAULT_BIND (gunicorn's address, default 127.0.0.1:8000), VAULT_MAX_BODY_BYTES (default 16384, as the
vault's own limit), VAULT_TLS_CLIENT_TIMEOUT (seconds a client may take to send headers or body,
default 10), VAULT_WORKER_TIMEOUT (default 30). Error bodies come from the vault's error catalogue.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import errors  # noqa: E402 - the catalogue, importable without Django settings

TEMPLATE = ROOT / "deploy" / "nginx" / "card-vault.conf.in"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# What nginx answers itself, each as the catalogue's error: (codes nginx raises, the error shown).
# 494 is nginx's own "request header too large", 495-497 its TLS client errors (497: plain HTTP sent
# to the TLS port); they are answered with standard statuses.
FRONT_ERRORS = [
    ((400, 495, 496, 497), errors.InvalidRequest("Bad request")),
    ((408,), errors.RequestTimeout()),
    ((413,), errors.BodyTooLarge()),
    ((414,), errors.UriTooLong()),
    ((431, 494), errors.HeadersTooLarge()),
    ((500,), errors.InternalError()),
    ((502,), errors.UpstreamUnavailable()),
    ((503,), errors.DependencyUnavailable()),
    ((504,), errors.UpstreamTimeout()),
]
_HEADERS = (
    '            add_header Cache-Control "no-store" always;\n'
    '            add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;\n'
)


def _nginx_string(text: str) -> str:
    """*text* inside nginx single quotes."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _body(error: errors.VaultError) -> str:
    return _nginx_string(json.dumps(error.body(), separators=(",", ":")))


def error_pages() -> str:
    lines = []
    for codes, error in FRONT_ERRORS:
        status = error.status_code
        for code in codes:
            answer = f"={status} " if code != status else ""
            lines.append(f"        error_page {code} {answer}/_vault_error/{status};")
    for _, error in FRONT_ERRORS:
        lines.append(
            f"        location = /_vault_error/{error.status_code} {{\n            internal;\n{_HEADERS}"
            f"            return {error.status_code} '{_body(error)}';\n        }}"
        )
    return "\n".join(lines)


def settings_from_environment(run_dir: Path) -> dict[str, str]:
    cert, key = os.environ.get("VAULT_TLS_CERT", ""), os.environ.get("VAULT_TLS_KEY", "")
    if not (cert and key):
        sys.exit("VAULT_TLS_CERT and VAULT_TLS_KEY must name the PEM certificate chain and its key")
    names = os.environ.get("VAULT_TLS_SERVER_NAMES") or os.environ.get("DJANGO_ALLOWED_HOSTS", "")
    names = " ".join(name.strip() for name in names.replace(",", " ").split() if name.strip())
    if not names or not re.fullmatch(r"[A-Za-z0-9.*: _-]+", names):
        sys.exit("VAULT_TLS_SERVER_NAMES (or DJANGO_ALLOWED_HOSTS) must list the host names the vault serves")
    return {
        "run_dir": str(run_dir),
        "tls_cert": str(Path(cert).resolve()),
        "tls_key": str(Path(key).resolve()),
        "listen": os.environ.get("VAULT_TLS_LISTEN", "0.0.0.0:8443"),
        "server_names": names,
        "upstream": os.environ.get("VAULT_BIND", "127.0.0.1:8000"),
        "max_body_bytes": str(int(os.environ.get("VAULT_MAX_BODY_BYTES", 16 * 1024))),
        "client_timeout": str(int(os.environ.get("VAULT_TLS_CLIENT_TIMEOUT", 10))),
        "upstream_timeout": str(int(os.environ.get("VAULT_WORKER_TIMEOUT", 30)) + 5),
        "header_buffer": "8k",
        "error_pages": error_pages(),
        "unknown_host_body": _body(errors.InvalidRequest("This host is not served here")),
    }


def render(run_dir: Path, values: dict[str, str]) -> Path:
    text = TEMPLATE.read_text()

    def fill(match: re.Match) -> str:
        return values[match.group(1)]  # a KeyError names a value the template wants and nobody gave

    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "nginx.conf"
    path.write_text(re.sub(r"@([a-z_]+)@", fill, text))
    return path


def run(run_dir: Path) -> int:
    config = render(run_dir, settings_from_environment(run_dir))
    checked = subprocess.run([NGINX, "-t", "-q", "-p", str(run_dir), "-c", str(config)], check=False)  # noqa: S603
    if checked.returncode:
        return checked.returncode
    python = Path(sys.executable)
    gunicorn = subprocess.Popen([str(python.parent / "gunicorn"), "-c", "gunicorn.conf.py"], cwd=ROOT)  # noqa: S603
    nginx = subprocess.Popen([NGINX, "-p", str(run_dir), "-c", str(config), "-g", "daemon off;"])  # noqa: S603

    def stop(signum, frame):
        for process in (nginx, gunicorn):
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while nginx.poll() is None and gunicorn.poll() is None:
            time.sleep(0.5)  # either one stopping stops the front
    finally:
        stop(None, None)
        for process in (nginx, gunicorn):
            process.wait(timeout=35)
    return max(nginx.returncode or 0, gunicorn.returncode or 0)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("render", "run"):
        sys.exit(__doc__)
    run_dir = Path(argv[2]).resolve()
    if argv[1] == "render":
        print(render(run_dir, settings_from_environment(run_dir)))  # noqa: T201 - a command-line script
        return 0
    return run(run_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
