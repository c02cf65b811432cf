"""Scope checks: each view names the scope every action needs; an action it does not name is refused."""

from rest_framework.permissions import BasePermission

from core import errors


class HasScope(BasePermission):
    def has_permission(self, request, view) -> bool:
        required = getattr(view, "required_scopes", {}).get(getattr(view, "action", None))
        principal = request.user
        if principal is None or not getattr(principal, "is_authenticated", False):
            raise errors.Unauthenticated()
        if required is None or not principal.has_scope(required):
            raise errors.ScopeMissing()
        return True
