"""The ticketing side, whatever the connector: the one integration, links from anomalies to
remote tickets, and the outbox of notes owed to them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Count, Max, OuterRef, Prefetch, Q, Subquery

from . import connectors
from .fields import UNREADABLE, EncryptedTextField


class Connector(models.TextChoices):
    """Connector kinds by name, for fixtures and tests. What may be connected is the
    registry's to say (``integrations/connectors.py``), so the column takes no choices: a
    new connector needs no migration."""

    JIRA = "jira", "Jira"
    SERVICENOW = "servicenow", "ServiceNow"


class IntegrationState(models.TextChoices):
    CONNECTED = "connected", "Connected"
    DISCONNECTED = "disconnected", "Disconnected"


class CredentialsUnreadable(Exception):
    """The stored credentials cannot be decrypted (a key changed without rotation)."""

    def __init__(self) -> None:
        super().__init__("Stored credentials cannot be read — re-enter them.")


class TicketingIntegrationQuerySet(models.QuerySet):
    def connected(self):
        return self.filter(state=IntegrationState.CONNECTED)


class ChangeKind(models.TextChoices):
    """The anomaly changes that reach a remote ticket, labelled as history tells them."""

    ACKNOWLEDGED = "acknowledged", "Acknowledgement"
    ARCHIVED = "archived", "Archive status"
    RESTORED = "restored", "Restore status"
    COMMENTED = "commented", "Comment"


class TicketingIntegration(models.Model):
    connector = models.CharField(max_length=20, editable=False)  # a registry kind: "jira"
    host_url = models.URLField("host URL", max_length=255)
    # `email:api_token`, encrypted at rest; never rendered, logged or passed to a task.
    credentials = EncryptedTextField()
    default_project_key = models.CharField(max_length=50)
    state = models.CharField(
        max_length=20, choices=IntegrationState.choices, default=IntegrationState.CONNECTED
    )
    account_name = models.CharField(
        max_length=255, blank=True, help_text="The Jira account, as Jira names it."
    )
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    connected_at = models.DateTimeField()
    disconnected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True)
    last_test_checks = models.JSONField(default=list, blank=True)
    # Set when Jira rejects the credentials (401/403) during sync: the queue pauses until a
    # Manager fixes the credentials, instead of burning retries.
    attention_reason = models.CharField(max_length=500, blank=True)
    # Jira's 429 Retry-After applies to the whole site, so every worker waits until then.
    rate_limited_until = models.DateTimeField(null=True, blank=True)
    # The secret Jira signs webhook deliveries with (docs/jira-api.md §4.2); encrypted like the
    # credentials, shown once when generated, never rendered again. None: no webhook.
    webhook_secret = EncryptedTextField(null=True, blank=True)

    objects = TicketingIntegrationQuerySet.as_manager()

    class Meta:
        constraints = [
            # Two Managers connecting at once cannot both win: the database refuses the second.
            models.UniqueConstraint(
                fields=["state"],
                condition=Q(state="connected"),
                name="one_connected_integration",
            )
        ]

    def __str__(self) -> str:
        return f"{self.connector_name} ({self.host_url})"

    @property
    def connector_name(self) -> str:
        """The connector's display name, even for a kind no longer registered."""
        if self.connector in connectors.CONNECTORS:
            return self.connector_class.name
        return (
            Connector(self.connector).label
            if self.connector in Connector.values
            else self.connector
        )

    @property
    def is_connected(self) -> bool:
        return self.state == IntegrationState.CONNECTED

    @property
    def needs_attention(self) -> bool:
        return bool(self.attention_reason)

    @property
    def credentials_readable(self) -> bool:
        return self.credentials is not UNREADABLE

    @property
    def has_webhook(self) -> bool:
        """A webhook secret is set (it may be unreadable after a key change)."""
        return self.webhook_secret is not None and self.webhook_secret != ""

    @property
    def webhook_secret_readable(self) -> bool:
        return self.webhook_secret is not UNREADABLE

    @property
    def connector_class(self) -> type[connectors.Connector]:
        """The connector this integration was connected with (names, nouns, key pattern)."""
        return connectors.get_connector(self.connector)

    def credentials_value(self) -> connectors.Credentials:
        """The stored credentials, for opening a connector; never for display."""
        if not self.credentials_readable:
            raise CredentialsUnreadable()
        return connectors.Credentials.from_joined(self.credentials)

    def credential_pair(self) -> tuple[str, str]:
        """(user, secret), e.g. (email, api_token); never for display."""
        credentials = self.credentials_value()
        return credentials.username, credentials.secret


class StatusCategory(models.TextChoices):
    """How a link's status is stored: the connector's neutral category, in the values Jira's
    status categories gave them first (docs/jira-api.md §1.7), plus our own "unknown"."""

    TO_DO = "new", "To Do"
    IN_PROGRESS = "indeterminate", "In Progress"
    DONE = "done", "Done"
    NO_CATEGORY = "undefined", "No Category"
    UNKNOWN = "", "Unknown"


