"""The one line each linked ticket shows: what is true now, in the connector's words."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import TicketingIntegration, TicketLink
from integrations.sync_wording import describe_sync, notes
from tests.conftest import SN_PASSWORD, SN_USERNAME

NOW = timezone.now()


def annotated(integration, **state) -> TicketLink:
    """A link as `with_sync_state()` gives it: its fields and its sync summary."""
    summary = {
        "pending_count": 0,
        "delivered_count": 0,
        "cancelled_count": 0,
        "failed_event_id": None,
        "failed_reason": None,
        "last_error": None,
        "next_try_at": None,
    }
    fields = {
        "status_name": "To Do",
        "status_category": "new",
        "last_synced_at": NOW - timedelta(minutes=2),
    }
    fields.update({k: v for k, v in state.items() if k not in summary})
    link = TicketLink(integration=integration, issue_key="DQ-1", **fields)
    for name, value in summary.items():
        setattr(link, name, state.get(name, value))
    return link


@pytest.fixture
def servicenow(db, manager) -> TicketingIntegration:
    return TicketingIntegration.objects.create(
        connector="servicenow",
        host_url="https://example.service-now.com",
        credentials=f"{SN_USERNAME}:{SN_PASSWORD}",
        connected_by=manager,
        connected_at=NOW,
    )


def test_it_says_all_comments_were_delivered_and_when_the_status_was_read(jira_integration):
    line = describe_sync(annotated(jira_integration, delivered_count=3), now=NOW)

    assert line.tone == "delivered"
    # naturaltime joins number and unit with a no-break space, so they never wrap apart
    assert str(line).replace("\xa0", " ") == "All 3 comments delivered · status read 2 minutes ago"
    assert line.retry_event_id is None


def test_it_says_one_comment_without_all(jira_integration):
    line = describe_sync(annotated(jira_integration, delivered_count=1), now=NOW)

    assert line.delivery == "1 comment delivered"


def test_it_says_what_is_pending_why_and_when_it_is_tried_next(jira_integration):
    link = annotated(
        jira_integration,
        pending_count=2,
        last_error="Jira rate limit reached.",
        next_try_at=NOW + timedelta(minutes=15),
    )

    line = describe_sync(link, now=NOW)

    assert line.tone == "pending"
    next_try = timezone.localtime(NOW + timedelta(minutes=15)).strftime("%H:%M")
    assert line.delivery == f"2 comments pending — Jira rate limit reached, next try {next_try} UTC"


def test_it_says_a_pending_comment_is_being_sent_when_nothing_went_wrong(jira_integration):
    line = describe_sync(annotated(jira_integration, pending_count=1, delivered_count=4), now=NOW)

    assert line.delivery == "1 comment pending — sending · 4 delivered"


def test_it_says_why_a_sync_failed_and_offers_a_retry(jira_integration):
    link = annotated(
        jira_integration,
        failed_event_id=41,
        failed_reason="Jira rejected the comment.",
        delivered_count=2,
    )

    line = describe_sync(link, now=NOW)

    assert (line.tone, line.delivery) == ("failed", "Failed: Jira rejected the comment")
    assert line.retry_event_id == 41


def test_it_offers_no_retry_for_a_broken_reference(jira_integration):
    link = annotated(
        jira_integration,
        failed_event_id=41,
        failed_reason="Not sent: the Jira issue is a broken reference.",
        broken_reason="Jira issue not found.",
        status_name="",
    )

    line = describe_sync(link, now=NOW)

    assert line.retry_event_id is None
    assert "Retrying cannot help while the issue is gone" in line.delivery
    assert line.status == "Broken reference: Jira issue not found"


def test_it_says_nothing_was_sent_yet_and_why_the_status_is_unknown(jira_integration):
    link = annotated(jira_integration, status_name="", status_error="Jira is unavailable.")

    line = describe_sync(link, now=NOW)

    assert (line.tone, str(line)) == (
        "idle",
        "No comments sent yet · status unknown: Jira is unavailable",
    )


def test_it_says_a_new_links_status_was_not_read_yet(jira_integration):
    link = annotated(jira_integration, status_name="", last_synced_at=None)

    assert describe_sync(link, now=NOW).status == "status unknown: not read from Jira yet"


def test_it_counts_cancelled_comments(jira_integration):
    line = describe_sync(annotated(jira_integration, delivered_count=2, cancelled_count=1))

    assert line.delivery == "All 2 comments delivered · 1 comment cancelled"


def test_it_says_a_disconnected_integrations_link_is_history_only(jira_integration):
    jira_integration.state = "disconnected"

    line = describe_sync(annotated(jira_integration, delivered_count=2), now=NOW)

    assert line.status == f"History only: {jira_integration} is disconnected"


def test_it_uses_the_connectors_own_names(servicenow):
    link = annotated(servicenow, pending_count=3, status_name="", last_synced_at=None)

    line = describe_sync(link, now=NOW)

    assert line.delivery == "3 work notes pending — sending"
    assert line.status == "status unknown: not read from ServiceNow yet"


@pytest.mark.parametrize(
    ("count", "words"), [(0, "0 comments"), (1, "1 comment"), (2, "2 comments")]
)
def test_it_pluralises_the_notes(count, words):
    assert notes(count, "comment") == words
