"""Refresh measure: the status refresh of N links beside a plain HTTP loop of the same calls.

Run in its own process by bench/run.py (so its peak memory is its own): prints one JSON line.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.utils import timezone  # noqa: E402

from anomalies.models import Anomaly, User  # noqa: E402
from integrations.models import Connector, TicketingIntegration, TicketLink  # noqa: E402
from integrations.services.tickets import refresh_links  # noqa: E402
from simulators.jira import SimulatorControl  # noqa: E402
from simulators.jira.seed import DEFAULT_EMAIL, DEFAULT_TOKEN  # noqa: E402

SEARCH = "/rest/api/3/search/jql"


def point_integration_at(sim_url: str) -> TicketingIntegration:
    """One connected integration at a time: the bench's own, pointed at this simulator."""
    integration = TicketingIntegration.objects.filter(connector=Connector.JIRA).first()
    if integration is None:
        integration = TicketingIntegration(
            connector=Connector.JIRA,
            default_project_key="DQ",
            connected_by=User.objects.get(username="admin"),
            connected_at=timezone.now(),
        )
    integration.host_url = sim_url
    integration.credentials = f"{DEFAULT_EMAIL}:{DEFAULT_TOKEN}"
    integration.account_name = "Bench Bot"
    integration.save()
    return integration


def prepare(sim_url: str, links: int) -> list[str]:
    integration = point_integration_at(sim_url)
    TicketLink.objects.filter(issue_id__startswith="bench-").delete()
    anomaly_ids = Anomaly.objects.order_by("pk").values_list("pk", flat=True)[:links]
    keys = [f"DQ-{number + 4}" for number in range(links)]  # DQ-1..3 are the sim's own
    TicketLink.objects.bulk_create(
        (
            TicketLink(
                anomaly_id=anomaly_id,
                integration=integration,
                origin=TicketLink.Origin.LINKED,
                issue_id=f"bench-{number}",
                issue_key=key,
                url=f"{sim_url}/browse/{key}",
                linked_at=timezone.now(),
            )
            for number, (anomaly_id, key) in enumerate(zip(anomaly_ids, keys, strict=True))
        ),
        batch_size=2000,
    )
    return keys


def floor(sim_url: str, keys: list[str]) -> tuple[float, int]:
    """The same searches (100 keys each) as a plain loop on one kept-alive session."""
    started = time.perf_counter()
    calls = 0
    with requests.Session() as session:
        session.auth = (DEFAULT_EMAIL, DEFAULT_TOKEN)
        for start in range(0, len(keys), 100):
            quoted = ", ".join(f'"{key}"' for key in keys[start : start + 100])
            body = {"jql": f"key in ({quoted})", "fields": ["summary", "status"], "maxResults": 100}
            session.post(sim_url + SEARCH, json=body, timeout=30).raise_for_status()
            calls += 1
    return time.perf_counter() - started, calls


def searches(sim_url: str) -> int:
    entries = SimulatorControl(sim_url).requests()
    return sum(1 for entry in entries if entry["path"].startswith(SEARCH))


def main() -> None:
    sim_url, links = sys.argv[1], int(sys.argv[2])
    keys = prepare(sim_url, links)
    floor_seconds, floor_calls = floor(sim_url, keys)
    SimulatorControl(sim_url).clear_requests()
    link_ids = list(
        TicketLink.objects.filter(issue_id__startswith="bench-").values_list("pk", flat=True)
    )
    started = time.perf_counter()
    first = refresh_links(link_ids)
    first_seconds = time.perf_counter() - started
    calls = searches(sim_url)
    started = time.perf_counter()
    refresh_links(link_ids)
    again_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    TicketLink.objects.filter(issue_id__startswith="bench-").delete()
    print(
        json.dumps(
            {
                "links": links,
                "refreshed": first.refreshed,
                "broken": first.broken,
                "calls": calls,
                "seconds": first_seconds,
                "again_seconds": again_seconds,
                "floor_seconds": floor_seconds,
                "floor_calls": floor_calls,
                "peak_mb": peak_mb,
                "pid": os.getpid(),
            }
        )
    )


if __name__ == "__main__":
    main()
