"""Jira's error envelope (``ErrorCollection``, docs/jira-api.md §2.1) and the well-known bodies
(§2.2)."""

from __future__ import annotations

from typing import Any

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."


class JiraError(Exception):
    """Raised by handlers; the server turns it into an ``ErrorCollection`` response."""

    def __init__(
        self,
        status: int,
        error_messages: list[str] | None = None,
        errors: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(f"{status}: {error_messages or ''} {errors or ''}")
        self.status = status
        self.error_messages = error_messages or []
        self.errors = errors or {}
        self.extra = extra or {}
        self.detail = detail  # simulator-only explanation, sent as X-Sim-Detail

    def body(self) -> dict[str, Any]:
        return {"errorMessages": self.error_messages, "errors": self.errors, **self.extra}


def issue_not_found() -> JiraError:
    return JiraError(404, [ISSUE_NOT_FOUND])


def project_not_found(id_or_key: str) -> JiraError:
    kind = "id" if id_or_key.isdigit() else "key"
    return JiraError(404, [f"No project could be found with {kind} '{id_or_key}'."])


def field_errors(errors: dict[str, str], detail: str | None = None) -> JiraError:
    return JiraError(400, [], errors, detail=detail)


def bad_request(message: str) -> JiraError:
    return JiraError(400, [message])
