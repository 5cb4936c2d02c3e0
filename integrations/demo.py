"""Linked tickets for the demo (`manage.py seed_demo --jira URL`, run by `make run`).

A few hundred seeded anomalies get a Jira issue in the local simulator, made in one call to
its control API, with the notes the sync delivered there (each carrying its event's marker,
as the real sync posts them) and the history those deliveries wrote. A few notes are still
pending (the running worker sends them), one failed with its reason (Retry works), and one
link is a broken reference: its issue was deleted in the simulator.

Rows are bulk-created in one transaction, so a run takes seconds. The data is the same on
every machine (seeded random streams); a second run finds the links and adds nothing.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from anomalies.demo import FINGERPRINT_PREFIX, TRIAGERS, status_changes
from anomalies.models import Anomaly, Comment, HistoryEntry, Status, User
from simulators.jira import SimulatorControl
from simulators.jira.state import jira_timestamp

from . import outbound
from .jira import adf
from .jira.connector import NOTE_PROPERTY
from .models import (
    ChangeKind,
    StatusCategory,
    SyncEvent,
    SyncQueue,
    SyncState,
    TicketingIntegration,
    TicketLink,
    remote_issue_key,
)
from .services.sync import ticket_words

DEFAULT_LINKS = 300
PENDING_RATE_LIMITED = 4  # waiting on a Retry-After: sent a few minutes after the seed
PENDING_FRESH = 2  # just written: the worker's first sweep sends them
GONE_REASON = "The issue was deleted, or the Jira account cannot see it."
FAILED_REASON = "Gave up after 14 attempts: Jira is unavailable."
RATE_LIMITED_REASON = "Jira rate limit reached."

COMMENTS = [
    "Looks like the CRM export ran twice last night; checking with its owners.",
    "Reproduced on yesterday's load. The fix is in review.",
    "Backfill scheduled for tonight's run.",
    "Confirmed with Finance: these rows are test orders and can be ignored.",
    "Raised with the vendor; waiting for their answer.",
    "Added a not-null constraint on the staging table so this fails earlier next time.",
    "Same root cause as last week's freshness alert on this table.",
    "Downstream dashboards are flagged as stale until this is fixed.",
]
# (project, issue type id, share): Tasks and Bugs in Data Quality, some Tasks in Operations.
ISSUE_KINDS = [("DQ", "10001", 6), ("DQ", "10002", 3), ("OPS", "10001", 1)]
# The simulator's workflow, by how far along an anomaly's triage is.
ISSUE_STATUS = {
    Status.ACTIVE: ["To Do", "To Do", "In Progress"],
    Status.ACKNOWLEDGED: ["In Progress", "In Review"],
}
ARCHIVED_ISSUE_STATUS = ["Done", "Done", "Done", "In Review"]
STATUS_CATEGORY = {
    "To Do": StatusCategory.TO_DO,
    "In Progress": StatusCategory.IN_PROGRESS,
    "In Review": StatusCategory.IN_PROGRESS,
    "Done": StatusCategory.DONE,
}


@dataclass
class Note:
    """One note owed to the issue: an event, and the comment it may carry."""

    kind: str
    body: str
    at: datetime
    state: str = SyncState.DELIVERED
    comment: Comment | None = None
    uuid: uuid.UUID = field(default_factory=uuid.uuid4)
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = None
    remote_note_id: str = ""


@dataclass
class Plan:
    """What one linked anomaly gets: its issue, its link and the notes sent there."""

    anomaly: Anomaly
    origin: str
    linked_by: User
    linked_at: datetime
    issue_status: str
    project: str
    issue_type: str
    notes: list[Note] = field(default_factory=list)
    broken: bool = False
    link: TicketLink | None = None


@dataclass
class TicketSeedReport:
    linked: int
    total_links: int
    pending: int = 0
    failed: int = 0
    broken_key: str = ""


def seed_demo_tickets(
    integration: TicketingIntegration, *, links: int = DEFAULT_LINKS
) -> TicketSeedReport:
    existing = TicketLink.objects.filter(
        integration=integration, anomaly__fingerprint__startswith=FINGERPRINT_PREFIX
    )
    if existing.exists() or links <= 0:
        return TicketSeedReport(linked=0, total_links=existing.count())
    now = timezone.now()
    users = {user.username: user for user in User.objects.filter(username__in=TRIAGERS)}
    plans = _plans(_chosen_anomalies(links), users, now)
    report = _mark_the_exceptions(plans, users, now)
    control = SimulatorControl(integration.host_url)
    _make_issues(control, plans, integration)
    for broken in (plan for plan in plans if plan.broken):
        control.delete_issue(broken.link.issue_key)
        report.broken_key = broken.link.issue_key
    _store(plans, integration, users, now)
    report.linked = report.total_links = len(plans)
    return report


def _chosen_anomalies(count: int) -> list[Anomaly]:
    anomalies = list(
        Anomaly.objects.filter(fingerprint__startswith=FINGERPRINT_PREFIX)
        .select_related("datastore", "container")
        .order_by("fingerprint")
    )
    chosen = random.Random("demo-tickets").sample(anomalies, k=min(count, len(anomalies)))
    return sorted(chosen, key=lambda anomaly: anomaly.detected_at)


def _plans(anomalies: list[Anomaly], users: dict[str, User], now: datetime) -> list[Plan]:
    plans = []
    for anomaly in anomalies:
        rng = random.Random(f"ticket-{anomaly.fingerprint}")
        changes = status_changes(anomaly)
        first_change = changes[0].at if changes else now
        linked_at = min(anomaly.detected_at + timedelta(minutes=rng.uniform(10, 50)), now)
        project, issue_type = _issue_kind(rng)
        plan = Plan(
            anomaly=anomaly,
            origin=TicketLink.Origin.CREATED if rng.random() < 0.85 else TicketLink.Origin.LINKED,
            linked_by=users[rng.choice(TRIAGERS)],
            linked_at=linked_at,
            issue_status=rng.choice(ISSUE_STATUS.get(anomaly.status, ARCHIVED_ISSUE_STATUS)),
            project=project,
            issue_type=issue_type,
        )
        comments_until = min(first_change, linked_at + timedelta(days=3), now)
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            at = linked_at + (comments_until - linked_at) * rng.uniform(0.05, 0.95)
            plan.notes.append(_comment_note(anomaly, users[rng.choice(TRIAGERS)], at, rng))
        for change in changes:
            status = Status.ACKNOWLEDGED if change.kind == "acknowledged" else anomaly.status
            body = outbound.status_comment(status, at=change.at)
            plan.notes.append(Note(kind=change.kind, body=body, at=change.at))
        plan.notes.sort(key=lambda note: note.at)
        for note in plan.notes:
            note.delivered_at = note.at + timedelta(seconds=rng.uniform(1, 20))
        plans.append(plan)
    return plans


def _issue_kind(rng: random.Random) -> tuple[str, str]:
    kinds = [(project, issue_type) for project, issue_type, _share in ISSUE_KINDS]
    return rng.choices(kinds, [share for *_kind, share in ISSUE_KINDS])[0]


def _comment_note(anomaly: Anomaly, author: User, at: datetime, rng: random.Random) -> Note:
    comment = Comment(anomaly=anomaly, author=author, text=rng.choice(COMMENTS), created_at=at)
    name = author.get_full_name() or author.username
    body = outbound.user_comment(comment.text, at=at, author=name)
    return Note(kind=ChangeKind.COMMENTED, body=body, at=at, comment=comment)


def _mark_the_exceptions(
    plans: list[Plan], users: dict[str, User], now: datetime
) -> TicketSeedReport:
    """Recent comments on a few Active anomalies still pending, an older one failed, and
    one issue deleted in Jira (a broken reference), as far as a small demo has them."""
    active = [plan for plan in plans if plan.anomaly.status == Status.ACTIVE]
    rng = random.Random("demo-ticket-exceptions")
    pending = active[-(PENDING_RATE_LIMITED + PENDING_FRESH) :]
    for index, plan in enumerate(pending):
        # Young enough that no "waiting longer than 15 minutes" alert fires before they go.
        at = now - timedelta(minutes=rng.uniform(1, 8))
        note = _comment_note(plan.anomaly, users[rng.choice(TRIAGERS)], at, rng)
        note.state, note.delivered_at = SyncState.PENDING, None
        if index < PENDING_RATE_LIMITED:
            note.next_attempt_at = now + timedelta(minutes=rng.uniform(1, 5))
        plan.notes.append(note)
    failing = active[: -len(pending)][-1:]
    for plan in failing:
        note = _comment_note(plan.anomaly, users["author"], now - timedelta(days=3), rng)
        note.state, note.delivered_at = SyncState.FAILED, None
        plan.notes.append(note)
    acknowledged = [p for p in plans if p.anomaly.status == Status.ACKNOWLEDGED and p.notes]
    for plan in acknowledged[:1]:
        plan.broken = True
    return TicketSeedReport(linked=0, total_links=0, pending=len(pending), failed=len(failing))


def _make_issues(
    control: SimulatorControl, plans: list[Plan], integration: TicketingIntegration
) -> None:
    """Every issue in one call, with the notes Jira received; then each plan's link."""
    specs = [_issue_spec(plan) for plan in plans]
    made = control.import_issues(specs)
    for plan, issue in zip(plans, made, strict=True):
        delivered = [note for note in plan.notes if note.state == SyncState.DELIVERED]
        for note, comment_id in zip(delivered, issue["comments"], strict=True):
            note.remote_note_id = comment_id
        plan.link = TicketLink(
            anomaly=plan.anomaly,
            integration=integration,
            origin=plan.origin,
            issue_id=issue["id"],
            issue_key=issue["key"],
            url=f"{integration.host_url.rstrip('/')}/browse/{issue['key']}",
            summary=_summary(plan.anomaly),
            status_name=plan.issue_status,
            status_category=STATUS_CATEGORY[plan.issue_status],
            linked_by=plan.linked_by,
            linked_at=plan.linked_at,
        )


