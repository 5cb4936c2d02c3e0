"""A rule on ServiceNow, through the same engine: its ticket fields come from ServiceNow's
create form (urgency, impact, category, …), its weight bands set ServiceNow's priority
inputs, it creates one incident per recurring failure and recurrences become work notes.
Against the in-process ServiceNow simulator."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import TicketingIntegration
from rules.forms import TicketRuleForm
from rules.models import ActionState, RuleAction
from tests.conftest import connect_servicenow

from .support import drain, ingest, make_rule

pytestmark = pytest.mark.django_db
MARKER_LINE = re.compile(r"\n\n\[qualytics-event:[^\]]+\]$")


@pytest.fixture(autouse=True)
def roomy_budget(settings):
    settings.RULES_ACTIONS_BURST = 1000
    settings.RULES_ACTIONS_PER_MINUTE = 60000


@pytest.fixture
def servicenow(servicenow_sim, manager) -> TicketingIntegration:
    return connect_servicenow(servicenow_sim.url, manager)


def rule_form(**changes) -> TicketRuleForm:
    data = {
        "name": "Nightly nulls to ServiceNow",
        "position": 1,
        "trigger": "ingested",
        "action": "create",
        "ticket_fields": json.dumps({"category": "database", "urgency": "3", "impact": "3"}),
        "priority_bands": json.dumps(
            [{"min_weight": 50, "values": {"impact": "1", "urgency": "1"}}]
        ),
        "summary_template": "{{ checks }} in {{ container }}",
        "min_weight": 0,
        "cooldown_hours": 24,
    }
    return TicketRuleForm({**data, **changes})


def work_notes(sim, number: str) -> list[str]:
    return [MARKER_LINE.sub("", text) for text in sim.control.work_notes(number)]


def test_it_creates_one_incident_and_posts_recurrences_as_work_notes(
    servicenow, servicenow_sim, orders, manager
):
    form = rule_form()
    assert form.is_valid(), form.errors
    rule = form.save(commit=False)
    rule.owner, rule.paused = manager, False
    rule.save()
    assert (rule.ticket_connector, rule.ticket_scope) == ("servicenow", "incident")
    before = {incident["number"] for incident in servicenow_sim.control.incidents()}
    start = timezone.now() - timedelta(days=3)
    for night in range(3):
        ingest(orders, manager, weight=70, detected_at=start + timedelta(days=night))
        drain()

    (incident,) = [i for i in servicenow_sim.control.incidents() if i["number"] not in before]
    # Weight 70 reaches the band: ServiceNow computes priority 1 from impact 1 × urgency 1.
    assert (incident["impact"], incident["urgency"], incident["priority"]) == ("1", "1", "1")
    assert incident["category"] == "database"
    assert incident["short_description"] == "notNull on customer_id in orders"
    notes = work_notes(servicenow_sim, incident["number"])
    assert len(notes) == 2
    assert all(note.startswith("Recurred at ") for note in notes)
    assert "— 3rd time this week." in notes[-1]
    done = RuleAction.objects.filter(rule=rule, state=ActionState.DONE)
    assert done.count() == 3
    assert set(done.values_list("issue_key", flat=True)) == {incident["number"]}


def test_a_light_anomaly_gets_the_rules_own_urgency_and_impact(
    servicenow, servicenow_sim, orders, manager
):
    form = rule_form()
    assert form.is_valid(), form.errors
    rule = form.save(commit=False)
    rule.owner, rule.paused = manager, False
    rule.save()
    before = {incident["number"] for incident in servicenow_sim.control.incidents()}
    ingest(orders, manager, weight=10)
    drain()
    (incident,) = [i for i in servicenow_sim.control.incidents() if i["number"] not in before]
    assert (incident["impact"], incident["urgency"], incident["priority"]) == ("3", "3", "5")


def test_it_refuses_fields_servicenows_create_form_does_not_have(servicenow):
    form = rule_form(ticket_fields=json.dumps({"issue_type": "10001", "urgency": "9"}))
    assert not form.is_valid()
    message = form.errors["ticket_fields"][0]
    assert "issue_type: not a field ServiceNow's create form takes here" in message
    assert "urgency: Select a valid choice." in message
    bands = json.dumps([{"min_weight": 50, "values": {"priority": "1"}}])
    form = rule_form(priority_bands=bands)
    assert not form.is_valid()
    assert "priority: not a field" in form.errors["priority_bands"][0]


def test_a_rule_made_for_jira_fails_visibly_on_servicenow(
    servicenow, servicenow_sim, orders, manager
):
    rule = make_rule(manager)  # checked against Jira's create form
    before = len(servicenow_sim.control.incidents())
    anomaly = ingest(orders, manager)
    drain()
    action = RuleAction.objects.get(rule=rule)
    assert action.state == ActionState.FAILED
    assert "made for another ticketing system" in action.last_error
    assert len(servicenow_sim.control.incidents()) == before
    assert anomaly.history.filter(summary__contains="edit the rule to choose ServiceNow").exists()
