"""Helpers for the JSON API tests: a client that speaks JSON with a user's token."""

from __future__ import annotations

import json
import time
from typing import Any

from anomalies.models import ApiToken, User


class TokenClient:
    """Django's test client, sending JSON and `Authorization: Token <key>` for one user."""

    def __init__(self, client, user: User) -> None:
        self.client = client
        self.token, self.key = ApiToken.objects.issue(user, name="tests")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.key}"}

    def get(self, path: str, params: dict | None = None):
        return self.client.get(path, params or {}, headers=self.headers())

    def post(self, path: str, body: Any = None):
        return self._send("post", path, body)

    def patch(self, path: str, body: Any = None):
        return self._send("patch", path, body)

    def delete(self, path: str):
        return self.client.delete(path, headers=self.headers())

    def _send(self, method: str, path: str, body: Any):
        data = "" if body is None else json.dumps(body)
        send = getattr(self.client, method)
        return send(path, data, content_type="application/json", headers=self.headers())


def api_client(client, user: User) -> TokenClient:
    return TokenClient(client, user)


def fresh_jira_log(jira_sim) -> None:
    """Start this test's Jira request log empty.

    The simulator logs a request just after answering it, so the last request of the
    previous test can land after `reset()`; let it land, then clear the log.
    """
    time.sleep(0.05)
    jira_sim.control.clear_requests()