def _summary(anomaly: Anomaly) -> str:
    return f"{anomaly.get_anomaly_type_display()} anomaly in {anomaly.container.name}"[:255]


def _issue_spec(plan: Plan) -> dict:
    anomaly = plan.anomaly
    created = plan.linked_at
    if plan.origin == TicketLink.Origin.LINKED:  # someone had already filed it
        created -= timedelta(hours=random.Random(anomaly.fingerprint).uniform(1, 30))
    return {
        "project": plan.project,
        "issuetype": plan.issue_type,
        "summary": _summary(anomaly),
        "description": adf.text_to_adf(anomaly.description),
        "labels": ["data-quality"],
        "status": plan.issue_status,
        "created": jira_timestamp(created),
        "comments": [
            {
                "body": adf.text_to_adf(note.body),
                "properties": {NOTE_PROPERTY: {"event": str(note.uuid)}},
                "created": jira_timestamp(note.delivered_at),
            }
            for note in plan.notes
            if note.state == SyncState.DELIVERED
        ],
    }


@transaction.atomic
def _store(
    plans: list[Plan], integration: TicketingIntegration, users: dict[str, User], now: datetime
) -> None:
    for plan in plans:
        last_read = now - timedelta(minutes=random.Random(plan.link.issue_key).uniform(1, 4))
        if plan.broken:
            plan.link.mark_broken(GONE_REASON, at=last_read)
        else:
            plan.link.last_synced_at = last_read
    TicketLink.objects.bulk_create([plan.link for plan in plans])
    Comment.objects.bulk_create(
        [note.comment for plan in plans for note in plan.notes if note.comment]
    )
    SyncQueue.objects.bulk_create(
        [
            SyncQueue(
                remote_issue=remote_issue_key(integration.pk, plan.link.issue_id),
                integration=integration,
            )
            for plan in plans
        ],
        ignore_conflicts=True,
    )
    # Ids in the order the changes happened: the outbox sends each issue's notes in id order.
    notes = sorted(((note, plan) for plan in plans for note in plan.notes), key=_when)
    SyncEvent.objects.bulk_create([_event(note, plan.link) for note, plan in notes])
    HistoryEntry.objects.bulk_create(
        [entry for plan in plans for entry in _history(plan)], batch_size=1000
    )


