"""Linking existing Jira issues to an anomaly, and removing links (PRODUCT.md §4).

Over real HTTP to the Jira simulator; linking and removing must never write to Jira.
"""

from http import HTTPStatus

import pytest
from django.urls import reverse

from anomalies import services as anomaly_services
from integrations import services
from integrations.jira.connector import client_for
from integrations.models import StatusCategory, SyncEvent, SyncState, TicketLink
from tests.conftest import make_anomaly
from tests.integrations import page

READS_SENT_AS_POST = {"/rest/api/3/search/jql"}  # Jira's JQL search is a POST but a read


def link(client, anomaly, query: str, **kwargs):
    return client.post(reverse("integrations:link", args=[anomaly.pk]), {"query": query}, **kwargs)


def remove(client, ticket_link, **kwargs):
    return client.post(reverse("integrations:remove_link", args=[ticket_link.pk]), **kwargs)


def anomaly_page(client, anomaly):
    return page.parse(client.get(reverse("anomalies:detail", args=[anomaly.pk])))


def shown_messages(response) -> list[str]:
    return page.messages(page.parse(response))


def link_refusal(response) -> tuple[str, str]:
    """(what the link input holds, the refusal under it) on the page the user lands on."""
    form = page.element(page.parse(response), "form", id="link-ticket")
    typed = page.attribute(page.element(form, "input", name="query"), "value") or ""
    return typed, page.text(page.element(form, "p", class_="field-error"))


def jira_writes(jira_sim) -> list[tuple[str, str]]:
    """Requests that could change something in Jira."""
    return [
        (entry["method"], entry["path"])
        for entry in jira_sim.control.requests()
        if entry["method"] != "GET" and entry["path"] not in READS_SENT_AS_POST
    ]


def linked_keys(anomaly) -> list[str]:
    return list(
        TicketLink.objects.current().filter(anomaly=anomaly).values_list("issue_key", flat=True)
    )


def link_in_service(anomaly, key, integration, by) -> TicketLink:
    return services.link_existing_issue(anomaly, key, integration=integration, by=by)


# --- three ways to name the issue -------------------------------------------------------


def test_it_links_an_issue_by_its_key(client, anomaly, member_author, jira_sim, jira_integration):
    client.force_login(member_author)

    response = link(client, anomaly, "DQ-1", follow=True)

    ticket_link = TicketLink.objects.get(anomaly=anomaly)
    assert ticket_link.issue_key == "DQ-1"
    assert ticket_link.url == f"{jira_sim.url}/browse/DQ-1"
    assert ticket_link.summary == "Null values in orders.customer_id"
    assert (ticket_link.status_name, ticket_link.status_category) == (
        "To Do",
        StatusCategory.TO_DO,
    )
    assert (ticket_link.origin, ticket_link.linked_by) == (
        TicketLink.Origin.LINKED,
        member_author,
    )
    assert "Linked Jira issue DQ-1." in shown_messages(response)
    assert anomaly.history.get().summary == "Linked Jira issue DQ-1"


def test_it_accepts_a_key_typed_in_lower_case(client, anomaly, member_author, jira_integration):
    client.force_login(member_author)

    link(client, anomaly, "  dq-1 ")

    assert linked_keys(anomaly) == ["DQ-1"]


def test_it_links_an_issue_by_the_browse_url_of_the_connected_site(
    client, anomaly, member_author, jira_sim, jira_integration
):
    client.force_login(member_author)

    link(client, anomaly, f"{jira_sim.url}/browse/DQ-2")

    assert linked_keys(anomaly) == ["DQ-2"]


def test_it_refuses_a_url_of_another_site(client, anomaly, member_author, jira_integration):
    client.force_login(member_author)

    typed = "https://elsewhere.atlassian.net/browse/DQ-1"
    response = link(client, anomaly, typed, follow=True)

    kept, refusal = link_refusal(response)
    assert kept == typed
    assert "not an issue of the connected Jira site" in refusal
    assert shown_messages(response) == []  # beside the input, not at the top of the page
    assert linked_keys(anomaly) == []


