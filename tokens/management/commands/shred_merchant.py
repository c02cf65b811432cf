from django.core.management.base import BaseCommand, CommandError

from audit.actors import operator_actor
from core.superusers import authenticated_superuser
from merchants.models import Merchant
from tokens.shredding import ShredRefused, pending_request, shred_approve, shred_cancel, shred_request


class Command(BaseCommand):
    help = (
        "Crypto-shred a merchant: destroy its keys so every card it vaulted is unreadable at once, redact its "
        "payment methods and revoke its API keys. IRREVERSIBLE. Two superusers are needed, each proving who "
        "they are with a code from their console authenticator: the first run requests (with --reason), a run "
        "by a second superuser approves and shreds. The console's merchant page offers the same."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("merchant", help="the merchant id")
        parser.add_argument("--by", required=True, help="your console username (a superuser)")
        parser.add_argument("--confirm", required=True, help="the merchant id again, typed out")
        parser.add_argument("--reason", default="", help="why (needed to request)")
        parser.add_argument("--code", help="a current code from your authenticator (asked for when omitted)")
        parser.add_argument("--cancel", action="store_true", help="cancel the pending request instead")

    def handle(self, *args, **options) -> None:
        merchant = Merchant.objects.filter(pk=options["merchant"]).first()
        if merchant is None:
            raise CommandError(f"no merchant {options['merchant']!r}")
        user = authenticated_superuser(options["by"], options["code"])
        actor = operator_actor()
        pending = pending_request(merchant)
        try:
            if options["cancel"]:
                if pending is None:
                    raise CommandError("no shred of this merchant is pending")
                shred_cancel(actor=actor, user=user, request=pending)
                self.stdout.write(f"cancelled the pending shred of {merchant.id}")
            elif pending is None:
                shred_request(
                    actor=actor, user=user, merchant=merchant, reason=options["reason"], confirmation=options["confirm"]
                )
                self.stdout.write(
                    f"shred of {merchant.id} requested by {user.get_username()}: a second superuser must approve "
                    f"(`shred_merchant {merchant.id} --by <them> --confirm {merchant.id}`, or the console)"
                )
            else:
                result = shred_approve(actor=actor, user=user, request=pending, confirmation=options["confirm"])
                self.stdout.write(
                    f"shredded {merchant.id} (requested by {pending.requested_by.get_username()}, approved by "
                    f"{user.get_username()}): merchant key version(s) {result.key_versions or 'none'} destroyed, "
                    f"{result.payment_methods} payment method(s) redacted, {result.api_keys} API key(s) revoked"
                )
        except ShredRefused as exc:
            raise CommandError(str(exc)) from None
