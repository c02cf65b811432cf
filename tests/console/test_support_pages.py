"""What support staff read in the console: card lists that say whose card it is, searches by BIN and
customer reference, deletions with when and by whom, dates with seconds and zone, readable labels,
and audit rows with names and links."""

import re

import pytest
from django.contrib.admin.utils import quote

from console import roles
from console.masking import mask_email
from customers.models import Customer
from merchants.models import Merchant
from tests.helpers.console import ADMIN, leaked_card_number, make_console_user, verified_client
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_number, create_payment_method
from tokens import cards

CARDS = f"{ADMIN}tokens/paymentmethod/"
MOMENT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC")


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def support(db):
    return verified_client(make_console_user("sam-support", roles.SUPPORT))


@pytest.fixture
def cards_on_file(api):
    grace = create_customer(api, name="Grace Hopper", email="grace@example.com", merchant_reference_id="crm-42")
    nameless = create_customer(api, name="Alan Turing", email="nobody@example.com")
    Customer.objects.filter(pk=nameless["id"]).update(name="")  # as a customer created without a name
    numbers = [card_number(21), card_number(22)]
    return {
        "grace": grace,
        "nameless": nameless,
        "numbers": numbers,
        "graces": create_payment_method(api, grace["id"], numbers[0]),
        "other": create_payment_method(api, nameless["id"], numbers[1]),
    }


def test_the_card_list_says_whose_card_it_is_with_readable_labels_and_full_moments(support, cards_on_file):
    page = support.get(CARDS).content.decode()
    assert "Grace Hopper" in page and cards_on_file["grace"]["id"] in page
    assert mask_email("nobody@example.com") in page  # a customer without a name: the masked email
    assert "nobody@example.com" not in page
    assert re.search(r"\d{4}-\d{2}-\d{2}<.*?\d{2}:\d{2}:\d{2} UTC", page, re.DOTALL), "seconds and the zone"
    assert MOMENT.search(support.get(f"{ADMIN}customers/customer/").content.decode())
    assert "No network token" in page and ">-<" not in page and "ACTIVE" not in page
    assert leaked_card_number(page, cards_on_file["numbers"]) is None


def test_cards_are_found_by_bin_and_by_customer_reference(support, cards_on_file):
    graces = cards_on_file["graces"]
    bin_digits = cards.isin(cards_on_file["numbers"][0])
    by_bin = support.get(CARDS, {"q": bin_digits}).content.decode()
    assert graces["id"] in by_bin
    by_reference = support.get(CARDS, {"q": "crm-42"}).content.decode()
    assert graces["id"] in by_reference and cards_on_file["other"]["id"] not in by_reference


def test_a_deleted_card_says_deleted_with_when_and_by_whom(support, api, tenant, cards_on_file):
    graces = cards_on_file["graces"]
    assert api.delete(f"/payment_methods/{graces['id']}").status_code == 200
    listing = support.get(CARDS).content.decode()
    assert "Deleted" in listing
    detail = support.get(f"{CARDS}{quote(graces['id'])}/change/").content.decode()
    said = re.search(r"Deleted (\S+ \S+ UTC) by api key (\w+)", detail)
    assert said and said.group(2) == tenant.api_key.key_id


def test_support_sees_no_key_prefixes_or_scopes_on_a_merchant_page(support, tenant):
    page = support.get(f"{ADMIN}merchants/merchant/{quote(tenant.merchant.pk)}/change/").content.decode()
    assert tenant.api_key.key_id not in page and "customers:read" not in page
    assert "Issue an API key" not in page and "Add profile" not in page
    administrator = verified_client(make_console_user("ada-admin", roles.ADMINISTRATORS))
    page = administrator.get(f"{ADMIN}merchants/merchant/{quote(tenant.merchant.pk)}/change/").content.decode()
    assert tenant.api_key.key_id in page and "Add profile" in page


def test_audit_rows_name_merchants_and_link_what_the_reader_may_open(support, tenant, cards_on_file):
    page = support.get(f"{ADMIN}audit/auditevent/").content.decode()
    assert f"Merchant A ({tenant.merchant.pk})" in page
    card_url = f"{CARDS}{cards_on_file['graces']['id']}/change/"
    assert f'href="{card_url}"' in page  # support may open cards
    assert "API key" in page and tenant.api_key.key_id in page
    administrator = verified_client(make_console_user("ada-admin", roles.ADMINISTRATORS))
    page = administrator.get(f"{ADMIN}audit/auditevent/").content.decode()
    assert f'href="{card_url}"' not in page  # administrators never open cards: no link
    key_url = f"{ADMIN}merchants/apikey/{tenant.api_key.pk}/change/"
    assert f'href="{key_url}"' in page


def test_the_authenticators_pages_have_a_readable_name(db):
    root = verified_client(make_console_user("root", None, superuser=True))
    page = root.get(f"{ADMIN}otp_totp/totpdevice/").content.decode()
    assert "Authenticators" in page and "Otp_Totp" not in page


def test_console_links_carry_ids_as_written_and_both_forms_open_the_page(db, support, cards_on_file):
    graces = cards_on_file["graces"]["id"]
    listing = support.get(CARDS).content.decode()
    assert f'href="{CARDS}{graces}/change/"' in listing and "_5F" not in listing
    assert support.get(f"{CARDS}{graces}/change/").status_code == 200
    assert support.get(f"{CARDS}{quote(graces)}/change/").status_code == 200  # the admin's escaped form too
    # An id whose characters read like one of the admin's escapes (`_3A` is an escaped colon).
    tricky = Merchant.objects.create(id="mer_3A5Fxyz", name="Tricky")
    assert support.get(f"{ADMIN}merchants/merchant/{tricky.pk}/change/").status_code == 200
    assert support.get(f"{ADMIN}merchants/merchant/{quote(tricky.pk)}/change/").status_code == 200
