"""``GET``/``POST /rest/api/3/search/jql`` (enhanced search) and the ``fields`` selection rules.

Per the operation's description: ``fields`` defaults to ``id`` ("By default, this resource
returns IDs only"), pages are chained with ``nextPageToken`` (absent on the last page) and
``isLast``; there is no ``total``/``startAt``. The page size is capped at 100 issues, or 5000
when only ``id``/``key`` are requested ("It returns max 5000 issues").
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from . import render
from .errors import JiraError, bad_request
from .jql import compile_jql
from .jql_clauses import SearchContext
from .web import Request, Response, json_response

if TYPE_CHECKING:
    from .server import SimulatorApp

FULL_PAGE_LIMIT = 100
ID_ONLY_PAGE_LIMIT = 5000
NAVIGABLE_EXCLUDED = {"comment"}  # not a navigable field in Jira


def select_fields(tokens: list[str], default: str) -> set[str]:
    """Field ids from ``*all``, ``*navigable``, names and ``-name`` exclusions.

    Only exclusions (``-description``) mean "the default set minus those"; unknown names are
    ignored, as Jira does.
    """
    every = set(render.all_field_ids())
    navigable = every - NAVIGABLE_EXCLUDED
    tokens = [token for token in tokens if token] or [default]
    positive = [token for token in tokens if not token.startswith("-")]
    included: set[str] = set()
    for token in positive or [default]:
        if token == "*all":
            included |= every
        elif token == "*navigable":
            included |= navigable
        elif token in every:
            included.add(token)
    return included - {token[1:] for token in tokens if token.startswith("-")}


def search_get(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    return _search(
        app,
        request,
        jql=request.param("jql") or "",
        fields=request.list_param("fields"),
        max_results=request.int_param("maxResults", 50),
        page_token=request.param("nextPageToken"),
        properties=request.list_param("properties"),
    )


def search_post(app: SimulatorApp, request: Request, _params: dict[str, str]) -> Response:
    body = request.json()
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object.")
    fields = body.get("fields") or []
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise bad_request("'fields' must be a list of strings.")
    max_results = body.get("maxResults", 50)
    if not isinstance(max_results, int):
        raise bad_request("'maxResults' must be an integer.")
    return _search(
        app,
        request,
        jql=str(body.get("jql") or ""),
        fields=[part.strip() for field in fields for part in field.split(",")],
        max_results=max_results,
        page_token=body.get("nextPageToken"),
        properties=list(body.get("properties") or []),
    )


def _search(
    app: SimulatorApp,
    request: Request,
    jql: str,
    fields: list[str],
    max_results: int,
    page_token: str | None,
    properties: list[str],
) -> Response:
    context = SearchContext(
        resolve_key=lambda ref: (app.state.find_issue(ref) or {}).get("id"),
        can_browse=request.user is not None,
        unknown_keys=app.settings["jql_unknown_keys"],
        current_account=request.user["accountId"] if request.user else None,
    )
    found = compile_jql(jql, context).run(app.state.issues() if context.can_browse else [])
    ids_only = set(fields or ["id"]) <= {"id", "key"}
    limit = min(max(1, max_results), ID_ONLY_PAGE_LIMIT if ids_only else FULL_PAGE_LIMIT)
    offset = _decode_token(page_token, jql)
    page = found[offset : offset + limit]
    body: dict[str, Any] = {
        "issues": [_issue_result(app, issue, fields, properties) for issue in page],
        "isLast": offset + limit >= len(found),
    }
    if not body["isLast"]:
        body["nextPageToken"] = _encode_token(offset + limit, jql)
    return json_response(200, body)


def _issue_result(
    app: SimulatorApp, issue: dict[str, Any], fields: list[str], properties: list[str]
) -> dict[str, Any]:
    if set(fields or ["id"]) == {"id"} and not properties:
        return {"id": issue["id"]}
    wanted = select_fields(fields, default="*navigable")
    return render.issue_bean(app.site, issue, app.state.user, wanted, properties, expand="")


def _jql_fingerprint(jql: str) -> str:
    return hashlib.sha256(jql.encode("utf-8")).hexdigest()[:12]


def _encode_token(offset: int, jql: str) -> str:
    raw = json.dumps({"offset": offset, "jql": _jql_fingerprint(jql)}).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_token(token: str | None, jql: str) -> int:
    """Tokens are opaque to clients; one minted for another query is rejected."""
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded))
        if decoded["jql"] == _jql_fingerprint(jql) and int(decoded["offset"]) >= 0:
            return int(decoded["offset"])
    except (ValueError, KeyError, TypeError):
        pass
    raise JiraError(400, ["The provided next page token is invalid or expired."])