def test_it_sends_words_to_the_search_page(client, anomaly, member_author, jira_integration):
    client.force_login(member_author)

    response = link(client, anomaly, "duplicate payments")

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == (
        reverse("integrations:search", args=[anomaly.pk]) + "?q=duplicate+payments"
    )
    assert linked_keys(anomaly) == []


def search_rows(client, anomaly, words: str) -> list:
    response = client.get(reverse("integrations:search", args=[anomaly.pk]), {"q": words})
    table = page.element(page.parse(response), "tbody")
    return page.elements(table, "tr") if table else []


def test_it_lists_matching_issues_and_links_the_one_chosen(
    client, anomaly, member_author, jira_integration
):
    client.force_login(member_author)

    (row,) = search_rows(client, anomaly, "payments")
    assert "DQ-2" in page.text(row) and "Duplicate rows in payments table" in page.text(row)
    chosen = page.attribute(page.element(row, "input", name="query"), "value")
    link(client, anomaly, chosen)

    assert linked_keys(anomaly) == ["DQ-2"]
    (row,) = search_rows(client, anomaly, "payments")
    assert page.element(row, "button") is None
    assert "Linked" in page.text(row)


def create_issues_in_jira(integration, count: int, summary: str) -> None:
    with client_for(integration) as client:
        for number in range(count):
            client.create_issue(
                {
                    "project": {"key": "DQ"},
                    "issuetype": {"id": "10001"},
                    "summary": f"{summary} {number}",
                }
            )


def test_it_shows_at_most_20_search_results(client, anomaly, member_author, jira_integration):
    create_issues_in_jira(jira_integration, 25, "Late shipment feed")
    client.force_login(member_author)

    assert len(search_rows(client, anomaly, "shipment")) == 20


# --- what cannot be linked --------------------------------------------------------------


def test_it_explains_an_unknown_key_and_stores_nothing(
    client, anomaly, member_author, jira_integration
):
    client.force_login(member_author)

    response = link(client, anomaly, "DQ-999", follow=True)

    kept, shown = link_refusal(response)
    assert kept == "DQ-999"
    assert "DQ-999 was not found in Jira, or the Jira account cannot see it." in shown
    assert "remove the link" not in shown  # nothing was linked, so nothing to remove
    assert not TicketLink.objects.exists()
    assert not anomaly.history.exists()


def test_it_refuses_to_link_the_same_issue_twice(
    client, anomaly, member_author, jira_sim, jira_integration
):
    client.force_login(member_author)
    link(client, anomaly, "DQ-1", follow=True)

    response = link(client, anomaly, f"{jira_sim.url}/browse/DQ-1", follow=True)

    assert link_refusal(response) == (
        f"{jira_sim.url}/browse/DQ-1",
        "DQ-1 is already linked to this anomaly.",
    )
    assert linked_keys(anomaly) == ["DQ-1"]


def test_it_links_one_issue_to_two_anomalies(client, orders, member_author, jira_integration):
    first, second = make_anomaly(orders), make_anomaly(orders, description="Late rows")
    client.force_login(member_author)

    link(client, first, "DQ-1")
    link(client, second, "DQ-1")

    assert linked_keys(first) == ["DQ-1"]
    assert linked_keys(second) == ["DQ-1"]


def test_it_links_many_issues_to_one_anomaly(client, anomaly, member_author, jira_integration):
    client.force_login(member_author)

    for key in ("DQ-1", "DQ-2", "OPS-1"):
        link(client, anomaly, key)

    assert linked_keys(anomaly) == ["DQ-1", "DQ-2", "OPS-1"]


def test_it_does_not_modify_the_jira_issue_when_linking(
    client, anomaly, member_author, jira_sim, jira_integration
):
    before = jira_sim.control.issue("DQ-1")
    client.force_login(member_author)

    link(client, anomaly, "DQ-1")

    assert linked_keys(anomaly) == ["DQ-1"]
    assert jira_writes(jira_sim) == []
    assert len(jira_sim.control.comments("DQ-1")) == 1  # the seeded one
    assert jira_sim.control.issue("DQ-1") == before


# --- removing a link ---------------------------------------------------------------------


@pytest.fixture
def linked(anomaly, member_author, jira_integration) -> TicketLink:
    return link_in_service(anomaly, "DQ-1", jira_integration, member_author)


