"""PATCH with work notes, journal read-back and its ACL (docs/servicenow-api.md §2.7, §5)."""

from __future__ import annotations

from http import HTTPStatus

from simulators.servicenow import ServiceNowControl

from .conftest import TableAPI, failure

MARKER = "qualytics-event:7f1d2c3b"


def marker_rows(client: TableAPI, sys_id: str, marker: str = MARKER) -> list[dict]:
    return client.rows(
        "sys_journal_field",
        sysparm_query=f"element_id={sys_id}^element=work_notes^valueLIKE{marker}",
        sysparm_fields="sys_id,value,sys_created_by",
        sysparm_limit=1,
    )


def test_it_appends_a_work_note_and_answers_an_empty_journal_field(
    api: TableAPI, control: ServiceNowControl
) -> None:
    incident = api.incident("INC0010001")
    response = api.patch(incident["sys_id"], {"work_notes": f"Acknowledged.\n[{MARKER}]"})
    assert response.status_code == HTTPStatus.OK
    result = response.json()["result"]
    assert result["work_notes"] == "" and result["sys_mod_count"] == "1"
    assert result["sys_updated_on"] >= incident["sys_updated_on"]
    assert control.work_notes("INC0010001") == [f"Acknowledged.\n[{MARKER}]"]


def test_it_finds_a_delivered_note_by_its_marker(api: TableAPI) -> None:
    sys_id = api.incident("INC0010001")["sys_id"]
    assert marker_rows(api, sys_id) == []
    api.patch(sys_id, {"work_notes": f"Commented.\n[{MARKER}]"})
    api.patch(sys_id, {"comments": f"customer-visible [{MARKER}-other]"})
    found = marker_rows(api, sys_id)
    assert [row["value"] for row in found] == [f"Commented.\n[{MARKER}]"]
    assert found[0]["sys_created_by"] == "qualytics.integration"


def test_it_shows_the_history_newest_first_as_the_display_value(api: TableAPI) -> None:
    sys_id = api.incident("INC0010001")["sys_id"]
    for text in ("first note", "second note"):
        api.patch(sys_id, {"work_notes": text})
    api.patch(sys_id, {"comments": "a comment"})
    shown = api.get(
        "incident", sys_id, sysparm_fields="work_notes,comments", sysparm_display_value="true"
    ).json()["result"]
    notes = shown["work_notes"].split("\n\n")
    assert notes[0].endswith(" - Qualytics Integration (Work notes)\nsecond note")
    assert notes[1].endswith(" - Qualytics Integration (Work notes)\nfirst note")
    assert notes[2:] == [""]
    assert shown["comments"].endswith("(Additional comments)\na comment\n\n")


def test_it_applies_field_changes_with_a_note_and_recomputes_priority(api: TableAPI) -> None:
    sys_id = api.incident("INC0010001")["sys_id"]
    body = {"urgency": "1", "state": "2", "work_notes": "escalating"}
    result = api.patch(sys_id, body).json()["result"]
    assert (result["state"], result["priority"]) == ("2", "2")


def test_it_refuses_to_resolve_without_close_fields(
    api: TableAPI, control: ServiceNowControl
) -> None:
    sys_id = api.incident("INC0010001")["sys_id"]
    response = api.patch(sys_id, {"state": "6", "work_notes": "resolving"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == failure(
        "Operation Failed",
        "Data Policy Exception: \n\tThe following fields are mandatory: Resolution code, "
        "Close notes",
    )
    assert control.incident("INC0010001")["state"] == "1"
    assert control.work_notes("INC0010001") == []
    body = {"state": "6", "close_code": "Solved (Permanently)", "close_notes": "fixed"}
    resolved = api.patch(sys_id, body).json()["result"]
    assert (resolved["state"], resolved["active"]) == ("6", "true")
    assert resolved["resolved_at"] != ""


def test_it_404s_a_patch_to_a_missing_incident(api: TableAPI) -> None:
    response = api.patch("0" * 32, {"work_notes": "x"})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["error"]["message"] == "No Record found"


def test_it_writes_a_note_given_on_create(api: TableAPI, control: ServiceNowControl) -> None:
    api.post({"short_description": "x", "work_notes": "created by Qualytics"})
    assert control.work_notes("INC0010006") == ["created by Qualytics"]


def test_an_account_without_audit_viewer_reads_no_journal_rows(
    api: TableAPI, itil_only: TableAPI, control: ServiceNowControl
) -> None:
    sys_id = api.incident("INC0010002")["sys_id"]
    assert itil_only.patch(sys_id, {"work_notes": f"x [{MARKER}]"}).status_code == 200
    assert len(marker_rows(api, sys_id)) == 1
    assert marker_rows(itil_only, sys_id) == []  # 200, nothing: indistinguishable from "absent"
    entry_id = marker_rows(api, sys_id)[0]["sys_id"]
    assert itil_only.get("sys_journal_field", entry_id).status_code == HTTPStatus.NOT_FOUND
    # The weaker fallback still works for this account: the display value of the field.
    shown = itil_only.get(
        "incident", sys_id, sysparm_fields="work_notes", sysparm_display_value="true"
    ).json()["result"]["work_notes"]
    assert MARKER in shown
    assert control.work_notes("INC0010002")[-1] == f"x [{MARKER}]"


def test_a_denied_journal_read_can_be_a_403(
    api: TableAPI, itil_only: TableAPI, control: ServiceNowControl
) -> None:
    control.settings(journal_denied="forbidden")
    response = itil_only.get("sys_journal_field", sysparm_query="element=work_notes")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error"]["message"] == "Insufficient rights to query records"
    assert api.get("sys_journal_field", sysparm_query="element=work_notes").status_code == 200
