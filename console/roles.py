"""The console's two roles, provisioned as Django groups by migration 0001_roles."""

ADMINISTRATORS = "Vault administrators"
SUPPORT = "Support"

# (app label, codename) pairs. Administrators run tenancy and keys and manage console users, but
# never see card data; support sees masked card data and the trail, and changes nothing.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    ADMINISTRATORS: [
        ("merchants", "view_merchant"),
        ("merchants", "add_merchant"),
        ("merchants", "change_merchant"),
        ("merchants", "view_profile"),
        ("merchants", "add_profile"),
        ("merchants", "change_profile"),
        ("merchants", "view_apikey"),
        ("merchants", "add_apikey"),
        # "change" on a key means revoking it: no field of a key can be edited.
        ("merchants", "change_apikey"),
        ("auth", "view_user"),
        ("auth", "add_user"),
        ("auth", "change_user"),
        # "change" on a user is limited to names, e-mail and deactivation (console/admin/users.py);
        # removing an authenticator is for superusers, as it opens the account to a new enrolment.
        ("otp_totp", "view_totpdevice"),
        ("audit", "view_auditevent"),
        # Adding a proxy destination and approving one (a second administrator) or revoking it.
        ("proxy", "view_proxydestination"),
        ("proxy", "add_proxydestination"),
        ("proxy", "change_proxydestination"),
    ],
    SUPPORT: [
        ("merchants", "view_merchant"),
        ("merchants", "view_profile"),
        ("customers", "view_customer"),
        ("tokens", "view_paymentmethod"),
        ("audit", "view_auditevent"),
    ],
}
