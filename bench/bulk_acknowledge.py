"""Benchmark: a bulk acknowledge of 1,000 anomalies, each linked to a Jira issue.

    python bench/bulk_acknowledge.py [--anomalies 1000] [--issues 50] [--runs 3] [--per-event]

Uses DATABASE_URL when set (e.g. Postgres), else its own SQLite file var/bench-bulk.sqlite3,
and the broker of CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0; default the filesystem
broker). As an Author on two datastores it times, side by side in one run:

- the answer to the bulk request (the JSON API's, which takes 1,000 ids in one body; the page
  sends a page of ids or its filters): above a page (anomalies.bulk_runs.BULK_INLINE_LIMIT)
  it saves the run and hands it to a worker;
- the worker carrying the run out (called in this process, so it is timed alone), with its
  SQL statements and the broker messages it publishes for the Jira comments;
- a page's worth (BULK_INLINE_LIMIT anomalies) carried out within the request;
- the floor: the same number of bare per-anomaly transactions (UPDATE + INSERT + COMMIT
  through the same connection), what one transaction per anomaly costs at the least.

Celery workers are not running: the events stay queued (nothing reaches Jira). `--per-event`
turns off the batching (one broker message per event) for comparison.

Target (issue 16): the request answers in under 2 s for 1,000 anomalies on Postgres.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualytics_jira.test_settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench-bulk.sqlite3'}")
os.environ["DEBUG"] = "0"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from anomalies import bulk, bulk_runs  # noqa: E402
from anomalies.models import (  # noqa: E402
    Anomaly,
    ApiToken,
    BulkRun,
    Container,
    Datastore,
    DatastorePermission,
    HistoryEntry,
    Level,
    Status,
    Team,
    User,
)
from integrations.models import (  # noqa: E402
    Connector,
    SyncEvent,
    SyncQueue,
    TicketingIntegration,
    TicketLink,
)
from integrations.services.batching import deferred_deliveries  # noqa: E402
from qualytics_jira import broker  # noqa: E402

PREFIX = "bench-bulk"


def seed(anomalies: int, issues: int) -> tuple[User, list[int]]:
    """Fresh bench rows: two datastores, an Author on both, anomalies linked round-robin."""
    Anomaly.objects.filter(fingerprint__startswith=PREFIX).delete()
    TicketingIntegration.objects.all().update(state="disconnected")
    integration = TicketingIntegration.objects.create(
        connector=Connector.JIRA,
        host_url="https://bench.atlassian.net",
        credentials="bench@example.com:token",
        default_project_key="DQ",
        connected_at=timezone.now(),
    )
    user, _ = User.objects.get_or_create(username=f"{PREFIX}-author")
    containers = []
    for name in ("Bench A", "Bench B"):
        datastore, _ = Datastore.objects.get_or_create(name=name)
        team, _ = Team.objects.get_or_create(name=f"{PREFIX} {name}")
        team.members.add(user)
        DatastorePermission.objects.get_or_create(
            team=team, datastore=datastore, defaults={"level": Level.AUTHOR}
        )
        containers.append(Container.objects.get_or_create(datastore=datastore, name="t")[0])
    rows = Anomaly.objects.bulk_create(
        Anomaly(
            datastore=containers[n % 2].datastore,
            container=containers[n % 2],
            anomaly_type="record",
            description=f"bench anomaly {n}",
            fingerprint=f"{PREFIX}-{n}",
        )
        for n in range(anomalies)
    )
    now = timezone.now()
    TicketLink.objects.bulk_create(
        TicketLink(
            anomaly=anomaly,
            integration=integration,
            origin="linked",
            issue_id=str(20000 + n % issues),
            issue_key=f"DQ-{20000 + n % issues}",
            url="https://bench.atlassian.net/browse/DQ-1",
            linked_at=now,
        )
        for n, anomaly in enumerate(rows)
    )
    return user, [anomaly.pk for anomaly in rows]


def reset(ids: list[int]) -> None:
    BulkRun.objects.filter(user__username=f"{PREFIX}-author").delete()
    Anomaly.objects.filter(pk__in=ids).update(status=Status.ACTIVE, status_changed_at=None)
    SyncEvent.objects.filter(link__anomaly_id__in=ids).delete()
    HistoryEntry.objects.filter(anomaly_id__in=ids).delete()


def counting_publishes() -> list:
    published: list = []
    real = broker.publish

    def publish(task, *args, **kwargs):
        published.append(getattr(task, "name", task))  # a task or its registered name
        return real(task, *args, **kwargs)

    broker.publish = publish
    import integrations.services.sync as sync

    sync.publish = publish
    return published


def timed_post(client, key: str, ids: list[int]):
    started = time.perf_counter()
    response = client.post(
        "/api/anomalies/bulk",
        json.dumps({"action": "acknowledge", "ids": ids}),
        content_type="application/json",
        headers={"Authorization": f"Token {key}"},
    )
    return response, time.perf_counter() - started


def floor_seconds(ids: list[int]) -> float:
    """Bare per-anomaly transactions: one UPDATE and one history INSERT, then COMMIT."""
    started = time.perf_counter()
    for pk in ids:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE anomalies_anomaly SET status = %s WHERE id = %s", ["active", pk])
            cursor.execute(
                "INSERT INTO anomalies_historyentry (anomaly_id, action, summary, created_at)"
                " VALUES (%s, 'bench', 'floor', %s)",
                [pk, timezone.now()],
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anomalies", type=int, default=1000)
    parser.add_argument("--issues", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-event", action="store_true")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    user, ids = seed(args.anomalies, args.issues)
    if args.per_event:
        bulk._batch_hooks.remove(deferred_deliveries)
    published = counting_publishes()
    client = Client(HTTP_HOST="127.0.0.1")
    _, key = ApiToken.objects.issue(user, name="bench")
    page = ids[: bulk_runs.BULK_INLINE_LIMIT]
    answers, workers, inline, floors = [], [], [], []
    queries: list[str] = []  # counted by a wrapper: Django's query log keeps only 9,000

    def counting(execute, sql, *rest):
        queries.append(sql)
        return execute(sql, *rest)

    for _ in range(args.runs):
        reset(ids)
        response, seconds = timed_post(client, key, ids)
        answers.append(seconds)
        assert response.status_code == 202, response.content[:300]
        published.clear()
        queries.clear()
        with connection.execute_wrapper(counting):
            started = time.perf_counter()
            assert bulk_runs.carry_out_bulk_run(response.json()["run"]) == "done"
            workers.append(time.perf_counter() - started)
        worker_messages = len(published)
        acknowledged = Anomaly.objects.filter(pk__in=ids, status=Status.ACKNOWLEDGED).count()
        assert acknowledged == len(ids), acknowledged
        reset(page)
        response, seconds = timed_post(client, key, page)
        assert response.status_code == 200, response.content[:300]
        inline.append(seconds)
        floors.append(floor_seconds(ids))
    events = SyncEvent.objects.filter(link__anomaly_id__in=ids).count()
    mode = "one message per event" if args.per_event else "one message per Jira issue"
    median = statistics.median
    print(
        f"bulk acknowledge of {len(ids)} anomalies over {args.issues} Jira issues "
        f"({connection.vendor}, broker {broker.settings.CELERY_BROKER_URL.split(':')[0]}, "
        f"{mode}), medians of {args.runs} runs:"
    )
    print(f"  request answered (run handed to a worker): {median(answers) * 1000:.0f} ms")
    print(
        f"  worker carried it out: {median(workers):.2f} s; {len(queries)} SQL statements; "
        f"{worker_messages} broker messages; {events} events"
    )
    print(
        f"  floor, {len(ids)} bare transactions (UPDATE + INSERT + COMMIT): "
        f"{median(floors):.2f} s; worker / floor = {median(workers) / median(floors):.1f}x"
    )
    print(f"  a page ({len(page)} anomalies) within the request: {median(inline):.2f} s")
    if os.environ.get("BENCH_SHOW_SQL"):  # one anomaly's statements, to see where time goes
        print("\n".join(sql[:160] for sql in queries[200:230]))
    SyncQueue.objects.filter(integration__host_url="https://bench.atlassian.net").delete()


if __name__ == "__main__":
    main()
