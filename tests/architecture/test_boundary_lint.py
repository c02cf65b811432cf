"""scripts/lint_boundaries.py: the tenancy and card-number rules catch what they promise to."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import lint_boundaries  # noqa: E402


def messages(relative: str, source: str) -> list[str]:
    return [message for _, message in lint_boundaries.violations(relative, source)]


def test_the_project_itself_passes():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lint_boundaries.py")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("manager", ["objects", "unscoped", "_default_manager", "_base_manager"])
@pytest.mark.parametrize("model", ["Customer", "PaymentMethod"])
def test_a_view_reaching_rows_through_a_manager_is_refused(model, manager):
    found = messages("api/customers/views.py", f"def f():\n    return {model}.{manager}.all()\n")
    assert found == [f"{model}.{manager}: reach merchant rows through a selector (for_merchant), not here"]


@pytest.mark.parametrize("module", ["tokens/selectors.py", "customers/services.py", "tokens/network/services.py"])
def test_selectors_and_services_may_use_the_default_manager(module):
    assert messages(module, "PaymentMethod.objects.for_merchant(m).all()\nCustomer.objects.create()\n") == []


def test_a_cross_merchant_job_must_say_unscoped():
    job = "tokens/management/commands/purge_expired.py"
    assert messages(job, "PaymentMethod.unscoped.filter(x=1)\n") == []
    assert messages(job, "PaymentMethod.objects.filter(x=1)\n") == [
        "PaymentMethod.objects: a cross-merchant job says so with `PaymentMethod.unscoped`"
    ]


def test_other_models_are_not_merchant_owned():
    assert messages("api/health.py", "Merchant.objects.all()\nAuditEvent.objects.all()\n") == []


@pytest.mark.parametrize("attribute", ["number", "token_number"])
def test_reading_a_card_number_outside_the_named_readers_is_refused(attribute):
    source = f"def f(secret):\n    return secret.{attribute}\n"
    assert messages("tokens/services.py", source) == [
        f".{attribute}: only the readers named in tokens/crypto.py read a card number"
    ]
    for reader in lint_boundaries.CARD_NUMBER_READERS:
        assert messages(reader, source) == []


def test_the_named_readers_are_those_crypto_names():
    docstring = (ROOT / "tokens" / "crypto.py").read_text().split('"""')[1]
    for reader in lint_boundaries.CARD_NUMBER_READERS - {"tokens/crypto.py"}:
        assert reader in docstring


def test_building_a_card_secret_is_not_reading_it():
    assert messages("tokens/services.py", "CardSecret(number=digits)\n") == []
