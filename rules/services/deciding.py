"""Deciding, inside the transaction of the anomaly's ingestion or status change: which rules
match and what each will do. The decision is a RuleAction row that commits (or rolls back)
with the change; a create is carried out by a worker after the commit.

Recurring anomalies of a rule share one ticket: their RuleGroup row is locked while deciding,
so two ingestions of the same failure at once never both decide to create (docs/rules.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from anomalies.models import Anomaly
from anomalies.services import record_history
from integrations.models import (
    IntegrationState,
    StatusCategory,
    SyncEvent,
    SyncState,
    TicketLink,
    remote_issue_key,
)
from integrations.services.sync import enqueue_deliveries, lock_queue

from .. import texts
from ..matching import checked, group_description, group_key, matches, render
from ..models import ActionKind, ActionState, RuleAction, RuleGroup, TicketRule, Trigger

Kind = RuleAction.Kind
WEEK = timedelta(days=7)


def active_rules(trigger: str) -> list[TicketRule]:
    """The rules that listen to ``trigger``, in order (paused ones hear nothing)."""
    return list(
        TicketRule.objects.filter(paused=False, trigger=trigger).prefetch_related("datastores")
    )


def apply_rules(
    anomaly: Anomaly,
    *,
    trigger: str,
    trigger_key: str,
    at: datetime,
    rules: list[TicketRule] | None = None,
) -> list:
    """Run the active rules in order on one change; the first match wins unless it says
    "continue". Returns the decisions (RuleAction rows)."""
    rules = active_rules(trigger) if rules is None else rules
    if not rules:
        return []
    checks = checked(anomaly)
    rule_types = [rule_type for rule_type, _ in checks]
    decided = []
    for rule in rules:
        if not matches(rule, anomaly, rule_types):
            continue
        decided.append(decide(rule, anomaly, checks=checks, trigger_key=trigger_key, at=at))
        if not rule.continue_matching:
            break
    return decided


def decide(rule: TicketRule, anomaly: Anomaly, *, checks, trigger_key: str, at: datetime):
    # One seam announces each change once; the unique (rule, anomaly, change) key is the
    # backstop: a change decided twice would fail its own transaction, not act twice.
    if rule.action == ActionKind.CREATE:
        return _decide_create(rule, anomaly, checks=checks, trigger_key=trigger_key, at=at)
    if rule.action == ActionKind.LINK:
        action = _new_action(rule, anomaly, trigger_key, Kind.LINK, ActionState.PENDING)
        enqueue_on_commit(action.pk)
        return action
    return _comment_now(rule, anomaly, trigger_key=trigger_key, at=at)


def _new_action(rule, anomaly, trigger_key, kind, state, group=None) -> RuleAction:
    return RuleAction.objects.create(
        rule=rule, anomaly=anomaly, trigger_key=trigger_key, kind=kind, state=state, group=group
    )


def _decide_create(rule, anomaly, *, checks, trigger_key, at) -> RuleAction:
    group = lock_group(rule, group_key(anomaly, checks), group_description(anomaly, checks))
    state = group_state(group, rule)
    if state == "new":
        group.creating, group.link, group.done_seen_at = True, None, None
        group.save(update_fields=["creating", "link", "done_seen_at"])
        action = _new_action(rule, anomaly, trigger_key, Kind.CREATE, ActionState.PENDING, group)
        enqueue_on_commit(action.pk)
        return action
    if state == "creating":
        return _new_action(rule, anomaly, trigger_key, Kind.RECUR, ActionState.WAITING, group)
    action = _new_action(rule, anomaly, trigger_key, Kind.RECUR, ActionState.DONE, group)
    comment_recurrence(action, group, at=at)
    _mark_done(action, group.link.issue_key)
    TicketRule.objects.filter(pk=rule.pk).update(actions_count=_plus(1))
    return action


def comment_recurrence(action: RuleAction, group: RuleGroup, *, at: datetime) -> None:
    """Link the recurring anomaly to the group's ticket and say so in a comment. While the
    ticket's last comment is a recurrence not sent yet, this one joins it (a burst makes one
    comment, not hundreds); otherwise it gets a comment of its own."""
    link = link_recurrence(action.rule, action.anomaly, group.link)
    event = _unsent_recurrence_comment(link)
    if event is None:
        event = queue_comment(link, "", at=at)
    action.comment_event = event
    action.save(update_fields=["comment_event"])
    event.body = recurrence_text(event, group)
    event.save(update_fields=["body"])
    transaction.on_commit(lambda: enqueue_deliveries([event.pk]))


def _unsent_recurrence_comment(link: TicketLink) -> SyncEvent | None:
    """The ticket's last queued comment, locked, if it is a recurrence never sent: its body
    may still change (no attempt, so Jira has seen nothing of it). A worker claims events
    with SKIP LOCKED and only while pending, so it either takes it before (and this finds it
    sending) or after this transaction (and sends the new body)."""
    remote_issue = remote_issue_key(link.integration_id, link.issue_id)
    lock_queue(remote_issue, link.integration_id)
    last = SyncEvent.objects.filter(remote_issue=remote_issue).order_by("-pk").first()
    if last is None or last.kind != "recurred":
        return None
    return (
        SyncEvent.objects.select_for_update()
        .filter(pk=last.pk, state=SyncState.PENDING, attempts=0, outcome_unknown=False)
        .first()
    )


def recurrence_text(event: SyncEvent, group: RuleGroup) -> str:
    actions = list(
        RuleAction.objects.filter(comment_event=event)
        .select_related("anomaly")
        .order_by("anomaly__detected_at", "pk")
    )
    latest = actions[-1].anomaly
    times = times_this_week(group, latest)
    if len(actions) == 1:
        return texts.recurrence_comment(
            at=latest.detected_at, times_this_week=times, anomaly_url=anomaly_url(latest)
        )
    return texts.recurrences_comment(
        first=actions[0].anomaly.detected_at,
        last=latest.detected_at,
        count=len(actions),
        times_this_week=times,
        urls=[anomaly_url(action.anomaly) for action in actions],
    )


def lock_group(rule: TicketRule, key: str, description: str) -> RuleGroup:
    """The group's row, created if new, locked until the transaction ends. Two first
    ingestions at once: one insert wins, the other waits on the unique key, then locks it."""
    RuleGroup.objects.bulk_create(
        [RuleGroup(rule=rule, group_key=key, description=description)], ignore_conflicts=True
    )
    group = RuleGroup.objects.select_for_update().get(rule=rule, group_key=key)
    # The ticket is read after the lock, by a query of its own. Joined into the locking query,
    # Postgres (read committed) would, after waiting for a worker that just stored the ticket,
    # re-check the group's new row but keep the join's old, empty side: the group would look
    # ticketless and a recurrence would open a second ticket.
    if group.link_id is not None:
        group.link = TicketLink.objects.select_related("integration").get(pk=group.link_id)
    return group


def group_state(group: RuleGroup, rule: TicketRule, now: datetime | None = None) -> str:
    """ "creating", "open" (its ticket takes recurrences), "cooling" (Done, within the
    cool-down: recurrences still comment there) or "new" (a new ticket is due)."""
    if group.creating:
        return "creating"
    link = group.link
    if link is None or link.broken_reason or link.integration.state != IntegrationState.CONNECTED:
        return "new"
    if link.status_category != StatusCategory.DONE:
        if group.done_seen_at is not None:  # reopened
            group.done_seen_at = None
            group.save(update_fields=["done_seen_at"])
        return "open"
    now = now or timezone.now()
    if group.done_seen_at is None:
        group.done_seen_at = link.last_synced_at or now
        group.save(update_fields=["done_seen_at"])
    cooled = group.done_seen_at + timedelta(hours=rule.cooldown_hours) <= now
    return "new" if cooled else "cooling"


def times_this_week(group: RuleGroup, anomaly: Anomaly) -> int:
    """How many of the group's anomalies were detected in the week up to this one."""
    return (
        RuleAction.objects.filter(
            group=group,
            kind__in=(Kind.CREATE, Kind.RECUR),
            anomaly__detected_at__gt=anomaly.detected_at - WEEK,
            anomaly__detected_at__lte=anomaly.detected_at,
        )
        .values("anomaly")
        .distinct()
        .count()
    )


