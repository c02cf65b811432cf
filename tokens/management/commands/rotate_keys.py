import signal
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from audit.actions import AuditAction
from audit.actors import operator_actor
from audit.services import audit_record
from merchants.models import Merchant
from tokens.crypto import current_fingerprint_version
from tokens.custody import root_provider
from tokens.instances import active_root_key, instances_behind, live_instances
from tokens.keys import KeyProviderUnavailable
from tokens.rotation import (
    RotationProgress,
    cards_under_retired_merchant_keys,
    fingerprint_versions_in_use,
    kek_versions_in_use,
    merchant_keys_by_root,
    records_to_rewrap,
    rewrap_batch,
    rewrap_merchant_keys,
    rotate_merchant_key,
)


class Command(BaseCommand):
    help = (
        "Bring every key under the newest: re-wrap merchant keys under the active root key (VAULT_KEY_PROVIDER), "
        "re-wrap the data keys of cards under a retired merchant key or a legacy KEK, and recompute fingerprints "
        "made with an older fingerprint key, in batches. Resumable; reads and writes go on meanwhile. "
        "--root does the first step only (one row per merchant: seconds); --merchant M --new-merchant-key "
        "rotates one merchant's key. --status shows which key versions are in use."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--status", action="store_true", help="only report key versions in use")
        parser.add_argument("--root", action="store_true", help="only re-wrap merchant keys under the active root key")
        parser.add_argument("--merchant", help="only this merchant's cards")
        parser.add_argument(
            "--new-merchant-key",
            action="store_true",
            help="with --merchant: first make a new merchant key active (then re-wrap the merchant's cards under it)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--force",
            action="store_true",
            help="rotate although a live instance is on an older keyring (audited; its new cards stay behind)",
        )

    def handle(self, *args, **options) -> None:
        if options["status"]:
            self._status()
            return
        if options["new_merchant_key"] and not options["merchant"]:
            raise CommandError("--new-merchant-key needs --merchant")
        merchant_id = options["merchant"]
        if merchant_id and not Merchant.objects.filter(pk=merchant_id).exists():
            raise CommandError(f"no merchant {merchant_id!r}")
        actor = operator_actor()
        self._check_instances(actor, force=options["force"])
        try:
            if not merchant_id:
                self._rotate_root(actor)
            if options["root"]:
                return
            if options["new_merchant_key"]:
                version = rotate_merchant_key(actor=actor, merchant_id=merchant_id)
                self.stdout.write(f"merchant {merchant_id}: key version {version} is now active")
            self._rewrap_cards(actor, options, merchant_id)
        except KeyProviderUnavailable as exc:
            raise CommandError(f"the key provider cannot be reached ({exc}); nothing more was done") from None

    def _rotate_root(self, actor) -> None:
        started = time.monotonic()
        result = rewrap_merchant_keys(actor=actor)
        if result.rewrapped:
            self.stdout.write(
                f"re-wrapped {result.rewrapped} merchant key(s) under root key {active_root_key()} "
                f"in {time.monotonic() - started:.2f} s"
            )
        if result.unreadable:
            raise CommandError(
                f"{len(result.unreadable)} merchant key(s) could not be unwrapped and were left as they are: "
                f"{', '.join(result.unreadable[:20])}. Is their root key still configured?"
            )

    def _rewrap_cards(self, actor, options, merchant_id: str | None) -> None:
        total = records_to_rewrap(merchant_id)
        done = 0
        progress = RotationProgress(merchant_id=merchant_id)
        with (
            _stop_requests() as stop,
            tqdm(total=total, unit="record", disable=options["no_progress"], file=self.stderr) as bar,
        ):
            # A stop request lets the batch in hand commit; the next run resumes after it.
            while not stop and (
                count := rewrap_batch(actor=actor, batch_size=max(1, options["batch_size"]), progress=progress)
            ):
                done += count
                bar.update(count)
        self._report(progress)
        if stop:
            raise CommandError(
                f"interrupted after {done} of {total} record(s); run again to resume", returncode=INTERRUPTED
            )
        unreadable = progress.unreadable
        self._status()
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} record(s) could not be decrypted and were left as they are: "
                f"{', '.join(sorted(unreadable)[:20])}{' …' if len(unreadable) > 20 else ''}. "
                "Check --status for key versions missing."
            )

    def _report(self, progress: RotationProgress) -> None:
        """Say what was done, and only that: a fingerprint-only run changes no KEK."""
        if progress.rewrapped:
            self.stdout.write(f"re-wrapped {progress.rewrapped} record(s) under their merchant's active key")
        if progress.refingerprinted:
            self.stdout.write(f"recomputed the fingerprints of {progress.refingerprinted} record(s) with "
                              f"fingerprint key {current_fingerprint_version()}")  # fmt: skip
        if progress.duplicates:
            shown = ", ".join(progress.duplicates[:20]) + (" …" if len(progress.duplicates) > 20 else "")
            self.stdout.write(
                f"deleted {len(progress.duplicates)} newer duplicate payment method(s) of the same card and "
                f"customer (audited): {shown}"
            )
        if not (progress.rewrapped or progress.refingerprinted or progress.duplicates):
            self.stdout.write("every record is already under the newest keys")

    def _check_instances(self, actor, *, force: bool) -> None:
        """Refuse while a live instance would keep writing under the keys being rotated away from."""
        behind = instances_behind()
        if not behind:
            return
        described = "; ".join(f"{instance} {why}" for instance, why in behind)
        if not force:
            raise CommandError(
                f"refusing to rotate: {len(behind)} live instance(s) are on an older keyring ({described}). "
                "Restart every instance with the new keyring first, or pass --force."
            )
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.KEYS_ROTATION_FORCED,
                object_type="root_key",
                object_id=active_root_key()[:255],
                details={"instances": [f"{instance} ({why})" for instance, why in behind]},
            )
        self.stderr.write(f"rotating despite {len(behind)} instance(s) on an older keyring: {described}")

    def _status(self) -> None:
        instances = live_instances()
        for instance in instances:
            self.stdout.write(
                f"instance {instance}: root key {instance.root_key or '?'}, KEKs {', '.join(instance.kek_versions)} "
                f"(encrypts under {instance.active_kek}), fingerprint keys {', '.join(instance.fingerprint_versions)} "
                f"(newest {instance.newest_fingerprint_key}), last seen {instance.last_seen:%Y-%m-%d %H:%M:%S}Z"
            )
        if not instances:
            self.stdout.write("no live instance has reported its keyring (gunicorn workers do, every few seconds)")
        try:
            active_root = f"{root_provider().name}:{root_provider().active_version()}"
        except KeyProviderUnavailable as exc:
            active_root = active_root_key()
            self.stdout.write(f"key provider: cannot be reached ({exc})")
        by_root = merchant_keys_by_root()
        for root in sorted(set(by_root) | {active_root}):
            state = "active" if root == active_root else "older: `rotate_keys --root` moves these"
            self.stdout.write(f"root key {root}: wraps {by_root[root]} merchant key(s) ({state})")
        if behind := cards_under_retired_merchant_keys():
            self.stdout.write(f"{behind} card(s) under a retired merchant key: `rotate_keys` re-wraps them")
        encrypting = {instance.active_kek for instance in instances}
        in_use = kek_versions_in_use()
        configured = set(settings.VAULT_KEYRING)
        for version in sorted(configured | set(in_use), key=int):
            state = "active" if version == settings.VAULT_ACTIVE_KEK else "configured"
            if version not in configured:
                state = "MISSING FROM VAULT_KEYRING: these records cannot be decrypted"
            elif version in encrypting and version != settings.VAULT_ACTIVE_KEK:
                state += ", still encrypts new cards on a live instance: not retirable"
            elif in_use[version] == 0 and version != settings.VAULT_ACTIVE_KEK:
                state += ", unused: may be retired"
            self.stdout.write(
                f"keyring key {version}: {in_use[version]} legacy record(s) sealed before merchant keys ({state})"
            )
        fingerprints = fingerprint_versions_in_use()
        newest = max(settings.VAULT_FINGERPRINT_KEYS, key=int)
        for version in sorted(set(settings.VAULT_FINGERPRINT_KEYS) | set(fingerprints), key=int):
            state = "newest" if version == newest else "configured"
            if version not in settings.VAULT_FINGERPRINT_KEYS:
                state = "MISSING FROM VAULT_FINGERPRINT_KEYS: duplicates of these cards go unnoticed"
            elif fingerprints[version] == 0 and version != newest:
                state += ", unused: may be retired"
            self.stdout.write(f"fingerprint key {version}: {fingerprints[version]} record(s) ({state})")


# The exit status of a run stopped by SIGINT or SIGTERM, as a shell reports an interrupted command.
INTERRUPTED = 130


class _StopFlag:
    def __init__(self) -> None:
        self.requested = False

    def __bool__(self) -> bool:
        return self.requested


@contextmanager
def _stop_requests():
    """A flag that SIGINT and SIGTERM raise instead of killing the run mid-batch."""
    flag = _StopFlag()

    def request_stop(signum, frame) -> None:
        flag.requested = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
