"""A worker killed after Jira applied its create but before it committed the outcome: the
issue exists in Jira, the rule action is still "sending". A new worker, once the sweeper
returns the action, finds the issue by the create marker and links it: no second issue.
Deterministic and in-process: the kill is a hook that ends the worker right after the
create POST (nothing after it in the worker runs, as after a SIGKILL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integrations.jira.connector import JiraConnector
from integrations.models import CreateAttempt, TicketLink
from rules.models import ActionState, RuleAction, RuleGroup
from rules.services import execute_rule_action, executing, sweep_rule_actions

from .support import drain, ingest, make_rule

pytestmark = pytest.mark.django_db
CREATE_PATH = r"/rest/api/3/issue$"


class WorkerKilled(BaseException):
    """Not an Exception: no handler of the product catches it, as none runs after SIGKILL."""


@pytest.fixture(autouse=True)
def roomy_budget(settings):
    settings.RULES_ACTIONS_BURST = 1000
    settings.RULES_ACTIONS_PER_MINUTE = 60000


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """What the sweeper hands to the broker; the test plays the new worker."""
    calls: list[int] = []
    monkeypatch.setattr(
        executing, "enqueue_action", lambda action_id, **_: calls.append(action_id) or True
    )
    return calls


def kill_after_the_create_post(monkeypatch) -> None:
    create = JiraConnector.create_ticket

    def create_then_die(self, draft, *, marker):
        try:
            create(self, draft, marker=marker)
        finally:
            raise WorkerKilled

    monkeypatch.setattr(JiraConnector, "create_ticket", create_then_die)


def time_passes(seconds: float) -> None:
    """Move the dead worker's timestamps back instead of waiting."""
    shift = timedelta(seconds=seconds)
    for action in RuleAction.objects.filter(state=ActionState.SENDING):
        RuleAction.objects.filter(pk=action.pk).update(sending_since=action.sending_since - shift)
    for attempt in CreateAttempt.objects.all():
        CreateAttempt.objects.filter(pk=attempt.pk).update(started_at=attempt.started_at - shift)


def create_posts(jira_sim) -> list[dict]:
    return [
        r
        for r in jira_sim.control.requests()
        if r["method"] == "POST" and r["path"].rstrip("/").endswith("/rest/api/3/issue")
    ]


@pytest.mark.parametrize("answer", ["answered", "answer dropped"])
def test_a_new_worker_finds_the_issue_a_killed_worker_created(
    answer, jira_sim, jira_integration, orders, manager, monkeypatch, enqueued
):
    rule = make_rule(manager)
    seeded = {issue["key"] for issue in jira_sim.control.issues()}
    anomaly = ingest(orders, manager)
    action = RuleAction.objects.get(rule=rule)
    if answer == "answer dropped":  # Jira applies the create and the answer never arrives
        jira_sim.control.add_fault("drop_after", method="POST", path_regex=CREATE_PATH)
    jira_sim.control.clear_requests()
    with monkeypatch.context() as dying, pytest.raises(WorkerKilled):
        kill_after_the_create_post(dying)
        execute_rule_action(action.pk)

    (created,) = [i for i in jira_sim.control.issues() if i["key"] not in seeded]
    action.refresh_from_db()
    assert action.state == ActionState.SENDING  # the outcome was never committed
    assert execute_rule_action(action.pk) == "skipped"  # still the dead worker's

    time_passes(executing.sending_stale_after().total_seconds() + 1)
    assert sweep_rule_actions()["recovered"] == 1
    assert enqueued == [action.pk]
    assert execute_rule_action(enqueued.pop()) == "done"
    drain()

    assert [i["key"] for i in jira_sim.control.issues() if i["key"] not in seeded] == [
        created["key"]
    ]
    assert len(create_posts(jira_sim)) == 1  # the new worker looked, it did not create
    action.refresh_from_db()
    assert (action.state, action.issue_key, action.attempts) == (
        ActionState.DONE,
        created["key"],
        2,
    )
    assert RuleGroup.objects.get(rule=rule).link.issue_key == created["key"]
    assert TicketLink.objects.get(anomaly=anomaly).issue_key == created["key"]
    assert anomaly.history.filter(summary__endswith=f"created ticket {created['key']}").exists()


def test_a_worker_taken_for_dead_that_finishes_late_records_the_create_once(
    jira_sim, jira_integration, orders, manager, monkeypatch, enqueued
):
    """Worker A is slow, not dead: while it waits for Jira's answer the sweeper gives the
    action to worker B, which finds the issue by marker and finishes it. When A's answer
    arrives, A must not write the create (history, counter) a second time."""
    rule = make_rule(manager, name="Nightly nulls")
    seeded = {issue["key"] for issue in jira_sim.control.issues()}
    anomaly = ingest(orders, manager)
    action = RuleAction.objects.get(rule=rule)
    create = JiraConnector.create_ticket
    outcomes = []

    def slow_create(self, draft, *, marker):
        created = create(self, draft, marker=marker)
        with monkeypatch.context() as fast:  # meanwhile, worker B (creating nothing)
            fast.setattr(JiraConnector, "create_ticket", create)
            time_passes(executing.sending_stale_after().total_seconds() + 1)
            sweep_rule_actions()
            outcomes.append(execute_rule_action(enqueued.pop()))
        return created

    monkeypatch.setattr(JiraConnector, "create_ticket", slow_create)
    outcomes.insert(0, execute_rule_action(action.pk))  # worker A

    assert outcomes == ["done", "done"]
    (issue,) = [i for i in jira_sim.control.issues() if i["key"] not in seeded]
    rule.refresh_from_db()
    assert rule.actions_count == 1
    created = anomaly.history.filter(summary=f"Rule “Nightly nulls”: created ticket {issue['key']}")
    assert created.count() == 1
    assert TicketLink.objects.filter(anomaly=anomaly).count() == 1
