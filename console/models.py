"""Console models: one-time enrolment codes, and the page of locked-out sign-ins (a proxy of django-axes)."""

from axes.models import AccessAttempt
from django.conf import settings
from django.db import models


class EnrolmentCode(models.Model):
    """Issued by a superuser, shown once, valid for a day, used once. Only its SHA-256 is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolment_codes")
    code_hash = models.CharField(max_length=64)
    issued_by = models.CharField(max_length=170)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"enrolment code for user {self.user_id}"


class LockedSignIn(AccessAttempt):
    """The console's page of locked-out accounts: django-axes' attempts, under the console's name."""

    class Meta:
        proxy = True
        verbose_name = "locked sign-in"
        verbose_name_plural = "locked sign-ins"

    def __str__(self) -> str:
        return f"locked sign-in of {self.username}"
