"""A user who owns rules can be deleted: the rules stay, attributed to the deleted user by
name, paused (they act for their owner, and there is none) until a Manager resumes or edits
one and so takes it over."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from rules.models import ActionState, RuleAction, TicketRule
from tests.api import api_client

from .support import drain, ingest, make_rule

pytestmark = pytest.mark.django_db


def test_deleting_a_user_who_owns_rules_keeps_them_paused_and_attributed(
    client, admin, manager, orders, jira_sim, jira_integration
):
    rule = make_rule(manager, name="Nightly nulls")
    ingest(orders, manager)  # a create decided for the owner, not sent yet

    manager.delete()

    rule.refresh_from_db()
    assert (rule.owner, rule.paused) == (None, True)
    assert rule.owner_display == "manager (deleted user)"
    drain()  # the decided create acts for nobody: it fails, saying why
    action = RuleAction.objects.get(rule=rule)
    assert action.state == ActionState.FAILED
    assert "owner was deleted" in action.last_error
    client.force_login(admin)
    assert "manager (deleted user)" in client.get(reverse("rules:list")).content.decode()
    (listed,) = api_client(client, admin).get(reverse("rules_api:rules")).json()["results"]
    assert (listed["owner"], listed["owner_display"]) == (None, "manager (deleted user)")


def test_resuming_an_orphaned_rule_takes_it_over(client, admin, manager, orders):
    rule = make_rule(manager)
    manager.delete()
    client.force_login(admin)

    response = client.post(reverse("rules:toggle_paused", args=[rule.pk]))

    assert response.status_code == HTTPStatus.FOUND
    rule.refresh_from_db()
    assert (rule.owner, rule.paused, rule.owner_display) == (admin, False, "admin")
    ingest(orders, admin)
    assert RuleAction.objects.filter(rule=rule).count() == 1


def test_an_api_edit_of_an_orphaned_rule_makes_the_editor_its_owner(
    client, admin, manager, jira_integration
):
    rule = make_rule(manager, paused=True)
    manager.delete()
    response = api_client(client, admin).patch(
        reverse("rules_api:rule", args=[rule.pk]), {"paused": False}
    )
    assert response.status_code == HTTPStatus.OK, response.json()
    assert (response.json()["owner"], response.json()["paused"]) == ("admin", False)
    assert TicketRule.objects.get().owner == admin


def test_the_admin_shows_an_orphaned_rules_owner_by_name(client, admin, manager):
    rule = make_rule(manager)
    manager.delete()
    client.force_login(admin)
    page = client.get(reverse("admin:rules_ticketrule_change", args=[rule.pk]))
    assert page.status_code == HTTPStatus.OK
    assert "manager (deleted user)" in page.content.decode()
