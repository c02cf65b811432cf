"""Every act the audit trail records, named once. `audit_record` takes one of these, never free text."""

from django.db import models


class AuditAction(models.TextChoices):
    MERCHANT_CREATE = "merchant.create"
    MERCHANT_UPDATE = "merchant.update"
    PROFILE_CREATE = "profile.create"
    PROFILE_UPDATE = "profile.update"
    API_KEY_ISSUE = "api_key.issue"
    API_KEY_REVOKE = "api_key.revoke"
    API_KEY_APPROVE = "api_key.approve"

    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_UPDATE = "customer.update"
    CUSTOMER_DELETE = "customer.delete"

    PAYMENT_METHOD_CREATE = "payment_method.create"
    PAYMENT_METHOD_REVEAL = "payment_method.reveal"
    PAYMENT_METHOD_UPDATE = "payment_method.update"
    PAYMENT_METHOD_DELETE = "payment_method.delete"
    PAYMENT_METHOD_PURGE_EXPIRED = "payment_method.purge_expired"
    PAYMENT_METHOD_SEED = "payment_method.seed"
    # A request forwarded to a destination with the card substituted in: host, method, status, latency.
    PAYMENT_METHOD_PROXY = "payment_method.proxy"
    GENERIC_TOKEN_CREATE = "generic_token.create"
    GENERIC_TOKEN_DELETE = "generic_token.delete"
    PROXY_DESTINATION_ADD = "proxy_destination.add"
    PROXY_DESTINATION_APPROVE = "proxy_destination.approve"
    PROXY_DESTINATION_REVOKE = "proxy_destination.revoke"
    KEYS_REWRAP = "keys.rewrap"
    KEYS_ROTATION_FORCED = "keys.rotation_forced"
    KEYS_ROOT_REWRAP = "keys.root_rewrap"
    KEYS_MERCHANT_ROTATE = "keys.merchant_rotate"
    MERCHANT_SHRED_REQUEST = "merchant.shred_request"
    MERCHANT_SHRED = "merchant.shred"

    NETWORK_TOKEN_PROVISION = "network_token.provision"
    NETWORK_TOKEN_GET = "network_token.get"
    NETWORK_TOKEN_DELETE = "network_token.delete"
    NETWORK_TOKEN_LIFECYCLE = "network_token.lifecycle"

    AUDIT_REMOVE_EXPORTED = "audit.remove_exported"
    # API requests refused (401, 403, a cross-merchant 404), one row per key or address and minute.
    API_ACCESS_REFUSED = "api.access_refused"

    ADMIN_CUSTOMER_VIEW = "admin.customer.view"
    ADMIN_PAYMENT_METHOD_VIEW = "admin.payment_method.view"
    ADMIN_USER_CREATE = "admin_user.create"
    ADMIN_USER_CHANGE = "admin_user.change"
    ADMIN_USER_PASSWORD = "admin_user.password"
    ADMIN_USER_DELETE = "admin_user.delete"
    ADMIN_GROUP_CREATE = "admin_group.create"
    ADMIN_GROUP_CHANGE = "admin_group.change"
    ADMIN_GROUP_DELETE = "admin_group.delete"
    # A console user's lock-out lifted by an administrator, with the reason they gave.
    ADMIN_UNLOCK = "admin.unlock"
    ADMIN_TOTP_ENROL = "admin.totp.enrol"
    ADMIN_TOTP_REMOVE = "admin.totp.remove"
    ADMIN_ENROLMENT_CODE_ISSUE = "admin.enrolment_code.issue"
    ADMIN_SIGN_IN = "admin.sign_in"
    ADMIN_SIGN_IN_FAILED = "admin.sign_in_failed"
    ADMIN_SIGN_OUT = "admin.sign_out"
    # A console page or act refused to the signed-in user.
    ADMIN_DENIED = "admin.denied"
