"""The site-wide budget of rule actions sent to the ticketing system: a token bucket in the
database, so every worker of the fleet draws from the same one (docs/rules.md, "Budget")."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction

from ..models import RequestBudget


def take_budget_token(now: datetime) -> float:
    """0 when a token was taken; otherwise the seconds until one will be there."""
    rate = settings.RULES_ACTIONS_PER_MINUTE / 60.0
    capacity = float(settings.RULES_ACTIONS_BURST)
    with transaction.atomic():
        RequestBudget.objects.bulk_create(
            [RequestBudget(pk=1, tokens=capacity, refilled_at=now)], ignore_conflicts=True
        )
        budget = RequestBudget.objects.select_for_update().get(pk=1)
        elapsed = max((now - budget.refilled_at).total_seconds(), 0.0)
        tokens = min(capacity, budget.tokens + elapsed * rate)
        budget.refilled_at = max(now, budget.refilled_at)
        if tokens >= 1:
            budget.tokens = tokens - 1
            budget.save(update_fields=["tokens", "refilled_at"])
            return 0.0
        budget.tokens = tokens
        budget.save(update_fields=["tokens", "refilled_at"])
        return (1 - tokens) / rate
