"""Opening a connector on a site: from credentials just typed, or from a stored integration."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator

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


# One connector (one HTTP session, so one pool of kept-alive connections) per process and
# integration, for the sync worker's stream of calls. The key holds everything the connector
# was built from, so a new kind, credentials, host or policy settings build a new one.
_pooled: dict[int, tuple[tuple, Connector]] = {}
_pooled_lock = threading.Lock()


def _pool_key(integration: TicketingIntegration, credentials: Credentials) -> tuple:
    fingerprint = hashlib.sha256(credentials.joined().encode()).hexdigest()
    policy = (
        tuple(settings.TICKETING_ALLOWED_PRIVATE_HOSTS),
        settings.JIRA_ALLOW_INSECURE_LOOPBACK,
        settings.JIRA_CONNECT_TIMEOUT,
        settings.JIRA_READ_TIMEOUT,
    )
    return (integration.connector, integration.host_url, fingerprint, policy)


@contextlib.contextmanager
def pooled_connector_for(integration: TicketingIntegration) -> Iterator[Connector]:
    """Like `connector_for`, reusing this process's connector for the integration: leaving
    the block does not close it (a changed key or `forget_pooled_connectors` does)."""
    credentials = integration.credentials_value()
    key = _pool_key(integration, credentials)
    with _pooled_lock:
        found = _pooled.get(integration.pk)
        if found is None or found[0] != key:
            if found is not None:
                found[1].close()
            connector = open_connector(integration.connector, integration.host_url, credentials)
            found = (key, connector)
            _pooled[integration.pk] = found
    yield found[1]


def forget_pooled_connectors() -> None:
    with _pooled_lock:
        for _key, connector in _pooled.values():
            connector.close()
        _pooled.clear()


def _forget_after_fork() -> None:
    # A forked child must not share its parent's sockets: it starts with no connectors.
    global _pooled_lock
    _pooled.clear()
    _pooled_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
