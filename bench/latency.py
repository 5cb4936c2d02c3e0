"""Latency measure: from the start of an acknowledge POST to the web server until the comment
arrives at the Jira simulator (gunicorn, Redis broker, one Celery worker), beside its floor:
one broker hop (a task published to the same broker, run by the same worker) plus one
comment POST on a kept-alive session. Real and floor runs alternate, one at a time (the
system idle), each waiting for its comment before the next starts.

    python bench/latency.py <simulator url> <redis broker url> <web url> <runs>

Run by bench/run.py, which starts the simulator and gunicorn (environment: the bench
database, the broker). The arrival time is the simulator's own request log entry (the same
clock: one machine). Prints one JSON line.
"""

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if len(sys.argv) > 2:
    os.environ["CELERY_BROKER_URL"] = sys.argv[2]

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from celery import current_app  # noqa: E402

from anomalies.models import Anomaly, Status  # noqa: E402
from bench.pages import session_cookie  # noqa: E402
from bench.sync import link_to_simulator_issues, stop, worker  # noqa: E402
from integrations.models import TicketLink  # noqa: E402
from simulators.jira import SimulatorControl  # noqa: E402

MARK = "bench-latency-"
FLOOR_TASK = "bench.latency_floor.post_comment"
WARM_UP = 3  # runs of each kind left out: the first task of a worker child imports code
TIMEOUT = 10.0


def prepare(sim_url: str, runs: int) -> tuple[list[tuple[int, str]], dict[int, str]]:
    """``runs`` Active anomalies, each linked to its own simulator issue: (anomaly, key),
    and the statuses they had before."""
    anomaly_ids = list(
        Anomaly.objects.order_by("-pk").values_list("pk", flat=True)[100 : 100 + runs]
    )
    statuses = dict(Anomaly.objects.filter(pk__in=anomaly_ids).values_list("pk", "status"))
    Anomaly.objects.filter(pk__in=anomaly_ids).update(status=Status.ACTIVE)  # put back after
    _, _, keys = link_to_simulator_issues(sim_url, anomaly_ids, mark=MARK)
    return list(zip(anomaly_ids, keys, strict=True)), statuses


def restore(statuses: dict[int, str]) -> None:
    """The bench database's anomalies as they were (the page measures count statuses)."""
    for status in set(statuses.values()):
        ids = [pk for pk, value in statuses.items() if value == status]
        Anomaly.objects.filter(pk__in=ids).update(status=status)


def arrival(control: SimulatorControl, key: str, after: int) -> float:
    """When the simulator logged the comment POST to ``key`` (request ids above ``after``)."""
    path = f"/rest/api/3/issue/{key}/comment"
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for entry in control.requests():
            if entry["id"] > after and entry["method"] == "POST" and entry["path"] == path:
                return entry["time"]
        time.sleep(0.005)
    raise SystemExit(f"no comment reached {key} within {TIMEOUT:.0f} s")


def last_request_id(control: SimulatorControl) -> int:
    entries = control.requests()
    return entries[-1]["id"] if entries else 0


def acknowledge(web: requests.Session, web_url: str, anomaly_id: int) -> float:
    """POST the acknowledge form; returns when the request started (epoch seconds)."""
    token = web.cookies["csrftoken"]
    started = time.time()
    response = web.post(
        f"{web_url}/anomalies/{anomaly_id}/acknowledge/",
        data={"csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, f"acknowledge answered {response.status_code}"
    return started


def floor_hop(sim_url: str, key: str) -> float:
    started = time.time()
    current_app.send_task(FLOOR_TASK, args=[sim_url, key])
    return started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    sim_url, broker_url, web_url, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    control = SimulatorControl(sim_url)
    total = runs + WARM_UP
    targets, statuses = prepare(sim_url, total * 2)
    env = {**os.environ, "CELERY_BROKER_URL": broker_url}
    process = worker(env, 1, include="bench.latency_floor")
    real, floor = [], []
    try:
        time.sleep(6)  # the worker starts
        with requests.Session() as web:
            web.cookies.update(session_cookie("admin"))
            web.get(f"{web_url}/anomalies/", timeout=30).raise_for_status()  # csrftoken
            for number in range(total):
                anomaly_id, key = targets[2 * number]
                after = last_request_id(control)
                started = acknowledge(web, web_url, anomaly_id)
                real.append(arrival(control, key, after) - started)
                _, floor_key = targets[2 * number + 1]
                after = last_request_id(control)
                started = floor_hop(sim_url, floor_key)
                floor.append(arrival(control, floor_key, after) - started)
    finally:
        stop(process)
        TicketLink.objects.filter(issue_id__startswith=MARK).delete()
        restore(statuses)
    real_ms = [seconds * 1000 for seconds in real[WARM_UP:]]
    floor_ms = [seconds * 1000 for seconds in floor[WARM_UP:]]
    print(
        json.dumps(
            {
                "runs": len(real_ms),
                "p50": percentile(real_ms, 0.5),
                "p99": percentile(real_ms, 0.99),
                "floor_p50": percentile(floor_ms, 0.5),
                "floor_p99": percentile(floor_ms, 0.99),
            }
        )
    )


if __name__ == "__main__":
    main()
