"""Rules hear anomalies through the platform's one seam, `anomaly_changed`: ingestion and
status changes (bulk ones too, one per anomaly), inside the change's transaction. A rule
fires once per ingestion, through the API or the service."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import transaction
from django.urls import reverse

from anomalies import bulk
from anomalies.models import Anomaly, Level
from anomalies.services import record_history
from rules.models import RuleAction, Trigger
from tests.api import api_client
from tests.conftest import grant

from .support import drain, ingest, make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def roomy_budget(settings):
    settings.RULES_ACTIONS_BURST = 1000
    settings.RULES_ACTIONS_PER_MINUTE = 60000


def new_issues(jira_sim, seeded: set[str]) -> list[dict]:
    return [issue for issue in jira_sim.control.issues() if issue["key"] not in seeded]


def test_a_rule_fires_once_on_ingestion_through_the_service(
    jira_sim, jira_integration, orders, manager
):
    rule = make_rule(manager)
    seeded = {issue["key"] for issue in jira_sim.control.issues()}
    anomaly = ingest(orders, manager)
    (action,) = RuleAction.objects.filter(anomaly=anomaly)
    assert (action.rule, action.trigger_key, action.kind) == (rule, "ingested", "create")
    drain()
    (issue,) = new_issues(jira_sim, seeded)
    action.refresh_from_db()
    assert action.issue_key == issue["key"]


def test_a_rule_fires_once_on_ingestion_through_the_api(
    client, jira_sim, jira_integration, warehouse, orders, manager
):
    grant(manager, warehouse, Level.EDITOR)
    rule = make_rule(manager, name="Nightly nulls")
    seeded = {issue["key"] for issue in jira_sim.control.issues()}
    response = api_client(client, manager).post(
        reverse("anomalies_api:anomalies"),
        {
            "fingerprint": "orders-nulls-api",
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
    assert RuleAction.objects.filter(rule=rule).count() == 1
    drain()
    assert len(new_issues(jira_sim, seeded)) == 1


def test_the_decision_rolls_back_with_the_ingestion(orders, manager):
    make_rule(manager)

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        ingest(orders, manager)
        raise Refused  # whatever fails later in the ingestion's transaction
    assert not RuleAction.objects.exists()


def test_a_history_entry_alone_is_not_an_ingestion(orders, manager):
    anomaly = ingest(orders, manager)  # before any rule
    make_rule(manager)
    record_history(anomaly, action="ingested", summary="Re-imported by a script")
    assert not RuleAction.objects.exists()


def test_a_bulk_status_change_reaches_the_rules_once_per_anomaly(orders, manager):
    rule = make_rule(manager, trigger=Trigger.STATUS_CHANGED, statuses="Acknowledged")
    anomalies = [ingest(orders, manager, field=f"column_{n}") for n in range(3)]
    selected, missing = bulk.select_anomalies(
        Anomaly.objects.all(), [anomaly.pk for anomaly in anomalies]
    )
    result = bulk.run_bulk_action(
        bulk.bulk_actions()["acknowledge"], selected, by=manager, missing=missing
    )
    changed = result.done
    assert len(changed) == 3
    decided = RuleAction.objects.filter(rule=rule)
    assert sorted(decided.values_list("anomaly", flat=True)) == sorted(changed)
    assert {key.partition("@")[0] for key in decided.values_list("trigger_key", flat=True)} == {
        "acknowledged"
    }
