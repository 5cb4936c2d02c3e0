"""For operators and load balancers: /healthz and /metrics. Neither needs a session.

/healthz is cheap (one `SELECT 1`, one row read, one broker round trip bounded by
BROKER_PUBLISH_TIMEOUT) and shows no secrets. It answers 503 only when this web process
cannot serve (its database is down): a broker outage or a stopped worker delays the
comments (the outbox keeps them), so taking every web host out of the load balancer for
it would turn a delay into an outage. Monitors that want those to fail the check ask
`/healthz?strict=1`.
"""

from __future__ import annotations

import hmac
from http import HTTPStatus

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from qualytics_jira.broker import broker_answers

from .. import metrics
from ..services.health import heartbeat_max_age, worker_heartbeat_age

LOOPBACK = {"127.0.0.1", "::1"}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_check()}
    checks["broker"] = "ok" if broker_answers() else "down"
    age = worker_heartbeat_age() if checks["database"] == "ok" else None
    checks["worker"] = _worker_check(age, database_up=checks["database"] == "ok")
    healthy = all(result == "ok" for result in checks.values())
    status = "ok" if healthy else ("down" if checks["database"] != "ok" else "degraded")
    failing = status == "down" or (not healthy and request.GET.get("strict") == "1")
    body = {
        "status": status,
        "checks": checks,
        "worker_heartbeat_age_seconds": round(age.total_seconds()) if age else None,
    }
    return JsonResponse(body, status=HTTPStatus.SERVICE_UNAVAILABLE if failing else HTTPStatus.OK)


def _database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure: the check says so, the details go nowhere
        return "down"
    return "ok"


def _worker_check(age, *, database_up: bool) -> str:
    if not database_up:
        return "unknown"
    if age is None:
        return "never"
    return "ok" if age <= heartbeat_max_age() else "stale"


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _may_scrape(request):
        return HttpResponse(
            "Metrics need the METRICS_TOKEN bearer token (or a loopback address when none "
            "is set).\n",
            status=HTTPStatus.FORBIDDEN,
            content_type="text/plain",
        )
    return HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE)


def _may_scrape(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return request.META.get("REMOTE_ADDR") in LOOPBACK
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(offered.encode(), token.encode())
