"""Connect, test, edit and disconnect the ticketing integration."""

from __future__ import annotations

import dataclasses

from django.db import IntegrityError, transaction
from django.utils import timezone

from anomalies.models import User

from ..jira import (
    JiraClient,
    JiraCredentialsRejected,
    JiraError,
    JiraForbidden,
    JiraHostNotAllowed,
    JiraNotFound,
    JiraRateLimited,
    JiraUnavailable,
)
from ..jira.errors import HINT_FORBIDDEN, HINT_ISSUE_TYPE_NOT_FOUND
from ..models import Connector, IntegrationState, TicketingIntegration
from .clients import Credentials, jira_client
from .reconnect import DISCONNECTED_REASON, reattach_history_links
from .sync import cancel_pending_events, resume_integration

CHECK_AUTHENTICATION = "Authentication"
CHECK_PROJECT = "Project access"
CHECK_ISSUE_TYPES = "Issue types available"
CHECK_PERMISSIONS = "Permissions"
# What the product does in the default project: create issues and comment on them
# (docs/jira-api.md, "Permissions").
REQUIRED_PERMISSIONS = {
    "BROWSE_PROJECTS": "Browse projects",
    "CREATE_ISSUES": "Create issues",
    "ADD_COMMENTS": "Add comments",
}
HEADLINE_TIMED_OUT = "Jira timed out"
HEADLINE_CONNECTION = "Connection failed"
HEADLINE_HOST_NOT_ALLOWED = "Host not allowed"
HEADLINE_AUTHENTICATION = "Authentication failed"
HEADLINE_PERMISSION = "Permission check failed"
HEADLINE_PROJECT = "Project not found"
HEADLINE_ISSUE_TYPE = "Issue type not found"
HEADLINE_RATE_LIMITED = "Jira is limiting requests"
# A check's own headline when Jira answered it but the answer was a "no".
CHECK_HEADLINES = {
    CHECK_AUTHENTICATION: HEADLINE_AUTHENTICATION,
    CHECK_PROJECT: HEADLINE_PROJECT,
    CHECK_PERMISSIONS: HEADLINE_PERMISSION,
    CHECK_ISSUE_TYPES: HEADLINE_ISSUE_TYPE,
}


class AlreadyConnected(Exception):
    def __init__(self, existing: TicketingIntegration | None) -> None:
        name = str(existing) if existing else "Another integration"
        super().__init__(
            f"{name} is already connected. Disconnect it before connecting another one: "
            "only one ticketing integration can be active at a time."
        )


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: not run, because an earlier check failed
    detail: str
    hint: str = ""
    headline: str = ""  # what failed, in words: "Jira timed out", "Permission check failed"


@dataclasses.dataclass(frozen=True)
class ConnectionReport:
    checks: list[Check]
    account_name: str = ""

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def first_failure(self) -> Check | None:
        return next((check for check in self.checks if check.ok is False), None)

    def failure_text(self, *, refused: bool) -> str:
        """The first failed check and what to do about it, in one sentence for the user;
        `refused` when the failure stopped a connect or an edit from being saved."""
        failure = self.first_failure
        if failure is None:
            return ""
        outcome = " — nothing was saved." if refused else "."
        headline = failure.headline or CHECK_HEADLINES.get(failure.name, f"{failure.name} failed")
        return f"{headline}{outcome} {failure.detail} {failure.hint}".strip()

    def as_json(self) -> list[dict]:
        return [dataclasses.asdict(check) for check in self.checks]


def check_connection(host_url: str, credentials: Credentials, project_key: str) -> ConnectionReport:
    """Authentication first: elsewhere Jira answers bad credentials with 404, not 401."""
    with jira_client(host_url, credentials) as client:
        checks: list[Check] = []
        account_name = ""
        steps = [
            (CHECK_AUTHENTICATION, lambda: _check_myself(client)),
            (CHECK_PROJECT, lambda: _check_project(client, project_key)),
            (CHECK_PERMISSIONS, lambda: _check_permissions(client, project_key)),
            (CHECK_ISSUE_TYPES, lambda: _check_issue_types(client, project_key)),
        ]
        for name, step in steps:
            if checks and not checks[-1].ok:
                checks.append(Check(name, None, "Not checked: an earlier check failed."))
                continue
            try:
                check = step()
            except JiraError as error:
                check = Check(name, False, error.message, error.hint, failure_headline(name, error))
            if name == CHECK_AUTHENTICATION and check.ok:
                account_name = check.detail.removeprefix("Signed in as ")
            checks.append(check)
    return ConnectionReport(checks, account_name)


def failure_headline(check_name: str, error: JiraError) -> str:
    """Name what failed: the transport, the credentials, or the check's own subject."""
    if isinstance(error, JiraHostNotAllowed):
        return HEADLINE_HOST_NOT_ALLOWED
    if isinstance(error, JiraUnavailable) and error.is_timeout:
        return HEADLINE_TIMED_OUT
    if isinstance(error, JiraRateLimited):
        return HEADLINE_RATE_LIMITED
    if isinstance(error, JiraCredentialsRejected):
        return HEADLINE_AUTHENTICATION
    if isinstance(error, JiraForbidden):
        return HEADLINE_PERMISSION
    if isinstance(error, JiraNotFound) and error.what in ("project", "issue_type"):
        return CHECK_HEADLINES[CHECK_PROJECT if error.what == "project" else CHECK_ISSUE_TYPES]
    if isinstance(error, JiraNotFound | JiraUnavailable) or error.status_code is None:
        return HEADLINE_CONNECTION
    return CHECK_HEADLINES.get(check_name, f"{check_name} failed")


def _check_myself(client: JiraClient) -> Check:
    user = client.get_myself()
    return Check(CHECK_AUTHENTICATION, True, f"Signed in as {user.display_name}")


def _check_project(client: JiraClient, project_key: str) -> Check:
    project = client.get_project(project_key)
    return Check(CHECK_PROJECT, True, f"{project.name} ({project.key})")


def _check_permissions(client: JiraClient, project_key: str) -> Check:
    granted = client.get_my_permissions(project_key, REQUIRED_PERMISSIONS)
    missing = [label for key, label in REQUIRED_PERMISSIONS.items() if not granted[key]]
    if missing:
        return Check(
            CHECK_PERMISSIONS,
            False,
            f"The account may not: {', '.join(missing)} (in {project_key}).",
            f"403 Forbidden: {HINT_FORBIDDEN}",
            HEADLINE_PERMISSION,
        )
    return Check(CHECK_PERMISSIONS, True, ", ".join(REQUIRED_PERMISSIONS.values()))


def _check_issue_types(client: JiraClient, project_key: str) -> Check:
    names = [issue_type.name for issue_type in client.get_issue_types(project_key)]
    if not names:
        return Check(
            CHECK_ISSUE_TYPES,
            False,
            f"Project {project_key} offers no issue types to create.",
            HINT_ISSUE_TYPE_NOT_FOUND,
            HEADLINE_ISSUE_TYPE,
        )
    return Check(CHECK_ISSUE_TYPES, True, ", ".join(names))


def connected_integration() -> TicketingIntegration | None:
    return TicketingIntegration.objects.connected().first()


def connect_integration(
    *,
    host_url: str,
    credentials: Credentials,
    default_project_key: str,
    report: ConnectionReport,
    by: User,
    connector: str = Connector.JIRA,
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
    pause on sync that a 401/403 put in place: what caused it has been fixed in Jira."""
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
        credentials = Credentials(*integration.credential_pair())
    return check_connection(integration.host_url, credentials, default_project_key)
