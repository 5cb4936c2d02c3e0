"""Benchmark: the anomaly list page over a large demo (default 100,000 anomalies).

    python bench/anomaly_list.py [--anomalies 100000] [--runs 5]

Uses DATABASE_URL when set (e.g. Postgres), else its own SQLite file var/bench.sqlite3.
Prints, per query, the median and worst time of rendering the page, its SQL query count,
and the peak Python memory of one render.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualytics_jira.test_settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}")
os.environ["DEBUG"] = "0"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from anomalies.models import User  # noqa: E402

QUERIES = {
    "open, newest first": {},
    "all statuses": {"status": "all"},
    "archived, by weight": {"status": "archived", "sort": "-weight"},
    "one datastore + type": {"status": "all", "datastore": "1", "type": "shape"},
    "free text": {"status": "all", "q": "customer_id"},
    "page 200": {"status": "all", "page": "200"},
}


def measure(client: Client, params: dict, runs: int) -> tuple[float, float, int, int]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/anomalies/", params)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        tracemalloc.start()
        client.get("/anomalies/", params)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return statistics.median(times), max(times), len(queries), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anomalies", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", anomalies=args.anomalies, stdout=quiet)
    print(
        f"seed_demo --anomalies {args.anomalies}: {time.perf_counter() - started:.1f} s "
        f"({connection.vendor})"
    )

    for username in ("admin", "reporter"):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(username=username))
        print(f"\nas {username}:")
        print(f"  {'query':<24} {'median':>9} {'worst':>9} {'SQL':>4} {'peak mem':>9}")
        for label, params in QUERIES.items():
            reset_queries()
            median, worst, count, peak = measure(client, params, args.runs)
            print(
                f"  {label:<24} {median * 1000:7.1f}ms {worst * 1000:7.1f}ms {count:>4} "
                f"{peak / 1024:7.0f}KiB"
            )


if __name__ == "__main__":
    main()
