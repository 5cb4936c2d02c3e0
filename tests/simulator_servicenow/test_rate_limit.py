"""The rate-limit rule: per user, fixed windows, headers (docs/servicenow-api.md §8.1)."""

from __future__ import annotations

import time
from http import HTTPStatus

from simulators.servicenow import ServiceNowControl

from .conftest import TableAPI, failure


def test_it_counts_requests_per_user_and_refuses_the_excess(
    api: TableAPI, viewer: TableAPI, control: ServiceNowControl
) -> None:
    control.set_rate_limit(3, window_seconds=30)
    allowed = [api.get("incident", sysparm_limit=1) for _ in range(3)]
    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert allowed[0].headers["X-RateLimit-Limit"] == "3"
    assert "Retry-After" not in allowed[0].headers
    refused = api.get("incident", sysparm_limit=1)
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert refused.json() == failure(
        "Rate limit exceeded", "Rate limit of 3 requests per hour for Table API exceeded"
    )
    reset_at = int(refused.headers["X-RateLimit-Reset"])
    assert 0 < reset_at - time.time() <= 31
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
    assert refused.headers["X-RateLimit-Rule"] == allowed[0].headers["X-RateLimit-Rule"]
    assert viewer.get("incident", sysparm_limit=1).status_code == HTTPStatus.OK  # another user
    logged = [(entry["status"], entry["account"]) for entry in control.requests()[-2:]]
    assert logged == [(429, "qualytics.integration"), (200, "readonly.viewer")]


def test_it_admits_again_in_the_next_window(api: TableAPI, control: ServiceNowControl) -> None:
    control.set_rate_limit(1, window_seconds=0.5)
    assert api.get("incident").status_code == HTTPStatus.OK
    assert api.get("incident").status_code == HTTPStatus.TOO_MANY_REQUESTS
    time.sleep(0.6)
    assert api.get("incident").status_code == HTTPStatus.OK


def test_a_refused_write_changes_nothing(api: TableAPI, control: ServiceNowControl) -> None:
    control.set_rate_limit(1, window_seconds=30)
    api.get("incident")
    assert api.post({"short_description": "x"}).status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert len(control.incidents()) == 5


def test_it_sends_no_rate_limit_headers_without_a_rule(api: TableAPI) -> None:
    assert "X-RateLimit-Limit" not in api.get("incident").headers


def test_reset_turns_the_rule_off(api: TableAPI, control: ServiceNowControl) -> None:
    control.set_rate_limit(1)
    control.reset()
    assert [api.get("incident").status_code for _ in range(3)] == [200, 200, 200]
