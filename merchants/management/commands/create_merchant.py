from django.core.management.base import BaseCommand, CommandError

from audit.actors import operator_actor
from merchants.management.commands._options import (
    KEY_SHOWN_ONCE,
    add_scope_argument,
    add_single_control_argument,
    emit,
    key_status_lines,
)
from merchants.services import merchant_onboard


class Command(BaseCommand):
    help = "Create a merchant with a profile and an API key, and print them (the key only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="the merchant's name")
        parser.add_argument("--profile-name", default="default", help="name of the first profile")
        parser.add_argument("--network-tokenization", action="store_true", help="enable network tokens on the profile")
        add_scope_argument(parser)
        add_single_control_argument(parser)
        parser.add_argument("--json", action="store_true", help="print one JSON line")

    def handle(self, *args, **options) -> None:
        if not options["name"].strip():
            raise CommandError("the merchant's name must not be empty")
        onboarded = merchant_onboard(
            actor=operator_actor(),
            name=options["name"].strip(),
            profile_name=options["profile_name"],
            network_tokenization_enabled=options["network_tokenization"],
            scopes=options["scopes"],
            single_control=options["single_control"],
        )
        merchant, profile, issued = onboarded.merchant, onboarded.profile, onboarded.issued
        emit(
            self,
            options,
            {
                "merchant_id": merchant.id,
                "profile_id": profile.id,
                "api_key": issued.plaintext,
                "status": issued.api_key.state.value,
            },
            [
                f"merchant_id: {merchant.id}",
                f"profile_id:  {profile.id}",
                f"api_key:     {issued.plaintext}",
                f"scopes:      {' '.join(issued.api_key.scopes)}",
                *key_status_lines(issued.api_key),
                KEY_SHOWN_ONCE,
            ],
        )
