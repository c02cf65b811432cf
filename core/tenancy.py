"""Tenancy by construction: rows that belong to a merchant are reached through `for_merchant()`.

A model that belongs to a merchant has two managers. `objects` is for selectors and services, which
scope every read with `for_merchant(merchant)`; `unscoped` is for the few jobs that legitimately
cross merchants (key rotation, purges, the token-service sweep and webhook, seeding), so that each
such query says so where it is written. `make lint` (scripts/lint_boundaries.py) refuses either
manager anywhere else: views, serializers and console code reach rows only through a selector.
"""

from typing import Any, Self

from django.db import models


class MerchantScopedQuerySet(models.QuerySet):
    def for_merchant(self, merchant: Any) -> Self:
        """Only *merchant*'s rows (a Merchant or its id). No merchant is an error, never "all rows"."""
        merchant_id = getattr(merchant, "pk", merchant)
        if not isinstance(merchant_id, str) or not merchant_id:
            raise ValueError("for_merchant() needs a merchant")
        return self.filter(merchant_id=merchant_id)
