"""The input boundary (README "Input rules", issue 10 Found 1 and 2): values the database,
Python or Jira cannot hold are refused with a 400 naming the field, and nothing is written."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from anomalies.models import Anomaly, Comment, FailedCheck, HistoryEntry, Level, Tag
from anomalies.validation import MAX_DB_INTEGER
from integrations.models import TicketLink
from tests.api import api_client, fresh_jira_log
from tests.api.test_anomalies_api import LIST_URL, action_url, detection
from tests.conftest import grant, make_user

LONE_SURROGATE = "\ud800"
NUL = "\x00"


@pytest.fixture
def editor(db, warehouse):
    user = make_user("editor")
    grant(user, warehouse, Level.EDITOR)
    return user


def rows() -> dict[str, int]:
    models = (Anomaly, Comment, FailedCheck, HistoryEntry, Tag, TicketLink)
    return {model.__name__: model.objects.count() for model in models}


def assert_lists_answer(client, user) -> None:
    client.force_login(user)
    assert client.get(reverse("anomalies:list"), {"status": "all"}).status_code == HTTPStatus.OK
    api = api_client(client, user)
    assert api.get(LIST_URL, {"status": "all"}).status_code == HTTPStatus.OK


# --- Found 1: datetimes at the edge of the calendar ---------------------------------------


@pytest.mark.parametrize(
    "detected_at",
    [
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "1899-12-31T23:59:59Z",
    ],
)
def test_it_refuses_a_detection_time_that_cannot_survive_utc(
    client, editor, orders, admin, detected_at
):
    before = rows()

    response = api_client(client, editor).post(LIST_URL, detection(detected_at=detected_at))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "1900-01-01" in response.json()["fields"]["detected_at"]
    assert rows() == before
    assert_lists_answer(client, editor)
    client.force_login(admin)
    changelist = client.get(reverse("admin:anomalies_anomaly_changelist"))
    assert changelist.status_code == HTTPStatus.OK


def test_it_takes_the_last_and_first_times_it_allows(client, editor, orders):
    api = api_client(client, editor)

    early = api.post(LIST_URL, detection(fingerprint="a", detected_at="1900-01-01T00:00:00Z"))
    late = api.post(LIST_URL, detection(fingerprint="b", detected_at="9998-12-31T12:00:00+11:00"))

    assert (early.status_code, late.status_code) == (HTTPStatus.CREATED, HTTPStatus.CREATED)
    assert late.json()["detected_at"].startswith("9998-12-31T01:00:00")
    assert_lists_answer(client, editor)


@pytest.mark.parametrize("detected_at", [5, True, "yesterday", "2024-13-01T00:00:00Z"])
def test_it_refuses_a_detection_time_that_is_not_one(client, editor, orders, detected_at):
    response = api_client(client, editor).post(LIST_URL, detection(detected_at=detected_at))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "detected_at" in response.json()["fields"]
    assert not Anomaly.objects.exists()


# --- Found 2: text the database or Jira cannot hold --------------------------------------


@pytest.mark.parametrize("bad", [LONE_SURROGATE, NUL, f"ok{LONE_SURROGATE}ok", f"a{NUL}b"])
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (lambda bad: {"description": bad}, "description"),
        (lambda bad: {"fingerprint": bad}, "fingerprint"),
        (lambda bad: {"datastore": bad}, "datastore"),
        (lambda bad: {"container": bad}, "container"),
        (lambda bad: {"tags": ["fine", bad]}, "tags[1]"),
        (
            lambda bad: {"failed_checks": [{"rule_type": "x", "field": bad, "message": "m"}]},
            "failed_checks[0].field",
        ),
        (
            lambda bad: {"failed_checks": [{"rule_type": bad, "message": "m"}]},
            "failed_checks[0].rule_type",
        ),
        (
            lambda bad: {"failed_checks": [{"rule_type": "x", "message": bad}]},
            "failed_checks[0].message",
        ),
    ],
)
def test_it_refuses_unclean_text_in_a_detection(client, editor, orders, changes, field, bad):
    before = rows()

    response = api_client(client, editor).post(LIST_URL, detection(**changes(bad)))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "NUL characters or unpaired surrogates" in response.json()["fields"][field]
    assert rows() == before


@pytest.mark.parametrize("bad", [LONE_SURROGATE, NUL])
def test_it_refuses_unclean_text_in_a_comment_or_archive_note(client, member_author, anomaly, bad):
    api = api_client(client, member_author)
    before = rows()

    comment = api.post(action_url(anomaly, "comments"), {"text": f"look {bad}"})
    archive = api.post(action_url(anomaly, "archive"), {"reason": "Resolved", "note": bad})

    assert comment.status_code == archive.status_code == HTTPStatus.BAD_REQUEST
    assert "text" in comment.json()["fields"]
    assert "note" in archive.json()["fields"]
    assert rows() == before
    anomaly.refresh_from_db()
    assert anomaly.status == "Active"


def test_it_refuses_a_nul_in_the_pages_comment_form(client, member_author, anomaly):
    client.force_login(member_author)

    response = client.post(
        reverse("anomalies:comment", args=[anomaly.pk]), {"text": f"a{NUL}b"}, follow=True
    )

    assert response.status_code == HTTPStatus.OK
    assert "Null characters are not allowed." in response.content.decode()
    assert not Comment.objects.exists()


def test_it_ignores_a_nul_in_the_list_pages_search(client, member_author, anomaly):
    client.force_login(member_author)

    page = client.get(reverse("anomalies:list"), {"q": f"null{NUL}"})
    api = api_client(client, member_author).get(LIST_URL, {"q": f"null{NUL}"})

    assert page.status_code == HTTPStatus.OK
    assert api.status_code == HTTPStatus.BAD_REQUEST
    assert "q" in api.json()["fields"]


# --- Found 2: integers past the column, nesting past the limit ----------------------------


@pytest.mark.parametrize("field", ["failed_checks", "tags"])
@pytest.mark.parametrize("value", [1, 1.5, True, "text", {"a": 1}])
def test_it_refuses_a_list_field_given_something_else(client, editor, orders, field, value):
    # Found by the fuzz suite: a number where a list belongs was a 500.
    response = api_client(client, editor).post(LIST_URL, detection(**{field: value}))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["fields"][field] == "Give a list."
    assert not Anomaly.objects.exists()


@pytest.mark.parametrize("field", ["weight", "anomalous_record_count"])
@pytest.mark.parametrize("value", [MAX_DB_INTEGER + 1, 10**30, -1, 1.5, True, "1e3", [1]])
def test_it_refuses_numbers_the_column_cannot_hold(client, editor, orders, field, value):
    response = api_client(client, editor).post(LIST_URL, detection(**{field: value}))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()["fields"]
    assert not Anomaly.objects.exists()


def test_it_takes_the_largest_number_the_column_holds(client, editor, orders):
    body = detection(weight=MAX_DB_INTEGER, anomalous_record_count=MAX_DB_INTEGER)

    response = api_client(client, editor).post(LIST_URL, body)

    assert response.status_code == HTTPStatus.CREATED
    assert Anomaly.objects.get().weight == MAX_DB_INTEGER
    assert_lists_answer(client, editor)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 50_000,
        b'{"description": ' + b"[" * 50_000 + b"}",
        b'{"tags": ' + b"[" * 40 + b"]" * 40 + b"}",
        b'{"weight": NaN}',
        b'{"weight": Infinity}',
        b'{"weight": 1' + b"0" * 5000 + b"}",
    ],
)
def test_it_refuses_json_nested_too_deep_or_with_numbers_json_has_not(
    client, editor, orders, anomaly, body
):
    api = api_client(client, editor)
    before = rows()

    for url in (LIST_URL, action_url(anomaly, "comments")):
        response = api.client.post(
            url, body, content_type="application/json", headers=api.headers()
        )
        assert response.status_code == HTTPStatus.BAD_REQUEST
    assert rows() == before


@pytest.mark.parametrize("number", ["9" * 30, "²", "١٢"])
def test_it_answers_ids_and_pages_past_a_bigint_without_failing(
    client, member_author, anomaly, number
):
    api = api_client(client, member_author)
    client.force_login(member_author)

    assert api.get(LIST_URL, {"page": number}).status_code == HTTPStatus.BAD_REQUEST
    assert api.get(LIST_URL, {"q": number}).status_code == HTTPStatus.OK
    assert api.get(LIST_URL, {"q": f"#{number}"}).status_code == HTTPStatus.OK
    assert client.get(reverse("anomalies:list"), {"q": f"#{number}"}).status_code == HTTPStatus.OK
    huge = reverse("anomalies_api:detail", args=[10**30])
    assert api.get(huge).status_code == HTTPStatus.NOT_FOUND
    assert api.post(LIST_URL, detection(datastore=10**30)).status_code == HTTPStatus.BAD_REQUEST


# --- Found 2: nothing unclean is sent to Jira --------------------------------------------


@pytest.mark.parametrize("bad", [LONE_SURROGATE, NUL])
def test_it_sends_no_unclean_text_to_jira(
    client, member_author, anomaly, jira_sim, jira_integration, bad
):
    api = api_client(client, member_author)
    create_url = reverse("integrations_api:create_ticket", args=[anomaly.pk])
    links_url = reverse("integrations_api:ticket_links", args=[anomaly.pk])
    fresh_jira_log(jira_sim)

    answers = [
        api.post(create_url, {"summary": "fine", "assignee": bad}),
        api.post(create_url, {"summary": bad}),
        api.post(create_url, {"fields": {"customfield_10050": bad}}),
        api.post(links_url, {"issue": f"null {bad} ids"}),
    ]

    assert [answer.status_code for answer in answers] == [HTTPStatus.BAD_REQUEST] * 4
    assert jira_sim.control.requests() == []
    assert not TicketLink.objects.exists()


def test_it_sends_no_nul_from_a_query_string_to_jira(
    client, member_author, anomaly, jira_sim, jira_integration
):
    # A query string cannot carry a lone surrogate (it is decoded as UTF-8); a NUL it can.
    api = api_client(client, member_author)
    fresh_jira_log(jira_sim)

    search = api.get(reverse("integrations_api:search"), {"query": f"orders {NUL}"})
    spec = api.get(reverse("integrations_api:form_specification"), {"assignee_query": NUL})

    assert search.status_code == spec.status_code == HTTPStatus.BAD_REQUEST
    assert "query" in search.json()["fields"]
    assert "assignee_query" in spec.json()["fields"]
    assert jira_sim.control.requests() == []


def test_it_keeps_a_nul_typed_on_the_page_from_jira(
    client, member_author, anomaly, jira_sim, jira_integration
):
    client.force_login(member_author)
    fresh_jira_log(jira_sim)

    linked = client.post(
        reverse("integrations:link", args=[anomaly.pk]), {"query": f"null{NUL}ids"}, follow=True
    )
    searched = client.get(reverse("integrations:search", args=[anomaly.pk]), {"q": f"a{NUL}"})

    assert linked.status_code == searched.status_code == HTTPStatus.OK
    assert "NUL characters" in searched.content.decode()
    assert [entry["path"] for entry in jira_sim.control.requests()] == []
