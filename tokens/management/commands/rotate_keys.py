from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.actors import operator_actor
from tokens.rotation import (
    RotationProgress,
    fingerprint_versions_in_use,
    kek_versions_in_use,
    records_to_rewrap,
    rewrap_batch,
)


class Command(BaseCommand):
    help = (
        "Re-wrap every card's data key under the active key-encryption key (VAULT_ACTIVE_KEK) and recompute "
        "fingerprints made with an older fingerprint key, in batches. Resumable; reads and writes go on "
        "meanwhile. --status shows which key versions are in use."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--status", action="store_true", help="only report KEK versions in use")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options) -> None:
        if options["status"]:
            self._status()
            return
        actor = operator_actor()
        total = records_to_rewrap()
        done = 0
        progress = RotationProgress()
        with tqdm(total=total, unit="record", disable=options["no_progress"], file=self.stderr) as bar:
            while count := rewrap_batch(actor=actor, batch_size=max(1, options["batch_size"]), progress=progress):
                done += count
                bar.update(count)
        unreadable = progress.unreadable
        self.stdout.write(f"re-wrapped {done} record(s) under KEK version {settings.VAULT_ACTIVE_KEK}")
        self._status()
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} record(s) could not be decrypted and were left as they are: "
                f"{', '.join(sorted(unreadable)[:20])}{' …' if len(unreadable) > 20 else ''}. "
                "Check --status for KEK versions missing from VAULT_KEYRING."
            )

    def _status(self) -> None:
        in_use = kek_versions_in_use()
        configured = set(settings.VAULT_KEYRING)
        for version in sorted(configured | set(in_use), key=int):
            state = "active" if version == settings.VAULT_ACTIVE_KEK else "configured"
            if version not in configured:
                state = "MISSING FROM VAULT_KEYRING: these records cannot be decrypted"
            elif in_use[version] == 0 and version != settings.VAULT_ACTIVE_KEK:
                state += ", unused: may be retired"
            self.stdout.write(f"KEK {version}: {in_use[version]} record(s) ({state})")
        fingerprints = fingerprint_versions_in_use()
        newest = max(settings.VAULT_FINGERPRINT_KEYS, key=int)
        for version in sorted(set(settings.VAULT_FINGERPRINT_KEYS) | set(fingerprints), key=int):
            state = "newest" if version == newest else "configured"
            if version not in settings.VAULT_FINGERPRINT_KEYS:
                state = "MISSING FROM VAULT_FINGERPRINT_KEYS: duplicates of these cards go unnoticed"
            elif fingerprints[version] == 0 and version != newest:
                state += ", unused: may be retired"
            self.stdout.write(f"fingerprint key {version}: {fingerprints[version]} record(s) ({state})")
