"""``SimulatorControl``: a standard-library client for the ``/_sim`` control API.

Usable from any process (e.g. end-to-end tests driving a simulator started with the CLI)::

    control = SimulatorControl("http://127.0.0.1:8089")
    control.add_rate_limited(count=2, retry_after=1, method="POST", path_regex="/comment$")
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from ..core.client import ControlAPIError, ControlClient
from . import faults

__all__ = ["ControlAPIError", "SimulatorControl"]


class SimulatorControl(ControlClient):
    # --- faults and rate limiting --------------------------------------------------------

    def add_rate_limited(
        self, count: int = 1, retry_after: float = 2, **match: Any
    ) -> dict[str, Any]:
        """429 with Retry-After, X-RateLimit-* and RateLimit-Reason (docs/jira-api.md §2.4)."""
        return self.add_fault_spec(faults.rate_limited_fault(count, retry_after, **match))

    def add_unavailable(
        self, count: int = 1, retry_after: float | None = None, **match: Any
    ) -> dict[str, Any]:
        """503, optionally with Retry-After."""
        return self.add_fault_spec(faults.unavailable_fault(count, retry_after, **match))

    def set_rate_limit(self, requests_per_second: float | None) -> dict[str, Any]:
        return self._call("POST", "/_sim/rate-limit", {"requests_per_second": requests_per_second})

    # --- data ------------------------------------------------------------------------------

    def issues(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/issues")

    def issue(self, key: str) -> dict[str, Any] | None:
        wanted = key.upper()
        return next((issue for issue in self.issues() if issue["key"] == wanted), None)

    def import_issues(self, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Many issues with their statuses and comments at once (``POST /_sim/issues``)."""
        return self._call("POST", "/_sim/issues", {"issues": issues})

    def comments(self, key: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/_sim/issues/{quote(key)}/comments")

    def delete_issue(self, key: str) -> None:
        self._call("DELETE", f"/_sim/issues/{quote(key)}")

    def move_issue(
        self, key: str, status: str | None = None, project: str | None = None
    ) -> dict[str, Any]:
        """Transition to ``status`` (name or id) and/or move to another ``project``."""
        issue: dict[str, Any] = {}
        if project is not None:
            issue = self._call("POST", f"/_sim/issues/{quote(key)}/move", {"project": project})
            key = issue["key"]
        if status is not None:
            issue = self._call("POST", f"/_sim/issues/{quote(key)}/transition", {"status": status})
        return issue

    def add_account(
        self, email: str, token: str, forbidden: bool = False, display_name: str | None = None
    ) -> dict[str, Any]:
        body = {"email": email, "token": token, "forbidden": forbidden, "displayName": display_name}
        return self._call("POST", "/_sim/accounts", body)

    def set_jql_unknown_keys(self, policy: str) -> dict[str, Any]:
        """``"omit"`` (default) or ``"error"`` for unknown keys in ``key in (...)``."""
        return self._call("POST", "/_sim/settings", {"jql_unknown_keys": policy})

    # --- admin webhooks (see webhooks.py) -----------------------------------------------------

    def add_webhook(
        self,
        url: str,
        secret: str | None = None,
        events: tuple[str, ...] = ("jira:issue_updated", "jira:issue_deleted"),
        jql_filter: str | None = None,
    ) -> dict[str, Any]:
        """Register an admin webhook; ``secret`` signs its deliveries (``X-Hub-Signature``)."""
        body: dict[str, Any] = {"url": url, "events": list(events)}
        if secret is not None:
            body["secret"] = secret
        if jql_filter is not None:
            body["jqlFilter"] = jql_filter
        return self._call("POST", "/_sim/webhooks", body)

    def webhooks(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/webhooks")

    def delete_webhook(self, webhook_id: int) -> None:
        self._call("DELETE", f"/_sim/webhooks/{webhook_id}")

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Each delivery: event, issueKey, identifier, statuses of its attempts, outcome."""
        return self._call("GET", "/_sim/webhooks/deliveries")

    def wait_for_webhook_deliveries(self, count: int, timeout: float = 10.0) -> list[dict]:
        """Poll until at least ``count`` deliveries are finished (delivered or given up)."""
        deadline = time.monotonic() + timeout
        while True:
            deliveries = self.webhook_deliveries()
            finished = [d for d in deliveries if d["outcome"] != "pending"]
            if len(finished) >= count:
                return deliveries
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(finished)} of {count} webhook deliveries finished")
            time.sleep(0.02)

    # --- observation ---------------------------------------------------------------------

    def violations(self) -> dict[str, Any]:
        """``{"count": n, "violations": [{"operationId", "method", "path", "message"}]}``."""
        return self._call("GET", "/_sim/violations")

    def clear_violations(self) -> None:
        self._call("DELETE", "/_sim/violations")
