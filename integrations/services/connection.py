"""Connect, test, edit and disconnect the ticketing integration."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from anomalies.models import User

from ..connectors import DEFAULT_CONNECTOR, ConnectionReport, Credentials
from ..models import IntegrationState, TicketingIntegration
from .clients import open_connector
from .reconnect import DISCONNECTED_REASON, reattach_history_links
from .sync import cancel_pending_events, resume_integration


class AlreadyConnected(Exception):
    def __init__(self, existing: TicketingIntegration | None) -> None:
        name = str(existing) if existing else "Another integration"
        super().__init__(
            f"{name} is already connected. Disconnect it before connecting another one: "
            "only one ticketing integration can be active at a time."
        )


def check_connection(
    host_url: str, credentials: Credentials, scope: str, connector: str = DEFAULT_CONNECTOR
) -> ConnectionReport:
    """The connector's connection test against a site, with credentials typed or stored."""
    with open_connector(connector, host_url, credentials) as opened:
        return opened.check_connection(scope)


def connected_integration() -> TicketingIntegration | None:
    return TicketingIntegration.objects.connected().first()


def connect_integration(
    *,
    host_url: str,
    credentials: Credentials,
    default_project_key: str,
    report: ConnectionReport,
    by: User,
    connector: str = DEFAULT_CONNECTOR,
    reattach_links: bool = True,
) -> TicketingIntegration:
    """Store a connection that passed its checks; unless told not to, re-attach the links
    earlier connections to the same site left as history (``reattached_link_count``).
    Raises AlreadyConnected."""
    now = timezone.now()
    try:
        with transaction.atomic():
            integration = TicketingIntegration.objects.create(
                connector=connector,
                host_url=host_url,
                credentials=credentials.joined(),
                default_project_key=default_project_key,
                account_name=report.account_name,
                connected_by=by,
                connected_at=now,
                last_tested_at=now,
                last_test_ok=report.ok,
                last_test_checks=report.as_json(),
            )
            reattached = reattach_history_links(integration) if reattach_links else []
            integration.reattached_link_count = len(reattached)
            return integration
    except IntegrityError:
        raise AlreadyConnected(connected_integration()) from None


@transaction.atomic
def record_test(integration: TicketingIntegration, report: ConnectionReport) -> None:
    """Store the test; a test that passes every check (permissions included) also lifts a
    pause on sync that a 401/403 put in place: what caused it has been fixed remotely."""
    integration.last_tested_at = timezone.now()
    integration.last_test_ok = report.ok
    integration.last_test_checks = report.as_json()
    fields = ["last_tested_at", "last_test_ok", "last_test_checks"]
    lifted = report.ok and integration.needs_attention
    if lifted:
        integration.attention_reason = ""
        fields.append("attention_reason")
    integration.save(update_fields=fields)
    if lifted:
        _announce_integration_changed(integration)


@transaction.atomic
def update_integration(
    integration: TicketingIntegration,
    *,
    credentials: Credentials | None,
    default_project_key: str,
    report: ConnectionReport,
) -> TicketingIntegration:
    """Save edited settings that passed their checks; a fix of the credentials also lifts
    the pause on sync that a 401/403 put in place."""
    if credentials is not None:
        integration.credentials = credentials.joined()
    integration.default_project_key = default_project_key
    integration.account_name = report.account_name
    integration.attention_reason = ""
    integration.save(
        update_fields=[
            "credentials",
            "default_project_key",
            "account_name",
            "attention_reason",
        ]
    )
    record_test(integration, report)
    _announce_integration_changed(integration)
    return integration


@transaction.atomic
def disconnect_integration(integration: TicketingIntegration, *, by: User) -> int:
    """Disconnect; links stay as history and stop syncing. Returns cancelled event count."""
    integration = TicketingIntegration.objects.select_for_update().get(pk=integration.pk)
    integration.state = IntegrationState.DISCONNECTED
    integration.disconnected_by = by
    integration.disconnected_at = timezone.now()
    integration.save(update_fields=["state", "disconnected_by", "disconnected_at"])
    return _cancel_pending_events(integration)


def _cancel_pending_events(integration: TicketingIntegration) -> int:
    return cancel_pending_events(integration=integration, reason=DISCONNECTED_REASON)


def _announce_integration_changed(integration: TicketingIntegration) -> None:
    resume_integration(integration)


def check_edited_connection(
    integration: TicketingIntegration, credentials: Credentials | None, default_project_key: str
) -> ConnectionReport:
    """Check edited settings; blank credentials mean the stored ones (which may be
    unreadable: CredentialsUnreadable)."""
    if credentials is None:
        credentials = integration.credentials_value()
    return check_connection(
        integration.host_url, credentials, default_project_key, integration.connector
    )
