"""Jira Cloud behind the connector interface (``integrations/connectors.py``).

Markers ride on entity properties, set in the same call as the issue or the comment, so a
write whose answer was lost can be found again (docs/jira-api.md, "Finding an issue after a
lost create answer"; docs/sync.md, "Outcome unknown").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..connectors import (
    ConnectionReport,
    Connector,
    CreateFormSpec,
    Credentials,
    RemoteTicket,
    StatusCategory,
    TicketDraft,
    TicketLookup,
    TicketStatus,
)
from . import adf, checks, create_form, help
from .client import ISSUE_KEY, JiraClient
from .errors import JiraRejectedInput
from .types import IssueSummary
from .urls import normalize_host_url

CREATE_PROPERTY = "qualytics-create-request"
NOTE_PROPERTY = "qualytics-sync-event"
# Jira's status categories (docs/jira-api.md §1.7); "undefined" and anything new: unknown.
CATEGORIES = {
    "new": StatusCategory.TODO,
    "indeterminate": StatusCategory.IN_PROGRESS,
    "done": StatusCategory.DONE,
}


def remote_ticket(issue: IssueSummary) -> RemoteTicket:
    category = CATEGORIES.get(issue.status_category_key, StatusCategory.UNKNOWN)
    status = TicketStatus(category, issue.status_name) if issue.status_name else None
    return RemoteTicket(id=issue.id, key=issue.key, summary=issue.summary, status=status)


class JiraConnector(Connector):
    kind = "jira"
    name = "Jira"
    ticket_noun = "issue"
    note_noun = "comment"
    ticket_group_noun = "projects"
    key_example = "DQ-12"
    key_pattern = ISSUE_KEY
    host_example = "https://your-domain.atlassian.net"
    credentials_format = "email:api_token"
    credentials_help = "email:api_token — the API token of a Jira account."
    scope_label = "Default project key"
    scope_example = "DQ"
    troubles = help.TROUBLES
    summary = "Jira Cloud, email + API token"
    pitch = "Create Jira issues from anomalies and keep them updated."
    urls = "integrations.jira.routes"
    settings_panel = "integrations/jira/_webhook_panel.html"
    searchable_fields = frozenset({"assignee"})

    def __init__(self, host_url: str, credentials: Credentials, **options: Any) -> None:
        # ``options``: the timeouts, host_policy and on_response of ``Connector.__init__``.
        self.client = JiraClient(host_url, credentials.username, credentials.secret, **options)
        self.host_url = self.client.host_url

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"<JiraConnector {self.host_url}>"

    @classmethod
    def normalize_host_url(cls, url: str, *, allow_insecure_loopback: bool = False) -> str:
        return normalize_host_url(url, allow_insecure_loopback=allow_insecure_loopback)

    @classmethod
    def parse_credentials(cls, text: str) -> Credentials:
        email, separator, token = text.strip().partition(":")
        if not separator or "@" not in email or not token.strip():
            raise ValueError(
                "Enter the credentials as email:api_token, e.g. you@example.com:ATATT3…"
            )
        return Credentials(email.strip(), token.strip())

    @classmethod
    def normalize_scope(cls, text: str) -> str:
        return create_form.clean_project_key(text)

    @classmethod
    def ticket_group(cls, key: str) -> str:
        return key.rpartition("-")[0].upper()

    def check_connection(self, scope: str) -> ConnectionReport:
        return checks.check_connection(self.client, scope)

    def describe_create_form(self, scope: str, values: Mapping[str, str]) -> CreateFormSpec:
        return create_form.describe_create_form(self.client, scope, values)

    def search_choices(
        self, field: str, words: str, *, scope: str, limit: int = 20
    ) -> list[tuple[str, str]]:
        if field not in self.searchable_fields:
            return super().search_choices(field, words, scope=scope, limit=limit)
        users = self.client.find_assignable_users(scope, words, limit=limit)
        return [(user.account_id, user.display_name) for user in users]

    def create_ticket(self, draft: TicketDraft, *, marker: str) -> RemoteTicket:
        fields = create_form.issue_fields(draft, draft.spec)
        try:
            created = self.client.create_issue(fields, properties={CREATE_PROPERTY: marker})
        except JiraRejectedInput as error:
            error.field_errors = create_form.form_field_errors(error.field_errors, draft.spec)
            raise
        return RemoteTicket(id=created["id"], key=created["key"])

    def find_created_ticket(self, scope: str, marker: str) -> RemoteTicket | None:
        found = self.client.find_created_issue(scope, CREATE_PROPERTY, marker)
        return remote_ticket(found) if found else None

    def get_ticket(self, key: str) -> RemoteTicket:
        return remote_ticket(self.client.get_issue(key))

    def search_tickets(self, words: str, *, limit: int = 20) -> list[RemoteTicket]:
        return [
            remote_ticket(issue) for issue in self.client.search_issues_by_text(words, limit=limit)
        ]

    def key_from_url(self, url: str) -> str | None:
        return self.client.issue_key_from_browse_url(url)

    def browse_url(self, key: str) -> str:
        return self.client.browse_url(key)

    def read_statuses(self, keys: Iterable[str]) -> TicketLookup:
        lookup = self.client.search_issues_by_keys(keys)
        found = {key: remote_ticket(issue) for key, issue in lookup.found.items()}
        return TicketLookup(found=found, missing=lookup.missing)

    def post_note(self, key: str, text: str, *, marker: str) -> str:
        return self.client.add_comment(
            key, adf.text_to_adf(text), properties={NOTE_PROPERTY: {"event": marker}}
        )

    def find_note(self, key: str, marker: str) -> str | None:
        return self.client.find_comment_by_property(key, NOTE_PROPERTY, {"event": marker})


def jira_client(host_url: str, credentials: Credentials) -> JiraClient:
    """A Jira client with this deployment's timeouts, host policy and metrics (for the demo
    command and tests that drive Jira directly)."""
    from ..services.clients import open_connector

    return open_connector(JiraConnector.kind, host_url, credentials).client


def client_for(integration) -> JiraClient:
    """The Jira client of a stored Jira integration."""
    from ..services.clients import connector_for

    return connector_for(integration).client
