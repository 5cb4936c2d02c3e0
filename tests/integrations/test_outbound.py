"""Every text sent to Jira, byte for byte (PRODUCT.md §4 and §5, integrations/outbound.py)."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from anomalies.models import FailedCheck, Status
from integrations import outbound
from integrations.jira.create_form import description_adf
from tests.conftest import make_anomaly

AT = datetime(2024, 1, 15, 10, 30, 0, tzinfo=UTC)
ANOMALY_UUID = uuid.UUID("0b7e5c1d-9f3a-4e2b-8c6d-1a2b3c4d5e6f")
SITE_URL = "https://qualytics.example.com/"


def test_it_formats_times_in_utc():
    paris_winter = timezone(timedelta(hours=1))

    assert outbound.format_utc(AT) == "2024-01-15 10:30:00 UTC"
    assert outbound.format_utc(datetime(2024, 1, 15, 11, 30, 5, tzinfo=paris_winter)) == (
        "2024-01-15 10:30:05 UTC"
    )


def test_it_writes_the_status_comment():
    assert outbound.status_comment("Acknowledged", at=AT) == (
        "[2024-01-15 10:30:00 UTC] Qualytics Anomaly Status: Acknowledged"
    )


def test_it_adds_the_archive_note_on_its_own_line():
    assert outbound.status_comment("Duplicate", at=AT, note="  Same as #12\n") == (
        "[2024-01-15 10:30:00 UTC] Qualytics Anomaly Status: Duplicate\nNote: Same as #12"
    )


def test_it_leaves_out_a_blank_note():
    assert outbound.status_comment("Resolved", at=AT, note="   ") == (
        "[2024-01-15 10:30:00 UTC] Qualytics Anomaly Status: Resolved"
    )


def test_it_writes_the_user_comment_with_its_author():
    assert outbound.user_comment("  Upstream job failed again.\n", at=AT, author="alice") == (
        "[2024-01-15 10:30:00 UTC] Comment from Qualytics (alice): Upstream job failed again."
    )


@pytest.fixture
def anomaly_with_two_checks(orders):
    anomaly = make_anomaly(
        orders,
        pk=7001,
        uuid=ANOMALY_UUID,
        status=Status.ACKNOWLEDGED,
        detected_at=datetime(2024, 1, 14, 22, 0, 0, tzinfo=UTC),
    )
    FailedCheck.objects.create(
        anomaly=anomaly, rule_type="between", field_name="amount", message="3 amounts below 0."
    )
    return anomaly


def test_it_builds_the_issue_description_byte_for_byte(anomaly_with_two_checks):
    user_description = (
        "Orders lost their customer after the 02:00 load.\n"
        "\n"
        "Runbook: https://wiki.example.com/dq/orders, then rerun."
    )

    description = description_adf(
        outbound.issue_description(
            anomaly_with_two_checks,
            user_description=user_description,
            linked_at=AT,
            site_url=SITE_URL,
        )
    )

    anomaly_url = "https://qualytics.example.com/anomalies/7001/"
    runbook = "https://wiki.example.com/dq/orders"
    expected = {
        "version": 1,
        "type": "doc",
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Orders lost their customer after the 02:00 load."}
                ],
            },
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Runbook: "},
                    {"type": "text", "text": runbook, "marks": [link_mark(runbook)]},
                    {"type": "text", "text": ", then rerun."},
                ],
            },
            {"type": "rule"},
            {
                "type": "paragraph",
                "content": [
                    {
                        "type": "text",
                        "text": "Qualytics Anomaly Linked [2024-01-15 10:30:00 UTC]",
                        "marks": [{"type": "strong"}],
                    }
                ],
            },
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": f"Anomaly ID: 7001 ({ANOMALY_UUID})"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Status: Acknowledged"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Type: Record"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Detected: 2024-01-14 22:00:00 UTC"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Datastore: Sales Warehouse"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Container: orders"},
                    {"type": "hardBreak"},
                    {
                        "type": "text",
                        "text": "Failed check: notNull on customer_id: "
                        "12 records have a null customer_id.",
                    },
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Failed check: between on amount: 3 amounts below 0."},
                ],
            },
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "View the anomaly in Qualytics: "},
                    {"type": "text", "text": anomaly_url, "marks": [link_mark(anomaly_url)]},
                ],
            },
        ],
    }
    assert json.dumps(description) == json.dumps(expected)


def link_mark(href: str) -> dict:
    return {"type": "link", "attrs": {"href": href}}


def test_it_starts_with_the_separator_when_there_is_no_user_description(
    anomaly_with_two_checks,
):
    description = description_adf(
        outbound.issue_description(
            anomaly_with_two_checks, user_description=" \n ", linked_at=AT, site_url=SITE_URL
        )
    )

    assert description["content"][0] == {"type": "rule"}


def _facts(*lines: str) -> dict:
    content: list[dict] = []
    for line in lines:
        content += (
            [{"type": "hardBreak"}, {"type": "text", "text": line}]
            if content
            else [{"type": "text", "text": line}]
        )
    return {"type": "paragraph", "content": content}


def _view_link(url: str) -> dict:
    return {
        "type": "paragraph",
        "content": [
            {"type": "text", "text": "View the anomaly in Qualytics: "},
            {"type": "text", "text": url, "marks": [link_mark(url)]},
        ],
    }


def test_it_lists_every_anomaly_of_a_bulk_ticket_byte_for_byte(orders, member_author):
    from django.contrib.auth import get_user_model

    second_uuid = uuid.UUID("1c8f6d2e-0a4b-4f3c-9d7e-2b3c4d5e6f70")
    first = make_anomaly(
        orders, pk=7002, uuid=second_uuid, detected_at=datetime(2024, 1, 14, 23, 0, tzinfo=UTC)
    )
    earlier = make_anomaly(
        orders,
        pk=7001,
        uuid=ANOMALY_UUID,
        anomaly_type="shape",
        detected_at=datetime(2024, 1, 14, 22, 0, tzinfo=UTC),
    )
    earlier.assignees.add(
        member_author,
        get_user_model().objects.create_user("ana", first_name="Ana", last_name="Lima"),
    )

    description = description_adf(
        outbound.issue_description_for_many(
            [first, earlier],
            user_description="Both from the 02:00 load.",
            linked_at=AT,
            site_url=SITE_URL,
        )
    )

    check = "Failed check: notNull on customer_id: 12 records have a null customer_id."
    assert description == {
        "version": 1,
        "type": "doc",
        "content": [
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": "Both from the 02:00 load."}],
            },
            {"type": "rule"},
            {
                "type": "paragraph",
                "content": [
                    {
                        "type": "text",
                        "text": "Qualytics Anomalies Linked [2024-01-15 10:30:00 UTC]: 2 anomalies",
                        "marks": [{"type": "strong"}],
                    }
                ],
            },
            _facts(
                f"Anomaly ID: 7001 ({ANOMALY_UUID})",
                "Status: Active",
                "Type: Shape",
                "Detected: 2024-01-14 22:00:00 UTC",
                "Datastore: Sales Warehouse",
                "Container: orders",
                "Assignees: Ana Lima, author",
                check,
            ),
            _view_link("https://qualytics.example.com/anomalies/7001/"),
            _facts(
                f"Anomaly ID: 7002 ({second_uuid})",
                "Status: Active",
                "Type: Record",
                "Detected: 2024-01-14 23:00:00 UTC",
                "Datastore: Sales Warehouse",
                "Container: orders",
                check,
            ),
            _view_link("https://qualytics.example.com/anomalies/7002/"),
        ],
    }


def test_it_writes_a_single_anomaly_bulk_ticket_as_a_single_create(anomaly_with_two_checks):
    assert outbound.issue_description_for_many(
        [anomaly_with_two_checks], user_description="", linked_at=AT, site_url=SITE_URL
    ) == outbound.issue_description(
        anomaly_with_two_checks, user_description="", linked_at=AT, site_url=SITE_URL
    )
