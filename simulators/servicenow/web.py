"""Request/response values and routing shared by the Table API, control and page handlers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from .server import SimulatorApp

JSON_TYPE = "application/json;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    client_ip: str
    account: dict[str, Any] | None = None  # the authenticated account, None = anonymous

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

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


@dataclass
class Response:
    status: int
    body: Any = None  # dict/list -> JSON, str -> HTML, None -> empty
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str | None]:
        if self.body is None:
            return b"", None
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), HTML_TYPE
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8"), JSON_TYPE


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, body, headers or {})


Handler = Callable[["SimulatorApp", Request, dict[str, str]], Response]


@dataclass
class Route:
    method: str
    template: str  # e.g. "/api/now/table/{table}/{sys_id}"
    handler: Handler
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        self.pattern = re.compile(f"^{regex}$")


def find_route(
    routes: list[Route], method: str, path: str
) -> tuple[Route | None, dict[str, str], list[str]]:
    """``(route, path params, allowed methods)``; literal routes win over templated ones."""
    allowed: list[str] = []
    for route in sorted(routes, key=lambda r: r.template.count("{")):
        match = route.pattern.match(path)
        if match is None:
            continue
        if route.method == method:
            return route, {k: unquote(v) for k, v in match.groupdict().items()}, []
        allowed.append(route.method)
    return None, {}, allowed
