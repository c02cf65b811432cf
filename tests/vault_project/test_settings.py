"""Settings fail closed: no default secret, weak secrets refused, DEBUG off unless asked."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from vault_project.config import check_api_prefixes, check_cell_id, check_secret, parse_keyring
from vault_project.devenv import ensure_env_file

ROOT = Path(__file__).resolve().parents[2]  # the repository
STRONG = "q8Zr2-Kx9_vLm4Tn7Wb1Yc6Hd3Jf0Gs5Pa"


# Production as a host runs it: settings from the environment (ours holds the checkout's .env values,
# which django-environ copied into it), no .env file read, PostgreSQL.
PRODUCTION = {
    "VAULT_ENV": "production",
    "VAULT_ENV_FILE": "",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/vault_settings_check",
}


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
    result = start_django(DJANGO_DEBUG="true", DJANGO_ALLOWED_HOSTS="vault.example", **PRODUCTION)
    assert result.returncode != 0 and "DJANGO_DEBUG" in result.stderr


def test_production_needs_allowed_hosts():
    result = start_django(DJANGO_ALLOWED_HOSTS="", **PRODUCTION)
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
        "VAULT_AUDIT_KEYS",
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
    parse_keyring("VAULT_AUDIT_KEYS", values["VAULT_AUDIT_KEYS"])
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
        "VAULT_AUDIT_KEYS",
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


@pytest.mark.parametrize("name", ["VAULT_KEYRING", "VAULT_FINGERPRINT_KEYS", "VAULT_AUDIT_KEYS"])
def test_start_up_fails_without_keys(name):
    result = start_django(**{name: ""})
    assert result.returncode != 0 and name in result.stderr


def test_audit_keys_must_not_reuse_another_keyrings_material():
    result = start_django(
        VAULT_AUDIT_KEYS=os.environ.get("VAULT_FINGERPRINT_KEYS") or _env_file_value("VAULT_FINGERPRINT_KEYS")
    )
    assert result.returncode != 0 and "VAULT_AUDIT_KEYS must not reuse" in result.stderr


def test_trusted_proxies_must_be_addresses_or_ranges():
    result = start_django(VAULT_TRUSTED_PROXIES="10.0.0.0/8,proxy.example")
    assert result.returncode != 0 and "VAULT_TRUSTED_PROXIES" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VAULT_PROXY_ALLOW_ADDRESSES": "127.0.0.1,processor.example"}, "VAULT_PROXY_ALLOW_ADDRESSES"),
        ({"VAULT_CVC_TTL": "901"}, "VAULT_CVC_TTL"),
        ({"VAULT_CVC_TTL": "0"}, "VAULT_CVC_TTL"),
        ({"VAULT_RATE_LIMIT_LEASE": "0"}, "VAULT_RATE_LIMIT_LEASE"),
    ],
)
def test_proxy_and_cvc_settings_are_checked(env, message):
    result = start_django(**env)
    assert result.returncode != 0 and message in result.stderr


def _env_file_value(name: str) -> str:
    for line in (ROOT / ".env").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{name} is neither in the environment nor in .env")


def test_start_up_fails_when_the_active_kek_is_unknown():
    result = start_django(VAULT_ACTIVE_KEK="99")
    assert result.returncode != 0 and "VAULT_ACTIVE_KEK" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VAULT_KEY_PROVIDER": "vault"}, "VAULT_KEY_PROVIDER must be"),
        ({"VAULT_KEY_PROVIDER": "pkcs11", "VAULT_PKCS11_MODULE": "/usr/lib/softhsm/libsofthsm2.so"}, "needs"),
        ({"VAULT_KEY_PROVIDER": "aws-kms"}, "VAULT_KMS_KEY_ID"),
        ({"VAULT_MERCHANT_KEY_CACHE_SECONDS": "86400"}, "VAULT_MERCHANT_KEY_CACHE_SECONDS"),
    ],
)
def test_start_up_fails_with_an_incomplete_key_provider(env, message):
    result = start_django(**env)
    assert result.returncode != 0 and message in result.stderr


def test_an_hsm_or_kms_installation_needs_no_keyring():
    pkcs11 = {
        "VAULT_KEY_PROVIDER": "pkcs11",
        "VAULT_PKCS11_MODULE": "/usr/lib/softhsm/libsofthsm2.so",
        "VAULT_PKCS11_TOKEN_LABEL": "vault",
        "VAULT_PKCS11_KEY_LABEL": "vault-root-1",
        "VAULT_PKCS11_PIN_FILE": "/run/secrets/vault-pin",
    }
    kms = {"VAULT_KEY_PROVIDER": "aws-kms", "VAULT_KMS_KEY_ID": "alias/vault-root"}
    for env in (pkcs11, kms):
        result = start_django(VAULT_KEYRING="", VAULT_ACTIVE_KEK="", **env)
        assert result.returncode == 0, result.stderr
    assert start_django(VAULT_KEYRING="", VAULT_ACTIVE_KEK="").returncode != 0  # `local` needs it


def test_production_needs_postgresql():
    result = start_django(
        **{**PRODUCTION, "DATABASE_URL": "sqlite:////tmp/vault.sqlite3"}, DJANGO_ALLOWED_HOSTS="x.test"
    )
    assert result.returncode != 0 and "needs DATABASE_URL=postgres" in result.stderr
    result = start_django(**{**PRODUCTION, "DATABASE_URL": ""}, DJANGO_ALLOWED_HOSTS="vault.example")
    assert result.returncode != 0 and "needs DATABASE_URL=postgres" in result.stderr


def test_production_refuses_a_development_env_file(tmp_path):
    development = tmp_path / "dev.env"
    ensure_env_file(development)
    result = start_django(**{**PRODUCTION, "VAULT_ENV_FILE": str(development)}, DJANGO_ALLOWED_HOSTS="vault.example")
    assert result.returncode != 0 and "is a development file" in result.stderr
    # The same file in development is what `make run` reads.
    assert start_django(VAULT_ENV="development", VAULT_ENV_FILE=str(development)).returncode == 0


def test_a_missing_secret_in_production_does_not_send_the_operator_to_make_env():
    result = start_django(**PRODUCTION, DJANGO_ALLOWED_HOSTS="vault.example", DJANGO_SECRET_KEY="")
    assert result.returncode != 0 and "set it in the environment" in result.stderr


def run_manage(*args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_overrides}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_production_with_and_without_a_tls_proxy():
    for behind_proxy in ("false", "true"):
        result = run_manage(
            "check", "--deploy", "--fail-level", "WARNING",
            **PRODUCTION, DJANGO_ALLOWED_HOSTS="vault.example", VAULT_BEHIND_TLS_PROXY=behind_proxy,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout
        assert "AXES: BEGIN" not in result.stderr  # no chatter from a library on every command


def test_production_without_a_tls_proxy_redirects_to_https_and_sends_hsts_but_answers_probes():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_REDIRECT_EXEMPT)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vault_project.settings", **PRODUCTION}
    env["DJANGO_ALLOWED_HOSTS"] = "vault.example"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split()[:2] == ["True", "31536000"], done.stderr
    assert "health" in done.stdout


def test_the_env_file_is_private_from_its_first_byte(tmp_path, monkeypatch):
    import tempfile as tempfile_module

    seen_modes = []
    real_mkstemp = tempfile_module.mkstemp

    def watching_mkstemp(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        seen_modes.append(os.stat(name).st_mode & 0o777)
        return fd, name

    monkeypatch.setattr(tempfile_module, "mkstemp", watching_mkstemp)
    path = tmp_path / ".env"
    ensure_env_file(path)
    assert seen_modes == [0o600] and path.stat().st_mode & 0o777 == 0o600
    assert [entry.name for entry in tmp_path.iterdir()] == [".env"]  # no temporary file left behind


def test_instances_share_no_gunicorn_control_socket():
    gunicorn = Path(sys.executable).parent / "gunicorn"
    printed = subprocess.run(
        [str(gunicorn), "-c", "gunicorn.conf.py", "--print-config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert re.search(r"^control_socket_disable\s+= True$", printed, re.MULTILINE)
