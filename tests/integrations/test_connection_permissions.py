"""Test connection checks what the product will do in the default project (create issues,
comment on them), names the failing check in its headline, and Settings tells a sync paused
by Jira's 401/403 apart from an earlier passing test. Over real HTTP to the Jira simulator."""

import re
from http import HTTPStatus

from django.urls import reverse
from django.utils.html import escape

from integrations.jira.errors import HINT_FORBIDDEN
from integrations.models import TicketingIntegration
from tests.api import api_client, fresh_jira_log
from tests.conftest import SIM_EMAIL, SIM_TOKEN

READ_ONLY = "viewer@example.com:viewer-token"  # seeded: may browse DQ, not create nor comment
PAUSED = "Jira refused access. (HTTP 403) You do not have the permission to comment."


def use_credentials(integration: TicketingIntegration, credentials: str) -> None:
    integration.credentials = credentials
    integration.save(update_fields=["credentials"])


def run_test(client, integration: TicketingIntegration) -> str:
    return client.post(reverse("integrations:test", args=[integration.pk]), follow=True).text


def test_it_fails_the_test_of_a_read_only_account_with_the_403_hint(
    client, manager, jira_integration
):
    use_credentials(jira_integration, READ_ONLY)
    client.force_login(manager)

    page = run_test(client, jira_integration)

    assert "Connection test failed. Permission check failed." in page
    assert "The account may not: Create issues, Add comments (in DQ)." in page
    assert escape(HINT_FORBIDDEN) in page
    jira_integration.refresh_from_db()
    assert jira_integration.last_test_ok is False


def test_it_asks_jira_for_the_permissions_in_the_default_project(
    client, manager, jira_integration, jira_sim
):
    client.force_login(manager)
    fresh_jira_log(jira_sim)

    assert "Connection test passed." in run_test(client, jira_integration)

    (asked,) = [r for r in jira_sim.control.requests() if r["path"].endswith("/mypermissions")]
    assert asked["query"]["projectKey"] == "DQ"
    assert set(asked["query"]["permissions"].split(",")) == {
        "BROWSE_PROJECTS",
        "CREATE_ISSUES",
        "ADD_COMMENTS",
    }


def test_it_refuses_to_connect_a_read_only_account_through_the_api(client, manager, jira_sim):
    response = api_client(client, manager).post(
        reverse("integrations_api:integration"),
        {"host_url": jira_sim.url, "credentials": READ_ONLY, "default_project_key": "DQ"},
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"].startswith("Permission check failed — nothing was saved.")
    assert HINT_FORBIDDEN in response.json()["error"]
    assert not TicketingIntegration.objects.exists()


def test_it_shows_a_sync_pause_instead_of_the_last_passed_test(client, manager, jira_integration):
    client.force_login(manager)
    run_test(client, jira_integration)
    jira_integration.attention_reason = PAUSED
    jira_integration.save(update_fields=["attention_reason"])

    page = client.get(reverse("integrations:list")).text

    summary = re.search(r"<summary[^>]*>(.*?)</summary>", page, re.S).group(1)
    assert "Sync paused" in summary
    assert "passed" not in summary
    assert escape(PAUSED) in page


def test_it_lifts_the_sync_pause_when_the_test_passes_again(client, manager, jira_integration):
    use_credentials(jira_integration, READ_ONLY)
    jira_integration.attention_reason = PAUSED
    jira_integration.save(update_fields=["attention_reason"])
    client.force_login(manager)
    assert "Permission check failed" in run_test(client, jira_integration)
    jira_integration.refresh_from_db()
    assert jira_integration.needs_attention  # a failing test keeps the pause

    use_credentials(jira_integration, f"{SIM_EMAIL}:{SIM_TOKEN}")
    page = run_test(client, jira_integration)

    assert "Connection test passed." in page
    assert "Sync paused" not in page
    jira_integration.refresh_from_db()
    assert not jira_integration.needs_attention


def test_it_shows_progress_on_the_buttons_that_wait_for_jira(client, manager, jira_integration):
    client.force_login(manager)
    pages = [
        client.get(reverse("integrations:list")).text,
        client.get(reverse("integrations:edit", args=[jira_integration.pk])).text,
    ]

    for page in pages:
        assert 'data-busy-label="' in page
        assert 'src="/static/js/busy-submit.js"' in page
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # no inline script
