"""Sync measure: events delivered per second by N Celery worker processes, beside a plain
`requests` loop posting the same comments (same body, same entity property) with N threads
on kept-alive sessions. The floor runs just before and just after the workers (its rate is
the mean of the two), so a change in the machine's load shows in both.

The events are handed to the workers the way a bulk action hands them: one message per Jira
issue, for the head of its queue (integrations/services/batching.py).

    python bench/sync.py <simulator url> <redis broker url> <workers> <events>

Run by bench/run.py (environment: the bench database, secrets). Prints one JSON line.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The broker this process publishes to: the workers' (argument 2), set before Django loads.
if len(sys.argv) > 2:
    os.environ["CELERY_BROKER_URL"] = sys.argv[2]

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.utils import timezone  # noqa: E402

from anomalies.models import Anomaly  # noqa: E402
from bench.memory import peaks_mb  # noqa: E402
from bench.refresh import point_integration_at  # noqa: E402
from integrations.jira import adf  # noqa: E402
from integrations.jira.connector import NOTE_PROPERTY  # noqa: E402
from integrations.models import (  # noqa: E402
    SyncEvent,
    SyncQueue,
    SyncState,
    TicketingIntegration,
    TicketLink,
    remote_issue_key,
)
from integrations.services.sync import enqueue_next  # noqa: E402
from simulators.jira import SimulatorControl  # noqa: E402
from simulators.jira.seed import DEFAULT_EMAIL, DEFAULT_TOKEN  # noqa: E402

ISSUES = 50
MARK = "bench-sync-"


def link_to_simulator_issues(
    sim_url: str, anomaly_ids: list[int], *, mark: str
) -> tuple[TicketingIntegration, list[TicketLink], list[str]]:
    """Each anomaly linked to its own simulator issue (DQ-4 onwards), replacing the links an
    earlier run left under ``mark``: the integration, the links and their keys."""
    integration = point_integration_at(sim_url)
    TicketLink.objects.filter(issue_id__startswith=mark).delete()
    issues = {issue["key"]: issue["id"] for issue in SimulatorControl(sim_url).issues()}
    keys = [f"DQ-{number + 4}" for number in range(len(anomaly_ids))]
    links = TicketLink.objects.bulk_create(
        TicketLink(
            anomaly_id=anomaly_id,
            integration=integration,
            origin=TicketLink.Origin.LINKED,
            issue_id=f"{mark}{issues[key]}",
            issue_key=key,
            url=f"{sim_url}/browse/{key}",
            linked_at=timezone.now(),
        )
        for anomaly_id, key in zip(anomaly_ids, keys, strict=True)
    )
    return integration, links, keys


def prepare(sim_url: str, events: int) -> list[int]:
    anomaly_ids = list(Anomaly.objects.order_by("-pk").values_list("pk", flat=True)[:ISSUES])
    integration, links, _ = link_to_simulator_issues(sim_url, anomaly_ids, mark=MARK)
    remote = {link.pk: remote_issue_key(integration.pk, link.issue_id) for link in links}
    SyncQueue.objects.bulk_create(
        [SyncQueue(remote_issue=r, integration=integration) for r in remote.values()],
        ignore_conflicts=True,
    )
    now = timezone.now()
    created = SyncEvent.objects.bulk_create(
        (
            SyncEvent(
                link=links[number % ISSUES],
                remote_issue=remote[links[number % ISSUES].pk],
                kind="commented",
                body=f"[bench] comment {number}",
                created_at=now,
            )
            for number in range(events)
        ),
        batch_size=1000,
    )
    return [event.pk for event in created]


def worker(env: dict, concurrency: int, include: str = "") -> subprocess.Popen:
    argv = [sys.executable, "-m", "celery", "-A", "qualytics_jira", "worker", "--pool", "prefork"]
    argv += ["--include", include] if include else []
    argv += ["--concurrency", str(concurrency), "--loglevel", "WARNING", "-Q", "celery"]
    argv += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
    argv += ["--hostname", f"bench-{os.getpid()}@%h"]
    # Its own process group, so the pool's children stop with it.
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def delivered(ids: list[int]) -> int:
    # The bench's events have consecutive ids (bulk_create in one database nobody else uses).
    between = {"pk__gte": ids[0], "pk__lte": ids[-1]}
    return SyncEvent.objects.filter(**between, state=SyncState.DELIVERED).count()


def hand_heads_to_workers(ids: list[int]) -> int:
    """One message per Jira issue, like a bulk action; returns how many."""
    issues = sorted(
        set(
            SyncEvent.objects.filter(pk__gte=ids[0], pk__lte=ids[-1]).values_list(
                "remote_issue", flat=True
            )
        )
    )
    for remote_issue in issues:
        enqueue_next(remote_issue)
    return len(issues)


def floor(sim_url: str, threads: int, events: int) -> float:
    """The same comment posts, `threads` clients each on one kept-alive session."""
    keys = [f"DQ-{number + 4}" for number in range(ISSUES)]
    share = events // threads
    errors: list[BaseException] = []

    def client(offset: int) -> None:
        try:
            with requests.Session() as session:
                session.auth = (DEFAULT_EMAIL, DEFAULT_TOKEN)
                for number in range(offset * share, (offset + 1) * share):
                    key = keys[number % ISSUES]
                    marker = [{"key": NOTE_PROPERTY, "value": {"event": str(uuid.uuid4())}}]
                    body = {
                        "body": adf.text_to_adf(f"[bench] floor {number}"),
                        "properties": marker,
                    }
                    url = f"{sim_url}/rest/api/3/issue/{key}/comment"
                    session.post(url, json=body, timeout=30).raise_for_status()
        except BaseException as error:  # a thread's exception would otherwise vanish
            errors.append(error)

    started = time.perf_counter()
    pool = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise SystemExit(f"the floor loop failed: {errors[0]!r}")
    return share * threads / (time.perf_counter() - started)


def main() -> None:
    sim_url, broker_url, workers, events = (
        sys.argv[1],
        sys.argv[2],
        int(sys.argv[3]),
        int(sys.argv[4]),
    )
    env = {**os.environ, "CELERY_BROKER_URL": broker_url}
    ids = prepare(sim_url, events)
    process = worker(env, workers)
    try:
        time.sleep(6)  # the worker starts (its children fork, connect to Redis)
        floor_before = floor(sim_url, workers, events)
        started = time.perf_counter()
        messages = hand_heads_to_workers(ids)
        deadline = started + 300
        while delivered(ids) < len(ids) and time.perf_counter() < deadline:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        done = delivered(ids)
        floor_after = floor(sim_url, workers, events)
        peaks = peaks_mb(process.pid)
    finally:
        stop(process)
    rate = done / seconds
    TicketLink.objects.filter(issue_id__startswith=MARK).delete()
    print(json.dumps({"workers": workers, "events": events, "delivered": done, "rate": rate,
                      "messages": messages, "floor_rate": (floor_before + floor_after) / 2,
                      "floor_rates": [floor_before, floor_after],
                      "peak_mb": peaks[0] if peaks else None}))  # fmt: skip


if __name__ == "__main__":
    main()
