"""The small things of creating and linking: Enter creates, the priority's blank choice says
what it does, issue URLs of every Jira Cloud view link, the page runs no inline script."""

import re

from django.urls import reverse

from tests.conftest import make_anomaly
from tests.integrations import page
from tests.integrations.test_create_ticket import INCIDENT, create_url, ticket_form


def refreshed_form(client, anomaly, **values):
    form = ticket_form(**values, _refresh="issue_type")
    return page.parse(client.post(create_url(anomaly), form))


def test_it_makes_create_the_button_enter_presses(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    form = page.element(page.parse(client.get(create_url(anomaly))), "form", id="create-ticket")

    submits = [b for b in page.elements(form, "button") if page.attribute(b, "type") == "submit"]
    first = submits[0]  # implicit submission presses the form's first submit button
    assert (page.attribute(first, "name"), page.attribute(first, "value")) == ("create", "1")
    find = next(b for b in submits if page.text(b) == "Find")
    assert submits.index(find) > 0


def test_it_offers_no_default_priority_where_the_type_has_none(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    form = refreshed_form(client, anomaly, project="OPS", issue_type=INCIDENT)

    labels = page.option_labels(form, "priority")
    assert "Default" not in labels
    assert labels == ["None", "Highest", "High", "Medium", "Low", "Lowest"]


def test_it_keeps_the_default_choice_where_the_type_has_one(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    form = page.parse(client.get(create_url(anomaly)))

    assert page.option_labels(form, "priority")[0] == "Default"


def test_it_prefills_a_summary_of_up_to_255_characters(
    client, orders, member_reporter, jira_integration
):
    long_one = make_anomaly(orders, description="x" * 400)
    client.force_login(member_reporter)

    form = page.parse(client.get(create_url(long_one)))

    summary = page.attribute(page.element(form, "input", name="summary"), "value")
    assert len(summary) == 255


def test_it_runs_no_inline_script_on_the_create_page(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    html = client.get(create_url(anomaly)).text

    assert 'src="/static/js/create-ticket.js"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_it_links_an_issue_from_a_project_issue_view_url(
    client, anomaly, member_author, jira_sim, jira_integration
):
    client.force_login(member_author)
    url = f"{jira_sim.url}/jira/software/c/projects/DQ/issues/DQ-2?jql=project%20%3D%20DQ"

    client.post(reverse("integrations:link", args=[anomaly.pk]), {"query": url})

    assert [link.issue_key for link in anomaly.ticket_links.all()] == ["DQ-2"]
