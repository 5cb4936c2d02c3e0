"""Process-level behaviour: the command line and concurrency."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from simulators.jira import JiraSimulator

from .conftest import JiraClient

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_it_starts_from_the_command_line(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.json"
    command = [
        sys.executable,
        "-m",
        "simulators.jira",
        "--port",
        "0",
        "--email",
        "cli@example.com",
        "--token",
        "cli-token",
        "--state-file",
        str(state_file),
        "--site-url",
        "https://cli.atlassian.net",
    ]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()  # type: ignore[union-attr]
        url = banner.split(" listening on ")[1].split()[0]
        me = requests.get(
            f"{url}/rest/api/3/myself", auth=("cli@example.com", "cli-token"), timeout=5
        )
        assert me.status_code == 200
        assert me.json()["self"].startswith("https://cli.atlassian.net/rest/api/3/user")
        assert state_file.exists()
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


def test_it_answers_many_concurrent_readers(sim: JiraSimulator) -> None:
    # How fast it answers is measured by bench/jira_simulator.py, not asserted here.
    def fetch(_: int) -> int:
        return JiraClient(sim.url).get("/issue/DQ-1", params={"fields": "summary"}).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(fetch, range(200)))
    assert statuses == [200] * 200


def test_it_keeps_concurrent_writes_consistent(sim: JiraSimulator) -> None:
    def create(_: int) -> str:
        return JiraClient(sim.url).create_issue().json()["key"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(create, range(40)))
    assert sorted(keys, key=lambda k: int(k.split("-")[1])) == [f"DQ-{n}" for n in range(4, 44)]
