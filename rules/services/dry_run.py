"""What a rule would have done, computed from the anomalies already stored: never a call to
the ticketing system. The dry run plays the last 30 days as if the rule had been on from
their start, earlier rules in the order taking their matches first."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from django.utils import timezone

from anomalies.models import Anomaly

from ..matching import checked, group_description, group_key, matches, render
from ..models import ActionKind, TicketRule
from ..ticket_fields import band_values, shown_values, ticket_values

DRY_RUN_DAYS = 30


@dataclasses.dataclass
class DryRun:
    issues: int = 0
    comments: int = 0
    links: int = 0
    items: list[dict] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        return (
            f"This rule would have created {self.issues} issue{'s' if self.issues != 1 else ''}"
            f" and {self.comments} comment{'s' if self.comments != 1 else ''} over the last "
            f"{DRY_RUN_DAYS} days."
        )


def dry_run_rule(rule: TicketRule, *, now: datetime | None = None) -> DryRun:
    now = now or timezone.now()
    earlier = _rules_before(rule)
    anomalies = (
        Anomaly.objects.filter(detected_at__gte=now - timedelta(days=DRY_RUN_DAYS))
        .select_related("datastore", "container")
        .prefetch_related("failed_checks", "ticket_links")
        .order_by("detected_at", "id")
    )
    result, open_groups = DryRun(), set()
    for anomaly in anomalies.iterator(chunk_size=500):
        checks = checked(anomaly)
        rule_types = [rule_type for rule_type, _ in checks]
        if any(matches(other, anomaly, rule_types) for other in earlier):
            continue  # an earlier rule takes it, and does not say "continue"
        if not matches(rule, anomaly, rule_types):
            continue
        _play(rule, anomaly, checks, open_groups, result)
    return result


def _rules_before(rule: TicketRule) -> list[TicketRule]:
    active = TicketRule.objects.filter(
        paused=False, trigger=rule.trigger, continue_matching=False
    ).prefetch_related("datastores")
    return [other for other in active if (other.position, other.pk) < (rule.position, rule.pk)]


def _play(rule, anomaly, checks, open_groups: set, result: DryRun) -> None:
    item = {"anomaly_id": anomaly.pk, "detected_at": anomaly.detected_at}
    if rule.action == ActionKind.CREATE:
        key = group_key(anomaly, checks)
        if key in open_groups:
            result.comments += 1
            item["action"] = "comment"
        else:
            open_groups.add(key)
            result.issues += 1
            item["action"] = "create"
        item["group"] = group_description(anomaly, checks)
    elif rule.action == ActionKind.LINK:
        result.links += 1
        item["action"] = "link"
    else:
        linked = len([link for link in anomaly.ticket_links.all() if link.removed_at is None])
        if not linked:
            return
        result.comments += linked
        item["action"] = "comment"
    result.items.append(item)


def preview_rule(rule: TicketRule, anomaly: Anomaly) -> dict:
    """The rule's texts rendered with a real anomaly. Raises TemplateRefused."""
    return {
        "summary": render(rule.summary_template, anomaly, rule),
        "description": render(rule.description_template, anomaly, rule),
        "comment": render(rule.comment_template, anomaly, rule),
        "ticket_scope": rule.ticket_scope,
        "ticket_fields": ticket_values(rule, anomaly.weight),
        "band_values": band_values(rule, anomaly.weight),
        "shown_fields": shown_values(rule, ticket_values(rule, anomaly.weight)),
    }
