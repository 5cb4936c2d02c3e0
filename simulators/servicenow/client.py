"""``ServiceNowControl``: a standard-library client for the ``/_sim`` control API.

Usable from any process (e.g. end-to-end tests driving a simulator started with the CLI)::

    control = ServiceNowControl("http://127.0.0.1:8090")
    control.add_rate_limited(count=2, retry_after=1, method="PATCH", path_regex="/incident/")
    control.work_notes("INC0010001")
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from . import faults
from .page import HIBERNATING_PAGE


class ControlAPIError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"control API answered {status}: {body}")
        self.status = status
        self.body = body


class ServiceNowControl:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raw = error.read()
            raise ControlAPIError(error.code, json.loads(raw) if raw else None) from None
        return json.loads(raw) if raw else None

    # --- faults, rate limit, settings ------------------------------------------------------

    def add_fault(
        self,
        action: str = "status",
        *,
        method: str | None = None,
        path_regex: str | None = None,
        count: int = 1,
        for_seconds: float | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        body: Any = faults.NO_BODY,
        seconds: float | None = None,
    ) -> dict[str, Any]:
        """One fault; see ``faults.py`` for the meaning of each action."""
        spec: dict[str, Any] = {
            "match": {"method": method, "path_regex": path_regex},
            "action": action,
            "count": count,
        }
        optional = {
            "for_seconds": for_seconds,
            "status": status,
            "headers": headers,
            "seconds": seconds,
        }
        spec.update({key: value for key, value in optional.items() if value is not None})
        if body is not faults.NO_BODY:
            spec["body"] = body
        return self._call("POST", "/_sim/faults", spec)

    def add_rate_limited(
        self, count: int = 1, retry_after: float = 2, **match: Any
    ) -> dict[str, Any]:
        """429 with Retry-After and X-RateLimit-Limit/-Reset/-Rule, as a rule answers it."""
        return self._call(
            "POST", "/_sim/faults", faults.rate_limited_fault(count, retry_after, **match)
        )

    def add_unavailable(self, count: int = 1, **match: Any) -> dict[str, Any]:
        return self.add_fault(status=503, count=count, **match)

    def add_html_200(self, count: int = 1, **match: Any) -> dict[str, Any]:
        """The hibernation page for ``count`` requests only (``set_hibernating`` for all)."""
        return self.add_fault(status=200, body=HIBERNATING_PAGE, count=count, **match)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sim/faults")

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

    # --- observation and reset -------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/requests")

    def clear_requests(self) -> None:
        self._call("DELETE", "/_sim/requests")

    def reset(self) -> None:
        self._call("POST", "/_sim/reset")

    def info(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/info")
