"""sysparm_display_value and sysparm_exclude_reference_link shapes (docs/servicenow-api.md §2.5)."""

from __future__ import annotations

from typing import Any

from .conftest import TableAPI

FIELDS = "number,state,priority,subcategory,assignment_group,assigned_to,opened_at,work_notes"


def incident_two(api: TableAPI, **params: Any) -> dict[str, Any]:
    rows = api.rows("incident", sysparm_query="number=INC0010002", sysparm_fields=FIELDS, **params)
    return rows[0]


def test_it_returns_stored_values_and_linked_references_by_default(api: TableAPI) -> None:
    row = incident_two(api)
    group_id = row["assignment_group"]["value"]
    assert row["state"] == "2" and row["priority"] == "2"
    assert row["assignment_group"] == {
        "link": f"{api.base_url}/api/now/table/sys_user_group/{group_id}",
        "value": group_id,
    }
    assert row["work_notes"] == ""  # journals never read back as stored values
    assert len(row["opened_at"]) == 19 and "T" not in row["opened_at"]


def test_it_returns_labels_and_names_with_display_value_true(api: TableAPI) -> None:
    row = incident_two(api, sysparm_display_value="true")
    assert (row["state"], row["priority"]) == ("In Progress", "2 - High")
    assert row["assignment_group"]["display_value"] == "Data Quality"
    assert set(row["assignment_group"]) == {"display_value", "link"}
    assert row["assigned_to"]["display_value"] == "Bob Brennan"
    assert row["work_notes"].startswith("2026-01-05 10:01:00 - Alice Andersen (Work notes)\n")


def test_it_returns_both_with_display_value_all(api: TableAPI) -> None:
    row = incident_two(api, sysparm_display_value="all")
    assert row["state"] == {"display_value": "In Progress", "value": "2"}
    assert row["subcategory"] == {"display_value": "", "value": ""}
    assert set(row["assigned_to"]) == {"display_value", "value", "link"}


def test_it_drops_links_when_asked(api: TableAPI) -> None:
    plain = incident_two(api, sysparm_exclude_reference_link="true")
    assert isinstance(plain["assignment_group"], str) and len(plain["assignment_group"]) == 32
    shown = incident_two(api, sysparm_exclude_reference_link="true", sysparm_display_value="true")
    assert shown["assignment_group"] == "Data Quality"
    both = incident_two(api, sysparm_exclude_reference_link="true", sysparm_display_value="all")
    assert set(both["assigned_to"]) == {"display_value", "value"}


def test_it_shows_an_empty_reference_as_an_empty_string(api: TableAPI) -> None:
    row = api.rows("incident", sysparm_query="number=INC0010001", sysparm_fields="assigned_to")
    assert row == [{"assigned_to": ""}]


def test_it_labels_a_subcategory_by_its_category(api: TableAPI) -> None:
    rows = api.rows(
        "incident",
        sysparm_query="number=INC0010001",
        sysparm_fields="subcategory,category",
        sysparm_display_value="true",
    )
    assert rows == [{"subcategory": "MS SQL Server", "category": "Database"}]
