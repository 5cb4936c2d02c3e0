"""Basic authentication and the 401 envelope (docs/servicenow-api.md §1.2, §3)."""

from __future__ import annotations

from http import HTTPStatus

from simulators.servicenow import ServiceNowControl

from .conftest import TableAPI, failure

UNAUTHENTICATED = failure("User Not Authenticated", "Required to provide Auth information")


def test_it_rejects_a_request_without_credentials(sim) -> None:
    response = TableAPI(sim.url, auth=None).get("incident")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == UNAUTHENTICATED


def test_it_rejects_a_wrong_password(sim) -> None:
    response = TableAPI(sim.url, auth=("qualytics.integration", "nope")).get("incident")
    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, UNAUTHENTICATED)


def test_it_rejects_a_bearer_token(sim) -> None:
    client = TableAPI(sim.url, auth=None)
    response = client.session.get(
        client.url("incident"), headers={"Authorization": "Bearer abc"}, timeout=5
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_it_accepts_the_configured_account(api: TableAPI) -> None:
    assert len(api.rows("incident")) == 5


def test_it_refuses_a_user_that_was_deactivated(sim, control: ServiceNowControl) -> None:
    control.add_account("dave.dormant", "pw", roles=["itil"])
    assert TableAPI(sim.url, auth=("dave.dormant", "pw")).get("incident").status_code == 401


def test_it_lets_a_new_account_log_in_as_a_new_user(sim, control: ServiceNowControl) -> None:
    account = control.add_account("etl.bot", "pw", roles=["itil"], name="ETL Bot")
    client = TableAPI(sim.url, auth=("etl.bot", "pw"))
    created = client.post({"short_description": "from the ETL bot"}).json()["result"]
    assert created["opened_by"]["value"] == account["user"]["sys_id"]
    assert created["sys_created_by"] == "etl.bot"
