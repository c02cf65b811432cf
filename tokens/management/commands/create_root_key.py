from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from tokens.custody.pkcs11 import Pkcs11Root, generate_root_key
from tokens.keys import KeyProviderUnavailable


class Command(BaseCommand):
    help = (
        "Generate a root key inside the PKCS#11 token (VAULT_PKCS11_MODULE, VAULT_PKCS11_TOKEN_LABEL, the PIN): "
        "AES-256, sensitive, never extractable. The label defaults to VAULT_PKCS11_KEY_LABEL; a key under a new "
        "label, then VAULT_PKCS11_KEY_LABEL set to it and `rotate_keys --root`, is a root rotation. "
        "For aws-kms, create the key in KMS itself."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--label", help="the new key's label (default: VAULT_PKCS11_KEY_LABEL)")

    def handle(self, *args, **options) -> None:
        try:
            root = Pkcs11Root.from_settings()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        label = options["label"] or root.key_label
        try:
            generate_root_key(root, label)
        except (ValueError, KeyProviderUnavailable) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"generated root key {label!r} in token {root.token_label!r} (not extractable)")
