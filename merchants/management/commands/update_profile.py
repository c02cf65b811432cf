from django.core.management.base import BaseCommand, CommandError

from audit.actors import operator_actor
from merchants.management.commands._options import emit
from merchants.selectors import profile_get
from merchants.services import profile_update


class Command(BaseCommand):
    help = "Rename a profile or switch its network tokenization; every instance applies it within a second."

    def add_arguments(self, parser) -> None:
        parser.add_argument("profile_id")
        parser.add_argument("--name", help="the profile's new name")
        parser.add_argument("--network-tokenization", choices=("on", "off"), help="provision network tokens or not")
        parser.add_argument("--json", action="store_true", help="print one JSON line")

    def handle(self, *args, **options) -> None:
        if options["name"] is None and options["network_tokenization"] is None:
            raise CommandError("nothing to change: give --name or --network-tokenization")
        if options["name"] is not None and not options["name"].strip():
            raise CommandError("a profile's name cannot be empty")
        profile = profile_get(profile_id=options["profile_id"])
        if profile is None:
            raise CommandError(f"no profile {options['profile_id']!r}")
        tokenization = options["network_tokenization"]
        profile = profile_update(
            actor=operator_actor(),
            profile=profile,
            name=options["name"].strip() if options["name"] is not None else profile.name,
            network_tokenization_enabled=(
                profile.network_tokenization_enabled if tokenization is None else tokenization == "on"
            ),
        )
        state = "on" if profile.network_tokenization_enabled else "off"
        emit(
            self,
            options,
            {
                "profile_id": profile.id,
                "merchant_id": profile.merchant_id,
                "name": profile.name,
                "network_tokenization_enabled": profile.network_tokenization_enabled,
            },
            [f"{profile.id} ({profile.merchant_id}): name {profile.name!r}, network tokenization {state}"],
        )
