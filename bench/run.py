"""`make bench`: the anomaly pages beside their floors, printed and written to RESULTS.md.

    python bench/run.py [--scale small|1m] [--rounds 25] [--only sync,latency]

small = 100,000 anomalies (a few minutes), 1m = 1,000,000. Each scale has its own Postgres
database (BENCH_DATABASE_URL's server, database bench_wc / bench_wc_1m), seeded once by
bench/seed.py and reused. The app is served by gunicorn (4 sync workers, settings
bench.settings: the product's plus the floor view) on a free loopback port.
"""

import argparse
import os
import platform
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
SCALES = {"small": (100_000, "bench_wc"), "1m": (1_000_000, "bench_wc_1m")}
SYNC_EVENTS = {"small": 5_000, "1m": 5_000}
LATENCY_RUNS = 60
PARTS = ("pages", "refresh", "sync", "latency")
WORKERS = 4


def ensure_database(name: str) -> str:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{SERVER}/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(database_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
        "CRYPTOGRAPHY_KEY": "bench-only-cryptography-key",
        "SECURE_COOKIES": "0",
        "CONN_MAX_AGE": "60",
        "PYTHONPATH": str(ROOT),
    }


def serve(env: dict, port: int) -> subprocess.Popen:
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "qualytics_jira.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", str(WORKERS), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def run_refresh(env: dict, links: int) -> dict:
    """bench/refresh.py in its own process, against a simulator holding `links` issues."""
    import json

    port = free_port()
    sim = subprocess.Popen(
        [sys.executable, "bench/seeded_jira.py", "--port", str(port), "--issues", str(links)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert sim.stdout.readline().strip() == "ready"
        done = subprocess.run(
            [sys.executable, "bench/refresh.py", f"http://127.0.0.1:{port}", str(links)],
            cwd=ROOT, env={**env, "JIRA_ALLOW_INSECURE_LOOPBACK": "1",
                           "DJANGO_SETTINGS_MODULE": "qualytics_jira.settings"},
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_sync(env: dict, workers: int, events: int) -> dict:
    """bench/sync.py: `workers` worker processes on a claimed Redis database."""
    import json

    from tests.redis_broker import SHARED_REDIS, claim_redis_db

    host, port_number = SHARED_REDIS[:2]
    broker = f"redis://{host}:{port_number}/{claim_redis_db()}"
    port = free_port()
    sim = subprocess.Popen(
        [sys.executable, "bench/seeded_jira.py", "--port", str(port), "--issues", "60"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert sim.stdout.readline().strip() == "ready"
        done = subprocess.run(
            [sys.executable, "bench/sync.py", f"http://127.0.0.1:{port}", broker, str(workers),
             str(events)],
            cwd=ROOT, env={**env, "JIRA_ALLOW_INSECURE_LOOPBACK": "1",
                           "DJANGO_SETTINGS_MODULE": "qualytics_jira.settings"},
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_latency(env: dict, runs: int) -> dict:
    """bench/latency.py: gunicorn, one worker process and the simulator on a claimed Redis
    database."""
    import json

    from tests.redis_broker import SHARED_REDIS, claim_redis_db

    host, port_number = SHARED_REDIS[:2]
    broker = f"redis://{host}:{port_number}/{claim_redis_db()}"
    env = {**env, "CELERY_BROKER_URL": broker, "JIRA_ALLOW_INSECURE_LOOPBACK": "1"}
    sim_port, web_port = free_port(), free_port()
    sim = subprocess.Popen(
        [sys.executable, "bench/seeded_jira.py", "--port", str(sim_port), "--issues",
         str(2 * runs + 10)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    server = serve(env, web_port)
    try:
        assert sim.stdout.readline().strip() == "ready"
        done = subprocess.run(
            [sys.executable, "bench/latency.py", f"http://127.0.0.1:{sim_port}", broker,
             f"http://127.0.0.1:{web_port}", str(runs)],
            cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "qualytics_jira.settings"},
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
        sim.terminate()
        sim.wait(timeout=10)
    return json.loads(done.stdout.strip().splitlines()[-1])


def latency_lines(latency: dict) -> list[str]:
    return [
        f"| acknowledge → comment at Jira, p50 ({latency['runs']} runs, one at a time) | "
        f"{latency['p50']:.1f} ms | {latency['floor_p50']:.1f} ms | "
        f"{latency['p50'] / latency['floor_p50']:.2f}× |",
        f"| acknowledge → comment at Jira, p99 | {latency['p99']:.1f} ms | "
        f"{latency['floor_p99']:.1f} ms | {latency['p99'] / latency['floor_p99']:.2f}× |",
    ]


def sync_lines(results: list[dict]) -> list[str]:
    lines = []
    for r in results:
        processes = f"{r['workers']} worker process{'es' if r['workers'] > 1 else ''}"
        lines.append(
            f"| sync, {processes}, {r['events']:,} events | {r['rate']:.0f} events/s | "
            f"{r['floor_rate']:.0f} posts/s | {r['rate'] / r['floor_rate']:.2f}× |"
        )
        if r.get("peak_mb"):
            lines.append(
                f"| sync, {processes}: largest worker process's peak memory | "
                f"{r['peak_mb']:.0f} MB | 150 MB | |"
            )
    return lines


def machine() -> str:
    cpus = os.cpu_count()
    with psycopg.connect(f"{SERVER}/postgres") as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    cpu = platform.processor() or platform.machine()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{cpu} · {cpus} CPUs (load average {load} at the end) · "
        f"Python {platform.python_version()} · Postgres {pg}"
    )


def refresh_lines(refresh: dict) -> list[str]:
    ratio = refresh["seconds"] / refresh["floor_seconds"]
    again = refresh["again_seconds"] / refresh["floor_seconds"]
    return [
        f"| refresh {refresh['links']:,} links, first (every status new) | "
        f"{refresh['seconds']:.1f} s, {refresh['calls']} Jira calls | "
        f"{refresh['floor_seconds']:.1f} s, {refresh['floor_calls']} calls | {ratio:.2f}× |",
        f"| refresh again (nothing changed) | {refresh['again_seconds']:.1f} s | "
        f"{refresh['floor_seconds']:.1f} s | {again:.2f}× |",
        f"| refresh process peak memory (incl. the floor loop) | {refresh['peak_mb']:.0f} MB | "
        "150 MB | |",
    ]


def write_results(
    scale: str,
    anomalies: int,
    measures: list,
    refresh: dict,
    sync: list,
    latency: dict,
    seconds: float,
    web_peaks: list[float],
) -> None:
    lines = [
        f"# Benchmark results ({scale}: {anomalies:,} anomalies)",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}",
        f"- server: gunicorn, {WORKERS} sync workers; 4 concurrent clients alternating the page "
        "and its floor; command: `make bench ARGS='--scale " + scale + "'`",
        "- floor: the same bytes from a bare view through the same middleware, one `SELECT 1`, "
        "no session",
        f"- run took {seconds:.0f} s",
        "",
        "| measure | p50 | p95 | floor p50 | floor p95 | ratio p50 | ratio p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in measures:
        r50, r95 = m.ratios
        lines.append(
            f"| {m.label} | {m.p50:.1f} ms | {m.p95:.1f} ms | {m.floor_p50:.1f} ms | "
            f"{m.floor_p95:.1f} ms | {r50:.1f}× | {r95:.1f}× |"
        )
    lines += [
        "",
        "Refresh: the product's refresh (one process) beside a plain `requests` loop of the "
        "same JQL searches on one kept-alive session, same simulator. Sync: Celery workers "
        "(prefork, Redis broker) delivering queued comments handed over one message per issue, "
        "beside the same number of threads posting the same comments on kept-alive sessions "
        "(run before and after the workers; the mean). Latency: an acknowledge POST to "
        "gunicorn until the comment reaches the simulator, one worker process, beside one "
        "broker hop + one POST on a kept-alive session, alternating, one at a time.",
        "",
        "| measure | now | floor | ratio |",
        "|---|---|---|---|",
        f"| web process peak memory (largest of {WORKERS} gunicorn workers, pages run) | "
        f"{max(web_peaks):.0f} MB | 150 MB | |",
        *refresh_lines(refresh),
        *sync_lines(sync),
        *latency_lines(latency),
    ]
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--rounds", type=int, default=25, help="requests per client per page")
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated parts of {PARTS}; "
        "bench/RESULTS.md is written only when every part runs",
    )  # fmt: skip
    args = parser.parse_args()
    parts = set(args.only.split(","))
    anomalies, database = SCALES[args.scale]
    # BENCH_DATABASE: another database name, so two people benchmarking on one server do
    # not share (and rewrite) each other's rows.
    env = bench_env(ensure_database(os.environ.get("BENCH_DATABASE", database)))
    os.environ.update(env)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "bench/seed.py", "--anomalies", str(anomalies)],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    web_peaks: list[float] = []
    measures = run_pages(env, anomalies, args.rounds, web_peaks) if "pages" in parts else []
    refresh = None
    if "refresh" in parts:
        print("\nrefresh of 10,000 links:")
        refresh = run_refresh(env, 10_000)
        for line in refresh_lines(refresh):
            print(line)
    sync = []
    for workers in (1, 4) if "sync" in parts else ():
        print(f"\nsync with {workers} worker process(es):")
        sync.append(run_sync(env, workers, SYNC_EVENTS[args.scale]))
        print(sync_lines(sync[-1:])[0])
    latency = None
    if "latency" in parts:
        print("\nacknowledge → comment at Jira (Redis broker, one worker process):")
        latency = run_latency(env, LATENCY_RUNS)
        for line in latency_lines(latency):
            print(line)
    print(f"\nmachine: {machine()}")
    if parts >= set(PARTS):
        seconds = time.perf_counter() - started
        write_results(args.scale, anomalies, measures, refresh, sync, latency, seconds, web_peaks)
        print("\nwritten: bench/RESULTS.md")


def run_pages(env: dict, anomalies: int, rounds: int, web_peaks: list) -> list:
    """The page measures; `web_peaks` receives the web processes' peak memory (MB)."""
    from bench import pages
    from bench.memory import peaks_mb

    port = free_port()
    server = serve(env, port)
    try:
        print(f"pages at {anomalies:,} anomalies (p50 / p95 under 4 clients):")
        measures = pages.run(f"http://127.0.0.1:{port}", rounds)
        web_peaks[:] = peaks_mb(server.pid)
        print(
            f"web processes' peak memory (gunicorn master and {WORKERS} workers): "
            + ", ".join(f"{mb:.0f}" for mb in web_peaks)
            + " MB"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    heads = ("p50", "floor", "ratio", "p95", "floor", "ratio")
    print(f"\n{'measure':<44} " + " ".join(f"{head:>8}" for head in heads))
    for m in measures:
        r50, r95 = m.ratios
        print(
            f"{m.label:<44} {m.p50:7.1f}  {m.floor_p50:7.1f}  {r50:5.1f}× "
            f"{m.p95:7.1f}  {m.floor_p95:7.1f}  {r95:5.1f}×"
        )
    return measures


if __name__ == "__main__":
    main()
