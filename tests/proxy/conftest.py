import pytest

from merchants import scopes
from proxy.services import destination_add
from tests.helpers.api import VaultClient
from tests.helpers.customers import create_customer
from tests.helpers.processor import ProcessorSimulator
from tests.helpers.tenants import TEST_ACTOR, issue_key, make_tenant

PROXY_SCOPES = [*scopes.DEFAULT_SCOPES, scopes.PAYMENT_METHODS_PROXY]


@pytest.fixture(scope="session")
def processor(tmp_path_factory):
    simulator = ProcessorSimulator(tmp_path_factory.mktemp("processor"))
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def proxy_settings(settings, processor):
    # The processor listens on 127.0.0.1, which the proxy refuses unless told otherwise.
    settings.VAULT_PROXY_ALLOW_ADDRESSES = ["127.0.0.1/32"]
    settings.VAULT_PROXY_NAMESERVERS = []
    settings.VAULT_PROXY_READ_TIMEOUT = 2.0
    settings.VAULT_PROXY_TOTAL_TIMEOUT = 3.0
    processor.answer()
    processor.forget()
    return settings


@pytest.fixture
def shop(db, processor):
    """A merchant with a proxy key, a customer and the processor approved as a destination."""
    tenant = make_tenant("Proxy shop")
    client = VaultClient(issue_key(tenant, key_scopes=PROXY_SCOPES), tenant.profile.id)
    destination = destination_add(
        actor=TEST_ACTOR, merchant=tenant.merchant, url=processor.url, ca_bundle=processor.ca_pem, single_control=True
    )
    customer = create_customer(client)
    return tenant, client, customer, destination
