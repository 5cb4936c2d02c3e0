"""Everything Jira: the Jira connector behind ``integrations/connectors.py``.

``client`` talks to Jira Cloud REST v3 (plain Python + requests, no Django), ``errors`` says
what went wrong and whether to retry (each class also a neutral ``integrations.errors`` one),
``adf`` builds the Atlassian Document Format bodies Jira v3 takes. ``connector`` implements
the interface with them, helped by ``checks`` (the connection test), ``create_form`` (create
metadata as the neutral form, and back) and ``help``; ``webhook``, ``views`` and ``routes``
are Jira's webhook, registered through ``JiraConnector.urls``. Nothing outside this package
imports it.
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
