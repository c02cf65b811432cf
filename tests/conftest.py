"""Fixtures: two merchants with keys, and an API client for each. Helpers live in tests/helpers/."""

import os

import pytest

from tests.helpers.api import VaultClient
from tests.helpers.redis_server import RedisProcess
from tests.helpers.tenants import Tenant, make_tenant


@pytest.fixture(scope="session", autouse=True)
def flush_past_the_audit_trigger():
    """Between transactional tests Django empties every table with TRUNCATE, which the audit trail's
    trigger refuses on PostgreSQL. The test database's user is a superuser: it flushes with triggers
    skipped, as only a superuser can (the application's role cannot)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    flush = DatabaseOperations.execute_sql_flush

    def flush_with_triggers_skipped(self, sql_list):
        with self.connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            flush(self, sql_list)
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    DatabaseOperations.execute_sql_flush = flush_with_triggers_skipped
    yield
    DatabaseOperations.execute_sql_flush = flush


@pytest.fixture
def tenant(db) -> Tenant:
    return make_tenant("Merchant A")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return make_tenant("Merchant B")


@pytest.fixture
def api(tenant) -> VaultClient:
    return VaultClient(tenant.key, tenant.profile.id)


@pytest.fixture
def other_api(other_tenant) -> VaultClient:
    return VaultClient(other_tenant.key, other_tenant.profile.id)


@pytest.fixture(autouse=True)
def fresh_credential_cache():
    """Each test starts with no verified key remembered by this process, nor any revocation epoch seen."""
    from merchants.credential_cache import credential_cache

    credential_cache.reset()
    yield
    credential_cache.reset()


@pytest.fixture(autouse=True)
def fresh_merchant_key_cache():
    """Each test starts with no merchant key unwrapped in this process: its database rows are gone."""
    from tokens.merchant_keys import cache

    cache.forget()
    yield
    cache.forget()


@pytest.fixture
def redis_server():
    """A Redis server of this test's own on 127.0.0.1, which the test may stop."""
    server = RedisProcess()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory):
    """A SoftHSM2 token for the whole run, holding the root key ROOT_LABEL generated inside it."""
    from tests.helpers.key_providers import ROOT_LABEL, start_softhsm
    from tokens.custody.pkcs11 import Pkcs11Root, generate_root_key

    hsm = start_softhsm(tmp_path_factory.mktemp("softhsm"))
    root = Pkcs11Root(module=hsm.module, token_label=hsm.token_label, key_label=ROOT_LABEL, pin=hsm.pin)
    generate_root_key(root, ROOT_LABEL)
    return hsm


@pytest.fixture(scope="session")
def moto_kms():
    """moto's KMS server for the whole run, with a root key under alias/vault-root-1."""
    from tests.helpers.key_providers import FAKE_AWS_CREDENTIALS, MotoServer

    saved = {name: os.environ.get(name) for name in FAKE_AWS_CREDENTIALS}
    os.environ.update(FAKE_AWS_CREDENTIALS)
    server = MotoServer()
    server.root_alias = server.create_key("alias/vault-root-1")
    yield server
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def use_key_provider(settings, name: str, request) -> None:
    """Point the vault at the real provider *name* (starting it if needed) for this test."""
    from tokens.custody import forget_providers

    settings.VAULT_KEY_PROVIDER = name
    if name == "pkcs11":
        for setting, value in request.getfixturevalue("softhsm").settings().items():
            setattr(settings, setting, value)
    elif name == "aws-kms":
        server = request.getfixturevalue("moto_kms")
        for setting, value in server.settings(server.root_alias).items():
            setattr(settings, setting, value)
    forget_providers()


@pytest.fixture(params=["local", "pkcs11", "aws-kms"])
def key_provider(request, settings):
    """Each key provider in turn, the real one: the keyring, SoftHSM2, moto's KMS server."""
    from tokens.custody import forget_providers

    use_key_provider(settings, request.param, request)
    yield request.param
    forget_providers()


@pytest.fixture
def new_root_key(request, settings):
    """A function that makes a new root key in the current provider and makes it the active one, as an
    operator would for a root rotation; it answers the new root as `provider:version`."""
    import uuid

    from tokens.custody import forget_providers, root_provider
    from tokens.custody.pkcs11 import generate_root_key
    from tokens.instances import active_root_key

    def activate() -> str:
        name, suffix = settings.VAULT_KEY_PROVIDER, uuid.uuid4().hex[:12]
        if name == "local":
            version = str(max(map(int, settings.VAULT_KEYRING)) + 1)
            settings.VAULT_KEYRING = {**settings.VAULT_KEYRING, version: os.urandom(32)}
            settings.VAULT_ACTIVE_KEK = version
        elif name == "pkcs11":
            label = f"vault-root-{suffix}"
            generate_root_key(root_provider("pkcs11"), label)
            settings.VAULT_PKCS11_KEY_LABEL = label
        else:
            settings.VAULT_KMS_KEY_ID = request.getfixturevalue("moto_kms").create_key(f"alias/vault-root-{suffix}")
        forget_providers()
        return active_root_key()

    return activate