def _when(pair: tuple[Note, Plan]) -> datetime:
    return pair[0].at


def _event(note: Note, link: TicketLink) -> SyncEvent:
    failed = note.state == SyncState.FAILED
    return SyncEvent(
        uuid=note.uuid,
        link=link,
        remote_issue=remote_issue_key(link.integration_id, link.issue_id),
        kind=note.kind,
        body=note.body,
        state=note.state,
        attempts=14 if failed else (1 if note.state == SyncState.DELIVERED else 0),
        next_attempt_at=note.next_attempt_at,
        last_error=RATE_LIMITED_REASON if note.next_attempt_at else "",
        remote_note_id=note.remote_note_id,
        created_at=note.at,
        delivered_at=note.delivered_at,
        finished_reason=FAILED_REASON if failed else "",
    )


def _history(plan: Plan) -> list[HistoryEntry]:
    """What the product writes as it goes (status changes have theirs from the seed)."""
    link, anomaly = plan.link, plan.anomaly
    verb = "Created" if plan.origin == TicketLink.Origin.CREATED else "Linked"
    words = ticket_words(link)
    entries = [
        HistoryEntry(
            anomaly=anomaly,
            actor=plan.linked_by,
            action=f"ticket_{plan.origin}",
            summary=f"{verb} {words}",
            created_at=plan.linked_at,
        )
    ]
    for note in plan.notes:
        label = ChangeKind(note.kind).label
        if note.comment:
            entries.append(
                HistoryEntry(
                    anomaly=anomaly,
                    actor=note.comment.author,
                    action="commented",
                    summary="Commented",
                    created_at=note.at,
                )
            )
        if note.state == SyncState.DELIVERED:
            summary, at = f"{label} posted to {words}", note.delivered_at
            entries.append(_system_entry(anomaly, "sync_delivered", summary, at))
        elif note.state == SyncState.FAILED:
            summary = f"{label} to {words} failed: {FAILED_REASON}"
            entries.append(_system_entry(anomaly, "sync_failed", summary, note.at + _HORIZON))
    return entries


_HORIZON = timedelta(hours=48)  # when a note that keeps failing is given up (the default)


def _system_entry(anomaly: Anomaly, action: str, summary: str, at: datetime) -> HistoryEntry:
    return HistoryEntry(anomaly=anomaly, action=action, summary=summary[:500], created_at=at)
