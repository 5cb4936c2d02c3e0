"""Jira's connection test: authentication first (elsewhere Jira answers bad credentials
with 404, not 401: docs/jira-api.md §0.1), then the default project, the account's
permissions in it, and its issue types."""

from __future__ import annotations

from ..connectors import Check, ConnectionReport, failure_headline, run_checks
from ..errors import ConnectorError, NotFound
from .client import JiraClient
from .errors import HINT_FORBIDDEN, HINT_ISSUE_TYPE_NOT_FOUND

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
HEADLINE_PERMISSION = "Permission check failed"
HEADLINE_PROJECT = "Project not found"
HEADLINE_ISSUE_TYPE = "Issue type not found"
# A check's own headline when Jira answered it but the answer was a "no".
CHECK_HEADLINES = {
    CHECK_AUTHENTICATION: "Authentication failed",
    CHECK_PROJECT: HEADLINE_PROJECT,
    CHECK_PERMISSIONS: HEADLINE_PERMISSION,
    CHECK_ISSUE_TYPES: HEADLINE_ISSUE_TYPE,
}
SIGNED_IN_AS = "Signed in as "


def check_connection(client: JiraClient, project_key: str) -> ConnectionReport:
    checks = run_checks(
        [
            (CHECK_AUTHENTICATION, lambda: _check_myself(client)),
            (CHECK_PROJECT, lambda: _check_project(client, project_key)),
            (CHECK_PERMISSIONS, lambda: _check_permissions(client, project_key)),
            (CHECK_ISSUE_TYPES, lambda: _check_issue_types(client, project_key)),
        ],
        headline=_headline,
    )
    signed_in = checks[0].detail if checks[0].ok else ""
    return ConnectionReport(checks, signed_in.removeprefix(SIGNED_IN_AS))


def _headline(check_name: str, error: ConnectorError) -> str:
    if isinstance(error, NotFound) and error.what in ("project", "issue_type"):
        return HEADLINE_PROJECT if error.what == "project" else HEADLINE_ISSUE_TYPE
    own = CHECK_HEADLINES.get(check_name, "")
    return failure_headline("Jira", check_name, error, own=own)


def _check_myself(client: JiraClient) -> Check:
    user = client.get_myself()
    return Check(CHECK_AUTHENTICATION, True, f"{SIGNED_IN_AS}{user.display_name}")


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
