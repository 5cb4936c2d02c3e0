"""Building Jira clients from credentials, typed or stored."""

from __future__ import annotations

import dataclasses

import requests
from django.conf import settings

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


def jira_client(host_url: str, credentials: Credentials) -> JiraClient:
    return JiraClient(
        host_url,
        credentials.email,
        credentials.api_token,
        connect_timeout=settings.JIRA_CONNECT_TIMEOUT,
        read_timeout=settings.JIRA_READ_TIMEOUT,
        session=_counted_session(),
    )


def _counted_session() -> requests.Session:
    """The client's own session, with every answer counted for /metrics."""
    session = JiraClient._new_session()
    session.hooks["response"].append(record_jira_response)
    return session


def client_for(integration: TicketingIntegration) -> JiraClient:
    """A client for a stored integration; raises CredentialsUnreadable if keys changed."""
    email, token = integration.credential_pair()
    return jira_client(integration.host_url, Credentials(email, token))
