"""Creating a Jira issue is idempotent: a lost answer is looked up by the marker the create
carried, and a second submit of the same form never makes a second issue. Over real HTTP to
the Jira simulator and its "drop after processing" fault (page and API)."""

import json
import re
import threading
import uuid
from http import HTTPStatus

import pytest
from django.db import connection
from django.urls import reverse

from integrations.jira.connector import CREATE_PROPERTY as PROPERTY_KEY
from integrations.models import CreateAttempt, TicketLink
from tests.api import api_client, fresh_jira_log
from tests.integrations.test_create_ticket import create_url, created_issues, ticket_form

CREATE_PATH = r"/rest/api/3/issue$"
SEARCH_PATH = r"/rest/api/3/search/jql$"


@pytest.fixture(autouse=True)
def no_lookup_pause(settings):
    settings.JIRA_CREATE_LOOKUP_PAUSE = 0


def lose_the_create_answer(jira_sim) -> None:
    """Jira creates the issue, then the connection closes before its answer is sent."""
    jira_sim.control.add_fault("drop_after", method="POST", path_regex=CREATE_PATH)


def fail_searches(jira_sim, count: int = 1) -> None:
    jira_sim.control.add_fault(status=503, method="POST", path_regex=SEARCH_PATH, count=count)


def opened_form(client, anomaly) -> dict:
    """The Create form as the page rendered it (its token included), filled in."""
    (token,) = re.findall(
        r'name="request_token" value="([0-9a-f-]+)"', client.get(create_url(anomaly)).text
    )
    return ticket_form(request_token=token)


def submit(client, anomaly, form):
    return client.post(create_url(anomaly), form, follow=True)


# --- the page ----------------------------------------------------------------------------


