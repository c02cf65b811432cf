"""Every act the audit trail records, named once. `audit_record` takes one of these, never free text."""

from django.db import models


class AuditAction(models.TextChoices):
    MERCHANT_CREATE = "merchant.create"
    MERCHANT_UPDATE = "merchant.update"
    PROFILE_CREATE = "profile.create"
    PROFILE_UPDATE = "profile.update"
    API_KEY_ISSUE = "api_key.issue"
    API_KEY_REVOKE = "api_key.revoke"

    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_UPDATE = "customer.update"
    CUSTOMER_DELETE = "customer.delete"

    PAYMENT_METHOD_CREATE = "payment_method.create"
    PAYMENT_METHOD_REVEAL = "payment_method.reveal"
    PAYMENT_METHOD_UPDATE = "payment_method.update"
    PAYMENT_METHOD_DELETE = "payment_method.delete"
    PAYMENT_METHOD_PURGE_EXPIRED = "payment_method.purge_expired"
    PAYMENT_METHOD_SEED = "payment_method.seed"
    KEYS_REWRAP = "keys.rewrap"
    KEYS_ROTATION_FORCED = "keys.rotation_forced"

    NETWORK_TOKEN_PROVISION = "network_token.provision"
    NETWORK_TOKEN_GET = "network_token.get"
    NETWORK_TOKEN_DELETE = "network_token.delete"
    NETWORK_TOKEN_LIFECYCLE = "network_token.lifecycle"

    ADMIN_CUSTOMER_VIEW = "admin.customer.view"
    ADMIN_PAYMENT_METHOD_VIEW = "admin.payment_method.view"
    ADMIN_USER_CREATE = "admin_user.create"
    ADMIN_TOTP_ENROL = "admin.totp.enrol"
