"""What operators look at: webhook deliveries received, the workers' heartbeat, and the
alerts sent."""

from django.db import models

from .integration import TicketingIntegration


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
