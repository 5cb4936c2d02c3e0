"""Fault injection and the burst rate limiter (Jira's 429/503 behaviour: docs/jira-api.md §2.4).

A fault spec (``POST /_sim/faults``)::

    {"match": {"method": "POST", "path_regex": "/comment$"},
     "count": 1 | "for_seconds": 5,
     "action": "status" | "delay" | "timeout" | "drop_before" | "drop_after" | "status_after",
     "status": 429, "headers": {...}, "body": {...}, "seconds": 2}

``status`` answers without processing; ``delay`` waits then processes; ``timeout`` holds the
connection ``seconds`` without answering, then closes it; ``drop_before`` closes it without
processing; ``drop_after`` processes (e.g. the comment *is* created) and closes without answering;
``status_after`` processes, then answers ``status`` anyway (a proxy's 503 after Jira's success).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ACTIONS = ("status", "delay", "timeout", "drop_before", "drop_after", "status_after")
NO_BODY = object()  # a fault whose "body" is JSON null answers with an empty body
DEFAULT_LIMIT_HEADER = "100"  # Jira's default burst budget per endpoint (§2.4)


@dataclass
class Fault:
    id: int
    action: str
    method: str | None = None
    path_regex: str | None = None
    remaining: int | None = 1
    expires_at: float | None = None
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    seconds: float = 0.0

    def is_active(self, now: float) -> bool:
        if self.expires_at is not None:
            return now < self.expires_at
        return self.remaining is None or self.remaining > 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return self.path_regex is None or re.search(self.path_regex, path) is not None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "match": {"method": self.method, "path_regex": self.path_regex},
            "remaining": self.remaining,
            "expires_at": self.expires_at,
            "status": self.status,
            "seconds": self.seconds,
        }


def parse_fault(spec: dict[str, Any], fault_id: int) -> Fault:
    """Build a ``Fault`` from a control-API spec; ``ValueError`` explains what is wrong."""
    action = spec.get("action", "status")
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    match = spec.get("match") or {}
    if match.get("path_regex"):
        try:
            re.compile(match["path_regex"])
        except re.error as error:
            raise ValueError(f"path_regex: {error}") from None
    for_seconds = spec.get("for_seconds")
    body = spec.get("body", NO_BODY)
    return Fault(
        id=fault_id,
        action=action,
        method=match.get("method"),
        path_regex=match.get("path_regex"),
        remaining=None if for_seconds else int(spec.get("count", 1)),
        expires_at=time.monotonic() + float(for_seconds) if for_seconds else None,
        status=int(spec.get("status", 503)),
        headers={str(k): str(v) for k, v in (spec.get("headers") or {}).items()},
        body=body,
        seconds=float(spec.get("seconds", 0)),
    )


class FaultBook:
    """Active faults, consulted in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, spec: dict[str, Any]) -> Fault:
        with self._lock:
            fault = parse_fault(spec, self._next_id)
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first active fault matching the request, counting it as used."""
        now = time.monotonic()
        with self._lock:
            self._faults = [f for f in self._faults if f.is_active(now)]
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    def active(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            return [f.describe() for f in self._faults if f.is_active(now)]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


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
    return {
        "match": {"method": method, "path_regex": path_regex},
        "count": count,
        "action": "status",
        "status": 429,
        "headers": rate_limit_headers(retry_after, DEFAULT_LIMIT_HEADER, reason),
        "body": RATE_LIMITED_BODY,
    }


def unavailable_fault(
    count: int = 1,
    retry_after: float | None = None,
    method: str | None = None,
    path_regex: str | None = None,
) -> dict[str, Any]:
    """Spec for a 503; "some transient 5XX errors are accompanied by a Retry-After" (§2.4)."""
    headers = {} if retry_after is None else {"Retry-After": str(math.ceil(retry_after))}
    return {
        "match": {"method": method, "path_regex": path_regex},
        "count": count,
        "action": "status",
        "status": 503,
        "headers": headers,
        "body": {"errorMessages": ["Service Unavailable"], "errors": {}},
    }


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
