"""Rules through the JSON API: Managers and Admins only; the form's checks; the dry run;
ingestion's answer names the rule that matched."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from anomalies.models import Level
from rules.models import TicketRule
from tests.api import api_client
from tests.conftest import grant

from .support import ingest, make_rule

pytestmark = pytest.mark.django_db
RULES_URL = reverse("rules_api:rules")
NEW_RULE = {
    "name": "Nightly nulls",
    "position": 1,
    "trigger": "ingested",
    "action": "create",
    "ticket_fields": {"project": "DQ", "issue_type": "10001", "labels": ["dq"]},
    "summary_template": "{{ checks }} in {{ container }}",
    "priority_bands": [{"min_weight": 50, "values": {"priority": "2"}}],
    "container_pattern": "ord*",
    "min_weight": 0,
    "cooldown_hours": 12,
}


@pytest.fixture(autouse=True)
def jira(jira_integration):
    """Rules that create are checked against the connected system's create form."""
    return jira_integration


def test_it_lets_a_manager_create_a_rule_that_starts_paused(client, manager, warehouse):
    response = api_client(client, manager).post(
        RULES_URL, {**NEW_RULE, "datastores": [warehouse.pk]}
    )
    assert response.status_code == HTTPStatus.CREATED, response.json()
    body = response.json()
    assert (body["paused"], body["datastores"], body["owner"]) == (True, [warehouse.pk], "manager")
    assert body["priority_bands"] == [{"min_weight": 50, "values": {"priority": "2"}}]
    assert body["ticket_fields"] == {"project": "DQ", "issue_type": "10001", "labels": ["dq"]}
    assert (body["ticket_connector"], body["ticket_scope"]) == ("jira", "DQ")


def test_it_refuses_members(client, member_author):
    response = api_client(client, member_author).post(RULES_URL, NEW_RULE)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not TicketRule.objects.exists()
    assert api_client(client, member_author).get(RULES_URL).status_code == HTTPStatus.FORBIDDEN


def test_it_refuses_a_bad_template_and_unknown_keys_changing_nothing(client, manager):
    api = api_client(client, manager)
    bad = api.post(RULES_URL, {**NEW_RULE, "summary_template": "{% include 'x' %}", "oops": 1})
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert set(bad.json()["fields"]) == {"oops"}
    bad = api.post(RULES_URL, {**NEW_RULE, "summary_template": "{% include 'x' %}"})
    assert "not allowed" in bad.json()["fields"]["summary_template"]
    assert not TicketRule.objects.exists()


def test_it_resumes_a_rule_with_patch_and_deletes_it(client, manager):
    api = api_client(client, manager)
    rule_id = api.post(RULES_URL, NEW_RULE).json()["id"]
    url = reverse("rules_api:rule", args=[rule_id])
    response = api.patch(url, {"paused": False})
    assert response.status_code == HTTPStatus.OK, response.json()
    assert response.json()["paused"] is False
    assert response.json()["container_pattern"] == "ord*"
    assert api.delete(url).status_code == HTTPStatus.OK
    assert not TicketRule.objects.exists()


def test_it_answers_the_dry_run_and_a_preview(client, manager, orders):
    rule = make_rule(manager)
    anomalies = [ingest(orders, manager) for _ in range(3)]
    api = api_client(client, manager)
    dry = api.get(reverse("rules_api:dry_run", args=[rule.pk])).json()
    assert (dry["issues"], dry["comments"], len(dry["items"])) == (1, 2, 3)
    preview = api.post(
        reverse("rules_api:preview", args=[rule.pk]), {"anomaly_id": anomalies[0].pk}
    )
    assert (
        preview.json()["summary"] == f"notNull on customer_id in orders (anomaly {anomalies[0].pk})"
    )
    assert preview.json()["ticket_fields"] == {"project": "DQ", "issue_type": "10001"}


def test_ingestion_answers_which_rule_matched(client, manager, warehouse, orders):
    grant(manager, warehouse, Level.EDITOR)
    rule = make_rule(manager, name="Nightly nulls")
    response = api_client(client, manager).post(
        reverse("anomalies_api:anomalies"),
        {
            "fingerprint": "orders-nulls-1",
            "datastore": "Sales Warehouse",
            "container": "orders",
            "type": "record",
            "description": "Nulls.",
            "failed_checks": [{"rule_type": "notNull", "field": "customer_id", "message": "x"}],
        },
    )
    assert response.status_code == HTTPStatus.CREATED, response.json()
    (match,) = response.json()["rule_matches"]
    assert match["rule"] == {"id": rule.pk, "name": "Nightly nulls"}
    assert (match["trigger"], match["action"], match["state"]) == ("ingested", "create", "pending")


def test_pausing_a_rule_needs_no_answer_from_the_ticketing_system(client, manager, jira_sim):
    api = api_client(client, manager)
    rule_id = api.post(RULES_URL, NEW_RULE).json()["id"]
    jira_sim.control.add_unavailable(count=50)  # Jira answers 503 to everything now
    response = api.patch(reverse("rules_api:rule", args=[rule_id]), {"paused": True})
    assert response.status_code == HTTPStatus.OK, response.json()
    changed = api.patch(
        reverse("rules_api:rule", args=[rule_id]), {"ticket_fields": {"issue_type": "10002"}}
    )
    assert changed.status_code == HTTPStatus.BAD_REQUEST
    assert "could not be read" in changed.json()["fields"]["ticket_fields"]


def test_a_rule_can_be_paused_while_nothing_is_connected(client, manager, jira):
    api = api_client(client, manager)
    rule_id = api.post(RULES_URL, NEW_RULE).json()["id"]
    jira.delete()
    response = api.patch(reverse("rules_api:rule", args=[rule_id]), {"paused": True})
    assert response.status_code == HTTPStatus.OK, response.json()
