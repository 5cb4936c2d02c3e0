"""Prometheus metrics (prometheus-client), served at /metrics.

Two kinds, so that a fleet of web and worker hosts reports one truth:

- Sync state is computed from the database at scrape time (`SyncCollector`): events by
  state, the oldest unfinished event's age and the paused state per integration, the worker
  heartbeat's age. Any web host answers the same figures; nothing is kept in memory.
- Jira calls (latency, status codes) and delivery attempts by outcome are counted in the
  process that makes them. Set PROMETHEUS_MULTIPROC_DIR (one empty directory per host,
  shared by its gunicorn and Celery processes, emptied at start) so that /metrics adds up
  every process of the host; without it each process counts only its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests
from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .models import SyncEvent, SyncState, TicketingIntegration

JIRA_REQUESTS = Counter(
    "qualytics_jira_requests_total",
    "Jira HTTP answers by method and status code.",
    ["method", "status_code"],
)
JIRA_LATENCY = Histogram(
    "qualytics_jira_request_seconds",
    "Time until Jira's answer headers arrived, by method.",
    ["method"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30),
)
DELIVERY_ATTEMPTS = Counter(
    "qualytics_sync_delivery_attempts_total",
    "Sync event deliveries run by a worker, by outcome (delivered, retry, failed, paused, "
    "skipped).",
    ["outcome"],
)
CONTENT_TYPE = CONTENT_TYPE_LATEST


def record_remote_response(response: requests.Response, *args, **kwargs) -> None:
    """A `requests` response hook on every connector session (services/clients.py). The
    metric keeps its first name (qualytics_jira_*) so dashboards keep working."""
    method = response.request.method or "?"
    JIRA_REQUESTS.labels(method, str(response.status_code)).inc()
    JIRA_LATENCY.labels(method).observe(response.elapsed.total_seconds())


def count_delivery_attempt(outcome: str) -> None:
    DELIVERY_ATTEMPTS.labels(outcome).inc()


class SyncCollector(Collector):
    """Read at every scrape: three aggregate queries and one row, all on indexed columns."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from .services.health import worker_heartbeat_age

        yield self._events_by_state()
        yield from self._per_integration()
        heartbeat = GaugeMetricFamily(
            "qualytics_worker_heartbeat_age_seconds",
            "Seconds since a worker last ran the periodic sweep (-1: never).",
        )
        age = worker_heartbeat_age()
        heartbeat.add_metric([], age.total_seconds() if age is not None else -1)
        yield heartbeat

    def _events_by_state(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "qualytics_sync_events",
            "Sync events (notes owed to tickets) by state.",
            labels=["state"],
        )
        counts = dict(SyncEvent.objects.values_list("state").annotate(n=Count("id")).order_by())
        for state in SyncState.values:
            family.add_metric([state], counts.get(state, 0))
        return family

    def _per_integration(self) -> Iterator[GaugeMetricFamily]:
        labels = ["integration", "host"]
        oldest = GaugeMetricFamily(
            "qualytics_sync_oldest_unfinished_age_seconds",
            "Age of the oldest pending or sending sync event (0: none).",
            labels=labels,
        )
        paused = GaugeMetricFamily(
            "qualytics_sync_paused",
            "1 while sync is paused until a Manager acts (e.g. credentials rejected).",
            labels=labels,
        )
        now = timezone.now()
        unfinished = dict(
            SyncEvent.objects.filter(state__in=(SyncState.PENDING, SyncState.SENDING))
            .values_list("link__integration_id")
            .annotate(oldest=Min("created_at"))
            .order_by()
        )
        for integration in TicketingIntegration.objects.connected():
            values = [str(integration.pk), integration.host_url]
            created = unfinished.get(integration.pk)
            oldest.add_metric(values, (now - created).total_seconds() if created else 0)
            paused.add_metric(values, 1 if integration.attention_reason else 0)
        yield oldest
        yield paused


_sync_registry = CollectorRegistry(auto_describe=False)
_sync_registry.register(SyncCollector())


def exposition() -> bytes:
    """Everything /metrics shows, in Prometheus' text format."""
    if settings.PROMETHEUS_MULTIPROC_DIR:
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    return generate_latest(processes) + generate_latest(_sync_registry)
