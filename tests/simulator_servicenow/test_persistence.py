"""--state-file: atomic JSON persistence across restarts."""

from __future__ import annotations

import json
from pathlib import Path

from simulators.servicenow import ServiceNowSimulator

from .conftest import TableAPI


def test_it_keeps_incidents_journal_and_numbering_across_restarts(tmp_path: Path) -> None:
    state_file = tmp_path / "servicenow-sim.json"
    with ServiceNowSimulator(port=0, state_file=state_file) as first:
        api = TableAPI(first.url)
        created = api.post({"short_description": "survives", "work_notes": "note 1"})
        sys_id = created.json()["result"]["sys_id"]
    assert json.loads(state_file.read_text())["tables"]["incident"][sys_id]["number"] == (
        "INC0010006"
    )
    assert list(tmp_path.iterdir()) == [state_file]  # no temporary file left behind
    with ServiceNowSimulator(port=0, state_file=state_file) as second:
        api = TableAPI(second.url)
        assert api.incident("INC0010006")["short_description"] == "survives"
        assert second.control.work_notes("INC0010006") == ["note 1"]
        assert api.post({"short_description": "next"}).json()["result"]["number"] == ("INC0010007")


def test_reset_writes_the_seed_back_to_the_file(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.json"
    with ServiceNowSimulator(port=0, state_file=state_file) as simulator:
        TableAPI(simulator.url).post({"short_description": "temporary"})
        simulator.control.reset()
    assert len(json.loads(state_file.read_text())["tables"]["incident"]) == 5


def test_the_configured_credentials_win_over_the_file(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.json"
    ServiceNowSimulator(port=0, state_file=state_file)  # writes the seed with the defaults
    with ServiceNowSimulator("svc.qualytics", "new-secret", 0, state_file) as simulator:
        assert TableAPI(simulator.url, ("svc.qualytics", "new-secret")).get("incident").ok
        old = TableAPI(simulator.url, ("qualytics.integration", "sim-password"))
        assert old.get("incident").status_code == 401
        users = TableAPI(simulator.url, ("svc.qualytics", "new-secret")).rows(
            "sys_user", user_name="svc.qualytics", sysparm_fields="name"
        )
        assert users == [{"name": "Qualytics Integration"}]
