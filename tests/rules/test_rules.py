"""Automatic ticket rules against the in-process Jira simulator: recurring anomalies share
one issue, the cool-down after Done, matching order, templates, dry run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from anomalies.models import Container
from anomalies.services import acknowledge_anomaly
from integrations.models import StatusCategory, TicketLink
from rules.forms import TicketRuleForm
from rules.matching import render
from rules.models import ActionState, RuleAction, RuleGroup, Trigger
from rules.services import dry_run_rule, preview_rule

from .support import drain, ingest, make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def roomy_budget(settings):
    settings.RULES_ACTIONS_BURST = 1000
    settings.RULES_ACTIONS_PER_MINUTE = 60000


def nights(count: int):
    start = timezone.now() - timedelta(days=count)
    return [start + timedelta(days=n) for n in range(count)]


def test_it_opens_one_issue_with_29_recurrence_comments_over_30_nights(
    jira_sim, jira_integration, orders, manager
):
    rule = make_rule(manager)
    for night in nights(30):
        ingest(orders, manager, detected_at=night)
        drain()
    issues = [i for i in jira_sim.control.issues() if i["key"] != "DQ-1"]
    created = [i for i in issues if "customer_id" in i["fields"]["summary"]]
    assert len(created) == 1
    comments = [c["text"] for c in jira_sim.control.comments(created[0]["key"])]
    assert len(comments) == 29
    assert all(text.startswith("Recurred at ") for text in comments)
    assert "— 2nd time this week." in comments[0]
    assert "— 7th time this week." in comments[-1]
    rule.refresh_from_db()
    assert (rule.actions_count, rule.failures_count) == (30, 0)
    assert TicketLink.objects.filter(issue_key=created[0]["key"]).count() == 30


def test_it_says_in_the_history_which_rule_acted(jira_sim, jira_integration, orders, manager):
    make_rule(manager, name="Nightly nulls")
    first = ingest(orders, manager)
    drain()
    second = ingest(orders, manager)
    drain()
    assert first.history.filter(summary__startswith="Rule “Nightly nulls”: created ticket DQ-")
    assert second.history.filter(summary__startswith="Rule “Nightly nulls”: recurred; linked")


def test_it_comments_on_a_done_ticket_during_the_cooldown_then_opens_a_new_one(
    jira_sim, jira_integration, orders, manager
):
    rule = make_rule(manager, cooldown_hours=24)
    ingest(orders, manager)
    drain()
    group = RuleGroup.objects.get(rule=rule)
    TicketLink.objects.filter(pk=group.link_id).update(
        status_category=StatusCategory.DONE, last_synced_at=timezone.now()
    )
    ingest(orders, manager)
    assert RuleAction.objects.filter(kind="recur").count() == 1
    group.refresh_from_db()
    group.done_seen_at = timezone.now() - timedelta(hours=25)
    group.save()
    ingest(orders, manager)
    drain()
    assert RuleAction.objects.filter(kind="create", state=ActionState.DONE).count() == 2


def test_it_keeps_different_failures_apart(jira_sim, jira_integration, orders, manager):
    make_rule(manager)
    ingest(orders, manager, field="email")
    ingest(orders, manager, field="phone")
    ingest(orders, manager, field="email")
    drain()
    assert RuleAction.objects.filter(kind="create", state=ActionState.DONE).count() == 2
    assert RuleAction.objects.filter(kind="recur", state=ActionState.DONE).count() == 1


def test_it_lets_the_first_matching_rule_win_unless_it_says_continue(
    jira_sim, jira_integration, orders, manager
):
    first = make_rule(manager, position=1, container_pattern="ord*")
    second = make_rule(manager, position=2)
    ingest(orders, manager)
    assert list(RuleAction.objects.values_list("rule", flat=True)) == [first.pk]
    first.continue_matching = True
    first.save()
    ingest(orders, manager, field="email")
    assert RuleAction.objects.filter(rule=second).count() == 1


def test_it_ignores_paused_rules_and_unmatched_anomalies(orders, warehouse, manager):
    make_rule(manager, paused=True)
    make_rule(manager, min_weight=50)
    make_rule(manager, container_pattern="customers_*")
    other = Container.objects.create(datastore=warehouse, name="customers_eu")
    ingest(orders, manager, weight=10)
    assert not RuleAction.objects.exists()
    ingest(other, manager, weight=60)
    assert RuleAction.objects.count() == 1


def test_it_acts_on_a_status_change_when_told_to(jira_sim, jira_integration, orders, manager):
    rule = make_rule(manager, trigger=Trigger.STATUS_CHANGED, statuses="Acknowledged")
    anomaly = ingest(orders, manager)
    assert not RuleAction.objects.exists()
    acknowledge_anomaly(anomaly, by=manager)
    drain()
    assert RuleAction.objects.get(rule=rule).issue_key.startswith("DQ-")


def test_it_only_comments_on_linked_tickets_when_the_rule_says_so(
    jira_sim, jira_integration, orders, manager
):
    make_rule(
        manager,
        action="comment",
        trigger=Trigger.STATUS_CHANGED,
        comment_template="{{ anomaly.status }} by the team ({{ container }})",
    )
    anomaly = ingest(orders, manager)
    TicketLink.objects.create(
        anomaly=anomaly,
        integration=jira_integration,
        origin="linked",
        issue_id=jira_sim.control.issue("DQ-1")["id"],
        issue_key="DQ-1",
        url=f"{jira_sim.url}/browse/DQ-1",
        linked_at=timezone.now(),
    )
    acknowledge_anomaly(anomaly, by=manager)
    drain()
    texts = [c["text"] for c in jira_sim.control.comments("DQ-1")]
    assert "Acknowledged by the team (orders)" in texts


def test_it_renders_templates_with_plain_values_only(orders, manager):
    anomaly = ingest(orders, manager)
    rule = make_rule(manager)
    text = render("#{{ anomaly.id }} {{ container }}: {{ checks }} <b>", anomaly, rule)
    assert text == f"#{anomaly.pk} orders: notNull on customer_id <b>"
    assert render("{{ anomaly.delete }}{{ rule.owner }}", anomaly, rule) == ""


@pytest.mark.parametrize(
    "template", ["{% include 'base.html' %}", "{% debug %}", "{% load static %}", "{% if %}"]
)
def test_it_refuses_a_template_that_reaches_outside_or_does_not_compile(
    template, manager, warehouse
):
    form = TicketRuleForm(
        {
            "name": "r",
            "position": 1,
            "trigger": "ingested",
            "action": "create",
            "ticket_fields": '{"issue_type": "10001"}',
            "summary_template": template,
            "min_weight": 0,
            "cooldown_hours": 1,
            "priority_bands": "[]",
        }
    )
    assert not form.is_valid()
    assert "summary_template" in form.errors


def test_it_maps_weight_bands_to_priorities_in_the_preview(orders, manager):
    bands = [
        {"min_weight": 0, "values": {"priority": "4"}},
        {"min_weight": 50, "values": {"priority": "2"}},
    ]
    fields = {"project": "DQ", "issue_type": "10001", "labels": ["dq", "nightly"]}
    rule = make_rule(manager, priority_bands=bands, ticket_fields=fields)
    preview = preview_rule(rule, ingest(orders, manager, weight=70))
    assert preview["ticket_fields"] == {**fields, "priority": "2"}
    assert preview["summary"].startswith("notNull on customer_id in orders")


def test_its_dry_run_counts_what_the_rule_then_does(jira_sim, jira_integration, orders, manager):
    rule = make_rule(manager)
    seeded = len(jira_sim.control.issues())
    for n, night in enumerate(nights(12)):
        ingest(orders, manager, detected_at=night, field="email" if n % 3 == 0 else "phone")
        drain()
    result = dry_run_rule(rule)
    done = RuleAction.objects.filter(rule=rule, state=ActionState.DONE)
    assert (result.issues, result.comments) == (2, 10)
    assert result.issues == done.filter(kind="create").count()
    assert result.comments == done.filter(kind="recur").count()
    assert len(jira_sim.control.issues()) - seeded == result.issues
    assert result.summary() == (
        "This rule would have created 2 issues and 10 comments over the last 30 days."
    )


def test_it_folds_recurrences_not_yet_sent_into_one_comment(
    jira_sim, jira_integration, orders, manager
):
    make_rule(manager)
    for _ in range(3):  # the second and third wait for the ticket being created
        ingest(orders, manager)
    drain()
    for _ in range(4):  # no worker ran in between: they join one unsent comment
        ingest(orders, manager)
    drain()
    key = RuleAction.objects.get(kind="create").issue_key
    texts = [c["text"] for c in jira_sim.control.comments(key)]
    assert len(texts) == 2
    assert texts[0].startswith("Recurred 2 times between ")
    assert texts[1].startswith("Recurred 4 times between ")
    assert "— 7th time this week." in texts[1]
    assert TicketLink.objects.filter(issue_key=key).count() == 7


def test_it_links_matching_anomalies_to_an_existing_ticket(
    jira_sim, jira_integration, orders, manager
):
    rule = make_rule(manager, name="To the epic", action="link", issue_key="DQ-1")
    anomaly = ingest(orders, manager)
    drain()
    assert TicketLink.objects.get(anomaly=anomaly).issue_key == "DQ-1"
    assert anomaly.history.filter(summary="Rule “To the epic”: linked ticket DQ-1").exists()
    rule.refresh_from_db()
    assert (rule.actions_count, rule.failures_count) == (1, 0)


def test_it_counts_a_create_the_ticketing_system_refuses_as_a_failure(
    jira_sim, jira_integration, orders, manager
):
    # No such issue type (the type was deleted in Jira after the rule was saved).
    rule = make_rule(manager, ticket_fields={"project": "DQ", "issue_type": "999999"})
    anomaly = ingest(orders, manager)
    drain()
    action = RuleAction.objects.get()
    assert action.state == ActionState.FAILED
    rule.refresh_from_db()
    assert (rule.actions_count, rule.failures_count) == (0, 1)
    assert anomaly.history.filter(summary__startswith=f"Rule “{rule.name}”: Create ticket failed")


def test_a_rule_that_creates_needs_a_connected_system_to_choose_fields_from(db):
    form = TicketRuleForm(
        {
            "name": "r",
            "position": 1,
            "trigger": "ingested",
            "action": "create",
            "ticket_fields": '{"issue_type": "10001"}',
            "summary_template": "x",
            "min_weight": 0,
            "cooldown_hours": 1,
            "priority_bands": "[]",
        }
    )
    assert not form.is_valid()
    assert "Connect a ticketing integration first" in form.errors["ticket_fields"][0]


def test_a_jira_rule_needs_an_issue_type_and_takes_only_its_projects_priorities(
    jira_integration,
):
    data = {
        "name": "r",
        "position": 1,
        "trigger": "ingested",
        "action": "create",
        "ticket_fields": "{}",
        "summary_template": "x",
        "min_weight": 0,
        "cooldown_hours": 1,
        "priority_bands": '[{"min_weight": 10, "values": {"priority": "77"}}]',
    }
    form = TicketRuleForm(data)
    assert not form.is_valid()
    assert "Jira's create form needs Issue type." in form.errors["ticket_fields"][0]
    assert "priority: Select a valid choice." in form.errors["priority_bands"][0]
