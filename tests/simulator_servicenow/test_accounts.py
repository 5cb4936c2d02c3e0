"""An account that may read but not write incidents (docs/servicenow-api.md §3.2)."""

from __future__ import annotations

from http import HTTPStatus

from simulators.servicenow import ServiceNowControl

from .conftest import TableAPI, failure


def test_a_read_only_account_reads_incidents_users_and_groups(viewer: TableAPI) -> None:
    assert len(viewer.rows("incident")) == 5
    assert viewer.rows("sys_user_group", name="Data Quality", sysparm_fields="name") == [
        {"name": "Data Quality"}
    ]


def test_a_read_only_account_cannot_create(viewer: TableAPI, control: ServiceNowControl) -> None:
    response = viewer.post({"short_description": "x"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == failure(
        "Operation Failed", "ACL Exception Insert Failed due to security constraints"
    )
    assert len(control.incidents()) == 5


def test_a_read_only_account_cannot_add_work_notes(
    viewer: TableAPI, control: ServiceNowControl
) -> None:
    sys_id = viewer.incident("INC0010001")["sys_id"]
    response = viewer.patch(sys_id, {"work_notes": "hello"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == failure(
        "Operation Failed", "ACL Exception Update Failed due to security constraints"
    )
    assert control.work_notes("INC0010001") == []
    assert viewer.patch("0" * 32, {"work_notes": "x"}).status_code == HTTPStatus.NOT_FOUND


def test_a_read_only_account_cannot_read_the_journal(viewer: TableAPI) -> None:
    assert viewer.rows("sys_journal_field", sysparm_query="element=work_notes") == []


def test_an_account_gains_write_access_with_the_itil_role(sim, control: ServiceNowControl) -> None:
    control.add_account("readonly.viewer", "viewer-password", roles=["itil"])
    client = TableAPI(sim.url, auth=("readonly.viewer", "viewer-password"))
    assert client.post({"short_description": "x"}).status_code == HTTPStatus.CREATED