def test_it_removes_a_link_at_once_and_records_it(client, anomaly, member_author, linked):
    client.force_login(member_author)

    response = remove(client, linked, follow=True)

    linked.refresh_from_db()
    assert linked.removed_at is not None and linked.removed_by == member_author
    assert "Removed the link to DQ-1. Jira was not changed." in shown_messages(response)
    assert anomaly.history.first().summary == "Removed link to Jira issue DQ-1"
    section = page.element(page.parse(response), "section", id="linked-tickets")
    assert "No Jira issues are linked to this anomaly." in page.text(section)


def test_it_leaves_jira_untouched_when_removing(
    client, member_author, jira_sim, jira_integration, linked
):
    jira_sim.control.clear_requests()
    client.force_login(member_author)

    remove(client, linked)

    assert jira_sim.control.requests() == []
    assert jira_sim.control.issue("DQ-1") is not None


def test_it_cancels_comments_still_owed_to_the_removed_issue(
    client, anomaly, member_author, linked
):
    anomaly_services.acknowledge_anomaly(anomaly, by=member_author)
    owed = SyncEvent.objects.get(link=linked)
    assert owed.state == SyncState.PENDING
    client.force_login(member_author)

    remove(client, linked)

    owed.refresh_from_db()
    assert (owed.state, owed.finished_reason) == (SyncState.CANCELLED, "The link was removed.")


def test_it_links_an_issue_again_after_its_link_was_removed(client, anomaly, member_author, linked):
    client.force_login(member_author)
    remove(client, linked)

    link(client, anomaly, "DQ-1")

    assert linked_keys(anomaly) == ["DQ-1"]
    assert TicketLink.objects.filter(anomaly=anomaly).count() == 2  # the removed one stays


# --- who may ------------------------------------------------------------------------------


def test_it_forbids_viewers_to_link(client, anomaly, member_viewer, jira_sim, jira_integration):
    client.force_login(member_viewer)

    response = link(client, anomaly, "DQ-1")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not TicketLink.objects.exists()
    assert jira_sim.control.requests() == []


def test_it_offers_linking_to_authors_only(
    client, anomaly, member_author, member_viewer, jira_integration
):
    client.force_login(member_viewer)
    assert page.element(anomaly_page(client, anomaly), "form", class_="link-form") is None

    client.force_login(member_author)
    assert page.element(anomaly_page(client, anomaly), "form", class_="link-form") is not None


def test_it_forbids_reporters_to_remove(client, anomaly, member_reporter, linked):
    client.force_login(member_reporter)

    response = remove(client, linked)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert linked_keys(anomaly) == ["DQ-1"]
    remove_url = reverse("integrations:remove_link", args=[linked.pk])
    assert page.element(anomaly_page(client, anomaly), "form", action=remove_url) is None


def test_it_hides_links_from_outsiders(client, anomaly, outsider, linked):
    client.force_login(outsider)

    assert remove(client, linked).status_code == HTTPStatus.NOT_FOUND
    assert link(client, anomaly, "DQ-2").status_code == HTTPStatus.NOT_FOUND
    assert linked_keys(anomaly) == ["DQ-1"]


# --- after disconnecting -----------------------------------------------------------------


@pytest.fixture
def disconnected_link(linked, jira_integration, manager) -> TicketLink:
    services.disconnect_integration(jira_integration, by=manager)
    return linked


def test_it_keeps_links_of_a_disconnected_integration_visible_read_only(
    client, anomaly, member_author, disconnected_link
):
    client.force_login(member_author)

    section = page.element(anomaly_page(client, anomaly), "section", id="linked-tickets")

    ticket = page.element(section, "li", class_="ticket")
    assert "DQ-1" in page.text(ticket)
    assert "History only" in page.text(ticket)
    assert page.elements(ticket, "form") == []
    assert page.element(section, "form", class_="link-form") is None


def test_it_refuses_to_remove_a_link_of_a_disconnected_integration(
    client, anomaly, member_author, disconnected_link
):
    client.force_login(member_author)

    response = remove(client, disconnected_link, follow=True)

    assert linked_keys(anomaly) == ["DQ-1"]
    (shown,) = shown_messages(response)
    assert "disconnected" in shown
    assert not anomaly.history.filter(action="ticket_removed").exists()
