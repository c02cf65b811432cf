from django.core.management.base import BaseCommand

from audit.actors import operator_actor
from merchants.management.commands._options import KEY_SHOWN_ONCE
from merchants.models import Merchant
from merchants.services import merchant_onboard

DEMO_NAME = "Demo merchant"


class Command(BaseCommand):
    help = "Create the local demo merchant once and print its API key; later runs print its ids only."

    def handle(self, *args, **options) -> None:
        existing = Merchant.objects.filter(name=DEMO_NAME).first()
        if existing is not None:
            profile = existing.profiles.first()
            self.stdout.write(f"Demo merchant {existing.id}, profile {profile.id if profile else '(none)'}.")
            self.stdout.write(
                "Its API key was printed when it was created. For a new one: "
                f".venv/bin/python manage.py create_api_key {existing.id}"
            )
            return
        onboarded = merchant_onboard(actor=operator_actor(), name=DEMO_NAME, profile_name="demo")
        self.stdout.write(self.style.SUCCESS(f"Demo merchant {onboarded.merchant.id} created."))
        self.stdout.write(f"  export VAULT_API_KEY={onboarded.issued.plaintext}")
        self.stdout.write(f"  export VAULT_PROFILE_ID={onboarded.profile.id}")
        self.stdout.write(KEY_SHOWN_ONCE)
