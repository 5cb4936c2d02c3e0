"""Rules saved before templates became connector-neutral: the migration turns their
Jira-shaped columns into Jira's create-form fields (and keeps the owner's name), and the
converted rule still creates the same issue."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from rules.models import TicketRule

from .support import drain, ingest

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
BEFORE = [("rules", "0001_initial_ticket_rules")]
AFTER = [("rules", "0003_connector_neutral_ticket_fields")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_rules():
    """The rules table as 0001 made it; back to the latest schema afterwards."""
    apps = migrate(BEFORE)
    yield apps.get_model("rules", "TicketRule")
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_it_converts_jira_columns_to_create_form_fields(
    old_rules, jira_sim, jira_integration, orders, manager, settings
):
    settings.RULES_ACTIONS_BURST = 1000
    old_rules.objects.create(
        name="Old nightly",
        paused=False,
        owner_id=manager.pk,
        project_key="DQ",
        issue_type_id="10002",
        labels="dq, nightly",
        priority_bands=[
            {"min_weight": 0, "priority_id": "4"},
            {"min_weight": 50, "priority_id": "2"},
        ],
        summary_template="old {{ checks }}",
    )
    old_rules.objects.create(name="Old link", owner_id=manager.pk, action="link", issue_key="DQ-1")

    migrate(AFTER)

    rule = TicketRule.objects.get(name="Old nightly")
    assert rule.ticket_fields == {
        "project": "DQ",
        "issue_type": "10002",
        "labels": ["dq", "nightly"],
    }
    assert rule.priority_bands == [
        {"min_weight": 0, "values": {"priority": "4"}},
        {"min_weight": 50, "values": {"priority": "2"}},
    ]
    assert (rule.ticket_connector, rule.ticket_scope, rule.owner_name) == ("jira", "DQ", "manager")
    link = TicketRule.objects.get(name="Old link")
    assert (link.ticket_fields, link.priority_bands, link.ticket_connector) == ({}, [], "")

    ingest(orders, manager, weight=70)
    drain()
    (issue,) = [i for i in jira_sim.control.issues() if i["fields"]["summary"].startswith("old ")]
    fields = issue["fields"]
    assert (fields["issuetype"]["id"], fields["priority"]["id"]) == ("10002", "2")
    assert fields["labels"] == ["dq", "nightly"]