def anomaly_url(anomaly: Anomaly) -> str:
    return settings.SITE_URL + reverse("anomalies:detail", args=[anomaly.pk])


def link_recurrence(rule: TicketRule, anomaly: Anomaly, ticket: TicketLink) -> TicketLink:
    """Link the anomaly to the group's ticket without asking the ticketing system: the ticket
    and its status are known from the group's first link."""
    existing = (
        TicketLink.objects.current()
        .filter(anomaly=anomaly, integration_id=ticket.integration_id, issue_id=ticket.issue_id)
        .first()
    )
    if existing is not None:
        return existing
    now = timezone.now()
    link = TicketLink.objects.create(
        anomaly=anomaly,
        integration_id=ticket.integration_id,
        origin=TicketLink.Origin.LINKED,
        issue_id=ticket.issue_id,
        issue_key=ticket.issue_key,
        url=ticket.url,
        summary=ticket.summary,
        status_name=ticket.status_name,
        status_category=ticket.status_category,
        last_synced_at=ticket.last_synced_at,
        linked_by_id=rule.owner_id,
        linked_at=now,
    )
    record_history(
        anomaly,
        action="rule_linked",
        summary=texts.by_rule(rule.name, f"recurred; linked ticket {ticket.issue_key}"),
    )
    return link


