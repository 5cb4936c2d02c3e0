"""ServiceNow's error envelope and the bodies the simulator answers (docs/servicenow-api.md §3).

``{"error": {"message": …, "detail": …}, "status": "failure"}``; the status code lives only in
the HTTP status line.
"""

from __future__ import annotations

from typing import Any


class ServiceNowError(Exception):
    """Raised by handlers; the server turns it into the error envelope."""

    def __init__(
        self, status: int, message: str, detail: str = "", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status}: {message} ({detail})")
        self.status = status
        self.message = message
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return envelope(self.message, self.detail)


def envelope(message: str, detail: str = "") -> dict[str, Any]:
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


def not_authenticated() -> ServiceNowError:
    return ServiceNowError(401, "User Not Authenticated", "Required to provide Auth information")


def record_not_found() -> ServiceNowError:
    return ServiceNowError(
        404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
    )


def insert_denied() -> ServiceNowError:
    return ServiceNowError(
        403, "Operation Failed", "ACL Exception Insert Failed due to security constraints"
    )


def update_denied() -> ServiceNowError:
    return ServiceNowError(
        403, "Operation Failed", "ACL Exception Update Failed due to security constraints"
    )


def query_denied() -> ServiceNowError:
    return ServiceNowError(
        403,
        "Insufficient rights to query records",
        "Field(s) present in the query do not have permission to be read",
    )


def data_policy(missing_labels: list[str]) -> ServiceNowError:
    fields = ", ".join(missing_labels)
    detail = f"Data Policy Exception: \n\tThe following fields are mandatory: {fields}"
    return ServiceNowError(403, "Operation Failed", detail)


def invalid_table(name: str) -> ServiceNowError:
    return ServiceNowError(400, f"Invalid table {name}", f"Table {name} does not exist")


def bad_request(message: str, detail: str = "") -> ServiceNowError:
    return ServiceNowError(400, message, detail)


def rate_limit_exceeded(limit: int, headers: dict[str, str]) -> ServiceNowError:
    detail = f"Rate limit of {limit} requests per hour for Table API exceeded"
    return ServiceNowError(429, "Rate limit exceeded", detail, headers)
