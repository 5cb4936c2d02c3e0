"""Page measures: each anomaly page beside its floor, under 4 concurrent clients.

Run by bench/run.py, which serves the app with gunicorn (settings bench.settings) and passes
its address. For each page: fetch it once as a signed-in user, save its bytes as the floor's
page, then let 4 client threads alternate real and floor requests; report p50 and p95 of
each and their ratio.
"""

import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings
from django.test import Client
from django.utils import timezone

from anomalies.models import Anomaly, Comment, User

FLOOR_DIR = Path(__file__).resolve().parent.parent / "var" / "bench-floor"
CLIENTS = 4


@dataclass
class Measure:
    name: str
    label: str
    p50: float
    p95: float
    floor_p50: float
    floor_p95: float
    queries: int | None = None

    @property
    def ratios(self) -> tuple[float, float]:
        return self.p50 / self.floor_p50, self.p95 / self.floor_p95


def session_cookie(username: str) -> dict:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


def detail_anomaly() -> Anomaly:
    """The newest anomaly, with 6 comments and 5 linked issues of 40 sync events each."""
    anomaly = Anomaly.objects.order_by("-detected_at", "-id").first()
    if not anomaly.comments.exists():
        author = User.objects.get(username="author")
        Comment.objects.bulk_create(
            Comment(anomaly=anomaly, author=author, text=f"Looked at it ({n}).") for n in range(6)
        )
    _link_issues(anomaly)
    return anomaly


def _link_issues(anomaly: Anomaly) -> None:
    from integrations.models import (
        Connector,
        SyncEvent,
        SyncState,
        TicketingIntegration,
        TicketLink,
    )

    if TicketLink.objects.filter(anomaly=anomaly).exists():
        return
    integration = TicketingIntegration.objects.filter(connector=Connector.JIRA).first()
    if integration is None:
        integration = TicketingIntegration.objects.create(
            connector=Connector.JIRA,
            host_url="http://127.0.0.1:9",
            credentials="bench@example.com:bench",
            default_project_key="DQ",
            account_name="Bench Bot",
            connected_by=User.objects.get(username="admin"),
            connected_at=timezone.now(),
        )
    now = timezone.now()
    for number in range(5):
        link = TicketLink.objects.create(
            anomaly=anomaly,
            integration=integration,
            origin=TicketLink.Origin.LINKED,
            issue_id=str(30000 + number),
            issue_key=f"DQ-{900 + number}",
            url=f"{integration.host_url}/browse/DQ-{900 + number}",
            summary=f"Bench issue {number}",
            status_name="To Do",
            status_category="new",
            last_synced_at=now,
            linked_at=now,
        )
        SyncEvent.objects.bulk_create(
            SyncEvent(
                link=link,
                kind="commented",
                body=f"[bench] comment {n}",
                created_at=now,
                state=SyncState.DELIVERED,
                delivered_at=now,
                attempts=1,
            )
            for n in range(40)
        )


def deep_cursor(pages: int) -> dict:
    """The query of page `pages` of the default list: what following Next links reaches."""
    anomalies = Anomaly.objects.filter(status__in=("Active", "Acknowledged"))
    row = anomalies.order_by("-detected_at", "-id")[pages * 50 - 1 : pages * 50].get()
    return {"after": f"{row.detected_at.isoformat()}~{row.pk}"}


def pages_to_measure() -> list[tuple[str, str, str, str, dict]]:
    """(name, label, username, path, query) of each page measured."""
    detail = detail_anomaly()
    rare = detail.description.rsplit(", ", 1)[1].rstrip(")")[:12]
    one_store = {"status": "all", "datastore": str(detail.datastore_id), "type": "shape"}
    listed = [
        ("list_default", "list, open, newest first (admin)", "admin", {}),
        ("list_member", "list, open, newest first (member)", "author", {}),
        ("list_status", "list, Resolved", "admin", {"status": "Resolved"}),
        ("list_weight", "list, all, by weight", "admin", {"status": "all", "sort": "-weight"}),
        ("list_filter", "list, datastore + type", "admin", one_store),
        ("search_common", "list, search 'customer_id'", "admin", {"q": "customer_id"}),
        ("search_rare", "list, search a rare word", "admin", {"status": "all", "q": rare}),
        ("deep_page", "list, page 1,000 (Next ×999)", "admin", deep_cursor(1000)),
        ("last_page", "list, last page", "admin", {"page": "last"}),
    ]  # fmt: skip
    detail_path = f"/anomalies/{detail.pk}/"
    return [
        *[(name, label, user, "/anomalies/", query) for name, label, user, query in listed],
        ("detail", "detail (5 links × 40 events, 6 comments)", "admin", detail_path, {}),
    ]  # fmt: skip


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_page(base: str, name: str, cookies: dict, path: str, params: dict, rounds: int):
    FLOOR_DIR.mkdir(parents=True, exist_ok=True)
    first = requests.get(base + path, params=params, cookies=cookies, timeout=60)
    first.raise_for_status()
    assert "login" not in first.url, "not signed in"
    (FLOOR_DIR / f"{name}.html").write_bytes(first.content)
    real, floor = [], []
    lock = threading.Lock()

    def client() -> None:
        with requests.Session() as session:
            session.cookies.update(cookies)
            for _ in range(rounds):
                for url, kwargs, sink in (
                    (base + path, {"params": params}, real),
                    (f"{base}/__floor__/{name}", {}, floor),
                ):
                    started = time.perf_counter()
                    response = session.get(url, timeout=60, **kwargs)
                    elapsed = time.perf_counter() - started
                    assert response.status_code == 200, (url, response.status_code)
                    with lock:
                        sink.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ms = 1000
    return (
        statistics.median(real) * ms,
        _percentile(real, 0.95) * ms,
        statistics.median(floor) * ms,
        _percentile(floor, 0.95) * ms,
    )


def vacuum_sync_tables() -> None:
    """The sync part's thousands of delivered events leave dead index entries that
    autovacuum has not reached yet in a short run; the list's "pending" lookup would then
    walk them (8 ms instead of 0.06 ms at 100k). Production has autovacuum's time."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("integrations_syncevent", "integrations_ticketlink"):
            cursor.execute(f"VACUUM ANALYZE {table}")  # names fixed above, not input


def run(base: str, rounds: int) -> list[Measure]:
    vacuum_sync_tables()
    cookies = {}
    results = []
    for name, label, username, path, params in pages_to_measure():
        if username not in cookies:
            cookies[username] = session_cookie(username)
        figures = measure_page(base, name, cookies[username], path, params, rounds)
        results.append(Measure(name, label, *figures))
        print(f"  {label:<44} {figures[0]:7.1f} ms p50 {figures[1]:7.1f} ms p95", flush=True)
    return results
