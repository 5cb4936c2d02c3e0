"""Every endpoint the fuzz suite attacks: how to reach it, and what a valid request holds
(the suite makes up to three of its values hostile, or sends a raw hostile body)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from tests.api.test_anomalies_api import detection

# (world, target anomaly id, target row id) -> path
PathFor = Callable[[Any, int, int], str]


@dataclass(frozen=True)
class Endpoint:
    label: str
    method: str
    path: PathFor
    valid: dict[str, Any]
    sends: str  # "json" body, "query" string, or "form" body (pages)

    def __str__(self) -> str:
        return self.label


def _api(name: str) -> PathFor:
    return lambda world, anomaly_id, row_id: reverse(f"anomalies_api:{name}", args=[anomaly_id])


def _tickets_api(name: str, *, anomaly: bool = True) -> PathFor:
    if anomaly:
        return lambda world, anomaly_id, row_id: reverse(
            f"integrations_api:{name}", args=[anomaly_id]
        )
    return lambda world, anomaly_id, row_id: reverse(f"integrations_api:{name}")


def _page(name: str) -> PathFor:
    return lambda world, anomaly_id, row_id: reverse(name, args=[anomaly_id])


TICKET = {
    "project": "DQ",
    "issue_type": "10002",
    "summary": "Null customer ids in orders",
    "description": "Seen after the nightly load.",
    "priority": "2",
    "labels": ["data-quality"],
    "assignee": "712020:sim-alice",
}
LIST_QUERY = {"q": "null", "status": "all", "datastore": "1", "type": "record", "sort": "-weight"}

ANOMALY_API = [
    Endpoint(
        "POST /api/anomalies (ingest)",
        "POST",
        lambda world, anomaly_id, row_id: reverse("anomalies_api:anomalies"),
        detection(),
        "json",
    ),
    Endpoint(
        "GET /api/anomalies",
        "GET",
        lambda world, anomaly_id, row_id: reverse("anomalies_api:anomalies"),
        {**LIST_QUERY, "page": "1"},
        "query",
    ),
    Endpoint("GET /api/anomalies/<id>", "GET", _api("detail"), {}, "query"),
    Endpoint("POST /api/anomalies/<id>/comments", "POST", _api("comments"), {"text": "Hi"}, "json"),
    Endpoint("POST /api/anomalies/<id>/acknowledge", "POST", _api("acknowledge"), {}, "json"),
    Endpoint(
        "POST /api/anomalies/<id>/archive",
        "POST",
        _api("archive"),
        {"reason": "Resolved", "note": "Fixed upstream."},
        "json",
    ),
    Endpoint("POST /api/anomalies/<id>/restore", "POST", _api("restore"), {}, "json"),
]
TICKET_API = [
    Endpoint("GET /api/.../ticket-links", "GET", _tickets_api("ticket_links"), {}, "query"),
    Endpoint(
        "POST /api/.../ticket-links",
        "POST",
        _tickets_api("ticket_links"),
        {"issue": "DQ-2"},
        "json",
    ),
    Endpoint(
        "DELETE /api/.../ticket-links/<id>",
        "DELETE",
        lambda world, anomaly_id, row_id: reverse(
            "integrations_api:ticket_link", args=[anomaly_id, row_id]
        ),
        {},
        "json",
    ),
    Endpoint(
        "POST /api/integrations/ticketing/anomalies/<id>/tickets",
        "POST",
        _tickets_api("create_ticket"),
        TICKET,
        "json",
    ),
    Endpoint(
        "GET /api/integrations/ticketing/tickets/search",
        "GET",
        _tickets_api("search", anomaly=False),
        {"query": "orders"},
        "query",
    ),
    Endpoint(
        "GET /api/integrations/ticketing/form-specification",
        "GET",
        _tickets_api("form_specification", anomaly=False),
        {"project": "DQ", "issue_type": "10002", "assignee_query": "ali"},
        "query",
    ),
    Endpoint(
        "PATCH /api/integrations/ticketing (edit)",
        "PATCH",
        _tickets_api("integration", anomaly=False),
        {"credentials": "bot@example.com:wrong-token", "default_project_key": "OPS"},
        "json",
    ),
    Endpoint(
        "POST /api/integrations/ticketing/test",
        "POST",
        _tickets_api("test", anomaly=False),
        {},
        "json",
    ),
    Endpoint(
        "POST /api/sync-events/<id>/retry",
        "POST",
        lambda world, anomaly_id, row_id: reverse("integrations_api:retry_event", args=[row_id]),
        {},
        "json",
    ),
]
CONNECT_API = Endpoint(
    "POST /api/integrations/ticketing (connect)",
    "POST",
    _tickets_api("integration", anomaly=False),
    {
        "host_url": "https://jira.invalid",
        "credentials": "bot@example.com:token",
        "default_project_key": "DQ",
    },
    "json",
)

ANOMALY_PAGES = [
    Endpoint(
        "GET /anomalies/",
        "GET",
        lambda world, anomaly_id, row_id: reverse("anomalies:list"),
        {**LIST_QUERY, "page": "2"},
        "query",
    ),
    Endpoint("GET /anomalies/<id>/", "GET", _page("anomalies:detail"), {}, "query"),
    Endpoint(
        "POST /anomalies/<id>/comments/", "POST", _page("anomalies:comment"), {"text": "Hi"}, "form"
    ),
    Endpoint(
        "POST /anomalies/<id>/archive/",
        "POST",
        _page("anomalies:archive"),
        {"reason": "Resolved", "note": "Fixed."},
        "form",
    ),
    Endpoint(
        "POST /anomalies/<id>/acknowledge/", "POST", _page("anomalies:acknowledge"), {}, "form"
    ),
    Endpoint("POST /anomalies/<id>/restore/", "POST", _page("anomalies:restore"), {}, "form"),
]
TICKET_PAGES = [
    Endpoint(
        "POST /anomalies/<id>/tickets/link/",
        "POST",
        _page("integrations:link"),
        {"query": "DQ-2"},
        "form",
    ),
    Endpoint(
        "GET /anomalies/<id>/tickets/search/",
        "GET",
        _page("integrations:search"),
        {"q": "orders"},
        "query",
    ),
    Endpoint(
        "GET /anomalies/<id>/tickets/suggest/",
        "GET",
        _page("integrations:suggest"),
        {"q": "orders"},
        "query",
    ),
    Endpoint(
        "GET /anomalies/<id>/tickets/new/choices/",
        "GET",
        _page("integrations:create_choices"),
        {"field": "assignee", "scope": "DQ", "q": "ali"},
        "query",
    ),
    Endpoint(
        "POST /anomalies/<id>/tickets/new/",
        "POST",
        _page("integrations:create"),
        {**TICKET, "labels": "data-quality", "assignee_query": ""},
        "form",
    ),
    Endpoint(
        "POST /settings/integrations/<id>/edit/",
        "POST",
        lambda world, anomaly_id, row_id: reverse("integrations:edit", args=[world.integration.pk]),
        {"credentials": "", "default_project_key": "DQ"},
        "form",
    ),
]
CONNECT_PAGE = Endpoint(
    "POST /settings/integrations/jira/connect/",
    "POST",
    lambda world, anomaly_id, row_id: reverse("integrations:connect"),
    CONNECT_API.valid,
    "form",
)