def test_it_links_the_issue_jira_created_when_its_answer_was_lost(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    form = opened_form(client, anomaly)
    lose_the_create_answer(jira_sim)

    response = submit(client, anomaly, form)

    (issue,) = created_issues(jira_sim)
    assert issue["properties"][PROPERTY_KEY] == str(CreateAttempt.objects.get().marker)
    link = TicketLink.objects.get(anomaly=anomaly)
    assert link.issue_key == issue["key"]
    assert f"Created Jira issue {issue['key']} and linked it (Jira's answer was lost" in (
        response.text.replace("&#x27;", "'")
    )
    assert "Nothing was created" not in response.text


def test_it_never_says_nothing_was_created_when_it_cannot_tell(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    form = opened_form(client, anomaly)
    lose_the_create_answer(jira_sim)
    fail_searches(jira_sim)

    response = submit(client, anomaly, form)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "Whether Jira created the issue is not known yet" in response.text
    assert "Nothing was created" not in response.text
    assert len(created_issues(jira_sim)) == 1
    assert not TicketLink.objects.exists()


def test_it_looks_before_creating_again_after_an_unknown_outcome(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    form = opened_form(client, anomaly)
    lose_the_create_answer(jira_sim)
    fail_searches(jira_sim)
    submit(client, anomaly, form)

    response = submit(client, anomaly, form)  # "Try again", once Jira answers

    (issue,) = created_issues(jira_sim)
    assert TicketLink.objects.get(anomaly=anomaly).issue_key == issue["key"]
    assert response.status_code == HTTPStatus.OK


def test_it_says_nothing_was_created_once_jira_confirms_it(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    form = opened_form(client, anomaly)
    # Jira drops the connection before processing: no issue, and the lookup finds none.
    jira_sim.control.add_fault("drop_before", method="POST", path_regex=CREATE_PATH)

    response = submit(client, anomaly, form)

    assert "it has no issue from this form. Nothing was created" in response.text
    assert created_issues(jira_sim) == []
    submit(client, anomaly, form)
    assert len(created_issues(jira_sim)) == 1  # the retry creates it, once


def test_it_creates_one_issue_when_the_same_form_is_submitted_twice(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    form = opened_form(client, anomaly)

    submit(client, anomaly, form)
    again = submit(client, anomaly, form)  # the back button, or a second click

    (issue,) = created_issues(jira_sim)
    assert f"This form had already created Jira issue {issue['key']}" in again.text
    assert TicketLink.objects.current().filter(anomaly=anomaly).count() == 1


def test_it_creates_two_issues_from_two_opened_forms(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    first, second = opened_form(client, anomaly), opened_form(client, anomaly)

    submit(client, anomaly, first)
    submit(client, anomaly, second)

    assert len(created_issues(jira_sim)) == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_creates_one_issue_for_a_double_click(
    anomaly, member_reporter, jira_sim, jira_integration
):
    """Two requests at once with the same form: the second waits for the first's issue."""
    from django.test import Client

    jira_sim.control.add_fault("delay", method="POST", path_regex=CREATE_PATH, seconds=0.5)
    browser = Client()
    browser.force_login(member_reporter)
    form = opened_form(browser, anomaly)
    answers = []

    def click():
        clicking = Client()
        clicking.cookies = browser.cookies
        answers.append(submit(clicking, anomaly, form).status_code)
        connection.close()

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(timeout=30)

    assert answers == [HTTPStatus.OK, HTTPStatus.OK]
    assert len(created_issues(jira_sim)) == 1
    assert TicketLink.objects.current().filter(anomaly=anomaly).count() == 1


def test_it_costs_no_extra_jira_call_when_the_answer_arrives(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    form = opened_form(client, anomaly)
    fresh_jira_log(jira_sim)

    submit(client, anomaly, form)

    searches = [r for r in jira_sim.control.requests() if re.search(SEARCH_PATH, r["path"])]
    assert searches == []


# --- the API -----------------------------------------------------------------------------


def api_create(client, user, anomaly, body: dict, key: str | None = None):
    tokens = api_client(client, user)
    headers = {**tokens.headers(), **({"Idempotency-Key": key} if key else {})}
    return client.post(
        reverse("integrations_api:create_ticket", args=[anomaly.pk]),
        json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


TICKET = {"project": "DQ", "issue_type": "10001", "summary": "Null customer ids"}


def test_it_answers_201_with_the_issue_found_after_a_lost_answer(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    lose_the_create_answer(jira_sim)

    response = api_create(client, member_reporter, anomaly, TICKET)

    (issue,) = created_issues(jira_sim)
    assert response.status_code == HTTPStatus.CREATED
    assert (response.json()["issue_key"], response.json()["creation"]) == (
        issue["key"],
        "recovered",
    )


def test_it_answers_502_when_jira_cannot_tell_and_the_retry_recovers(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    key = str(uuid.uuid4())
    lose_the_create_answer(jira_sim)
    fail_searches(jira_sim)

    failed = api_create(client, member_reporter, anomaly, TICKET, key)
    retried = api_create(client, member_reporter, anomaly, TICKET, key)

    assert failed.status_code == HTTPStatus.BAD_GATEWAY
    assert failed.json()["outcome_unknown"] is True
    (issue,) = created_issues(jira_sim)
    assert retried.status_code == HTTPStatus.CREATED
    assert (retried.json()["issue_key"], retried.json()["creation"]) == (issue["key"], "recovered")


def test_it_answers_502_for_a_jira_outage(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    jira_sim.control.add_fault(status=503, method="POST", path_regex=CREATE_PATH)

    response = api_create(client, member_reporter, anomaly, TICKET)

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert response.json()["outcome_unknown"] is False
    assert created_issues(jira_sim) == []


def test_it_answers_a_repeated_idempotency_key_with_the_first_issue(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    key = str(uuid.uuid4())

    first = api_create(client, member_reporter, anomaly, TICKET, key)
    second = api_create(client, member_reporter, anomaly, TICKET, key)

    assert (first.status_code, second.status_code) == (HTTPStatus.CREATED, HTTPStatus.OK)
    assert second.json()["issue_key"] == first.json()["issue_key"]
    assert second.json()["creation"] == "already_created"
    assert len(created_issues(jira_sim)) == 1


def test_it_refuses_a_malformed_idempotency_key(client, anomaly, member_reporter, jira_integration):
    response = api_create(client, member_reporter, anomaly, TICKET, "has spaces in it")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not CreateAttempt.objects.exists()
