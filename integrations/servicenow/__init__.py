"""The ServiceNow connector: a Table API client (``client.py``) and its errors (``errors.py``).

Contract: docs/servicenow-api.md.
"""

from .client import ServiceNowClient
from .errors import (
    ServiceNowCredentialsRejected,
    ServiceNowError,
    ServiceNowForbidden,
    ServiceNowHostNotAllowed,
    ServiceNowNotFound,
    ServiceNowRateLimited,
    ServiceNowRejectedInput,
    ServiceNowUnavailable,
    ServiceNowUnexpectedResponse,
)
from .types import Choice, Incident, IncidentLookup, Reference
from .urls import IncidentRef

__all__ = [
    "Choice",
    "Incident",
    "IncidentLookup",
    "IncidentRef",
    "Reference",
    "ServiceNowClient",
    "ServiceNowCredentialsRejected",
    "ServiceNowError",
    "ServiceNowForbidden",
    "ServiceNowHostNotAllowed",
    "ServiceNowNotFound",
    "ServiceNowRateLimited",
    "ServiceNowRejectedInput",
    "ServiceNowUnavailable",
    "ServiceNowUnexpectedResponse",
]
