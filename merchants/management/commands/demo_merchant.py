from django.core.management.base import BaseCommand
from django.db import transaction

from audit.actors import operator_actor
from merchants.management.commands._options import KEY_SHOWN_ONCE
from merchants.models import Merchant
from merchants.services import api_key_issue, merchant_create, profile_create

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
        actor = operator_actor()
        with transaction.atomic():
            merchant = merchant_create(actor=actor, name=DEMO_NAME)
            profile = profile_create(actor=actor, merchant=merchant, name="demo")
            issued = api_key_issue(actor=actor, merchant=merchant)
        self.stdout.write(self.style.SUCCESS("Demo merchant created."))
        self.stdout.write(f"  export VAULT_API_KEY={issued.plaintext}")
        self.stdout.write(f"  export VAULT_PROFILE_ID={profile.id}")
        self.stdout.write(KEY_SHOWN_ONCE)
