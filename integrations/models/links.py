"""Links from anomalies to remote tickets, and the create attempts that make them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Count, Max, OuterRef, Prefetch, Q, Subquery

from .. import connectors
from .integration import TicketingIntegration
from .sync import OPEN_STATES, SyncEvent, SyncState


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
        """Each link with its sync summary (counts, last failure, first waiting error and
        when it is tried next), in the same query: what the Linked Tickets section and the
        API show."""
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
            next_try_at=Subquery(waiting_error.values("next_attempt_at")[:1]),
        )

    def with_open_events(self):
        """Prefetch each link's pending, sending and failed events (one query for all)."""
        open_events = SyncEvent.objects.filter(state__in=OPEN_STATES).order_by("pk")
        return self.prefetch_related(Prefetch("sync_events", open_events, to_attr="open_events"))

    def with_events_newest_first(self, latest: int | None = None):
        """Prefetch each link's events, newest first (the section's event list): all of
        them, or only the ``latest`` few per link (one windowed query for all links)."""
        events = SyncEvent.objects.order_by("-pk")
        if latest is not None:
            events = events[:latest]
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
