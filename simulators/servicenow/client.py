"""``ServiceNowControl``: a standard-library client for the ``/_sim`` control API.

Usable from any process (e.g. end-to-end tests driving a simulator started with the CLI)::

    control = ServiceNowControl("http://127.0.0.1:8090")
    control.add_rate_limited(count=2, retry_after=1, method="PATCH", path_regex="/incident/")
    control.work_notes("INC0010001")
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..core.client import ControlAPIError, ControlClient
from . import faults
from .page import HIBERNATING_PAGE

__all__ = ["ControlAPIError", "ServiceNowControl"]


class ServiceNowControl(ControlClient):
    # --- faults, rate limit, settings ------------------------------------------------------

    def add_rate_limited(
        self, count: int = 1, retry_after: float = 2, **match: Any
    ) -> dict[str, Any]:
        """429 with Retry-After and X-RateLimit-Limit/-Reset/-Rule, as a rule answers it."""
        return self.add_fault_spec(faults.rate_limited_fault(count, retry_after, **match))

    def add_unavailable(self, count: int = 1, **match: Any) -> dict[str, Any]:
        return self.add_fault(status=503, count=count, **match)

    def add_html_200(self, count: int = 1, **match: Any) -> dict[str, Any]:
        """The hibernation page for ``count`` requests only (``set_hibernating`` for all)."""
        return self.add_fault(status=200, body=HIBERNATING_PAGE, count=count, **match)

    def set_rate_limit(
        self, limit: int | None, window_seconds: float | None = None
    ) -> dict[str, Any]:
        """``limit`` requests per user per window (3600 s by default); ``None`` = off."""
        body = {"limit": limit, "window_seconds": window_seconds}
        return self._call("POST", "/_sim/rate-limit", body)

    def settings(self, **changes: Any) -> dict[str, Any]:
        """``hibernating``, ``invalid_query``, ``journal_denied`` (see ``settings.py``)."""
        return self._call("POST", "/_sim/settings", changes)

    def set_hibernating(self, hibernating: bool = True) -> dict[str, Any]:
        return self.settings(hibernating=hibernating)

    # --- data ------------------------------------------------------------------------------

    def incidents(self) -> list[dict[str, Any]]:
        """Every incident with all stored fields, its ``journal`` and its form ``url``."""
        return self._call("GET", "/_sim/incidents")

    def incident(self, number: str) -> dict[str, Any]:
        return self._call("GET", f"/_sim/incidents/{quote(number)}")

    def delete_incident(self, number: str) -> None:
        self._call("DELETE", f"/_sim/incidents/{quote(number)}")

    def set_state(self, number: str, state: str) -> dict[str, Any]:
        """By value (``"6"``) or label (``"Resolved"``); close fields are filled in."""
        return self._call("POST", f"/_sim/incidents/{quote(number)}/state", {"state": state})

    def journal(self, number: str, element: str | None = None) -> list[dict[str, Any]]:
        """``sys_journal_field`` rows of one incident, oldest first."""
        suffix = f"?element={quote(element)}" if element else ""
        return self._call("GET", f"/_sim/incidents/{quote(number)}/journal{suffix}")

    def work_notes(self, number: str) -> list[str]:
        """The texts of an incident's work notes, oldest first."""
        return [entry["value"] for entry in self.journal(number, "work_notes")]

    def add_account(
        self, username: str, password: str, roles: list[str], name: str | None = None
    ) -> dict[str, Any]:
        body = {"username": username, "password": password, "roles": roles, "name": name}
        return self._call("POST", "/_sim/accounts", body)
