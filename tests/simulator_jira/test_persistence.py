"""State survives a restart when a state file is configured."""

from __future__ import annotations

import json
from pathlib import Path

from simulators.jira import JiraSimulator

from .conftest import JiraClient, adf


def test_it_keeps_issues_comments_and_properties_across_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "var" / "jira-sim.json"
    with JiraSimulator(state_file=state_file) as first:
        client = JiraClient(first.url)
        key = client.create_issue(summary="Persisted").json()["key"]
        marker = [{"key": "qualytics.event", "value": {"id": "e1"}}]
        client.add_comment(key, adf("remember me"), properties=marker)
        first.control.move_issue("DQ-2", status="Done")
    assert json.loads(state_file.read_text())["issues"]
    assert list(state_file.parent.glob("*.tmp")) == []

    with JiraSimulator(state_file=state_file) as second:
        client = JiraClient(second.url)
        assert client.get(f"/issue/{key}").json()["fields"]["summary"] == "Persisted"
        comments = client.get(f"/issue/{key}/comment", params={"expand": "properties"}).json()
        assert comments["comments"][0]["properties"] == marker
        assert client.get("/issue/DQ-2").json()["fields"]["status"]["name"] == "Done"
        assert client.create_issue().json()["key"] == "DQ-5"  # counters persisted too


def test_it_writes_the_seed_to_a_new_state_file_and_resets_it(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with JiraSimulator(state_file=state_file) as simulator:
        JiraClient(simulator.url).create_issue()
        simulator.reset()
        saved = json.loads(state_file.read_text())
        assert sorted(issue["key"] for issue in saved["issues"].values()) == [
            "DQ-1",
            "DQ-2",
            "DQ-3",
            "OPS-1",
            "OPS-2",
        ]
