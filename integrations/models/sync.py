"""The outbox: sync events owed to remote tickets, and each ticket's delivery queue."""

import uuid

from django.db import models

from .integration import ChangeKind, TicketingIntegration


class SyncState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


UNFINISHED = (SyncState.PENDING, SyncState.SENDING)
OPEN_STATES = (SyncState.PENDING, SyncState.SENDING, SyncState.FAILED)


def remote_issue_key(integration_id: int, issue_id: str) -> str:
    """The identity of one Jira issue across every anomaly linked to it (docs/sync.md): the
    issue id, not the key, since a key changes when the issue moves to another project."""
    return f"{integration_id}:{issue_id}"


class SyncQueue(models.Model):
    """One Jira issue's delivery queue. Its row is locked while an event for the issue is
    written, so the events of one issue get ids in the order their changes commit; it also
    holds the issue's own 403 state, so a refusal there pauses that issue only."""

    remote_issue = models.CharField(max_length=64, unique=True)
    integration = models.ForeignKey(
        TicketingIntegration, on_delete=models.CASCADE, related_name="sync_queues"
    )
    # Jira refused access (403) to this issue: how often in a row, when last, why, and the
    # project the issue was in (the rule for pausing the whole integration counts projects).
    forbidden_count = models.PositiveIntegerField(default=0)
    forbidden_at = models.DateTimeField(null=True, blank=True)
    forbidden_reason = models.CharField(max_length=500, blank=True)
    forbidden_project = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"queue {self.remote_issue}"


class SyncEventQuerySet(models.QuerySet):
    def unfinished(self):
        return self.filter(state__in=UNFINISHED)

    def ahead_of(self, event: "SyncEvent"):
        """Unfinished events of the same remote ticket written before ``event``."""
        return self.unfinished().filter(remote_issue=event.remote_issue, pk__lt=event.pk)

    def waiting_on(self, remote_issue: str):
        """Pending events of one remote ticket, in the order they go out."""
        return self.filter(remote_issue=remote_issue, state=SyncState.PENDING).order_by("pk")


class SyncEvent(models.Model):
    """One note owed to one remote ticket: the outbox row, committed with the change. Its
    state changes are the methods below; services decide when, and save nothing else."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    link = models.ForeignKey(
        "integrations.TicketLink", on_delete=models.CASCADE, related_name="sync_events"
    )
    # `remote_issue_key()` of the link: events sharing it go out one at a time, in id order.
    remote_issue = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    body = models.TextField(help_text="The comment text, rendered at the time of the change.")
    state = models.CharField(
        max_length=10, choices=SyncState.choices, default=SyncState.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    # A send whose answer never came (timeout, dropped connection, killed worker): before
    # sending again, look for the comment carrying this event's property in Jira.
    outcome_unknown = models.BooleanField(default=False)
    # When the last send with an unknown outcome ended: no resend before this plus
    # SYNC_LOOKBACK_MARGIN_SECONDS, and only after a last look finds no comment.
    uncertain_since = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    # The delivered note's id as the connector gives it (post_note): a Jira comment's id; for
    # ServiceNow, whose work notes have no id of their own in the answer, the event's marker.
    remote_note_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    retried_at = models.DateTimeField(
        null=True, blank=True, help_text="When someone last asked to retry a failed event."
    )
    finished_reason = models.CharField(
        max_length=500, blank=True, help_text="Why the event failed or was cancelled."
    )

    objects = SyncEventQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["link", "state", "id"]),
            models.Index(fields=["remote_issue", "state", "id"]),
            models.Index(fields=["state", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.link.issue_key} ({self.state})"

    def save(self, *args, **kwargs) -> None:
        if not self.remote_issue:
            self.remote_issue = remote_issue_key(self.link.integration_id, self.link.issue_id)
        super().save(*args, **kwargs)

    @property
    def retry_horizon_start(self):
        return self.retried_at or self.created_at

    @property
    def label(self) -> str:
        """How the event reads in the anomaly's history: "Acknowledgement", "Comment"."""
        return ChangeKind.label_of(self.kind)

    def _save(self, *fields: str) -> None:
        self.save(update_fields=list(fields))

    def start_sending(self, *, at) -> None:
        """A worker claimed it (under a row lock): one more attempt, from now."""
        self.state, self.sending_since, self.attempts = SyncState.SENDING, at, self.attempts + 1
        self._save("state", "sending_since", "attempts")

    def mark_delivered(self, note_id: str, *, at) -> None:
        self.state, self.delivered_at = SyncState.DELIVERED, at
        self.remote_note_id, self.sending_since, self.last_error = str(note_id), None, ""
        self._save("state", "remote_note_id", "delivered_at", "sending_since", "last_error")

    def wait_until(self, until, *, reason: str) -> None:
        """Back in the queue, not before ``until``, saying why."""
        self.state, self.next_attempt_at, self.sending_since = SyncState.PENDING, until, None
        self.last_error = reason[:1000]
        self._save("state", "next_attempt_at", "sending_since", "last_error")

    def retry_at(self, until, *, reason: str, uncertain_since=None) -> None:
        """A transient failure: retry at ``until``. ``uncertain_since``: the send that just
        ended may still land, so it is looked for before the next send."""
        if uncertain_since is not None:
            self.outcome_unknown, self.uncertain_since = True, uncertain_since
        self.state, self.next_attempt_at, self.sending_since = SyncState.PENDING, until, None
        self.last_error = reason[:1000]
        fields = ("outcome_unknown", "uncertain_since", "next_attempt_at", "sending_since")
        self._save("state", *fields, "last_error")

    def pause(self, *, reason: str) -> None:
        """Waits, with no time set, for the integration's pause to be lifted."""
        self.state, self.sending_since, self.last_error = SyncState.PENDING, None, reason[:1000]
        self._save("state", "sending_since", "last_error")

    def postpone(self, until) -> None:
        self.next_attempt_at = until
        self._save("next_attempt_at")

    def finish(self, state: str, *, reason: str) -> None:
        """Failed or cancelled: it will not be sent unless someone retries it."""
        self.state, self.finished_reason, self.sending_since = state, reason[:500], None
        self._save("state", "finished_reason", "sending_since")

    def send_again(self, *, at) -> None:
        """A failed event gets a fresh set of tries and a fresh retry horizon."""
        self.state, self.attempts, self.next_attempt_at = SyncState.PENDING, 0, None
        self.finished_reason, self.retried_at = "", at
        self._save("state", "attempts", "next_attempt_at", "finished_reason", "retried_at")
