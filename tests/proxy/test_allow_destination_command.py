import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.actions import AuditAction
from audit.models import AuditEvent
from proxy.models import ProxyDestination
from proxy.services import destination_add
from tests.helpers.tenants import TEST_ACTOR, make_tenant


def run(*args) -> list[dict]:
    out = StringIO()
    call_command("allow_destination", *args, "--json", stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture
def merchant(db):
    return make_tenant("Allowlist").merchant


def test_add_is_pending_until_a_second_person_approves(merchant):
    (added,) = run(merchant.id, "https://API.Processor.example:8443/v1/charges?x=1")
    assert added["destination"] == "https://api.processor.example:8443" and added["state"] == "pending"
    # The operator who added it cannot approve it; the refusal is audited.
    with pytest.raises(CommandError, match="second person"):
        run(merchant.id, "--approve", str(added["id"]))
    refused = AuditEvent.objects.get(action=AuditAction.PROXY_DESTINATION_APPROVE)
    assert refused.outcome == AuditEvent.Outcome.DENIED


def test_an_operator_approves_a_destination_someone_else_added(merchant):
    destination = destination_add(actor=TEST_ACTOR, merchant=merchant, url="https://api.processor.example")
    (approved,) = run(merchant.id, "--approve", str(destination.pk))
    assert approved["state"] == "active" and approved["approved_by"].startswith("operator:")


def test_single_control_list_and_revoke(merchant, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (added,) = run(merchant.id, "https://api.processor.example", "--single-control", "--ca-bundle", str(bundle))
    assert added["state"] == "active" and added["custom_ca"] is True
    assert [row["id"] for row in run(merchant.id, "--list")] == [added["id"]]
    (revoked,) = run(merchant.id, "--revoke", str(added["id"]))
    assert revoked["state"] == "revoked"
    actions = list(
        AuditEvent.objects.filter(object_type="proxy_destination").order_by("id").values_list("action", "outcome")
    )
    assert actions == [("proxy_destination.add", "success"), ("proxy_destination.revoke", "success")]
    # Once revoked, the same origin may be added again.
    assert run(merchant.id, "https://api.processor.example", "--single-control")[0]["state"] == "active"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://api.processor.example"], "http or https"),
        (["https://user:pw@api.processor.example"], "credentials"),
        (["--approve", "999"], "no destination 999"),
        ([], "give a URL"),
    ],
)
def test_refusals_are_clear(merchant, args, message):
    with pytest.raises(CommandError, match=message):
        run(merchant.id, *args)
    assert not ProxyDestination.objects.for_merchant(merchant).exists()


def test_a_duplicate_and_an_unknown_merchant_are_refused(merchant):
    run(merchant.id, "https://api.processor.example", "--single-control")
    with pytest.raises(CommandError, match="already on this merchant's allowlist"):
        run(merchant.id, "https://api.processor.example:443/other")
    with pytest.raises(CommandError, match="no merchant"):
        run("mer_nobody", "https://api.processor.example")
