"""GET list: encoded queries, fields, paging and headers (docs/servicenow-api.md §2.1–§2.3)."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from simulators.servicenow import ServiceNowControl

from .conftest import TableAPI, failure

ALL = ["INC0010001", "INC0010002", "INC0010003", "INC0010004", "INC0010005"]


def test_it_lists_every_incident_with_string_values(api: TableAPI) -> None:
    rows = api.rows("incident")
    assert [row["number"] for row in rows] == ALL
    first = rows[0]
    assert first["active"] == "true" and first["priority"] == "3"
    assert first["sys_mod_count"] == "0" and first["resolved_at"] == ""
    scalars = [v for row in rows for v in row.values() if not isinstance(v, dict)]
    assert all(isinstance(value, str) for value in scalars)


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        ("numberININC0010001,INC0010003,INC0099999", ["INC0010001", "INC0010003"]),
        ("number=INC0010002", ["INC0010002"]),
        ("number!=INC0010002^active=true", ["INC0010001", "INC0010003", "INC0010004"]),
        ("state=1^ORstate=3", ["INC0010001", "INC0010003"]),
        ("active=true^state=1^ORstate=2", ["INC0010001", "INC0010002"]),
        ("state=1^NQstate=7", ["INC0010001", "INC0010005"]),
        ("short_descriptionLIKEdatabase", ["INC0010003"]),
        ("short_descriptionLIKEDASHBOARD", ["INC0010002"]),
        ("short_descriptionNOT LIKEthe", ["INC0010001", "INC0010002"]),
        ("short_descriptionSTARTSWITHnightly", ["INC0010001"]),
        ("subcategoryISEMPTY^active=true", ["INC0010002", "INC0010004"]),
        ("categoryNOT INdatabase,network", ["INC0010002", "INC0010004"]),
        ("priority<=2", ["INC0010002", "INC0010005"]),
        ("assignment_group.name=Database", ["INC0010003"]),
        ("assigned_to.user_name=bob.brennan", ["INC0010002"]),
        ("123TEXTQUERY321=replica", ["INC0010003"]),
        ("numberSTARTSWITHINC001^ORDERBYDESCnumber", list(reversed(ALL))),
        (
            "ORDERBYpriority^ORDERBYDESCnumber",
            ["INC0010005", "INC0010002", "INC0010001", "INC0010004", "INC0010003"],
        ),
        ("number=inc0010001", []),
        ("", ALL),
    ],
)
def test_it_evaluates_encoded_queries(api: TableAPI, query: str, numbers: list[str]) -> None:
    assert api.numbers(query) == numbers


@pytest.mark.parametrize(
    "query",
    [
        "no_such_field=1^number=INC0010002",
        "number=INC0010002^ORDERBYno_such_field",
        "number=INC0010002^statusXYZ",
        "number=INC0010002^assignment_group.nonsense=1",
    ],
)
def test_it_silently_drops_invalid_parts_and_runs_the_rest(api: TableAPI, query: str) -> None:
    assert api.numbers(query) == ["INC0010002"]


def test_an_entirely_invalid_query_matches_every_row(api: TableAPI) -> None:
    # The trap the docs warn about: a typo in the only condition returns the whole table.
    assert api.numbers("numbr=INC0010002") == ALL


def test_it_can_return_no_rows_for_invalid_queries(
    api: TableAPI, control: ServiceNowControl
) -> None:
    control.settings(invalid_query="no_rows")
    assert api.numbers("no_such_field=1^number=INC0010002") == []
    assert api.numbers("number=INC0010002") == ["INC0010002"]


def test_it_can_refuse_invalid_queries_with_403(api: TableAPI, control: ServiceNowControl) -> None:
    control.settings(invalid_query="forbidden")
    response = api.get("incident", sysparm_query="no_such_field=1")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == failure(
        "Insufficient rights to query records",
        "Field(s) present in the query do not have permission to be read",
    )


def test_it_returns_only_requested_fields_and_ignores_unknown_ones(api: TableAPI) -> None:
    rows = api.rows(
        "incident",
        sysparm_query="number=INC0010003",
        sysparm_fields="number,nonsense,assignment_group.name,state",
    )
    assert rows == [{"number": "INC0010003", "assignment_group.name": "Database", "state": "3"}]


def test_it_pages_with_limit_offset_total_count_and_link(api: TableAPI) -> None:
    response = api.get("incident", sysparm_fields="number", sysparm_limit=2, sysparm_offset=2)
    assert [row["number"] for row in response.json()["result"]] == ALL[2:4]
    assert response.headers["X-Total-Count"] == "5"
    links = response.headers["Link"]
    for rel, offset in (("first", 0), ("prev", 0), ("next", 4), ("last", 4)):
        assert f'sysparm_offset={offset}>;rel="{rel}"' in links


def test_it_omits_link_for_a_single_page_and_when_suppressed(api: TableAPI) -> None:
    assert "Link" not in api.get("incident", sysparm_limit=10).headers
    suppressed = api.get("incident", sysparm_limit=1, sysparm_suppress_pagination_header="true")
    assert "Link" not in suppressed.headers
    assert suppressed.headers["X-Total-Count"] == "5"


def test_it_answers_an_empty_list_on_latest_and_404_on_v1(api: TableAPI) -> None:
    latest = api.get("incident", sysparm_query="number=INC0099999")
    assert (latest.status_code, latest.json()) == (200, {"result": []})
    v1 = api.session.get(
        f"{api.base_url}/api/now/v1/table/incident",
        params={"sysparm_query": "number=INC0099999"},
        timeout=5,
    )
    assert v1.status_code == HTTPStatus.NOT_FOUND
    assert v1.json()["error"]["message"] == "No Record found"
    v2 = api.session.get(f"{api.base_url}/api/now/v2/table/incident", timeout=5)
    assert len(v2.json()["result"]) == 5


def test_it_filters_with_name_value_pairs_including_display_values(api: TableAPI) -> None:
    rows = api.rows("incident", state="On Hold", sysparm_fields="number")
    assert rows == [{"number": "INC0010003"}]
    assert api.rows("incident", active="false", sysparm_fields="number") == [
        {"number": "INC0010005"}
    ]


def test_it_reads_one_record_by_sys_id_and_404s_a_missing_one(api: TableAPI) -> None:
    sys_id = api.incident("INC0010004")["sys_id"]
    one = api.get("incident", sys_id, sysparm_fields="number,state")
    assert one.json() == {"result": {"number": "INC0010004", "state": "6"}}
    for missing in ("0" * 32, "NoId"):
        response = api.get("incident", missing)
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert response.json() == failure(
            "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
        )


def test_it_rejects_an_unknown_table(api: TableAPI) -> None:
    response = api.get("no_such_table")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == failure(
        "Invalid table no_such_table", "Table no_such_table does not exist"
    )


def test_it_requires_an_accept_header_that_allows_json(api: TableAPI) -> None:
    url = api.url("incident")
    missing = api.session.get(url, headers={"Accept": None}, timeout=5)
    assert missing.status_code == HTTPStatus.BAD_REQUEST
    assert missing.json()["status"] == "failure"
    xml = api.session.get(url, headers={"Accept": "application/xml"}, timeout=5)
    assert xml.status_code == HTTPStatus.NOT_ACCEPTABLE


def test_it_looks_up_users_and_groups_as_clients_do(api: TableAPI) -> None:
    users = api.rows(
        "sys_user",
        sysparm_query="active=true^user_name=bob.brennan^ORemail=bob.brennan",
        sysparm_fields="sys_id,user_name,name,email,active",
        sysparm_limit=2,
    )
    assert [(u["name"], u["active"]) for u in users] == [("Bob Brennan", "true")]
    groups = api.rows(
        "sys_user_group",
        sysparm_query="active=true^nameLIKEdata^ORDERBYname",
        sysparm_fields="name",
    )
    assert groups == [{"name": "Data Quality"}, {"name": "Database"}]
    assert api.rows("sys_user_group", name="Database", sysparm_fields="name") == [
        {"name": "Database"}
    ]


def test_it_serves_incident_choices(api: TableAPI) -> None:
    states = api.rows(
        "sys_choice",
        sysparm_query="name=incident^element=state^inactive=false^ORDERBYsequence",
        sysparm_fields="value,label",
    )
    assert [(s["value"], s["label"]) for s in states] == [
        ("1", "New"),
        ("2", "In Progress"),
        ("3", "On Hold"),
        ("6", "Resolved"),
        ("7", "Closed"),
        ("8", "Canceled"),
    ]
    database = api.rows(
        "sys_choice",
        sysparm_query="name=incident^element=subcategory^dependent_value=database",
        sysparm_fields="value",
    )
    assert [row["value"] for row in database] == ["db2", "sql server", "oracle"]


def test_head_answers_the_headers_of_a_get(api: TableAPI) -> None:
    response = api.session.head(api.url("incident"), params={"sysparm_limit": 2}, timeout=5)
    assert response.status_code == HTTPStatus.OK and response.content == b""
    assert response.headers["X-Total-Count"] == "5"
