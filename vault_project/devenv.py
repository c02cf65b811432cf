"""Write a local development `.env` with freshly generated secrets.

Run as `python -m vault_project.devenv [PATH]`. An existing file is kept as it is; only variables it
lacks are appended, so secrets already in use never change. The file is git-ignored.
"""

import base64
import os
import secrets
import sys
import tempfile
from pathlib import Path


def fresh_values() -> dict[str, str]:
    return {
        "VAULT_ENV": "development",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "VAULT_API_KEY_PEPPER": secrets.token_urlsafe(32),
        "VAULT_KEYRING": f"1:{new_key()}",
        "VAULT_FINGERPRINT_KEYS": f"1:{new_key()}",
        "VAULT_AUDIT_KEYS": f"1:{new_key()}",
    }


def new_key() -> str:
    """A 256-bit key, base64-encoded, as the keyring settings expect."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def existing_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            names.add(line.split("=", 1)[0].removeprefix("export ").strip())
    return names


def ensure_env_file(path: Path) -> list[str]:
    """Create or complete *path*; return the names of the variables written."""
    text = path.read_text() if path.exists() else "# Local development settings, generated; never commit this file.\n"
    missing = {name: value for name, value in fresh_values().items() if name not in existing_names(text)}
    if missing:
        if not text.endswith("\n"):
            text += "\n"
        text += "".join(f"{name}={value}\n" for name, value in missing.items())
        _write_private(path, text)
    return list(missing)


def _write_private(path: Path, text: str) -> None:
    """Write *path* readable by its owner only from the first byte: a temporary file created 0600 in
    the same directory, then renamed over it, so no reader ever sees it open or half written."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv: list[str]) -> None:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / ".env"
    written = ensure_env_file(path)
    if written:
        print(f"{path}: wrote {', '.join(written)}")  # noqa: T201 - a command-line script


if __name__ == "__main__":
    main(sys.argv)
