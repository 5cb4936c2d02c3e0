"""The create and link forms without full-page round trips (issue 15): the fragments htmx
swaps in, the typeaheads' answers, and errors kept beside the input that caused them.

Over real HTTP to the simulators, except where the number of Jira calls is the point: there
`responses` stands in for Jira and counts them.
"""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
import responses
from django.core.cache import cache
from django.urls import reverse

from integrations.models import TicketLink
from integrations.services.typeahead import typeahead_cache_key
from tests.conftest import connect_servicenow, make_link
from tests.integrations import page

ALICE = "712020:sim-alice"
BUG, INCIDENT = "10002", "10004"
HTMX = {"HTTP_HX_REQUEST": "true"}
ASSIGNABLE_PATH = "/rest/api/3/user/assignable/search"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with nothing remembered from another's searches."""
    cache.clear()
    yield
    cache.clear()


def choices_url(anomaly) -> str:
    return reverse("integrations:create_choices", args=[anomaly.pk])


def suggest_url(anomaly) -> str:
    return reverse("integrations:suggest", args=[anomaly.pk])


def find_people(client, anomaly, words: str, *, field: str = "assignee", scope: str = "DQ"):
    return client.get(choices_url(anomaly), {"field": field, "scope": scope, "q": words}, **HTMX)


def offered(response) -> tuple[list[tuple[str, str, str]], str]:
    """The options of a typeahead answer as (value, text put in the input, label shown), and
    what its live region says."""
    answer = fragment(response, "ul")
    options = [
        (page.attribute(li, "data-value"), page.attribute(li, "data-text"), page.text(li))
        for li in page.elements(answer, "li", role="option")
    ]
    return options, page.attribute(answer, "data-message") or ""


def fragment(response, tag: str, **attributes: str):
    """The element of an htmx fragment, which may be the fragment's root itself."""
    root = page.parse(response)
    if root.name == tag and all(page.attribute(root, k) == v for k, v in attributes.items()):
        return root
    return page.element(root, tag, **attributes)


def is_fragment(response) -> bool:
    return b"<html" not in response.content and b"<body" not in response.content


# --- the assignee typeahead ----------------------------------------------------------------


