"""Partial masking of personal data for console pages: enough to recognise, not enough to copy."""


def mask_email(email: str | None) -> str:
    """Keep the first character of the local part and the whole domain: `a•••@example.com`."""
    if not email:
        return ""
    local, sep, domain = email.rpartition("@")
    if not sep:
        return _mask_tail(email, keep=1)
    return f"{local[:1]}•••@{domain}" if local else f"•••@{domain}"


def mask_phone(phone: str | None) -> str:
    """Keep the last two digits: `•••••67`."""
    if not phone:
        return ""
    return "•••••" + phone[-2:] if len(phone) > 4 else "•••••"


def _mask_tail(value: str, *, keep: int) -> str:
    return value[:keep] + "•••"
