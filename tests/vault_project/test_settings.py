"""Settings fail closed: no default secret, weak secrets refused, DEBUG off unless asked."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from vault_project.config import check_api_prefixes, check_cell_id, check_secret, parse_keyring
from vault_project.devenv import ensure_env_file

ROOT = Path(__file__).resolve().parents[2]  # the repository
STRONG = "q8Zr2-Kx9_vLm4Tn7Wb1Yc6Hd3Jf0Gs5Pa"


def start_django(**env_overrides: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter, with the given environment on top of ours."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vault_project.settings", **env_overrides}
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "not set"),
        ("short", "too short"),
        ("a" * 64, "too weak"),
        ("abababababababababababababababababab", "too weak"),
        ("django-insecure-0123456789abcdefghijklmnopqrstuv", "placeholder"),
        ("changeme-0123456789abcdefghijklmnopqrstuvwxyz", "placeholder"),
    ],
)
def test_weak_secrets_are_refused(value, reason):
    with pytest.raises(ImproperlyConfigured, match=reason):
        check_secret("DJANGO_SECRET_KEY", value)


def test_a_strong_secret_passes():
    assert check_secret("X", STRONG) == STRONG


@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "VAULT_API_KEY_PEPPER"])
def test_start_up_fails_without_a_secret(name):
    result = start_django(**{name: ""})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and name in result.stderr


def test_start_up_fails_with_a_weak_pepper():
    result = start_django(VAULT_API_KEY_PEPPER="pepper")
    assert result.returncode != 0 and "VAULT_API_KEY_PEPPER is too short" in result.stderr


def test_debug_is_off_unless_asked():
    result = start_django()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_debug_is_refused_outside_development():
    result = start_django(DJANGO_DEBUG="true", VAULT_ENV="production", DJANGO_ALLOWED_HOSTS="vault.example")
    assert result.returncode != 0 and "DJANGO_DEBUG" in result.stderr


def test_production_needs_allowed_hosts():
    result = start_django(VAULT_ENV="production", DJANGO_ALLOWED_HOSTS="")
    assert result.returncode != 0 and "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_cell_id_and_prefixes_are_checked():
    assert check_cell_id("0a") == "0a"
    with pytest.raises(ImproperlyConfigured):
        check_cell_id("abc")
    assert check_api_prefixes(["v2"]) == ["v2"]
    with pytest.raises(ImproperlyConfigured):
        check_api_prefixes(["v9"])


def test_devenv_writes_fresh_secrets_once(tmp_path):
    path = tmp_path / ".env"
    assert set(ensure_env_file(path)) == {
        "VAULT_ENV",
        "DJANGO_SECRET_KEY",
        "VAULT_API_KEY_PEPPER",
        "VAULT_KEYRING",
        "VAULT_FINGERPRINT_KEYS",
    }
    first = path.read_text()
    assert ensure_env_file(path) == []
    assert path.read_text() == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    values = dict(line.split("=", 1) for line in first.splitlines() if "=" in line and not line.startswith("#"))
    check_secret("DJANGO_SECRET_KEY", values["DJANGO_SECRET_KEY"])
    check_secret("VAULT_API_KEY_PEPPER", values["VAULT_API_KEY_PEPPER"])
    parse_keyring("VAULT_KEYRING", values["VAULT_KEYRING"])
    parse_keyring("VAULT_FINGERPRINT_KEYS", values["VAULT_FINGERPRINT_KEYS"])
    other = tmp_path / "other.env"
    ensure_env_file(other)
    assert (
        dict(line.split("=", 1) for line in other.read_text().splitlines() if "=" in line)["DJANGO_SECRET_KEY"]
        != values["DJANGO_SECRET_KEY"]
    )


def test_devenv_completes_an_existing_file_without_touching_it(tmp_path):
    path = tmp_path / ".env"
    path.write_text(f"DJANGO_SECRET_KEY={STRONG}\n")
    assert set(ensure_env_file(path)) == {
        "VAULT_ENV",
        "VAULT_API_KEY_PEPPER",
        "VAULT_KEYRING",
        "VAULT_FINGERPRINT_KEYS",
    }
    assert path.read_text().startswith(f"DJANGO_SECRET_KEY={STRONG}\n")


def _key(byte_offset: int = 0) -> str:
    import base64

    return base64.b64encode(bytes((i * 7 + byte_offset) % 256 for i in range(32))).decode()


def test_keyring_parses_versions():
    ring = parse_keyring("K", f"1:{_key()}, 2:{_key(1)}")
    assert sorted(ring) == ["1", "2"] and all(len(v) == 32 for v in ring.values())


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "not set"),
        ("nocolon", "version number"),
        ("x:abcd", "version number"),
        ("1:not base64!!", "base64"),
        ("1:" + "QUFB" * 4, "32 bytes"),
        ("1:" + "A" * 43 + "=", "too weak"),
        (f"1:{_key()},1:{_key(1)}", "appears twice"),
        (f"1:{_key()},2:{_key()}", "same key material"),
    ],
)
def test_bad_keyrings_are_refused(value, reason):
    with pytest.raises(ImproperlyConfigured, match=reason):
        parse_keyring("VAULT_KEYRING", value)


@pytest.mark.parametrize("name", ["VAULT_KEYRING", "VAULT_FINGERPRINT_KEYS"])
def test_start_up_fails_without_keys(name):
    result = start_django(**{name: ""})
    assert result.returncode != 0 and name in result.stderr


def test_start_up_fails_when_the_active_kek_is_unknown():
    result = start_django(VAULT_ACTIVE_KEK="99")
    assert result.returncode != 0 and "VAULT_ACTIVE_KEK" in result.stderr
