"""Building Jira clients from credentials, typed or stored."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import threading
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..host_policy import HostPolicy
from ..jira import JiraClient
from ..metrics import record_jira_response
from ..models import TicketingIntegration


@dataclasses.dataclass(frozen=True)
class Credentials:
    """`email:api_token`, split. Its repr hides the token."""

    email: str
    api_token: str = dataclasses.field(repr=False)

    @classmethod
    def parse(cls, value: str) -> Credentials:
        email, separator, token = value.strip().partition(":")
        if not separator or "@" not in email or not token.strip():
            raise ValueError(
                "Enter the credentials as email:api_token, e.g. you@example.com:ATATT3…"
            )
        return cls(email.strip(), token.strip())

    def joined(self) -> str:
        return f"{self.email}:{self.api_token}"


def host_policy() -> HostPolicy:
    """Public addresses, plus what the operator opened: named private hosts, and loopback
    for the local simulator. Malformed entries stop start-up (see below).
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


def jira_client(host_url: str, credentials: Credentials) -> JiraClient:
    return JiraClient(
        host_url,
        credentials.email,
        credentials.api_token,
        connect_timeout=settings.JIRA_CONNECT_TIMEOUT,
        read_timeout=settings.JIRA_READ_TIMEOUT,
        host_policy=host_policy(),
        on_response=record_jira_response,
    )


def client_for(integration: TicketingIntegration) -> JiraClient:
    """A client for a stored integration; raises CredentialsUnreadable if keys changed."""
    email, token = integration.credential_pair()
    return jira_client(integration.host_url, Credentials(email, token))


# One client (one requests session, so one pool of kept-alive connections) per process and
# integration, for the sync worker's stream of calls. The key holds everything the client
# was built from, so new credentials, host or policy settings build a new one.
_pooled: dict[int, tuple[tuple, JiraClient]] = {}
_pooled_lock = threading.Lock()


def _pool_key(integration: TicketingIntegration, pair: tuple[str, str]) -> tuple:
    fingerprint = hashlib.sha256(":".join(pair).encode()).hexdigest()
    policy = (
        tuple(settings.TICKETING_ALLOWED_PRIVATE_HOSTS),
        settings.JIRA_ALLOW_INSECURE_LOOPBACK,
        settings.JIRA_CONNECT_TIMEOUT,
        settings.JIRA_READ_TIMEOUT,
    )
    return (integration.host_url, fingerprint, policy)


@contextlib.contextmanager
def pooled_client_for(integration: TicketingIntegration) -> Iterator[JiraClient]:
    """Like `client_for`, reusing this process's client for the integration (not closed)."""
    pair = integration.credential_pair()
    key = _pool_key(integration, pair)
    with _pooled_lock:
        found = _pooled.get(integration.pk)
        if found is None or found[0] != key:
            if found is not None:
                found[1].close()
            found = (key, jira_client(integration.host_url, Credentials(*pair)))
            _pooled[integration.pk] = found
    yield found[1]


def forget_pooled_clients() -> None:
    with _pooled_lock:
        for _key, client in _pooled.values():
            client.close()
        _pooled.clear()


def _forget_after_fork() -> None:
    # A forked child must not share its parent's sockets: it starts with no clients.
    global _pooled_lock
    _pooled.clear()
    _pooled_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
