"""Jira Cloud REST v3 client: plain Python + requests, no Django.

``client`` talks to Jira, ``errors`` says what went wrong and whether to retry, ``adf`` builds
the Atlassian Document Format bodies Jira v3 takes.
"""

from .client import JiraClient
from .errors import (
    JiraCredentialsRejected,
    JiraError,
    JiraForbidden,
    JiraHostNotAllowed,
    JiraNotFound,
    JiraPayloadTooLarge,
    JiraRateLimited,
    JiraRejectedInput,
    JiraUnavailable,
    JiraUnexpectedResponse,
)
from .types import (
    AllowedValue,
    CreatedIssue,
    CreateField,
    IssueLookup,
    IssueSummary,
    JiraIssueType,
    JiraProject,
    JiraUser,
)
from .urls import normalize_host_url

__all__ = [
    "AllowedValue",
    "CreateField",
    "CreatedIssue",
    "IssueLookup",
    "IssueSummary",
    "JiraClient",
    "JiraCredentialsRejected",
    "JiraError",
    "JiraForbidden",
    "JiraHostNotAllowed",
    "JiraIssueType",
    "JiraNotFound",
    "JiraPayloadTooLarge",
    "JiraProject",
    "JiraRateLimited",
    "JiraRejectedInput",
    "JiraUnavailable",
    "JiraUnexpectedResponse",
    "JiraUser",
    "normalize_host_url",
]