# A remote status's neutral category as stored; a named status without one: No Category.
STORED_CATEGORIES = {
    connectors.StatusCategory.TODO: StatusCategory.TO_DO,
    connectors.StatusCategory.IN_PROGRESS: StatusCategory.IN_PROGRESS,
    connectors.StatusCategory.DONE: StatusCategory.DONE,
}


def stored_category(status: "connectors.TicketStatus | None") -> str:
    """A remote status's category as stored (and styled); a named status the connector
    cannot place is No Category, no status at all Unknown."""
    if status is None or not (status.name or status.category in STORED_CATEGORIES):
        return StatusCategory.UNKNOWN
    return STORED_CATEGORIES.get(status.category, StatusCategory.NO_CATEGORY)


class TicketLinkQuerySet(models.QuerySet):
    def current(self):
        """Links shown on the anomaly page (removed ones are history only)."""
        return self.filter(removed_at__isnull=True)

    def with_sync_state(self):
        """Each link with its sync summary (counts, last failure, first waiting error), in
        the same query: what the Linked Tickets section and the API show."""
        failures = SyncEvent.objects.filter(link=OuterRef("pk"), state=SyncState.FAILED)
        latest_failure = failures.order_by("-pk")
        waiting_error = (
            SyncEvent.objects.filter(link=OuterRef("pk"), state=SyncState.PENDING)
            .exclude(last_error="")
            .order_by("pk")
        )
        return self.select_related("integration").annotate(
            pending_count=Count(
                "sync_events",
                filter=Q(sync_events__state__in=(SyncState.PENDING, SyncState.SENDING)),
            ),
            delivered_count=Count("sync_events", filter=Q(sync_events__state=SyncState.DELIVERED)),
            cancelled_count=Count("sync_events", filter=Q(sync_events__state=SyncState.CANCELLED)),
            last_delivered_at=Max("sync_events__delivered_at"),
            failed_event_id=Subquery(latest_failure.values("pk")[:1]),
            failed_reason=Subquery(latest_failure.values("finished_reason")[:1]),
            last_error=Subquery(waiting_error.values("last_error")[:1]),
        )

    def with_open_events(self):
        """Prefetch each link's pending, sending and failed events (one query for all)."""
        open_events = SyncEvent.objects.filter(state__in=OPEN_STATES).order_by("pk")
        return self.prefetch_related(Prefetch("sync_events", open_events, to_attr="open_events"))

    def with_events_newest_first(self):
        """Prefetch every event of each link, newest first (the section's event list)."""
        events = SyncEvent.objects.order_by("-pk")
        return self.prefetch_related(Prefetch("sync_events", events, to_attr="events"))


