"""Request/response values and routing shared by the REST, control and page handlers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .errors import JiraError, bad_request

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
    user: dict[str, Any] | None = None  # authenticated Jira user, None = anonymous
    auth_failed: bool = False  # credentials were sent but rejected

    def json(self) -> Any:
        """Decoded body (``None`` when empty). Malformed JSON is a 400, as in Jira."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise bad_request(f"Unexpected character in the request body: {error}") from None

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def list_param(self, name: str) -> list[str]:
        """Repeated and/or comma-separated values (``fields=a,b&fields=c``)."""
        return [part.strip() for value in self.query.get(name, []) for part in value.split(",")]

    def int_param(self, name: str, default: int) -> int:
        raw = self.param(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise bad_request(f"The '{name}' parameter must be an integer.") from None


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


def error_response(error: JiraError) -> Response:
    headers = {"X-Sim-Detail": _header_safe(error.detail)} if error.detail else {}
    return Response(error.status, error.body(), headers)


def _header_safe(text: str) -> str:
    return re.sub(r"[^\x20-\x7e]", "?", text)[:500]


Handler = Callable[["SimulatorApp", Request, dict[str, str]], Response]


@dataclass
class Route:
    method: str
    template: str  # e.g. "/rest/api/3/issue/{issueIdOrKey}"
    handler: Handler
    operation_id: str | None = None
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
