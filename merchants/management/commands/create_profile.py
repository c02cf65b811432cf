from django.core.management.base import BaseCommand, CommandError

from audit.actors import operator_actor
from merchants.management.commands._options import emit
from merchants.selectors import merchant_get
from merchants.services import profile_create


class Command(BaseCommand):
    help = "Create a profile for a merchant and print its id."

    def add_arguments(self, parser) -> None:
        parser.add_argument("merchant_id")
        parser.add_argument("--name", default="default", help="the profile's name")
        parser.add_argument("--network-tokenization", action="store_true", help="enable network tokens on the profile")
        parser.add_argument("--json", action="store_true", help="print one JSON line")

    def handle(self, *args, **options) -> None:
        merchant = merchant_get(merchant_id=options["merchant_id"])
        if merchant is None:
            raise CommandError(f"no merchant {options['merchant_id']!r}")
        profile = profile_create(
            actor=operator_actor(),
            merchant=merchant,
            name=options["name"],
            network_tokenization_enabled=options["network_tokenization"],
        )
        emit(
            self,
            options,
            {"merchant_id": merchant.id, "profile_id": profile.id},
            [f"merchant_id: {merchant.id}", f"profile_id:  {profile.id}"],
        )
