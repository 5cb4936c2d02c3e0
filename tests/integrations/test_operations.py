"""/healthz for load balancers and /metrics for Prometheus (integrations/views/operations.py,
integrations/metrics.py)."""

from __future__ import annotations

import socket
import time
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from integrations import tasks
from integrations.jira import JiraNotFound
from integrations.jira.connector import client_for
from integrations.models import SyncEvent, SyncState, WorkerHeartbeat
from integrations.services.health import HEARTBEAT
from tests.conftest import make_link

HEALTHZ = reverse("integrations:healthz")
METRICS = reverse("integrations:metrics")


def beat(seconds_ago: float = 0) -> None:
    WorkerHeartbeat.objects.update_or_create(
        name=HEARTBEAT,
        defaults={"beat_at": timezone.now() - timedelta(seconds=seconds_ago), "hostname": "w1"},
    )


@pytest.fixture
def hung_broker(settings):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    yield
    listener.close()


# --- /healthz ---------------------------------------------------------------------------


def test_it_reports_healthy_without_signing_in(client, db):
    beat(seconds_ago=4)

    response = client.get(HEALTHZ)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "worker": "ok"},
        "worker_heartbeat_age_seconds": 4,
    }


def test_it_checks_in_two_queries(client, db):
    beat()

    with CaptureQueriesContext(connection) as queries:
        client.get(HEALTHZ)

    assert len(queries) == 2  # SELECT 1, and the heartbeat row


def test_it_stays_in_rotation_but_degraded_when_the_worker_stopped(client, db, settings):
    settings.SYNC_SWEEP_SECONDS = 30
    beat(seconds_ago=95)  # three sweeps missed

    response = client.get(HEALTHZ)
    strict = client.get(HEALTHZ, {"strict": "1"})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["worker"] == "stale"
    assert strict.status_code == HTTPStatus.SERVICE_UNAVAILABLE


def test_it_says_no_worker_ever_ran(client, db):
    body = client.get(HEALTHZ).json()

    assert (body["checks"]["worker"], body["worker_heartbeat_age_seconds"]) == ("never", None)


def test_it_reports_a_hung_broker_within_a_second(client, db, hung_broker, broker_breaker):
    beat()
    started = time.monotonic()

    response = client.get(HEALTHZ, {"strict": "1"})

    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"/healthz took {elapsed:.2f} s with a hung broker"
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["checks"] == {"database": "ok", "broker": "down", "worker": "ok"}


def test_it_fails_when_the_database_is_down(client, db, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 10.0.0.9 failed: password=hunter2")

    with monkeypatch.context() as patch:  # undone before pytest-django's own cleanup
        patch.setattr(connection, "cursor", refuse)
        response = client.get(HEALTHZ)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["checks"] == {"database": "down", "broker": "ok", "worker": "unknown"}
    assert b"hunter2" not in response.content and b"10.0.0.9" not in response.content


def test_it_stamps_the_heartbeat_on_every_sweep(db):
    tasks.sweep_sync_events()

    (heartbeat,) = WorkerHeartbeat.objects.all()
    assert timezone.now() - heartbeat.beat_at < timedelta(seconds=5)


# --- /metrics -----------------------------------------------------------------------------


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get(METRICS, headers=headers)
    assert response.status_code == HTTPStatus.OK, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_it_serves_metrics_to_loopback_only_without_a_token(client, db):
    assert client.get(METRICS).status_code == HTTPStatus.OK  # the test client is 127.0.0.1
    assert client.get(METRICS, REMOTE_ADDR="10.1.2.3").status_code == HTTPStatus.FORBIDDEN


def test_it_serves_metrics_only_with_the_token_when_one_is_set(client, db, settings):
    settings.METRICS_TOKEN = "scrape-me"

    assert client.get(METRICS).status_code == HTTPStatus.FORBIDDEN
    wrong = client.get(METRICS, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == HTTPStatus.FORBIDDEN
    right = client.get(
        METRICS, headers={"Authorization": "Bearer scrape-me"}, REMOTE_ADDR="10.9.9.9"
    )
    assert right.status_code == HTTPStatus.OK


def test_it_counts_sync_events_the_oldest_and_the_pause_from_the_database(
    client, anomaly, jira_integration
):
    link = make_link(anomaly, jira_integration)
    five_minutes_ago = timezone.now() - timedelta(minutes=5)
    for state, created in [
        (SyncState.PENDING, five_minutes_ago),
        (SyncState.PENDING, timezone.now()),
        (SyncState.DELIVERED, five_minutes_ago - timedelta(hours=1)),
        (SyncState.FAILED, timezone.now()),
    ]:
        SyncEvent.objects.create(
            link=link, kind="commented", body="x", state=state, created_at=created
        )
    jira_integration.attention_reason = "Jira rejected the API token."
    jira_integration.save(update_fields=["attention_reason"])
    beat(seconds_ago=7)

    samples = scrape(client)

    events = {
        state: samples[("qualytics_sync_events", (("state", state),))] for state in SyncState.values
    }
    assert events == {"pending": 2, "sending": 0, "delivered": 1, "failed": 1, "cancelled": 0}
    integration = (("host", jira_integration.host_url), ("integration", str(jira_integration.pk)))
    oldest = samples[("qualytics_sync_oldest_unfinished_age_seconds", integration)]
    assert 299 < oldest < 330
    assert samples[("qualytics_sync_paused", integration)] == 1
    assert 6 < samples[("qualytics_worker_heartbeat_age_seconds", ())] < 30


def test_it_counts_jira_answers_by_status_code(client, jira_integration):
    before = (
        REGISTRY.get_sample_value(
            "qualytics_jira_requests_total", {"method": "GET", "status_code": "404"}
        )
        or 0
    )

    with client_for(jira_integration) as jira:
        jira.get_issue("DQ-1")
        with pytest.raises(JiraNotFound):
            jira.get_issue("DQ-999")

    samples = scrape(client)
    assert (
        samples[("qualytics_jira_requests_total", (("method", "GET"), ("status_code", "404")))]
        == before + 1
    )
    assert samples[("qualytics_jira_request_seconds_count", (("method", "GET"),))] >= 2


def test_it_counts_delivery_attempts_by_outcome(client, db):
    labels = {"outcome": "skipped"}
    before = REGISTRY.get_sample_value("qualytics_sync_delivery_attempts_total", labels) or 0

    tasks.deliver_sync_event(987654)  # no such event: nothing to send

    after = scrape(client)[("qualytics_sync_delivery_attempts_total", (("outcome", "skipped"),))]
    assert after == before + 1
