"""A standard-library client for the ``/_sim`` control API; each simulator's control client
subclasses it with its own data and settings calls."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from .faults import NO_BODY


class ControlAPIError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"control API answered {status}: {body}")
        self.status = status
        self.body = body


class ControlClient:
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

    # --- faults --------------------------------------------------------------------------

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
        body: Any = NO_BODY,
        seconds: float | None = None,
    ) -> dict[str, Any]:
        """One fault; see ``simulators/core/faults.py`` for the meaning of each action."""
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
        if body is not NO_BODY:
            spec["body"] = body
        return self.add_fault_spec(spec)

    def add_fault_spec(self, spec: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/_sim/faults", spec)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sim/faults")

    # --- observation and reset -------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/requests")

    def clear_requests(self) -> None:
        self._call("DELETE", "/_sim/requests")

    def reset(self) -> None:
        self._call("POST", "/_sim/reset")

    def info(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/info")
