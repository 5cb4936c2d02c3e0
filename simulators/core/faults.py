"""Fault injection: the fault queue consulted before each request.

A fault spec (``POST /_sim/faults``)::

    {"match": {"method": "POST", "path_regex": "/comment$"},
     "count": 1 | "for_seconds": 5,
     "action": "status" | "delay" | "timeout" | "drop_before" | "drop_after" | "hold_after"
               | "status_after",
     "status": 503, "headers": {...}, "body": {...} | "<html>…" | null, "seconds": 2}

``status`` answers without processing; ``delay`` waits then processes; ``timeout`` holds the
connection ``seconds`` without answering, then closes it; ``drop_before`` closes it without
processing; ``drop_after`` processes and closes without answering; ``hold_after`` processes,
then holds the connection ``seconds`` without answering and closes it (a client killed while
waiting: the change is made, no outcome was ever read); ``status_after`` processes,
then answers ``status`` anyway. A string ``body`` is sent as ``text/html``; JSON ``null`` sends
no body; no ``body`` at all sends the simulator's default body for the fault.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

ACTIONS = (
    "status",
    "delay",
    "timeout",
    "drop_before",
    "drop_after",
    "hold_after",
    "status_after",
)
NO_BODY = object()  # "body" absent: the simulator's default body for the fault


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


def parse_fault(spec: dict[str, Any], fault_id: int, default_status: int = 503) -> Fault:
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
    """Active faults, consulted in the order they were added.

    ``status_after_status``: the status a ``status_after`` fault answers when none is given.
    """

    def __init__(self, status_after_status: int = 503) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1
        self._status_after_status = status_after_status

    def add(self, spec: dict[str, Any]) -> Fault:
        with self._lock:
            action = spec.get("action", "status")
            default_status = self._status_after_status if action == "status_after" else 503
            fault = parse_fault(spec, self._next_id, default_status)
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


def status_fault(
    status: int,
    headers: dict[str, str],
    body: Any,
    count: int = 1,
    method: str | None = None,
    path_regex: str | None = None,
) -> dict[str, Any]:
    """Spec for a ready-made answer (``action: status``), e.g. a vendor's 429 or 503."""
    return {
        "match": {"method": method, "path_regex": path_regex},
        "count": count,
        "action": "status",
        "status": status,
        "headers": headers,
        "body": body,
    }
