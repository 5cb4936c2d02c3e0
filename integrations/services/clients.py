"""Building Jira clients from credentials, typed or stored."""

from __future__ import annotations

import dataclasses

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
