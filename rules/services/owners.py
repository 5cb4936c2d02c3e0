"""Rules whose owner is deleted: they pause (they act for their owner, and there is none)
and keep the owner's name (``owner_name``) for attribution until a Manager takes them over
by resuming or editing them."""

from __future__ import annotations

from ..models import TicketRule


def orphan_rules_of(user) -> int:
    """Called before ``user`` is deleted (the foreign key then goes NULL). Returns how many
    rules were paused."""
    return TicketRule.objects.filter(owner=user).update(paused=True)
