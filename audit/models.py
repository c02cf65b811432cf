"""The append-only audit trail. Rows hold ids and outcomes, never card data or key material."""

from django.db import models


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("audit events are append-only")

    def delete(self):
        raise PermissionError("audit events are append-only")


class AuditEvent(models.Model):
    class ActorKind(models.TextChoices):
        API_KEY = "api_key", "API key"
        ADMIN = "admin"
        OPERATOR = "operator"
        SYSTEM = "system"

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        DENIED = "denied"
        FAILURE = "failure"

    occurred_at = models.DateTimeField(db_index=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=150)
    # Plain ids, not foreign keys: the trail outlives what it describes.
    merchant_id = models.CharField(max_length=64, blank=True, db_index=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    request_id = models.CharField(max_length=64, blank=True)
    origin = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # The chain (audit/chain.py): the row's place (none until the sealer gives it one), and its MAC over
    # its content and the previous MAC (over its content alone while it waits).
    seq = models.BigIntegerField(unique=True, null=True)
    mac = models.CharField(max_length=80, blank=True)
    # Random, unique, under the waiting row's MAC: a copy of a waiting row cannot be inserted. NULL
    # on rows written before it (a unique column holds many NULLs, not many empty strings).
    nonce = models.CharField(max_length=32, unique=True, null=True, editable=False)  # noqa: DJ001

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        # The rows waiting for their place: what the sealer reads, and only those.
        indexes = [models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_event_unchained")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_kind}:{self.actor_id} {self.action} {self.outcome}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit events are append-only")


class AuditChainHead(models.Model):
    """The newest row of the chain (its sequence number and MAC), locked by the sealer. `anchor_*`
    is where the chain starts: the genesis, or the checkpoint of the last export whose rows were
    removed."""

    seq = models.BigIntegerField(default=0)
    mac = models.CharField(max_length=80, blank=True)
    anchor_seq = models.BigIntegerField(default=0)
    anchor_mac = models.CharField(max_length=80, blank=True)

    def __str__(self) -> str:
        return f"audit chain head at {self.seq}"


class AccessFailureWindow(models.Model):
    """API requests refused (401, 403, a cross-merchant 404) counted per subject, refusal and minute.

    A refusal adds one to its window instead of writing an audit row; when the minute is over, each
    window becomes one audit row with its count (audit/access_failures.py), so a flood of bad
    requests adds one row per subject a minute, not one per request."""

    subject = models.CharField(max_length=100)  # `key:<key id>`, or `address:<client address>`
    minute = models.BigIntegerField()  # Unix time // 60
    code = models.CharField(max_length=16)  # the error code answered
    status = models.PositiveSmallIntegerField()
    merchant_id = models.CharField(max_length=64, blank=True)
    origin = models.CharField(max_length=64, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subject", "minute", "code"], name="access_failure_window_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.code} x{self.count}"
