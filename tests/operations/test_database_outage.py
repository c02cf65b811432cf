"""A real database outage: the connection fails for the length of a request, then comes back.

The API answers 503 HE_00 in its JSON envelope, whether the outage meets the request in the view or
already in authentication, stores nothing, and serves again once the database is back. Readiness
reports the database down while liveness stays up.
"""

import pytest
from django.test import Client

from customers.models import Customer
from merchants.credential_cache import credential_cache
from tests.helpers.api import assert_error
from tests.helpers.customers import CUSTOMER_BODY
from tests.helpers.outages import database_unreachable

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_answers_503_while_the_database_is_unreachable(api, settings):
    settings.VAULT_API_KEY_CACHE_SECONDS = 60  # the key is verified before the outage: the view meets it
    assert api.get("/customers").status_code == 200
    with database_unreachable():
        assert_error(api.get("/customers"), 503, "HE_00")
        assert_error(api.post("/customers", CUSTOMER_BODY), 503, "HE_00")
    assert api.get("/customers").json() == []
    assert not Customer.objects.exists()


def test_a_key_verified_during_the_outage_is_answered_503_not_401(api):
    credential_cache.clear()
    with database_unreachable():
        assert_error(api.get("/customers"), 503, "HE_00")
    assert api.get("/customers").status_code == 200


def test_readiness_reports_the_database_down_and_liveness_stays_up():
    with database_unreachable():
        ready = Client().get("/health/ready")
        live = Client().get("/health")
    assert ready.status_code == 503 and ready.json()["checks"] == {"database": False, "key_provider": True}
    assert ready.json()["error"]["code"] == "HE_00"
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert Client().get("/health/ready").status_code == 200
