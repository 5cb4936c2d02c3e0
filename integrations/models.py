"""The ticketing side: the one integration, links from anomalies to Jira issues, and the
outbox of comments owed to Jira."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from .fields import UNREADABLE, EncryptedTextField


class Connector(models.TextChoices):
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


class TicketingIntegration(models.Model):
    connector = models.CharField(max_length=20, choices=Connector.choices, editable=False)
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
        return f"{self.get_connector_display()} ({self.host_url})"

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

    def credential_pair(self) -> tuple[str, str]:
        """(email, api_token), for building a client; never for display."""
        if not self.credentials_readable:
            raise CredentialsUnreadable()
        email, _, token = self.credentials.partition(":")
        return email, token


class StatusCategory(models.TextChoices):
    """Jira's status categories (docs/jira-api.md §1.7), plus our own "unknown"."""

    TO_DO = "new", "To Do"
    IN_PROGRESS = "indeterminate", "In Progress"
    DONE = "done", "Done"
    NO_CATEGORY = "undefined", "No Category"
    UNKNOWN = "", "Unknown"


class TicketLinkQuerySet(models.QuerySet):
    def current(self):
        """Links shown on the anomaly page (removed ones are history only)."""
        return self.filter(removed_at__isnull=True)


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

    def show_status(self, *, summary: str, name: str, category_key: str, at) -> None:
        """What Jira says of the issue now; an unknown category shows as No Category."""
        self.summary = summary[:500] or self.summary
        self.status_name = name[:100]
        known = {choice.value for choice in StatusCategory}
        self.status_category = category_key if category_key in known else StatusCategory.NO_CATEGORY
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


class SyncEvent(models.Model):
    """One comment owed to one Jira issue: the outbox row, committed with the change."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    link = models.ForeignKey(TicketLink, on_delete=models.CASCADE, related_name="sync_events")
    # `remote_issue_key()` of the link: events sharing it go out one at a time, in id order.
    remote_issue = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=20)  # acknowledged, archived, restored, commented
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


class AlertNotice(models.Model):
    """The last message sent for one alert cause (integration paused, events failing, events
    pending too long; per anomaly for its assignees): at most one a cause per
    ALERT_THROTTLE_MINUTES, the ones held back counted for the next message and the health page."""

    cause = models.CharField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    detail = models.CharField(max_length=1000, blank=True)
    url = models.CharField(max_length=500, blank=True)
    last_sent_at = models.DateTimeField()
    held_back = models.PositiveIntegerField(
        default=0, help_text="Occurrences since the last message that sent none."
    )
    recipients = models.PositiveIntegerField(default=0)
    slack_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-last_sent_at", "-id"]

    def __str__(self) -> str:
        return f"{self.cause} at {self.last_sent_at:%Y-%m-%d %H:%M}"
