"""Shared steps of the rules tests: ingest like the API does, make a rule, drain the outboxes
in-process (the workers' services called directly)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from anomalies.models import Container, FailedCheck, User
from anomalies.services import ingest_anomaly
from integrations.models import SyncEvent, SyncState
from integrations.services import deliver_sync_event
from rules.models import ActionState, RuleAction, TicketRule
from rules.services import execute_rule_action

_counter = {"n": 0}


def ingest(
    container: Container,
    by: User,
    *,
    detected_at: datetime | None = None,
    field: str = "customer_id",
    weight: int = 8,
):
    _counter["n"] += 1
    data = {
        "fingerprint": f"fp-rules-{_counter['n']}-{timezone.now().timestamp()}",
        "type": "record",
        "description": f"Nulls in {field}.",
        "anomalous_record_count": 3,
        "weight": weight,
        "detected_at": detected_at,
        "failed_checks": [FailedCheck(rule_type="notNull", field_name=field, message="3 nulls")],
        "tags": [],
    }
    return ingest_anomaly(data, datastore=container.datastore, container=container, by=by)


def make_rule(owner: User, **fields) -> TicketRule:
    defaults = {
        "name": f"Nightly nulls {TicketRule.objects.count() + 1}",
        "paused": False,
        # As saved after the check against Jira's create form (rules/ticket_fields.py).
        "ticket_connector": "jira",
        "ticket_scope": "DQ",
        "ticket_fields": {"project": "DQ", "issue_type": "10001"},
        "summary_template": "{{ checks }} in {{ container }} (anomaly {{ anomaly.id }})",
        "description_template": "Weight {{ anomaly.weight }}.",
    }
    return TicketRule.objects.create(owner=owner, **{**defaults, **fields})


def drain(rounds: int = 50) -> None:
    """Run every pending rule action and sync event, as workers would, until none is left."""
    for _ in range(rounds):
        actions = list(
            RuleAction.objects.filter(state=ActionState.PENDING).values_list("pk", flat=True)
        )
        events = list(
            SyncEvent.objects.filter(state=SyncState.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not actions and not events:
            return
        RuleAction.objects.filter(pk__in=actions).update(next_attempt_at=None)
        SyncEvent.objects.filter(pk__in=events).update(next_attempt_at=None)
        for action_id in actions:
            execute_rule_action(action_id)
        for event_id in events:
            deliver_sync_event(event_id)
    raise AssertionError("the outboxes did not drain")
