"""Fault injection and the rate-limit rule (docs/servicenow-api.md §8).

A fault spec (``POST /_sim/faults``)::

    {"match": {"method": "PATCH", "path_regex": "/incident/"},
     "count": 1 | "for_seconds": 5,
     "action": "status" | "status_after" | "delay" | "timeout" | "drop_before" | "drop_after",
     "status": 503, "headers": {...}, "body": {...} | "<html>…" | null, "seconds": 2}

``status`` answers without processing; ``status_after`` processes (the incident *is* created)
and then answers ``status`` (default 500, the quota-cancelled body: §8.2); ``delay`` waits then
processes; ``timeout`` holds the connection ``seconds`` without answering, then closes it;
``drop_before`` closes it without processing; ``drop_after`` processes and closes without
answering. A string ``body`` is sent as ``text/html``; JSON ``null`` sends no body.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import envelope

ACTIONS = ("status", "status_after", "delay", "timeout", "drop_before", "drop_after")
NO_BODY = object()  # "body" absent: the action's default body
CANCELLED_MESSAGE = "Transaction cancelled: maximum execution time exceeded"
CANCELLED_BODY = envelope(
    CANCELLED_MESSAGE,
    f"{CANCELLED_MESSAGE} Check logs for error trace or enable glide.rest.debug property "
    "to verify REST request processing",
)


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
    body: Any = NO_BODY
    seconds: float = 0.0

    def is_active(self, now: float) -> bool:
        if self.expires_at is not None:
            return now < self.expires_at
        return self.remaining is None or self.remaining > 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return self.path_regex is None or re.search(self.path_regex, path) is not None

    def response_body(self) -> Any:
        if self.body is not NO_BODY:
            return self.body
        if self.action == "status_after":
            return CANCELLED_BODY
        return envelope(f"Simulated HTTP {self.status}")

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
    default_status = 500 if action == "status_after" else 503
    return Fault(
        id=fault_id,
        action=action,
        method=match.get("method"),
        path_regex=match.get("path_regex"),
        remaining=None if for_seconds else int(spec.get("count", 1)),
        expires_at=time.monotonic() + float(for_seconds) if for_seconds else None,
        status=int(spec.get("status", default_status)),
        headers={str(k): str(v) for k, v in (spec.get("headers") or {}).items()},
        body=spec.get("body", NO_BODY),
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
    return {
        "match": {"method": method, "path_regex": path_regex},
        "count": count,
        "action": "status",
        "status": 429,
        "headers": headers,
        "body": envelope("Rate limit exceeded", detail),
    }


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
