"""Jira's request (who is logged in, its JSON body and query parameters) and error answers;
the values and routing themselves are ``simulators.core.web``'s."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..core.web import Request as CoreRequest
from ..core.web import Response, Route, find_route, json_response
from .errors import JiraError, bad_request

__all__ = [
    "Request",
    "Response",
    "Route",
    "error_response",
    "find_route",
    "json_response",
]


@dataclass
class Request(CoreRequest):
    user: dict[str, Any] | None = None  # authenticated Jira user, None = anonymous
    auth_failed: bool = False  # credentials were sent but rejected

    @property
    def logged_account(self) -> str | None:
        return self.user["accountId"] if self.user else None

    def json(self) -> Any:
        """Decoded body (``None`` when empty). Malformed JSON is a 400, as in Jira."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise bad_request(f"Unexpected character in the request body: {error}") from None

    def list_param(self, name: str) -> list[str]:
        """Repeated and/or comma-separated values (``fields=a,b&fields=c``)."""
        return [part.strip() for value in self.query.get(name, []) for part in value.split(",")]

    def int_param(self, name: str, default: int) -> int:
        raw = self.param(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise bad_request(f"The '{name}' parameter must be an integer.") from None


def error_response(error: JiraError) -> Response:
    headers = {"X-Sim-Detail": _header_safe(error.detail)} if error.detail else {}
    return Response(error.status, error.body(), headers)


def _header_safe(text: str) -> str:
    return re.sub(r"[^\x20-\x7e]", "?", text)[:500]
