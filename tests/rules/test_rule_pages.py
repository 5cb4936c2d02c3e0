"""Settings › Ticket rules: Managers and Admins only; save, preview, dry run, pause."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from rules.models import TicketRule

from .support import ingest, make_rule

pytestmark = pytest.mark.django_db


def test_it_refuses_members(client, member_author):
    client.force_login(member_author)
    assert client.get(reverse("rules:list")).status_code == HTTPStatus.FORBIDDEN
    assert client.post(reverse("rules:new"), {"name": "x"}).status_code == HTTPStatus.FORBIDDEN


def test_it_saves_a_new_rule_paused_for_its_owner(client, manager, warehouse, jira_integration):
    client.force_login(manager)
    response = client.post(
        reverse("rules:new"),
        {
            "name": "Nightly nulls",
            "position": 1,
            "paused": "on",
            "trigger": "ingested",
            "datastores": [warehouse.pk],
            "action": "create",
            "ticket-project": "DQ",
            "ticket-issue_type": "10001",
            "ticket-labels": "dq, nightly",
            "ticket-assignee_query": "",
            "summary_template": "{{ checks }} in {{ container }}",
            "min_weight": 0,
            "priority_bands": '[{"min_weight": 50, "values": {"priority": "2"}}]',
            "cooldown_hours": 24,
        },
    )
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    rule = TicketRule.objects.get()
    assert (rule.owner, rule.paused) == (manager, True)
    assert rule.ticket_fields == {
        "project": "DQ",
        "issue_type": "10001",
        "labels": ["dq", "nightly"],
    }
    assert (rule.ticket_connector, rule.ticket_scope) == ("jira", "DQ")
    assert "Nightly nulls" in client.get(reverse("rules:list")).content.decode()


def test_it_shows_a_bad_template_as_the_fields_error(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("rules:new"),
        {
            "name": "Bad",
            "position": 1,
            "trigger": "ingested",
            "action": "create",
            "ticket-issue_type": "10001",
            "summary_template": "{% debug %}",
            "min_weight": 0,
            "priority_bands": "[]",
            "cooldown_hours": 24,
        },
    )
    assert response.status_code == HTTPStatus.OK
    assert "is not allowed" in response.content.decode()
    assert not TicketRule.objects.exists()


def test_it_previews_with_a_real_anomaly_and_shows_the_dry_run(client, admin, orders):
    rule = make_rule(admin)
    anomalies = [ingest(orders, admin) for _ in range(3)]
    client.force_login(admin)
    page = client.get(reverse("rules:edit", args=[rule.pk]), {"anomaly": anomalies[0].pk})
    assert f"notNull on customer_id in orders (anomaly {anomalies[0].pk})" in page.content.decode()
    dry = client.get(reverse("rules:dry_run", args=[rule.pk])).content.decode()
    assert "would have created 1 issue and 2 comments over the last 30 days" in dry


def test_it_pauses_and_resumes(client, manager):
    rule = make_rule(manager, paused=False)
    client.force_login(manager)
    client.post(reverse("rules:toggle_paused", args=[rule.pk]))
    rule.refresh_from_db()
    assert rule.paused


def test_it_lets_managers_manage_rules_in_the_admin(client, manager):
    make_rule(manager, name="In the admin")
    client.force_login(manager)
    page = client.get(reverse("admin:rules_ticketrule_changelist"))
    assert page.status_code == HTTPStatus.OK
    assert "In the admin" in page.content.decode()


def test_it_offers_the_connected_systems_create_form_as_inputs(client, manager, jira_integration):
    client.force_login(manager)
    page = client.get(reverse("rules:new")).content.decode()
    assert "Ticket fields: Jira's create form" in page
    assert 'name="ticket-issue_type"' in page
    assert '<option value="10001" selected>Task</option>' in page  # the form's default
    assert 'name="ticket-priority"' in page
    assert "Choices a priority band can set" in page


def test_refreshing_follows_the_chosen_project_and_saves_nothing(client, manager, jira_integration):
    client.force_login(manager)
    page = client.post(
        reverse("rules:new"), {"name": "r", "ticket-project": "OPS", "refresh": "1"}
    ).content.decode()
    assert '<option value="10004">Incident</option>' in page  # OPS has incidents, DQ has not
    assert not TicketRule.objects.exists()


def test_it_shows_the_create_forms_refusal_beside_the_ticket_fields(
    client, manager, jira_integration
):
    client.force_login(manager)
    response = client.post(
        reverse("rules:new"),
        {
            "name": "Wrong type",
            "position": 1,
            "trigger": "ingested",
            "action": "create",
            "ticket-issue_type": "999",
            "summary_template": "x",
            "min_weight": 0,
            "priority_bands": '[{"min_weight": 1, "values": {"severity": "high"}}]',
            "cooldown_hours": 24,
        },
    )
    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "issue_type: Select a valid choice." in page
    assert "severity: not a field Jira&#x27;s create form takes here" in page
    assert not TicketRule.objects.exists()
