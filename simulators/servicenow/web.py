"""ServiceNow's request (the authenticated account and how it reads query parameters); the
values and routing themselves are ``simulators.core.web``'s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.web import Request as CoreRequest
from ..core.web import Response, Route, find_route, json_response

__all__ = ["Request", "Response", "Route", "find_route", "json_response"]


@dataclass
class Request(CoreRequest):
    account: dict[str, Any] | None = None  # the authenticated account, None = anonymous

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").lower() == "true"

    def int_param(self, name: str, default: int) -> int:
        """ServiceNow ignores a value it cannot use; so does the simulator (its choice)."""
        raw = self.param(name)
        try:
            return int(raw) if raw not in (None, "") else default
        except ValueError:
            return default

    @property
    def username(self) -> str | None:
        return self.account["username"] if self.account else None

    @property
    def logged_account(self) -> str | None:
        return self.username
