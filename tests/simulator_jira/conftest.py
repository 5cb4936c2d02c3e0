"""Fixtures: one simulator per test session, reset to its seed before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulators.jira import JiraSimulator, SimulatorControl

EMAIL = "bot@example.com"
TOKEN = "sim-token"


def adf(*paragraphs: str) -> dict[str, Any]:
    """A minimal valid ADF document with one paragraph per argument."""
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}
            for text in paragraphs
        ],
    }


class JiraClient:
    """A thin requests wrapper: ``api.get("/issue/DQ-1")`` hits ``/rest/api/3/issue/DQ-1``."""

    def __init__(self, base_url: str, auth: tuple[str, str] | None = (EMAIL, TOKEN)) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.auth = auth

    def url(self, path: str) -> str:
        return f"{self.base_url}/rest/api/3{path}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(path), timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url(path), timeout=10, **kwargs)

    def create_issue(self, **fields: Any) -> requests.Response:
        body = {"project": {"key": "DQ"}, "issuetype": {"name": "Task"}, "summary": "A summary"}
        return self.post("/issue", json={"fields": {**body, **fields}})

    def add_comment(self, key: str, body: Any, **extra: Any) -> requests.Response:
        return self.post(f"/issue/{key}/comment", json={"body": body, **extra})


@pytest.fixture(scope="session")
def running_simulator() -> Iterator[JiraSimulator]:
    simulator = JiraSimulator(email=EMAIL, api_token=TOKEN, port=0).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def sim(running_simulator: JiraSimulator) -> JiraSimulator:
    running_simulator.reset()
    return running_simulator


@pytest.fixture
def control(sim: JiraSimulator) -> SimulatorControl:
    return sim.control


@pytest.fixture
def api(sim: JiraSimulator) -> Iterator[JiraClient]:
    client = JiraClient(sim.url)
    yield client
    client.session.close()


@pytest.fixture
def anonymous(sim: JiraSimulator) -> JiraClient:
    return JiraClient(sim.url, auth=None)


@pytest.fixture
def wrong_password(sim: JiraSimulator) -> JiraClient:
    return JiraClient(sim.url, auth=(EMAIL, "not-the-token"))
