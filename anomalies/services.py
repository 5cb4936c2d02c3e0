"""Changes to anomalies. Each service owns its transaction, its history entry, and tells
other apps through `anomaly_changed` (inside the transaction, so their records commit with it).
"""

import dataclasses
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import (
    Anomaly,
    Comment,
    Container,
    Datastore,
    FailedCheck,
    HistoryEntry,
    StatusTransitionError,
    Tag,
    User,
)
from .permissions import effective_level
from .signals import anomaly_changed


class CommentRejected(Exception):
    """A comment that cannot be added; the message is shown to the user."""


@dataclasses.dataclass(frozen=True)
class AnomalyChange:
    """What happened to an anomaly, as other apps need to hear it."""

    anomaly: Anomaly
    kind: str  # "ingested", "acknowledged", "archived", "restored" or "commented"
    at: datetime
    actor: User
    status: str
    note: str = ""
    comment: Comment | None = None


def record_history(
    anomaly: Anomaly,
    *,
    action: str,
    summary: str,
    actor: User | None = None,
    at: datetime | None = None,
):
    """``at``: the change's own time (`AnomalyChange.at`), so the activity timeline can fold
    what other apps did for the change into its entry; now by default."""
    return HistoryEntry.objects.create(
        anomaly=anomaly,
        actor=actor,
        action=action,
        summary=summary[:500],
        created_at=at or timezone.now(),
    )


def _locked(anomaly: Anomaly) -> Anomaly:
    # Re-read under a row lock so two concurrent changes cannot both pass the status rules.
    return (
        Anomaly.objects.select_for_update()
        .select_related("datastore", "container")
        .get(pk=anomaly.pk)
    )


def _announce(change: AnomalyChange) -> None:
    anomaly_changed.send(sender=Anomaly, change=change)


@transaction.atomic
def acknowledge_anomaly(anomaly: Anomaly, *, by: User) -> Anomaly:
    anomaly = _locked(anomaly)
    anomaly.acknowledge()
    anomaly.save(update_fields=["status", "status_changed_at"])
    record_history(
        anomaly,
        action="acknowledged",
        summary="Acknowledged",
        actor=by,
        at=anomaly.status_changed_at,
    )
    _announce(_change(anomaly, "acknowledged", by))
    return anomaly


@transaction.atomic
def archive_anomaly(anomaly: Anomaly, *, by: User, reason: str, note: str = "") -> Anomaly:
    anomaly = _locked(anomaly)
    anomaly.archive(reason, note)
    anomaly.save(update_fields=["status", "status_changed_at", "archive_note"])
    summary = f"Archived as {reason}" + (
        f": {anomaly.archive_note}" if anomaly.archive_note else ""
    )
    record_history(
        anomaly, action="archived", summary=summary, actor=by, at=anomaly.status_changed_at
    )
    _announce(_change(anomaly, "archived", by, note=anomaly.archive_note))
    return anomaly


@transaction.atomic
def restore_anomaly(anomaly: Anomaly, *, by: User) -> Anomaly:
    anomaly = _locked(anomaly)
    anomaly.restore()
    anomaly.save(update_fields=["status", "status_changed_at", "archive_note"])
    record_history(
        anomaly,
        action="restored",
        summary="Restored to Acknowledged",
        actor=by,
        at=anomaly.status_changed_at,
    )
    _announce(_change(anomaly, "restored", by))
    return anomaly


@transaction.atomic
def comment_on_anomaly(anomaly: Anomaly, *, by: User, text: str) -> Comment:
    anomaly = _locked(anomaly)
    text = text.strip()
    if not anomaly.takes_comments:
        raise CommentRejected(
            f"This anomaly is archived as {anomaly.status} and takes no comments."
        )
    if not text:
        raise CommentRejected("Write something before adding a comment.")
    comment = Comment.objects.create(anomaly=anomaly, author=by, text=text)
    record_history(
        anomaly, action="commented", summary="Commented", actor=by, at=comment.created_at
    )
    _announce(_change(anomaly, "commented", by, comment=comment))
    return comment


class AssignmentRejected(Exception):
    """An assignee who cannot be assigned; the message is shown to the user."""


@transaction.atomic
def assign_anomaly(anomaly: Anomaly, *, by: User, assignee: User) -> Anomaly:
    """Add an assignee, who must be able to see the anomaly's datastore."""
    anomaly = _locked(anomaly)
    if effective_level(assignee, anomaly.datastore_id) is None:
        raise AssignmentRejected(f"{assignee} cannot see {anomaly.datastore}.")
    if anomaly.assignees.filter(pk=assignee.pk).exists():
        raise AssignmentRejected(f"Already assigned to {assignee}.")
    anomaly.assignees.add(assignee)
    record_history(anomaly, action="assigned", summary=f"Assigned to {assignee}", actor=by)
    return anomaly


@transaction.atomic
def unassign_anomaly(anomaly: Anomaly, *, by: User, assignee: User) -> Anomaly:
    anomaly = _locked(anomaly)
    if not anomaly.assignees.filter(pk=assignee.pk).exists():
        raise AssignmentRejected(f"Not assigned to {assignee}.")
    anomaly.assignees.remove(assignee)
    record_history(anomaly, action="unassigned", summary=f"Unassigned {assignee}", actor=by)
    return anomaly


def _change(
    anomaly: Anomaly, kind: str, actor: User, *, at: datetime | None = None, **extra
) -> AnomalyChange:
    comment = extra.get("comment")
    if at is None:
        at = comment.created_at if comment else anomaly.status_changed_at or timezone.now()
    return AnomalyChange(
        anomaly=anomaly, kind=kind, at=at, actor=actor, status=anomaly.status, **extra
    )


@transaction.atomic
def ingest_anomaly(
    data: dict[str, Any], *, datastore: Datastore, container: Container, by: User
) -> Anomaly:
    anomaly = Anomaly(
        datastore=datastore,
        container=container,
        fingerprint=data["fingerprint"],
        anomaly_type=data["type"],
        description=data["description"],
        anomalous_record_count=data["anomalous_record_count"],
    )
    if data["weight"] is not None:
        anomaly.weight = data["weight"]
    if data["detected_at"] is not None:
        anomaly.detected_at = data["detected_at"]
    anomaly.save()
    for check in data["failed_checks"]:
        check.anomaly = anomaly
    FailedCheck.objects.bulk_create(data["failed_checks"])
    anomaly.tags.set([Tag.objects.get_or_create(name=name)[0] for name in data["tags"]])
    record_history(anomaly, action="ingested", summary="Ingested through the API", actor=by)
    # Announced like every other change, inside this transaction: what the receivers decide
    # (the rules' outbox rows) commits with the anomaly or not at all.
    _announce(_change(anomaly, "ingested", by, at=anomaly.created_at))
    return anomaly


__all__ = [
    "AnomalyChange",
    "AssignmentRejected",
    "CommentRejected",
    "StatusTransitionError",
    "acknowledge_anomaly",
    "archive_anomaly",
    "assign_anomaly",
    "comment_on_anomaly",
    "ingest_anomaly",
    "record_history",
    "restore_anomaly",
    "unassign_anomaly",
]
