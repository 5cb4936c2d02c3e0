"""``python -m simulators.servicenow``: the first line names the URL; SIGTERM stops it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_it_runs_from_the_command_line(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.json"
    command = [sys.executable, "-m", "simulators.servicenow", "--port", "0"]
    command += ["--username", "cli.user", "--password", "cli-pw", "--state-file", str(state_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    try:
        first_line = process.stdout.readline()
        assert first_line.startswith("ServiceNow simulator listening on http://127.0.0.1:")
        url = first_line.split()[4]
        response = requests.get(
            f"{url}/api/now/table/incident",
            auth=("cli.user", "cli-pw"),
            headers={"Accept": "application/json"},
            timeout=5,
        )
        assert len(response.json()["result"]) == 5
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
    assert state_file.exists()
