"""The one ticketing integration: which connector, which site, which account."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .. import connectors
from ..fields import UNREADABLE, EncryptedTextField


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

    @classmethod
    def label_of(cls, kind: str) -> str:
        """How a change reads in the anomaly's history: "Acknowledgement", "Comment"."""
        return cls(kind).label if kind in cls.values else "Comment"


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
