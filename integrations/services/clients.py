"""Opening a connector on a site: from credentials just typed, or from a stored integration."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..connectors import Connector, Credentials, get_connector
from ..host_policy import HostPolicy
from ..metrics import record_remote_response
from ..models import TicketingIntegration


def host_policy() -> HostPolicy:
    """Public addresses, plus what the operator opened: named private hosts, and loopback
    for the local simulators. Malformed entries stop start-up (see below).
    """
    return HostPolicy.from_entries(
        settings.TICKETING_ALLOWED_PRIVATE_HOSTS,
        allow_loopback=settings.JIRA_ALLOW_INSECURE_LOOPBACK,
    )


def validate_host_policy_setting() -> None:
    """Run at start-up (every process: web, worker, commands), so a malformed entry stops it
    instead of failing every connection later."""
    try:
        host_policy()
    except ValueError as error:
        raise ImproperlyConfigured(
            f"TICKETING_ALLOWED_PRIVATE_HOSTS: {error}. Give comma-separated host names, "
            "IP addresses or CIDR ranges."
        ) from None


def open_connector(kind: str, host_url: str, credentials: Credentials) -> Connector:
    """The ``kind`` connector on ``host_url``, with this deployment's timeouts and policy."""
    return get_connector(kind)(
        host_url,
        credentials,
        connect_timeout=settings.JIRA_CONNECT_TIMEOUT,
        read_timeout=settings.JIRA_READ_TIMEOUT,
        host_policy=host_policy(),
        on_response=record_remote_response,
    )


def connector_for(integration: TicketingIntegration) -> Connector:
    """The connector of a stored integration; raises CredentialsUnreadable if keys changed."""
    return open_connector(
        integration.connector, integration.host_url, integration.credentials_value()
    )
