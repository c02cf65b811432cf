"""The console in a real browser (headless Chromium through Playwright) against a live server.

Each test signs in as a person would: password, then a TOTP code computed from the user's device.
Screenshots of the main pages land in test-artifacts/screenshots/.
"""

import json
import os
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import Group

from audit.models import AuditEvent
from console import roles
from tests.helpers.api import VaultClient
from tests.helpers.console import ADMIN, PASSWORD, current_code, leaked_card_number, make_console_user
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_number, create_payment_method
from tests.helpers.tenants import make_tenant
from tokens import cards

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop on this thread; Django's ORM calls from the test itself
    # are still synchronous, so tell Django not to refuse them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def shoot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


def sign_in(page, base: str, console_user, *, screenshots: bool = False) -> None:
    page.goto(f"{base}{ADMIN}")
    assert "/login/" in page.url
    page.fill("#id_username", console_user.user.username)
    page.fill("#id_password", PASSWORD)
    if screenshots:
        shoot(page, "01-login")
    page.click("input[type=submit]")
    page.wait_for_url("**/login/otp/**")
    page.fill("#id_otp_token", current_code(console_user.device))
    if screenshots:
        shoot(page, "02-otp-step")
    page.click("#otp-form input[type=submit]")
    page.wait_for_url(f"{base}{ADMIN}")


def api_get(base: str, path: str, key: str, profile_id: str) -> tuple[int, dict]:
    response = requests.get(f"{base}{path}", headers={"api-key": key, "X-Profile-Id": profile_id}, timeout=10)
    return response.status_code, response.json()


def test_an_administrator_signs_in_with_totp_and_issues_a_working_key(page, live_server):
    administrator = make_console_user("ada-admin", roles.ADMINISTRATORS)
    tenant = make_tenant("Corner Shop")
    sign_in(page, live_server.url, administrator, screenshots=True)
    assert "Card Vault console" in page.content()
    shoot(page, "03-index")

    page.click("text=Issue an API key")
    page.select_option("#id_merchant", tenant.merchant.pk)
    page.fill("#id_name", "checkout service")
    assert not page.is_checked("input[value='payment_methods:reveal']")
    assert page.is_checked("input[value='customers:read']")
    page.click("#apikey-issue-form input[type=submit]")
    key = page.input_value("#issued-key")
    assert key.startswith("vlt_")
    assert page.content().count(key) == 1

    # The documentation's screenshot must not show a usable key: mask all but the key id.
    visible = key[: len("vlt_") + 16] + "_" + "•" * 12
    page.evaluate(f"document.getElementById('issued-key').value = {json.dumps(visible)}")
    shoot(page, "04-key-issued")

    status, body = api_get(live_server.url, "/customers", key, tenant.profile.pk)
    assert status == 200, body

    page.goto(f"{live_server.url}{ADMIN}merchants/apikey/")
    assert key not in page.content() and key.split("_")[1] in page.content()


def test_support_finds_a_card_by_its_last_four_and_sees_it_masked(page, live_server):
    support = make_console_user("sam-support", roles.SUPPORT)
    tenant = make_tenant("Corner Shop")
    api = VaultClient(tenant.key, tenant.profile.pk)
    customer = create_customer(api, email="grace.hopper@example.com", name="Grace Hopper")
    numbers = [card_number(index) for index in (11, 12, 13)]
    methods = [create_payment_method(api, customer["id"], number) for number in numbers]
    target_number, target = numbers[1], methods[1]

    sign_in(page, live_server.url, support)
    page.fill("input[name=q]", target_number[-4:])
    page.click("text=Find a card")
    page.wait_for_url("**/tokens/paymentmethod/**")
    listing = page.content()
    assert target["id"] in listing and methods[0]["id"] not in listing
    assert leaked_card_number(listing, numbers) is None
    shoot(page, "05-payment-method-list")

    page.click(f"#result_list th a:has-text('{target['id']}')")
    page.wait_for_load_state()
    assert "/change/" in page.url, page.url
    detail = page.content()
    assert f"•••• {target_number[-4:]}" in detail and cards.isin(target_number) in detail
    assert leaked_card_number(detail, numbers) is None
    assert target_number not in page.inner_text("body")
    shoot(page, "06-payment-method-detail")

    page.goto(f"{live_server.url}{ADMIN}audit/auditevent/")
    assert "admin.payment_method.view" in page.content()
    shoot(page, "07-audit-list")


def test_ten_wrong_passwords_lock_the_account(page, live_server):
    administrator = make_console_user("ada-admin", roles.ADMINISTRATORS)
    login_url = f"{live_server.url}{ADMIN}login/"
    for attempt in range(10):
        page.goto(login_url)
        page.fill("#id_username", "ada-admin")
        page.fill("#id_password", f"wrong-password-{attempt}")
        page.click("input[type=submit]")
    page.goto(login_url)
    page.fill("#id_username", "ada-admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    assert "Account locked" in page.content()
    assert "/login/otp/" not in page.url
    shoot(page, "08-locked-out")
    page.goto(f"{live_server.url}{ADMIN}")
    assert "/login/" in page.url
    assert administrator.device.confirmed
    # Another administrator sees the lock-out and lifts it, giving a reason.
    colleague = make_console_user("bob-admin", roles.ADMINISTRATORS)
    sign_in(page, live_server.url, colleague)
    page.goto(f"{live_server.url}{ADMIN}console/lockedsignin/")
    assert "ada-admin" in page.inner_text("#result_list")
    shoot(page, "09-locked-sign-ins")
    page.check("#result_list input[name=_selected_action]")
    page.select_option("select[name=action]", "unlock_selected")
    page.click("button[name=index]")
    page.fill("#id_reason", "Ada called from her desk phone; her manager confirmed")
    page.click("input[value=Unlock]")
    page.wait_for_url("**/console/lockedsignin/")
    assert "Unlocked ada-admin" in page.content()
    event = AuditEvent.objects.get(action="admin.unlock")
    assert event.actor_id == "bob-admin" and event.details["reason"].startswith("Ada called")


def test_an_administrator_granting_themselves_the_support_role_is_refused_and_audited(page, live_server):
    administrator = make_console_user("ada-admin", roles.ADMINISTRATORS)
    support = Group.objects.get(name=roles.SUPPORT)
    sign_in(page, live_server.url, administrator)
    page.goto(f"{live_server.url}{ADMIN}auth/user/{administrator.user.pk}/change/")
    assert page.locator("select[name=groups]").count() == 0  # roles are shown, not editable
    assert roles.ADMINISTRATORS in page.inner_text("body")
    # What someone with the browser's developer tools would do: add the field to the form and send it.
    page.evaluate(
        """(supportId) => {
            const form = document.getElementById('user_form');
            const field = document.createElement('input');
            field.type = 'hidden'; field.name = 'groups'; field.value = supportId;
            form.appendChild(field);
        }""",
        support.pk,
    )
    page.click("input[name=_save]")
    page.wait_for_load_state()
    assert "Not allowed" in page.content()
    shoot(page, "10-self-grant-refused")
    assert sorted(administrator.user.groups.values_list("name", flat=True)) == [roles.ADMINISTRATORS]
    refusal = AuditEvent.objects.get(action="admin.denied", actor_id="ada-admin")
    assert refusal.details["reason"] == "read-only access fields posted: groups" and refusal.outcome == "denied"
    page.goto(f"{live_server.url}{ADMIN}tokens/paymentmethod/")
    assert "Not allowed" in page.content()
