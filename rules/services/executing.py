"""Carrying out decisions that need the ticketing system (create, link), in workers.

Like the sync outbox: a worker claims the action under a row lock; it waits while the
integration is rate-limited (Retry-After, shared with sync) and takes a token of the
site-wide budget first; a transient failure is retried with backoff; a crash mid-create is
recovered by the sweeper, and the create marker (integrations/services/creating.py) finds the
issue instead of creating a second one, because a retry reuses the action's form token."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from anomalies.services import record_history
from integrations.models import TicketingIntegration, TicketLink
from integrations.services import NewTicket, TicketError, create_ticket_once, link_existing_issue
from integrations.services.connection import connected_integration
from integrations.services.creating import in_flight_limit
from qualytics_jira.broker import publish

from .. import texts
from ..matching import TemplateRefused, render
from ..models import ActionState, RuleAction, RuleGroup, TicketRule
from ..ticket_fields import TicketFieldsRefused, out_of_date, spec_for, ticket_values
from .budget import take_budget_token
from .deciding import comment_recurrence

logger = logging.getLogger(__name__)
Kind = RuleAction.Kind


def enqueue_action(action_id: int, *, countdown: float | None = None) -> bool:
    """Hand an action to a worker; a broker outage only delays it (the sweeper finds it)."""
    from ..tasks import execute_rule_action

    return publish(execute_rule_action, action_id, countdown=countdown)


def execute_rule_action(action_id: int) -> str:
    action = _claim(action_id)
    if not isinstance(action, RuleAction):
        return action
    if action.rule.owner_id is None:  # nobody to act for: the rule waits to be taken over
        _fail(action, texts.ORPHANED)
        return "failed"
    try:
        if action.kind == Kind.CREATE:
            _create(action)
        else:
            _link(action)
    except TicketError as error:
        return _after_failure(action, error)
    except (TemplateRefused, TicketFieldsRefused) as error:
        _fail(action, str(error))
        return "failed"
    return "done"


def _claim(action_id: int) -> RuleAction | str:
    """The action, SENDING, when it is due and may go now; else why not (a string)."""
    now = timezone.now()
    with transaction.atomic():
        action = (
            RuleAction.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("rule__owner", "anomaly__datastore", "anomaly__container")
            .filter(pk=action_id, state=ActionState.PENDING)
            .first()
        )
        if action is None or (action.next_attempt_at and action.next_attempt_at > now):
            return "skipped"
        integration = connected_integration()
        if integration is None:
            _fail(action, "No ticketing integration is connected.")
            return "failed"
        wait = _wait_before_sending(integration, now)
        if wait:
            _postpone(action, wait, reason=action.last_error)
            return "postponed"
        action.state, action.sending_since = ActionState.SENDING, now
        action.attempts += 1
        action.save(update_fields=["state", "sending_since", "attempts"])
    action.integration = integration
    return action


def _wait_before_sending(integration: TicketingIntegration, now) -> float:
    """Seconds to wait: the integration is paused or rate-limited, or the budget is spent."""
    if integration.attention_reason:
        return settings.SYNC_SWEEP_SECONDS
    if integration.rate_limited_until and integration.rate_limited_until > now:
        return (integration.rate_limited_until - now).total_seconds()
    return take_budget_token(now)


def _create(action: RuleAction) -> None:
    rule, anomaly, integration = action.rule, action.anomaly, action.integration
    stale = out_of_date(rule, integration)
    if stale:
        raise TicketFieldsRefused({"ticket_fields": stale})
    # The rule's fields (and its weight band's) by the create form's field names: the
    # connector sends them as its own form would (custom fields through ``spec``).
    issue = NewTicket(
        scope=rule.ticket_scope or integration.default_project_key,
        summary=render(rule.summary_template, anomaly, rule)[:255]
        or f"{anomaly.get_anomaly_type_display()} anomaly on {anomaly.container.name}",
        description=render(rule.description_template, anomaly, rule),
        values=ticket_values(rule, anomaly.weight),
        spec=spec_for(rule),
    )
    # The same token on every attempt: a retry after a crash finds the issue by its marker.
    result = create_ticket_once(
        anomaly,
        issue,
        integration=action.integration,
        by=rule.owner,
        token=f"rule-action:{action.uuid}",
    )
    _created(action, result.link)


@transaction.atomic
def _created(action: RuleAction, link: TicketLink) -> None:
    if _finished_elsewhere(action):
        return
    group = RuleGroup.objects.select_for_update(of=("self",)).get(pk=action.group_id)
    group.creating, group.link, group.done_seen_at = False, link, None
    group.save(update_fields=["creating", "link", "done_seen_at"])
    _done(action, link.issue_key, f"created ticket {link.issue_key}", "rule_created")
    _release_waiting(action.rule, group, link)


def _release_waiting(rule: TicketRule, group: RuleGroup, ticket: TicketLink) -> None:
    """Recurrences that arrived while the ticket was being created: each anomaly is linked,
    and they share one comment."""
    group.link = ticket
    waiting = group.actions.filter(state=ActionState.WAITING).select_related("anomaly", "rule")
    for action in waiting.order_by("anomaly__detected_at", "pk"):
        comment_recurrence(action, group, at=timezone.now())
        action.state, action.issue_key, action.done_at = (
            ActionState.DONE,
            ticket.issue_key,
            timezone.now(),
        )
        action.save(update_fields=["state", "issue_key", "done_at"])
        TicketRule.objects.filter(pk=rule.pk).update(actions_count=F("actions_count") + 1)


def _link(action: RuleAction) -> None:
    rule = action.rule
    try:
        link = link_existing_issue(
            action.anomaly, rule.issue_key, integration=action.integration, by=rule.owner
        )
        key = link.issue_key
    except TicketError as error:
        if "already linked" not in error.message:
            raise
        key = rule.issue_key.strip().upper()
    with transaction.atomic():
        if not _finished_elsewhere(action):
            _done(action, key, f"linked ticket {key}", "rule_linked")


def _finished_elsewhere(action: RuleAction) -> bool:
    """Whether another worker finished this action meanwhile (locked until this commits):
    finishing it twice would write its history and count it twice."""
    state = (
        RuleAction.objects.select_for_update()
        .filter(pk=action.pk)
        .values_list("state", flat=True)
        .first()
    )
    return state == ActionState.DONE


def _done(action: RuleAction, issue_key: str, what: str, history_action: str) -> None:
    action.state, action.issue_key, action.done_at = ActionState.DONE, issue_key, timezone.now()
    action.sending_since, action.last_error = None, ""
    action.save(update_fields=["state", "issue_key", "done_at", "sending_since", "last_error"])
    TicketRule.objects.filter(pk=action.rule_id).update(actions_count=F("actions_count") + 1)
    record_history(
        action.anomaly, action=history_action, summary=texts.by_rule(action.rule.name, what)
    )


def _after_failure(action: RuleAction, error: TicketError) -> str:
    retry_after = getattr(error, "retry_after", None)
    transient = error.outcome_unknown or error.remote_outage
    if not transient or action.attempts >= settings.RULES_MAX_ATTEMPTS:
        _fail(action, error.message)
        return "failed"
    if retry_after is not None:  # shared with sync: the whole site waits, not this action
        TicketingIntegration.objects.filter(pk=action.integration.pk).update(
            rate_limited_until=timezone.now() + timedelta(seconds=retry_after)
        )
    delay = retry_after if retry_after is not None else backoff_seconds(action.attempts)
    if error.outcome_unknown:  # the create may still land: look for it once it would have
        delay = max(delay, settings.JIRA_READ_TIMEOUT)
    _postpone(action, delay, reason=error.message)
    return "retry"


def backoff_seconds(attempts: int) -> float:
    base = settings.SYNC_BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return min(base, settings.SYNC_BACKOFF_MAX_SECONDS) * random.uniform(0.7, 1.3)


def _postpone(action: RuleAction, delay: float, *, reason: str) -> None:
    action.state = ActionState.PENDING
    action.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    action.sending_since, action.last_error = None, reason[:1000]
    action.save(update_fields=["state", "next_attempt_at", "sending_since", "last_error"])
    transaction.on_commit(lambda: enqueue_action(action.pk, countdown=delay))


@transaction.atomic
def _fail(action: RuleAction, reason: str) -> None:
    """The action gave up: counted, in the anomaly's history; a create frees its group, and
    the recurrences that waited for its ticket fail with it."""
    now = timezone.now()
    RuleAction.objects.filter(pk=action.pk).update(
        state=ActionState.FAILED, last_error=reason[:1000], sending_since=None, done_at=now
    )
    TicketRule.objects.filter(pk=action.rule_id).update(failures_count=F("failures_count") + 1)
    record_history(
        action.anomaly,
        action="rule_failed",
        summary=texts.by_rule(action.rule.name, f"{action.get_kind_display()} failed: {reason}"),
    )
    if action.kind == Kind.CREATE and action.group_id:
        RuleGroup.objects.filter(pk=action.group_id).update(creating=False)
        RuleAction.objects.filter(group_id=action.group_id, state=ActionState.WAITING).update(
            state=ActionState.FAILED,
            last_error=f"The group's ticket could not be created: {reason}"[:1000],
            done_at=now,
        )


def sending_stale_after() -> timedelta:
    """How long an action may be "sending" before its worker is taken for dead. Never less
    than one attempt can last (waiting out another sender of the same create, then its own
    create and lookups): returned sooner, a live attempt would get a twin."""
    one_attempt = 2 * in_flight_limit()
    return max(timedelta(seconds=settings.SYNC_SENDING_STALE_SECONDS), one_attempt)


def sweep_rule_actions() -> dict[str, int]:
    """Recover actions whose worker died mid-send, and enqueue every due pending one."""
    now = timezone.now()
    stale_before = now - sending_stale_after()
    recovered = RuleAction.objects.filter(
        state=ActionState.SENDING, sending_since__lt=stale_before
    ).update(
        state=ActionState.PENDING,
        sending_since=None,
        last_error="The worker stopped while sending; the create marker is looked up first.",
    )
    due = list(
        RuleAction.objects.filter(state=ActionState.PENDING)
        .exclude(next_attempt_at__gt=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    for action_id in due:
        if not enqueue_action(action_id):
            break
    return {"recovered": recovered, "enqueued": len(due)}
