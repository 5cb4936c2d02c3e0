"""The loopback-only control API and the request log."""

from __future__ import annotations

from http import HTTPStatus

import pytest
import requests

from simulators.servicenow import ControlAPIError, ServiceNowControl, control_api
from simulators.servicenow.server import is_loopback
from simulators.servicenow.web import Request

from .conftest import PASSWORD, TableAPI


def test_it_answers_control_requests_only_from_loopback(sim) -> None:
    request = Request("GET", "/_sim/incidents", {}, {}, b"", "192.0.2.10")
    response = control_api.handle(sim.app, request, from_loopback=is_loopback("192.0.2.10"))
    assert response.status == HTTPStatus.FORBIDDEN
    assert is_loopback("127.0.0.1") and is_loopback("::1")
    assert not is_loopback("10.0.0.127")


def test_it_reports_unknown_control_endpoints_and_bad_input(sim) -> None:
    assert requests.get(f"{sim.url}/_sim/nothing", timeout=5).status_code == 404
    assert requests.put(f"{sim.url}/_sim/faults", timeout=5).status_code == 405
    assert requests.post(f"{sim.url}/_sim/accounts", data=b"[1]", timeout=5).status_code == 400
    bad_settings = requests.post(f"{sim.url}/_sim/settings", json={"hibernating": "yes"}, timeout=5)
    assert bad_settings.status_code == 400


def test_it_logs_requests_without_credentials(api: TableAPI, control: ServiceNowControl) -> None:
    control.clear_requests()
    api.get("incident", sysparm_query="number=INC0010001")
    TableAPI(api.base_url, auth=None).get("incident")
    logged = control.requests()
    assert [(e["method"], e["path"], e["status"]) for e in logged] == [
        ("GET", "/api/now/table/incident", 200),
        ("GET", "/api/now/table/incident", 401),
    ]
    assert logged[0]["query"] == {"sysparm_query": "number=INC0010001"}
    assert logged[0]["account"] == "qualytics.integration" and logged[1]["account"] is None
    assert PASSWORD not in str(logged)


def test_a_deleted_incident_is_gone_for_the_api(api: TableAPI, control: ServiceNowControl) -> None:
    sys_id = api.incident("INC0010002")["sys_id"]
    control.delete_incident("INC0010002")
    assert api.get("incident", sys_id).status_code == HTTPStatus.NOT_FOUND
    assert api.numbers("numberININC0010001,INC0010002") == ["INC0010001"]
    assert api.rows("sys_journal_field", sysparm_query=f"element_id={sys_id}") == []
    with pytest.raises(ControlAPIError) as missing:
        control.delete_incident("INC0010002")
    assert missing.value.status == HTTPStatus.NOT_FOUND


def test_it_moves_an_incident_through_states_by_label_or_value(
    api: TableAPI, control: ServiceNowControl
) -> None:
    assert control.set_state("INC0010001", "Closed")["active"] == "false"
    closed = api.incident("INC0010001")
    assert (closed["state"], closed["close_code"]) == ("7", "Solved (Permanently)")
    assert control.set_state("INC0010003", "2")["hold_reason"] == ""
    with pytest.raises(ControlAPIError):
        control.set_state("INC0010001", "Sleeping")


def test_info_names_the_site_and_the_account_but_no_password(
    sim, control: ServiceNowControl
) -> None:
    info = control.info()
    assert info["site"] == sim.url and info["username"] == "qualytics.integration"
    assert PASSWORD not in str(info)
