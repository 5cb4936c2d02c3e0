"""ServiceNow's fault bodies, ready-made faults and the rate-limit rule (docs/servicenow-api.md §8).

Fault specs and actions are ``simulators.core.faults``'s; with ServiceNow, ``status_after``
processes (the incident *is* created) and then answers ``status`` (default 500, the
quota-cancelled body: §8.2). A fault without ``body`` answers the error envelope.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from ..core.faults import Fault, status_fault
from .errors import envelope

CANCELLED_MESSAGE = "Transaction cancelled: maximum execution time exceeded"
CANCELLED_BODY = envelope(
    CANCELLED_MESSAGE,
    f"{CANCELLED_MESSAGE} Check logs for error trace or enable glide.rest.debug property "
    "to verify REST request processing",
)
STATUS_AFTER_STATUS = 500


def default_fault_body(fault: Fault) -> Any:
    """A fault's answer when its spec has no ``body``."""
    if fault.action == "status_after":
        return CANCELLED_BODY
    return envelope(f"Simulated HTTP {fault.status}")


RATE_RULE_SYS_ID = "5d3a1e7fc3a0101052a3f1b2e4c0d9a1"  # the simulated sys_rate_limit_rules row


def rate_limit_headers(limit: int, reset_at: float, denied: bool) -> dict[str, str]:
    """``X-RateLimit-*`` on every request a rule covers; ``Retry-After`` on a denial (§8.1)."""
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Reset": str(math.ceil(reset_at)),
        "X-RateLimit-Rule": RATE_RULE_SYS_ID,
    }
    if denied:
        headers["Retry-After"] = str(max(1, math.ceil(reset_at - time.time())))
    return headers


def rate_limited_fault(
    count: int = 1,
    retry_after: float = 2,
    method: str | None = None,
    path_regex: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """Spec for a ready-made 429 as a rate-limit rule answers it (§8.1)."""
    headers = rate_limit_headers(limit, time.time() + retry_after, denied=True)
    headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    detail = f"Rate limit of {limit} requests per hour for Table API exceeded"
    body = envelope("Rate limit exceeded", detail)
    return status_fault(429, headers, body, count, method, path_regex)


class RateLimitRule:
    """One admin rule: ``limit`` requests per user per window (an hour on a real instance),
    counted in fixed windows that start when the rule is set; off when ``limit`` is 0/None."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.limit = 0
        self.window_seconds = 3600.0
        self._window_start = time.time()
        self._counts: dict[str, int] = {}

    def configure(self, limit: int | None, window_seconds: float | None = None) -> None:
        with self._lock:
            self.limit = int(limit or 0)
            self.window_seconds = float(window_seconds or 3600)
            self._window_start = time.time()
            self._counts = {}

    def describe(self) -> dict[str, Any]:
        return {"limit": self.limit or None, "window_seconds": self.window_seconds}

    def admit(self, username: str) -> tuple[bool, dict[str, str]]:
        """``(allowed, headers)`` for one request of ``username``."""
        if not self.limit:
            return True, {}
        now = time.time()
        with self._lock:
            elapsed_windows = math.floor((now - self._window_start) / self.window_seconds)
            if elapsed_windows > 0:
                self._window_start += elapsed_windows * self.window_seconds
                self._counts = {}
            reset_at = self._window_start + self.window_seconds
            used = self._counts.get(username, 0)
            if used >= self.limit:
                return False, rate_limit_headers(self.limit, reset_at, denied=True)
            self._counts[username] = used + 1
        return True, rate_limit_headers(self.limit, reset_at, denied=False)
