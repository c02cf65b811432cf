"""Seed payment methods for benchmarks and load tests, through the real encryption path.

Each card is sealed with tokens.crypto.seal and fingerprinted with tokens.crypto.fingerprint, and the
row gets the columns tokens.services.payment_method_create fills; rows are written with bulk_create
in batches, and each batch is one transaction with one audit event. The card numbers are random
Luhn-valid Visa numbers that the command never prints.
"""

import secrets
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from audit.actions import AuditAction
from audit.actors import operator_actor
from audit.services import audit_record
from core.card_numbers import luhn_complete
from core.ids import new_global_id
from customers.models import Customer
from merchants.models import Merchant, Profile
from merchants.services import merchant_create, profile_create
from tokens import crypto
from tokens.crypto import CardSecret
from tokens.models import PaymentMethod


class CardNumbers:
    """Distinct Luhn-valid 16-digit Visa numbers: '4', a random run prefix, a serial, a check digit.

    The random prefix keeps two runs for the same customer from colliding (1 in 10^5)."""

    def __init__(self) -> None:
        self.prefix = f"{secrets.randbelow(10**5):05d}"
        self.serial = 0

    def next(self) -> str:
        self.serial += 1
        if self.serial >= 10**9:
            raise CommandError("at most 999,999,999 cards per run")
        return luhn_complete(f"4{self.prefix}{self.serial:09d}")


class Command(BaseCommand):
    help = (
        "Seed N payment methods (random Luhn-valid cards, sealed and fingerprinted as the API does) for "
        "benchmarks. Without --merchant-id a merchant with a profile is created; without --customer-id "
        "customers are created, one per --cards-per-customer cards. One audit event per batch."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("count", type=int, help="how many payment methods to create")
        parser.add_argument("--merchant-id", help="the merchant (default: a new one)")
        parser.add_argument("--profile-id", help="the merchant's profile (default: its first)")
        parser.add_argument("--customer-id", help="one customer of the merchant for every card")
        parser.add_argument("--cards-per-customer", type=int, default=10, help="without --customer-id (default 10)")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--force", action="store_true", help="seed although VAULT_ENV=production (a benchmark's scratch database)"
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEVELOPMENT and not options["force"]:
            raise CommandError(
                "VAULT_ENV=production: seeding would put made-up cards among real ones. Give --force only for "
                "a scratch database (a benchmark's)."
            )
        count, batch_size = options["count"], options["batch_size"]
        if count < 0 or batch_size < 1 or options["cards_per_customer"] < 1:
            raise CommandError("count must be 0 or more, --batch-size and --cards-per-customer 1 or more")
        actor = operator_actor()
        merchant, profile = self._merchant_and_profile(actor, options)
        customer = None
        if options["customer_id"]:
            customer = Customer.unscoped.filter(
                merchant=merchant, id=options["customer_id"], status=Customer.Status.ACTIVE
            ).first()
            if customer is None:
                raise CommandError("no active customer with that id at that merchant")
        numbers = CardNumbers()
        started = time.monotonic()
        done = 0
        with tqdm(total=count, unit="card", disable=options["no_progress"], file=self.stderr) as bar:
            while done < count:
                size = min(batch_size, count - done)
                self._batch(actor, merchant, profile, customer, numbers, size, options["cards_per_customer"])
                done += size
                bar.update(size)
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        self.stdout.write(
            f"seeded {done} payment method(s) for merchant {merchant.id} profile {profile.id} "
            f"in {elapsed:.1f} s ({rate:.0f}/s)"
        )

    def _merchant_and_profile(self, actor, options) -> tuple[Merchant, Profile]:
        if not options["merchant_id"]:
            with transaction.atomic():
                merchant = merchant_create(actor=actor, name="Seeded merchant")
                profile = profile_create(actor=actor, merchant=merchant, name="default")
            return merchant, profile
        merchant = Merchant.objects.filter(id=options["merchant_id"]).first()
        if merchant is None:
            raise CommandError("no merchant with that id")
        profiles = Profile.objects.filter(merchant=merchant).order_by("created_at", "id")
        profile = profiles.filter(id=options["profile_id"]).first() if options["profile_id"] else profiles.first()
        if profile is None:
            raise CommandError("the merchant has no such profile")
        return merchant, profile

    def _batch(self, actor, merchant, profile, customer, numbers, size, cards_per_customer) -> None:
        now = timezone.now()
        customers = []
        if customer is None:
            customers = [
                Customer(
                    id=new_global_id("cus"),
                    merchant=merchant,
                    profile=profile,
                    name="Seeded Customer",
                    email="seeded@example.invalid",
                )
                for _ in range(-(-size // cards_per_customer))
            ]
        rows = []
        for index in range(size):
            card = CardSecret(number=numbers.next())
            payment_method_id = new_global_id("pm")
            sealed = crypto.seal(card, merchant_id=merchant.id, record_id=payment_method_id)
            rows.append(
                PaymentMethod(
                    id=payment_method_id,
                    merchant=merchant,
                    profile=profile,
                    customer=customer or customers[index // cards_per_customer],
                    payment_method_type="card",
                    payment_method_subtype="credit",
                    storage_type=PaymentMethod.StorageType.PERSISTENT,
                    expires_at=None,
                    card_isin=card.isin,
                    last4_digits=card.last4,
                    expiry_month="12",
                    expiry_year="2035",
                    card_holder_name="Seeded Customer",
                    card_network=card.network,
                    **sealed.columns(),
                    card_fingerprint=crypto.fingerprint(card, merchant_id=merchant.id),
                    created=now,
                    last_used_at=now,
                )
            )
        with transaction.atomic():
            if customers:
                Customer.unscoped.bulk_create(customers)
            PaymentMethod.unscoped.bulk_create(rows)
            audit_record(
                actor=actor,
                action=AuditAction.PAYMENT_METHOD_SEED,
                object_type="payment_method",
                merchant_id=merchant.id,
                details={"count": len(rows), "customers_created": len(customers), "first_id": rows[0].id},
            )
