"""Idempotency-Key on POST creates: replay, conflict, in-flight, per-merchant scope, expiry."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer
from idempotency.models import IdempotencyRecord
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import CUSTOMER_BODY, create_customer
from tests.helpers.payment_methods import VISA, card_body
from tests.helpers.tenants import make_tenant
from tokens.models import PaymentMethod


def post(api, path, body, key):
    return api.post(path, body, headers={"Idempotency-Key": key})


def test_a_retried_customer_create_is_replayed(api):
    first = post(api, "/customers", CUSTOMER_BODY, "key-1")
    second = post(api, "/v2/customers", CUSTOMER_BODY, "key-1")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert Customer.objects.count() == 1


def test_a_retried_card_create_is_replayed_and_nothing_secret_is_kept(api):
    customer = create_customer(api)
    first = post(api, "/payment_methods", card_body(customer["id"], card_cvc="123"), "pm-key")
    second = post(api, "/payment_methods", card_body(customer["id"], card_cvc="123"), "pm-key")
    assert first.content == second.content and PaymentMethod.objects.count() == 1
    stored = json.dumps(list(IdempotencyRecord.objects.values()), default=str)
    assert VISA not in stored and '"123"' not in stored


def test_the_same_key_with_another_body_is_422(api):
    post(api, "/customers", CUSTOMER_BODY, "key-2")
    response = post(api, "/customers", {**CUSTOMER_BODY, "name": "Other"}, "key-2")
    assert_error(response, 422, "IR_06")
    assert Customer.objects.count() == 1


def test_one_key_sent_by_two_merchants_creates_for_each(api, other_api):
    assert post(api, "/customers", CUSTOMER_BODY, "shared").status_code == 200
    assert post(other_api, "/customers", CUSTOMER_BODY, "shared").status_code == 200
    assert Customer.objects.count() == 2


def test_a_refused_request_is_not_kept_and_its_key_may_be_retried(api):
    assert_error(post(api, "/customers", {"name": "x"}, "retry-me"), 400, "IR_04")
    assert post(api, "/customers", CUSTOMER_BODY, "retry-me").status_code == 200
    assert not IdempotencyRecord.objects.filter(response_status__isnull=True).exists()


def test_a_request_still_in_flight_is_409(api, tenant, settings):
    settings.VAULT_IDEMPOTENCY_WAIT_SECONDS = 0.1
    first = post(api, "/customers", CUSTOMER_BODY, "busy")
    IdempotencyRecord.objects.filter(key="busy").update(response_status=None, response_body=None)
    assert_error(post(api, "/customers", CUSTOMER_BODY, "busy"), 409, "IR_38")
    assert first.status_code == 200


def test_a_request_abandoned_in_flight_is_taken_over(api, settings):
    post(api, "/customers", CUSTOMER_BODY, "orphan")
    IdempotencyRecord.objects.filter(key="orphan").update(
        response_status=None, response_body=None, created_at=timezone.now() - timedelta(seconds=120)
    )
    assert post(api, "/customers", CUSTOMER_BODY, "orphan").status_code == 200


def test_a_key_older_than_a_day_runs_the_request_again(api, settings):
    post(api, "/customers", CUSTOMER_BODY, "old")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert post(api, "/customers", CUSTOMER_BODY, "old").status_code == 200
    assert Customer.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "spaces are not allowed", "ключ"])
def test_malformed_idempotency_keys_are_400(api, key):
    if key == "ключ":
        response = api.client.post(
            "/customers", json.dumps(CUSTOMER_BODY), content_type="application/json",
            headers={**api.headers(), "Idempotency-Key": key},
        )  # fmt: skip
    else:
        response = post(api, "/customers", CUSTOMER_BODY, key)
    assert_error(response, 400, "IR_06")
    assert Customer.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_posts_with_one_key_make_one_row_and_identical_answers():
    tenant = make_tenant("Parallel")
    customer = create_customer(VaultClient(tenant.key, tenant.profile.id))
    body = card_body(customer["id"])
    answers: list[tuple[int, bytes]] = []
    barrier = threading.Barrier(20)

    def create():
        client = VaultClient(tenant.key, tenant.profile.id)
        barrier.wait()
        response = post(client, "/payment_methods", body, "parallel-key")
        answers.append((response.status_code, response.content))
        connection.close()

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 20
    assert {status for status, _ in answers} == {200}
    assert len({content for _, content in answers}) == 1
    assert PaymentMethod.objects.count() == 1
