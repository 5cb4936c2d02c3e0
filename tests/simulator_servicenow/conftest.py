"""Fixtures: one ServiceNow simulator per test session, reset to its seed before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulators.servicenow import ServiceNowControl, ServiceNowSimulator

USERNAME = "qualytics.integration"
PASSWORD = "sim-password"
TIMEOUT = 10


class TableAPI:
    """A thin requests wrapper: ``api.get("incident")`` hits ``/api/now/table/incident``."""

    def __init__(self, base_url: str, auth: tuple[str, str] | None = (USERNAME, PASSWORD)) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.auth = auth
        self.session.headers["Accept"] = "application/json"

    def url(self, table: str, sys_id: str = "") -> str:
        return f"{self.base_url}/api/now/table/{table}" + (f"/{sys_id}" if sys_id else "")

    def get(self, table: str, sys_id: str = "", **params: Any) -> requests.Response:
        return self.session.get(self.url(table, sys_id), params=params, timeout=TIMEOUT)

    def rows(self, table: str, **params: Any) -> list[dict[str, Any]]:
        response = self.get(table, **params)
        assert response.status_code == 200, response.text
        return response.json()["result"]

    def numbers(self, query: str, **params: Any) -> list[str]:
        rows = self.rows("incident", sysparm_query=query, sysparm_fields="number", **params)
        return [row["number"] for row in rows]

    def post(self, body: Any, **params: Any) -> requests.Response:
        return self.session.post(self.url("incident"), json=body, params=params, timeout=TIMEOUT)

    def patch(self, sys_id: str, body: Any, **params: Any) -> requests.Response:
        url = self.url("incident", sys_id)
        return self.session.patch(url, json=body, params=params, timeout=TIMEOUT)

    def incident(self, number: str) -> dict[str, Any]:
        rows = self.rows("incident", sysparm_query=f"number={number}")
        assert len(rows) == 1
        return rows[0]


@pytest.fixture(scope="session")
def running_simulator() -> Iterator[ServiceNowSimulator]:
    simulator = ServiceNowSimulator(username=USERNAME, password=PASSWORD, port=0).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def sim(running_simulator: ServiceNowSimulator) -> ServiceNowSimulator:
    running_simulator.reset()
    return running_simulator


@pytest.fixture
def control(sim: ServiceNowSimulator) -> ServiceNowControl:
    return sim.control


@pytest.fixture
def api(sim: ServiceNowSimulator) -> Iterator[TableAPI]:
    client = TableAPI(sim.url)
    yield client
    client.session.close()


@pytest.fixture
def viewer(sim: ServiceNowSimulator) -> Iterator[TableAPI]:
    """The seeded account that may read but not write (no itil role)."""
    client = TableAPI(sim.url, auth=("readonly.viewer", "viewer-password"))
    yield client
    client.session.close()


@pytest.fixture
def itil_only(sim: ServiceNowSimulator) -> Iterator[TableAPI]:
    """The seeded account that writes incidents but may not read sys_journal_field."""
    client = TableAPI(sim.url, auth=("itil.only", "itil-password"))
    yield client
    client.session.close()


def failure(message: str, detail: str) -> dict[str, Any]:
    return {"error": {"message": message, "detail": detail}, "status": "failure"}