class TicketLink(models.Model):
    """An anomaly linked to one Jira issue. Removing a link keeps the row as history."""

    class Origin(models.TextChoices):
        CREATED = "created", "Created from the anomaly"
        LINKED = "linked", "Linked existing issue"

    anomaly = models.ForeignKey(
        "anomalies.Anomaly", on_delete=models.CASCADE, related_name="ticket_links"
    )
    integration = models.ForeignKey(
        TicketingIntegration, on_delete=models.PROTECT, related_name="links"
    )
    origin = models.CharField(max_length=10, choices=Origin.choices)
    issue_id = models.CharField(max_length=32)
    issue_key = models.CharField(max_length=64)
    url = models.URLField(max_length=500)
    summary = models.CharField(max_length=500, blank=True)
    status_name = models.CharField(max_length=100, blank=True)
    status_category = models.CharField(
        max_length=20, choices=StatusCategory.choices, blank=True, default=StatusCategory.UNKNOWN
    )
    status_error = models.CharField(
        max_length=500, blank=True, help_text="Why the status is Unknown, when it is."
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # Jira's own time of the last webhook applied to this link (Jira's clock, not ours), so
    # that a retried, older delivery never moves the status back.
    status_event_at = models.DateTimeField(null=True, blank=True)
    broken_reason = models.CharField(
        max_length=500, blank=True, help_text="Set when the Jira issue was deleted or hidden."
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    linked_at = models.DateTimeField()
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = TicketLinkQuerySet.as_manager()

    class Meta:
        ordering = ["linked_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["anomaly", "integration", "issue_id"],
                condition=Q(removed_at__isnull=True),
                name="one_current_link_per_issue",
            )
        ]
        indexes = [models.Index(fields=["integration", "removed_at"])]

    def __str__(self) -> str:
        return f"{self.issue_key} ↔ anomaly {self.anomaly_id}"

    # What show_status() and mark_broken() change, for bulk_update().
    STATUS_FIELDS = (
        "summary",
        "status_name",
        "status_category",
        "status_error",
        "last_synced_at",
        "broken_reason",
    )

    @property
    def is_broken(self) -> bool:
        return bool(self.broken_reason)

    @property
    def broken_reference_refusal(self) -> str:
        """Why a retry of this broken link's notes is refused."""
        name = self.integration.connector_class.name
        return (
            f"{self.issue_key} is a broken reference (deleted in {name}, or the account cannot "
            "see it): retrying cannot help. Remove the link or relink."
        )

    def show_status(self, *, summary: str, status: connectors.TicketStatus | None, at) -> None:
        """What the remote says of the ticket now; a named status the connector cannot
        place shows as No Category, no status at all as Unknown."""
        self.summary = summary[:500] or self.summary
        self.status_name = (status.name if status else "")[:100]
        self.status_category = stored_category(status)
        self.status_error = ""
        self.last_synced_at = at

    def mark_broken(self, reason: str, *, at) -> None:
        """The issue is gone or hidden: a broken reference, its status Unknown with why."""
        self.broken_reason = reason[:500]
        self.status_name, self.status_category = "", StatusCategory.UNKNOWN
        self.status_error = self.broken_reason
        self.last_synced_at = at


class CreateAttempt(models.Model):
    """One submitted Create Ticket form (page or API), keyed by the form's own token, so a
    double click, a back button or a client retry never creates a second Jira issue.

    The issue is created with an entity property holding ``marker``; when Jira's answer is
    lost, the issue is looked for by that marker before anything else is said or sent
    (docs/jira-api.md, "Finding an issue after a lost create answer").
    """

    class State(models.TextChoices):
        SENDING = "sending", "Being created"
        CREATED = "created", "Created and linked"
        UNKNOWN = "unknown", "Outcome unknown"
        NOT_CREATED = "not_created", "Not created"

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    # The form's hidden token, or the API's Idempotency-Key header; unique per user.
    token = models.CharField(max_length=100)
    marker = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    anomaly = models.ForeignKey("anomalies.Anomaly", on_delete=models.CASCADE, related_name="+")
    integration = models.ForeignKey(
        TicketingIntegration, on_delete=models.PROTECT, related_name="+"
    )
    project_key = models.CharField(max_length=50)
    state = models.CharField(max_length=12, choices=State.choices, default=State.SENDING)
    started_at = models.DateTimeField()
    link = models.ForeignKey(
        TicketLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_error = models.CharField(max_length=1000, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "token"], name="one_create_attempt_per_form"
            )
        ]

    def __str__(self) -> str:
        return f"create {self.token} ({self.state})"


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
    link = models.ForeignKey(TicketLink, on_delete=models.CASCADE, related_name="sync_events")
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
    jira_comment_id = models.CharField(max_length=32, blank=True)
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
        return ChangeKind(self.kind).label if self.kind in ChangeKind.values else "Comment"

    def _save(self, *fields: str) -> None:
        self.save(update_fields=list(fields))

    def start_sending(self, *, at) -> None:
        """A worker claimed it (under a row lock): one more attempt, from now."""
        self.state, self.sending_since, self.attempts = SyncState.SENDING, at, self.attempts + 1
        self._save("state", "sending_since", "attempts")

    def mark_delivered(self, note_id: str, *, at) -> None:
        self.state, self.delivered_at = SyncState.DELIVERED, at
        self.jira_comment_id, self.sending_since, self.last_error = str(note_id), None, ""
        self._save("state", "jira_comment_id", "delivered_at", "sending_since", "last_error")

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


class WebhookDelivery(models.Model):
    """One authenticated webhook delivery from Jira: for dedup (Jira keeps a delivery's
    identifier across its retries, docs/jira-api.md §4.3) and for operators to see what arrived."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied to linked tickets"
        NOT_LINKED = "not_linked", "No current link to that issue"
        IGNORED = "ignored", "Event not used"

    integration = models.ForeignKey(
        TicketingIntegration, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    # Null when Jira sent none, so such deliveries are never taken for duplicates.
    identifier = models.CharField(max_length=200, unique=True, null=True, blank=True)
    # SHA-256 of the signed body: the signature does not cover the identifier, so a replay
    # under a new identifier is caught by its body (services/webhooks.py). Null before 0004.
    body_sha256 = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
    event = models.CharField(max_length=100)
    issue_key = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(db_index=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "body_sha256"], name="one_delivery_per_signed_body"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.issue_key}: {self.get_outcome_display()}"


class WorkerHeartbeat(models.Model):
    """When a worker last ran a periodic task (beat scheduled it, a worker ran it, the
    database took the write): what /healthz and the metrics call the worker heartbeat."""

    name = models.CharField(max_length=50, unique=True)
    beat_at = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} on {self.hostname} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
