"""Jira's ready-made faults and its burst rate limiter (429/503 behaviour: docs/jira-api.md §2.4).

Fault specs and actions are ``simulators.core.faults``'s; with Jira, ``status_after`` is e.g. a
proxy's 503 after Jira's success (the comment *is* created).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from ..core.faults import status_fault

DEFAULT_LIMIT_HEADER = "100"  # Jira's default burst budget per endpoint (§2.4)


def reset_timestamp(seconds_from_now: float) -> str:
    """``X-RateLimit-Reset``: ISO 8601, e.g. ``2026-01-01T01:01:01Z`` (§2.4)."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def rate_limit_headers(retry_after: float, limit: str, reason: str) -> dict[str, str]:
    return {
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Limit": limit,
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset_timestamp(retry_after),
        "RateLimit-Reason": reason,
    }


# The 429 body is undocumented (§2.4 "treat as opaque"); this is the simulator's choice.
RATE_LIMITED_BODY = {"errorMessages": ["Rate limit exceeded."], "errors": {}}


def rate_limited_fault(
    count: int = 1,
    retry_after: float = 2,
    method: str | None = None,
    path_regex: str | None = None,
    reason: str = "jira-burst-based",
) -> dict[str, Any]:
    """Spec for a ready-made 429 with Retry-After, X-RateLimit-* and RateLimit-Reason."""
    headers = rate_limit_headers(retry_after, DEFAULT_LIMIT_HEADER, reason)
    return status_fault(429, headers, RATE_LIMITED_BODY, count, method, path_regex)


def unavailable_fault(
    count: int = 1,
    retry_after: float | None = None,
    method: str | None = None,
    path_regex: str | None = None,
) -> dict[str, Any]:
    """Spec for a 503; "some transient 5XX errors are accompanied by a Retry-After" (§2.4)."""
    headers = {} if retry_after is None else {"Retry-After": str(math.ceil(retry_after))}
    body = {"errorMessages": ["Service Unavailable"], "errors": {}}
    return status_fault(503, headers, body, count, method, path_regex)


class RateLimiter:
    """Sliding one-second window over ``/rest`` requests; off when the rate is 0/None."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rate: int = 0
        self._recent: deque[float] = deque()

    @property
    def rate(self) -> int:
        return self._rate

    def configure(self, requests_per_second: float | None) -> None:
        with self._lock:
            self._rate = int(requests_per_second or 0)
            self._recent.clear()

    def admit(self) -> tuple[bool, dict[str, str]]:
        """``(allowed, headers)``: 429 headers when refused, X-RateLimit-NearLimit otherwise."""
        if not self._rate:
            return True, {}
        now = time.monotonic()
        with self._lock:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= self._rate:
                wait = 1.0 - (now - self._recent[0])
                return False, rate_limit_headers(wait, str(self._rate), "jira-burst-based")
            self._recent.append(now)
            remaining = self._rate - len(self._recent)
        near = remaining < 0.2 * self._rate  # "true when <20% of budget remains" (§2.4)
        return True, {"X-RateLimit-NearLimit": "true"} if near else {}
