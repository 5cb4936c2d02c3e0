"""Benchmark: a bulk acknowledge of 1,000 anomalies, each linked to a Jira issue.

    python bench/bulk_acknowledge.py [--anomalies 1000] [--issues 50] [--runs 3] [--per-event]

Uses DATABASE_URL when set (e.g. Postgres), else its own SQLite file var/bench-bulk.sqlite3,
and the broker of CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0; default the filesystem
broker). Posts the bulk request (the JSON API's, which takes 1,000 ids in one body; the page sends
at most a page of ids or its filters) as an Author on two datastores and prints its time,
its SQL query count and the broker messages it published. Workers are not
running: the events stay queued (nothing reaches Jira). `--per-event` turns off the batching
(one broker message per event, as before) for comparison.

Floor (issue 16): under 2 s for 1,000 anomalies on Postgres.
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
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from anomalies import bulk  # noqa: E402
from anomalies.models import (  # noqa: E402
    Anomaly,
    ApiToken,
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
    body = json.dumps({"action": "acknowledge", "ids": ids})
    times = []
    queries: list[str] = []  # counted by a wrapper: Django's query log keeps only 9,000

    def counting(execute, sql, *rest):
        queries.append(sql)
        return execute(sql, *rest)

    for _ in range(args.runs):
        reset(ids)
        published.clear()
        queries.clear()
        with connection.execute_wrapper(counting):
            started = time.perf_counter()
            response = client.post(
                "/api/anomalies/bulk",
                body,
                content_type="application/json",
                headers={"Authorization": f"Token {key}"},
            )
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:300]
        acknowledged = Anomaly.objects.filter(pk__in=ids, status=Status.ACKNOWLEDGED).count()
        assert acknowledged == len(ids), acknowledged
    events = SyncEvent.objects.filter(link__anomaly_id__in=ids).count()
    mode = "one message per event" if args.per_event else "one message per Jira issue"
    print(
        f"bulk acknowledge of {len(ids)} anomalies over {args.issues} Jira issues "
        f"({connection.vendor}, broker {broker.settings.CELERY_BROKER_URL.split(':')[0]}, {mode}):"
    )
    print(
        f"  median {statistics.median(times):.2f} s, worst {max(times):.2f} s over {args.runs} "
        f"runs; {len(queries)} SQL queries; {len(published)} broker messages; {events} events"
    )
    SyncQueue.objects.filter(integration__host_url="https://bench.atlassian.net").delete()


if __name__ == "__main__":
    main()
