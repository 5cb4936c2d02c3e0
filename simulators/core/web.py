"""Request/response values and routing shared by every handler of a simulator."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

JSON_TYPE = "application/json;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"


@dataclass
class Request:
    """One HTTP request; each simulator subclasses it for who is logged in and its params."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    client_ip: str

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def logged_account(self) -> str | None:
        """Who sent it, as the request log names them (``None`` = anonymous)."""
        return None


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


Handler = Callable[[Any, Any, dict[str, str]], Response]  # (app, request, path params)


@dataclass
class Route:
    method: str
    template: str  # e.g. "/rest/api/3/issue/{issueIdOrKey}"
    handler: Handler
    operation_id: str | None = None  # the vendor's OpenAPI operation, where there is one
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
