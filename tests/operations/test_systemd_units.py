"""The systemd units in deploy/systemd/ pass `systemd-analyze verify`: every key known, every
command present. They are checked as installed: /opt/card-vault is a temporary tree whose virtualenv
points at this checkout's."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.gunicorn_server import ROOT

UNITS = ROOT / "deploy" / "systemd"
INSTALL_PATH = "/opt/card-vault"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"

pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and not os.path.exists(SYSTEMD_ANALYZE),
    reason="systemd-analyze is not installed (CI installs it and runs these tests)",
)


def installed(tmp_path: Path) -> Path:
    """The units as on a host, with the install path at a tree of this checkout's executables."""
    venv_bin = tmp_path / "opt" / ".venv-prod" / "bin"
    venv_bin.mkdir(parents=True)
    for name in ("python", "gunicorn"):
        (venv_bin / name).symlink_to(Path(sys.executable).parent / name)
    units = tmp_path / "units"
    units.mkdir()
    for unit in sorted(UNITS.iterdir()):
        (units / unit.name).write_text(unit.read_text().replace(INSTALL_PATH, str(tmp_path / "opt")))
    return units


def verify(units: Path) -> subprocess.CompletedProcess:
    names = sorted(path.name for path in units.iterdir())
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *names],
        cwd=units, capture_output=True, text=True, timeout=60,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"},
    )  # fmt: skip


def test_the_units_verify(tmp_path):
    units = installed(tmp_path)
    assert {path.name for path in units.iterdir()} >= {
        "card-vault.service", "card-vault-worker.service", "card-vault-purge.service",
        "card-vault-purge.timer", "card-vault-migrate.service", "card-vault-tls.service",
    }  # fmt: skip
    done = verify(units)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_a_broken_unit_is_caught(tmp_path):
    units = installed(tmp_path)
    service = units / "card-vault.service"
    service.write_text(service.read_text().replace("gunicorn -c", "gunicorn-missing -c").replace("UMask=", "Umask="))
    done = verify(units)
    assert done.returncode != 0 and "gunicorn-missing" in done.stderr and "Umask" in done.stderr


def test_the_service_runs_the_vault_in_production_with_no_env_file():
    service = (UNITS / "card-vault.service").read_text()
    assert "VAULT_ENV=production" in service and "VAULT_ENV_FILE=" in service
    assert "EnvironmentFile=/etc/card-vault/env" in service and "ProtectSystem=strict" in service