def queue_comment(link: TicketLink, body: str, *, at: datetime) -> SyncEvent:
    """A comment through the sync outbox: per ticket, in order, exactly once."""
    remote_issue = remote_issue_key(link.integration_id, link.issue_id)
    lock_queue(remote_issue, link.integration_id)
    event = SyncEvent.objects.create(
        link=link, remote_issue=remote_issue, kind="recurred", body=body, created_at=at
    )
    if body:
        transaction.on_commit(lambda: enqueue_deliveries([event.pk]))
    return event


def _comment_now(rule: TicketRule, anomaly: Anomaly, *, trigger_key, at) -> RuleAction:
    links = list(
        TicketLink.objects.current().filter(
            anomaly=anomaly, integration__state=IntegrationState.CONNECTED, broken_reason=""
        )
    )
    if not links:
        action = _new_action(rule, anomaly, trigger_key, Kind.COMMENT, ActionState.SKIPPED)
        action.last_error = "The anomaly has no linked ticket to comment on."
        action.save(update_fields=["last_error"])
        return action
    action = _new_action(rule, anomaly, trigger_key, Kind.COMMENT, ActionState.DONE)
    body = render(rule.comment_template, anomaly, rule)
    for link in links:
        queue_comment(link, body, at=at)
    _mark_done(action, ", ".join(link.issue_key for link in links))
    TicketRule.objects.filter(pk=rule.pk).update(actions_count=_plus(len(links)))
    record_history(
        anomaly, action="rule_commented", summary=texts.by_rule(rule.name, "comment queued")
    )
    return action


def _mark_done(action: RuleAction, issue_key: str) -> None:
    action.state, action.issue_key, action.done_at = ActionState.DONE, issue_key, timezone.now()
    action.save(update_fields=["state", "issue_key", "done_at"])


def _plus(n: int):
    return F("actions_count") + n


def enqueue_on_commit(action_id: int) -> None:
    from .executing import enqueue_action

    transaction.on_commit(lambda: enqueue_action(action_id))


__all__ = ["Trigger", "active_rules", "apply_rules"]
