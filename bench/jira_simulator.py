"""Benchmark: requests per second the Jira simulator answers (issue 3 asks for a few hundred).

    python bench/jira_simulator.py [--requests 2000] [--threads 16]

Starts the simulator in-process on a free port and measures, with concurrent clients:
issue reads, JQL searches of 100 keys, and comment posts (each on a new connection, as the
product's pooled clients would never do: a worst case).
"""

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulators.jira import JiraSimulator

AUTH = ("bot@example.com", "sim-token")
COMMENT = {
    "body": {
        "version": 1,
        "type": "doc",
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "bench"}]}],
    }
}


def read_issue(url: str) -> int:
    return requests.get(
        f"{url}/rest/api/3/issue/DQ-1?fields=summary,status", auth=AUTH, timeout=10
    ).status_code


def search_keys(url: str) -> int:
    jql = "key in (" + ", ".join(f"DQ-{n}" for n in range(1, 101)) + ")"
    return requests.post(
        f"{url}/rest/api/3/search/jql",
        auth=AUTH,
        timeout=10,
        json={"jql": jql, "fields": ["summary", "status"]},
    ).status_code


def post_comment(url: str) -> int:
    return requests.post(
        f"{url}/rest/api/3/issue/DQ-2/comment", auth=AUTH, timeout=10, json=COMMENT
    ).status_code


def measure(call, url: str, count: int, threads: int) -> tuple[float, float]:
    latencies: list[float] = []

    def timed(_: int) -> int:
        started = time.perf_counter()
        status = call(url)
        latencies.append(time.perf_counter() - started)
        return status

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = list(pool.map(timed, range(count)))
    elapsed = time.perf_counter() - started
    assert set(statuses) <= {200, 201}, set(statuses)
    return count / elapsed, statistics.median(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    simulator = JiraSimulator(email=AUTH[0], api_token=AUTH[1], port=0).start()
    try:
        print(f"{args.requests} requests per kind, {args.threads} client threads")
        for label, call in [
            ("GET issue", read_issue),
            ("JQL search, 100 keys", search_keys),
            ("POST comment", post_comment),
        ]:
            rate, median = measure(call, simulator.url, args.requests, args.threads)
            print(f"  {label:<22} {rate:7.0f} req/s   median {median * 1000:6.1f} ms")
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
