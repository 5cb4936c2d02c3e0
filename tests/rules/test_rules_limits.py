"""Rule actions keep to the ticketing system's limits: a 429's Retry-After holds every create
(and sync, which reads the same field) until it has passed, and the site-wide budget paces
creates across workers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import TicketingIntegration
from rules.models import ActionState, RuleAction
from rules.services import execute_rule_action

from .support import ingest, make_rule

pytestmark = pytest.mark.django_db
CREATES = r"/rest/api/3/issue$"


def creates_sent(jira_sim) -> int:
    return sum(
        1
        for r in jira_sim.control.requests()
        if r["method"] == "POST" and r["path"].endswith("/rest/api/3/issue")
    )


def test_it_waits_out_retry_after_before_creating_again(
    jira_sim, jira_integration, orders, manager, settings
):
    settings.RULES_ACTIONS_BURST = 100
    make_rule(manager)
    jira_sim.control.add_rate_limited(count=1, retry_after=30, method="POST", path_regex=CREATES)
    ingest(orders, manager)
    action = RuleAction.objects.get()

    assert execute_rule_action(action.pk) == "retry"
    integration = TicketingIntegration.objects.get()
    assert integration.rate_limited_until > timezone.now() + timedelta(seconds=25)
    action.refresh_from_db()
    assert action.state == ActionState.PENDING
    assert action.next_attempt_at > timezone.now() + timedelta(seconds=25)

    RuleAction.objects.filter(pk=action.pk).update(next_attempt_at=None)  # a stray early task
    assert execute_rule_action(action.pk) == "postponed"
    assert creates_sent(jira_sim) == 1  # only the refused one

    TicketingIntegration.objects.update(rate_limited_until=timezone.now() - timedelta(seconds=1))
    RuleAction.objects.filter(pk=action.pk).update(next_attempt_at=None)
    assert execute_rule_action(action.pk) == "done"
    assert creates_sent(jira_sim) == 2


def test_it_paces_creates_by_the_site_wide_budget(
    jira_sim, jira_integration, orders, manager, settings
):
    settings.RULES_ACTIONS_BURST = 2
    settings.RULES_ACTIONS_PER_MINUTE = 6  # one every 10 s once the burst is spent
    make_rule(manager)
    for field in ("a", "b", "c"):
        ingest(orders, manager, field=field)
    outcomes = [execute_rule_action(pk) for pk in RuleAction.objects.values_list("pk", flat=True)]
    assert outcomes == ["done", "done", "postponed"]
    waiting = RuleAction.objects.get(state=ActionState.PENDING)
    assert waiting.next_attempt_at > timezone.now() + timedelta(seconds=8)
    assert creates_sent(jira_sim) == 2
