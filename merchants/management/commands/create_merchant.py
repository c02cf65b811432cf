from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.actors import operator_actor
from merchants.management.commands._options import KEY_SHOWN_ONCE, add_scope_argument, emit
from merchants.services import api_key_issue, merchant_create, profile_create


class Command(BaseCommand):
    help = "Create a merchant with a profile and an API key, and print them (the key only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="the merchant's name")
        parser.add_argument("--profile-name", default="default", help="name of the first profile")
        parser.add_argument("--network-tokenization", action="store_true", help="enable network tokens on the profile")
        add_scope_argument(parser)
        parser.add_argument("--json", action="store_true", help="print one JSON line")

    def handle(self, *args, **options) -> None:
        if not options["name"].strip():
            raise CommandError("the merchant's name must not be empty")
        actor = operator_actor()
        with transaction.atomic():
            merchant = merchant_create(actor=actor, name=options["name"].strip())
            profile = profile_create(
                actor=actor,
                merchant=merchant,
                name=options["profile_name"],
                network_tokenization_enabled=options["network_tokenization"],
            )
            issued = api_key_issue(actor=actor, merchant=merchant, scopes=options["scopes"])
        emit(
            self,
            options,
            {"merchant_id": merchant.id, "profile_id": profile.id, "api_key": issued.plaintext},
            [
                f"merchant_id: {merchant.id}",
                f"profile_id:  {profile.id}",
                f"api_key:     {issued.plaintext}",
                f"scopes:      {' '.join(issued.api_key.scopes)}",
                KEY_SHOWN_ONCE,
            ],
        )