def test_it_lists_the_assignable_people_matching_what_is_typed(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    response = find_people(client, anomaly, "ali")

    assert response.status_code == HTTPStatus.OK
    assert is_fragment(response)
    options, said = offered(response)
    assert options == [(ALICE, "Alice Andersen", "Alice Andersen")]
    assert said.startswith("1 match. ")  # a single match is offered like any other


def test_it_says_no_one_matches_for_an_empty_result(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    options, said = offered(find_people(client, anomaly, "zzzz"))

    assert options == []
    assert said == "No one matches “zzzz”."


def test_it_says_what_to_type_for_an_empty_query_without_asking_jira(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    asked_before = len(jira_sim.control.requests())

    options, said = offered(find_people(client, anomaly, "   "))

    assert options == []
    assert said == "Type part of a name to see who matches."
    assert len(jira_sim.control.requests()) == asked_before


@responses.activate
def test_it_asks_jira_once_per_query_and_project_while_the_answer_is_fresh(
    client, anomaly, member_reporter, jira_integration
):
    url = f"{jira_integration.host_url}{ASSIGNABLE_PATH}"
    alice = {"accountId": ALICE, "displayName": "Alice Andersen", "active": True}
    searched = responses.get(url, json=[alice])
    client.force_login(member_reporter)

    for words in ("ali", "ali", "ALI", " ali "):
        options, _ = offered(find_people(client, anomaly, words))
        assert options == [(ALICE, "Alice Andersen", "Alice Andersen")]
    assert searched.call_count == 1
    assert responses.calls[0].request.params == {
        "project": "DQ",
        "query": "ali",
        "maxResults": "50",
    }

    find_people(client, anomaly, "alic")
    find_people(client, anomaly, "ali", scope="OPS")  # another project's assignable people
    assert searched.call_count == 3


@responses.activate
def test_it_does_not_remember_a_failed_search(client, anomaly, member_reporter, jira_integration):
    url = f"{jira_integration.host_url}{ASSIGNABLE_PATH}"
    responses.get(url, status=503)
    client.force_login(member_reporter)

    options, said = offered(find_people(client, anomaly, "ali"))

    assert options == [] and said  # the reason, in the live region
    responses.replace(responses.GET, url, json=[{"accountId": ALICE, "displayName": "Alice"}])
    options, _ = offered(find_people(client, anomaly, "ali"))
    assert options == [(ALICE, "Alice", "Alice")]


def test_it_keys_the_cache_by_integration_and_a_digest_never_the_text_or_secret(
    jira_integration,
):
    key = typeahead_cache_key(jira_integration, "choices", "assignee", "DQ", "alice")

    assert re.fullmatch(rf"typeahead:{jira_integration.pk}:[0-9a-f]{{32}}", key)
    assert "alice" not in key and "sim-token" not in key
    assert key != typeahead_cache_key(jira_integration, "choices", "assignee", "OPS", "alice")


def test_it_refuses_a_field_the_connector_cannot_search(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    response = find_people(client, anomaly, "high", field="priority")

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_it_hides_the_people_search_from_those_who_cannot_see_the_anomaly(
    client, anomaly, outsider, jira_integration
):
    # Every level that can see an anomaly may create a ticket for it (anomalies/permissions.py).
    client.force_login(outsider)

    assert find_people(client, anomaly, "ali").status_code == HTTPStatus.NOT_FOUND


def test_it_searches_servicenow_people_through_the_same_endpoint(
    client, anomaly, member_reporter, servicenow_sim, manager
):
    connect_servicenow(servicenow_sim.url, manager)
    client.force_login(member_reporter)

    options, said = offered(find_people(client, anomaly, "alice", field="assigned_to", scope=""))

    assert [label for _, _, label in options] == ["Alice Andersen (alice@example.com)"]
    assert said.startswith("1 match.")


# --- the create form's fields, in place ----------------------------------------------------


def create_url(anomaly) -> str:
    return reverse("integrations:create", args=[anomaly.pk])


def test_it_reloads_only_the_fields_when_the_project_changes_keeping_what_was_typed(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)
    typed = {
        "project": "OPS",
        "issue_type": BUG,
        "summary": "Typed before switching",
        "description": "Kept too.",
        "labels": "orders",
        "assignee_query": "",
        "assignee": "",
        "_refresh": "project",
    }

    response = client.post(create_url(anomaly), typed, **HTMX)

    assert response.status_code == HTTPStatus.OK
    assert is_fragment(response)
    fields = fragment(response, "div", id="create-fields")
    assert page.option_labels(fields, "issue_type") == ["Task", "Bug", "Incident"]
    summary = page.element(fields, "input", name="summary")
    assert page.attribute(summary, "value") == "Typed before switching"
    assert page.attribute(summary, "hx-preserve") == "true"  # typing on during the reload
    assert page.text(page.element(fields, "textarea", name="description")) == "Kept too."
    finder = page.element(fields, "input", name="assignee_query")
    assert "scope=OPS" in page.attribute(finder, "data-typeahead-url")  # OPS's people now
    assert page.attribute(finder, "data-typeahead-fills") == "id_assignee"


def test_it_says_above_the_fields_when_the_choices_cannot_be_reloaded(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    jira_sim.control.add_fault("status", path_regex=r"/project/search", status=503, count=5)

    response = client.post(create_url(anomaly), {"project": "OPS", "_refresh": "project"}, **HTMX)

    assert response.status_code == HTTPStatus.OK
    assert response["HX-Retarget"] == "#create-form-status"
    assert "could not be reached" in page.text(page.parse(response))


def test_it_changes_the_project_by_htmx_and_without_javascript_alike(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    form = page.element(page.parse(client.get(create_url(anomaly))), "form", id="create-ticket")

    project = page.element(form, "select", name="project")
    assert page.attribute(project, "hx-post") == create_url(anomaly)
    assert page.attribute(project, "hx-target") == "#create-fields"
    assert page.attribute(form, "action") == f"{create_url(anomaly)}#create-ticket"
    assert page.element(form, "noscript") is not None  # the no-JS reload button
    assert page.element(form, "button", name="_refresh", value="assignee_query") is not None


def find_without_javascript(client, anomaly, words: str):
    data = {"project": "DQ", "issue_type": BUG, "summary": "S", "assignee_query": words}
    return page.parse(client.post(create_url(anomaly), {**data, "_refresh": "assignee_query"}))


def test_it_chooses_the_single_match_of_a_find_without_javascript(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    shown = find_without_javascript(client, anomaly, "alice")

    assert page.selected(shown, "assignee") == ALICE
    status = page.element(shown, "p", id="id_assignee_query-status")
    assert page.text(status) == "1 match, chosen: Alice Andersen."


def test_it_explains_an_empty_or_fruitless_find_without_javascript(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    empty = find_without_javascript(client, anomaly, "")
    none = find_without_javascript(client, anomaly, "zzzz")

    assert page.text(page.element(empty, "p", id="id_assignee_query-status")) == (
        "Type part of a name, then press Find."
    )
    assert page.text(page.element(none, "p", id="id_assignee_query-status")) == (
        "No one matches “zzzz”."
    )


def test_it_keeps_a_refusal_beside_its_field_and_marks_it_invalid(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)
    data = {"project": "DQ", "issue_type": BUG, "summary": "", "labels": "two words"}

    shown = page.parse(client.post(create_url(anomaly), {**data, "create": "1"}))

    labels = page.element(shown, "input", name="labels")
    assert page.attribute(labels, "value") == "two words"
    assert page.attribute(labels, "aria-invalid") == "true"
    label = page.element(shown, "label", class_="field-labels")
    assert "cannot contain spaces" in page.text(page.element(label, "span", class_="field-error"))


# --- the link form ------------------------------------------------------------------------


def link_url(anomaly) -> str:
    return reverse("integrations:link", args=[anomaly.pk])


def test_it_swaps_the_link_form_back_with_the_refusal_and_the_key_kept(
    client, anomaly, member_author, jira_integration
):
    client.force_login(member_author)

    response = client.post(link_url(anomaly), {"query": "DQ-999"}, **HTMX)

    assert response.status_code == HTTPStatus.OK
    assert is_fragment(response)
    form = fragment(response, "form", id="link-ticket")
    field = page.element(form, "input", name="query")
    assert page.attribute(field, "value") == "DQ-999"
    assert page.attribute(field, "aria-invalid") == "true"
    assert page.attribute(field, "aria-describedby") == "link-query-error"
    refusal = page.element(form, "p", id="link-query-error")
    assert "DQ-999 was not found in Jira" in page.text(refusal)
    assert not TicketLink.objects.exists()


def test_it_asks_for_a_key_beside_the_input_when_nothing_was_typed(
    client, anomaly, member_author, jira_integration
):
    client.force_login(member_author)

    response = client.post(link_url(anomaly), {"query": "  "}, **HTMX)

    form = fragment(response, "form", id="link-ticket")
    assert page.text(page.element(form, "p", id="link-query-error")) == (
        "Enter an issue key, a Jira issue URL, or words to search for."
    )


def test_it_refuses_another_sites_address_beside_the_input(
    client, anomaly, member_author, jira_integration
):
    client.force_login(member_author)
    typed = "https://elsewhere.atlassian.net/browse/DQ-1"

    response = client.post(link_url(anomaly), {"query": typed}, **HTMX)

    form = fragment(response, "form", id="link-ticket")
    assert page.attribute(page.element(form, "input", name="query"), "value") == typed
    assert "not an issue of the connected Jira site" in page.text(form)


def test_it_lands_on_the_link_form_without_javascript(
    client, anomaly, member_author, jira_integration
):
    client.force_login(member_author)
    make_link(anomaly, jira_integration, "DQ-1")

    response = client.post(link_url(anomaly), {"query": "dq-1"})

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("anomalies:detail", args=[anomaly.pk]) + "#link-ticket"
    form = page.element(page.parse(client.get(response.url)), "form", id="link-ticket")
    assert page.attribute(page.element(form, "input", name="query"), "value") == "dq-1"
    assert page.text(page.element(form, "p", class_="field-error")) == (
        "DQ-1 is already linked to this anomaly."
    )
    # Shown once: a reload is a fresh form.
    again = page.element(page.parse(client.get(response.url)), "form", id="link-ticket")
    assert page.element(again, "p", class_="field-error") is None


def test_it_links_in_place_and_shows_the_new_link_at_once(
    client, anomaly, member_author, jira_integration
):
    client.force_login(member_author)

    response = client.post(link_url(anomaly), {"query": "DQ-1"}, **HTMX)

    assert response["HX-Retarget"] == "#linked-tickets"
    assert response["HX-Reswap"].split()[0] == "outerHTML"
    section = fragment(response, "section", id="linked-tickets")
    assert page.element(section, "li", class_="ticket") is not None
    done = page.element(section, "p", class_="link-done")
    assert page.text(done) == "Linked Jira issue DQ-1."


def test_it_sends_words_to_the_search_page_by_htmx_redirect(
    client, anomaly, member_author, jira_integration
):
    client.force_login(member_author)

    response = client.post(link_url(anomaly), {"query": "duplicate payments"}, **HTMX)

    search = reverse("integrations:search", args=[anomaly.pk])
    assert response["HX-Redirect"] == f"{search}?q=duplicate+payments"


# --- link suggestions ----------------------------------------------------------------------


def suggest(client, anomaly, words: str):
    return client.get(suggest_url(anomaly), {"q": words}, **HTMX)


def test_it_suggests_issues_whose_text_matches_and_fills_the_key(
    client, anomaly, member_author, jira_integration
):
    client.force_login(member_author)

    options, said = offered(suggest(client, anomaly, "payments"))

    assert options == [("DQ-2", "DQ-2", "DQ-2 — Duplicate rows in payments table")]
    assert said.startswith("1 match.")


def test_it_marks_a_suggestion_already_linked(client, anomaly, member_author, jira_integration):
    make_link(anomaly, jira_integration, "DQ-2")
    client.force_login(member_author)

    options, _ = offered(suggest(client, anomaly, "payments"))

    assert options[0][2].endswith("(already linked)")


def test_it_suggests_nothing_for_a_key_and_asks_jira_nothing(
    client, anomaly, member_author, jira_sim, jira_integration
):
    client.force_login(member_author)
    asked_before = len(jira_sim.control.requests())

    options, said = offered(suggest(client, anomaly, "dq-12"))
    short_options, short_said = offered(suggest(client, anomaly, "p"))

    assert (options, said) == ([], "Press Link existing to link DQ-12.")
    assert short_options == [] and "or a key like DQ-12" in short_said
    assert len(jira_sim.control.requests()) == asked_before


@pytest.mark.parametrize(
    ("person", "status"),
    [("outsider", HTTPStatus.NOT_FOUND), ("member_reporter", HTTPStatus.FORBIDDEN)],
)
def test_it_keeps_suggestions_to_those_who_may_link(
    request, client, anomaly, jira_integration, person, status
):
    client.force_login(request.getfixturevalue(person))

    assert suggest(client, anomaly, "payments").status_code == status
