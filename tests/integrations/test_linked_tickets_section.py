"""The "Linked Tickets" section of the anomaly page (PRODUCT.md §4, "Each linked ticket shows")."""

from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anomalies import services as anomaly_services
from integrations import services
from integrations.models import TicketLink
from tests.conftest import make_anomaly
from tests.integrations import page


def anomaly_page(client, anomaly):
    response = client.get(reverse("anomalies:detail", args=[anomaly.pk]))
    assert response.status_code == HTTPStatus.OK
    return page.parse(response)


def linked_tickets(root):
    section = page.element(root, "section", id="linked-tickets")
    assert section is not None, "the anomaly page has no Linked Tickets section"
    return section


def ticket(root, key: str):
    found = page.element(linked_tickets(root), "li", **{"data-key": key})
    assert found is not None, f"{key} is not listed"
    return found


def keys_listed(root) -> list[str]:
    items = page.elements(linked_tickets(root), "li", class_="ticket")
    return [page.attribute(item, "data-key") for item in items]


def badge(ticket_item):
    return page.element(ticket_item, "span", class_="badge")


def refresh(client, anomaly, **kwargs):
    return client.post(reverse("integrations:refresh", args=[anomaly.pk]), **kwargs)


def link_issues(anomaly, keys, *, integration, by) -> list[TicketLink]:
    return [
        services.link_existing_issue(anomaly, key, integration=integration, by=by) for key in keys
    ]


# --- what each linked ticket shows ------------------------------------------------------


def test_it_shows_the_key_opening_jira_in_a_new_tab_and_the_summary(
    client, anomaly, member_author, member_reporter, jira_sim, jira_integration
):
    link_issues(anomaly, ["DQ-1"], integration=jira_integration, by=member_author)
    client.force_login(member_reporter)

    item = ticket(anomaly_page(client, anomaly), "DQ-1")

    key = page.element(item, "a", class_="ticket-key")
    assert page.text(key) == "DQ-1"
    assert page.attribute(key, "href") == f"{jira_sim.url}/browse/DQ-1"
    assert page.attribute(key, "target") == "_blank"
    summary = page.element(item, "span", class_="ticket-summary")
    assert page.text(summary) == "Null values in orders.customer_id"


@pytest.mark.parametrize(
    ("key", "status", "badge_class"),
    [
        ("DQ-1", "To Do", "jira-new"),
        ("DQ-2", "In Progress", "jira-indeterminate"),
        ("DQ-3", "Done", "jira-done"),
    ],
)
def test_it_colours_the_status_badge_by_jira_status_category(
    client, anomaly, member_author, member_reporter, jira_integration, key, status, badge_class
):
    link_issues(anomaly, [key], integration=jira_integration, by=member_author)
    client.force_login(member_reporter)

    status_badge = badge(ticket(anomaly_page(client, anomaly), key))

    assert page.text(status_badge) == status
    assert badge_class in page.classes(status_badge)


def test_it_shows_when_the_status_was_last_synced(
    client, anomaly, member_author, member_reporter, jira_integration
):
    (linked,) = link_issues(anomaly, ["DQ-1"], integration=jira_integration, by=member_author)
    client.force_login(member_reporter)

    item = ticket(anomaly_page(client, anomaly), "DQ-1")

    status_read = page.element(item, "span", class_="status-reason")
    expected = timezone.localtime(linked.last_synced_at).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert page.attribute(status_read, "title") == expected
    assert page.text(status_read) == "status read now"


def test_it_shows_unknown_with_the_reason_when_jira_cannot_answer(
    client, anomaly, member_author, member_reporter, jira_sim, jira_integration
):
    link_issues(anomaly, ["DQ-1"], integration=jira_integration, by=member_author)
    jira_sim.control.add_unavailable(method="POST", path_regex="/search/jql$")
    client.force_login(member_reporter)

    refresh(client, anomaly)

    item = ticket(anomaly_page(client, anomaly), "DQ-1")
    assert page.text(badge(item)) == "Unknown"
    reason = page.element(item, "span", class_="status-reason")  # visible, not a tooltip
    assert page.text(reason).startswith("status unknown: Jira is unavailable")


def test_it_marks_a_deleted_issue_as_a_broken_reference_that_can_be_removed(
    client, anomaly, member_author, jira_sim, jira_integration
):
    link_issues(anomaly, ["DQ-1", "DQ-2"], integration=jira_integration, by=member_author)
    jira_sim.control.delete_issue("DQ-1")
    client.force_login(member_author)

    refresh(client, anomaly)

    root = anomaly_page(client, anomaly)
    broken = ticket(root, "DQ-1")
    assert "ticket-broken" in page.classes(broken)
    assert page.text(badge(broken)) == "Broken reference"
    assert "deleted" in page.attribute(badge(broken), "title")
    assert page.text(badge(ticket(root, "DQ-2"))) == "In Progress"
    remove_form = page.element(broken, "form", class_="ticket-remove")
    client.post(page.attribute(remove_form, "action"))
    assert keys_listed(anomaly_page(client, anomaly)) == ["DQ-2"]


def test_it_shows_comments_still_owed_to_jira(
    client, anomaly, member_author, member_reporter, jira_integration
):
    link_issues(anomaly, ["DQ-1"], integration=jira_integration, by=member_author)
    anomaly_services.acknowledge_anomaly(anomaly, by=member_author)
    client.force_login(member_reporter)

    item = ticket(anomaly_page(client, anomaly), "DQ-1")

    assert (
        page.text(page.element(item, "span", class_="sync-state")) == "1 comment pending — sending"
    )


def test_it_drops_a_removed_links_log_but_records_its_cancelled_comment(
    client, anomaly, member_author, jira_sim, jira_integration, django_capture_on_commit_callbacks
):
    from integrations.services.sync import deliver_sync_event

    (link,) = link_issues(anomaly, ["DQ-1"], integration=jira_integration, by=member_author)
    anomaly_services.acknowledge_anomaly(anomaly, by=member_author)
    delivered = link.sync_events.get()
    assert deliver_sync_event(delivered.pk) == "delivered"
    anomaly_services.comment_on_anomaly(anomaly, by=member_author, text="Checked upstream")
    services.remove_ticket_link(link, by=member_author)  # cancels the pending comment
    services.link_existing_issue(anomaly, "DQ-2", integration=jira_integration, by=member_author)
    client.force_login(member_author)

    root = anomaly_page(client, anomaly)

    assert "DQ-1" not in keys_listed(root)  # removed links leave the page, their log too
    item = ticket(root, "DQ-2")
    assert page.element(item, "details", class_="sync-log") is None  # nothing sent to DQ-2 yet
    history = [page.text(li) for li in page.elements(root, "li")]
    assert any("1 pending comment to Jira issue DQ-1 cancelled" in line for line in history)


def test_it_shows_the_delivery_and_the_failure_reason_in_the_sync_log(
    client, anomaly, member_author, jira_sim, jira_integration
):
    from integrations.models import SyncEvent, SyncState

    (link,) = link_issues(anomaly, ["DQ-1"], integration=jira_integration, by=member_author)
    now = timezone.now()
    SyncEvent.objects.create(
        link=link,
        kind="acknowledged",
        body="[t] Qualytics Anomaly Status: Acknowledged",
        created_at=now,
        state=SyncState.DELIVERED,
        delivered_at=now,
        attempts=1,
    )
    SyncEvent.objects.create(
        link=link,
        kind="commented",
        body="[t] Comment from Qualytics (A): too long",
        created_at=now,
        state=SyncState.FAILED,
        finished_reason="Jira rejected the comment.",
    )
    client.force_login(member_author)

    log = page.element(ticket(anomaly_page(client, anomaly), "DQ-1"), "details", class_="sync-log")

    rows = [page.text(li) for li in page.elements(log, "li")]
    assert page.text(page.element(log, "summary")) == "Sync log (2)"
    assert rows[0].startswith("Failed [t] Comment from Qualytics (A): too long")
    assert rows[0].endswith("Jira rejected the comment.")
    assert rows[1].startswith("Delivered [t] Qualytics Anomaly Status: Acknowledged posted")


# --- without a connected integration ----------------------------------------------------


def settings_link(root):
    return page.element(linked_tickets(root), "a", href=reverse("integrations:list"))


def test_it_says_no_integration_is_connected(client, anomaly, member_author):
    client.force_login(member_author)

    section = linked_tickets(anomaly_page(client, anomaly))

    assert "No ticketing integration is connected" in page.text(section)
    assert page.element(section, "a", class_="primary") is None  # no "Create Jira ticket"
    assert settings_link(anomaly_page(client, anomaly)) is None


@pytest.mark.parametrize("persona", ["manager", "admin"])
def test_it_points_managers_and_admins_to_the_settings(client, anomaly, persona, request):
    client.force_login(request.getfixturevalue(persona))

    link = settings_link(anomaly_page(client, anomaly))

    assert link is not None
    assert "connect Jira or ServiceNow in Settings" in page.text(link)


# --- queries ------------------------------------------------------------------------------


def add_links(anomaly, integration, count: int) -> None:
    now = timezone.now()
    TicketLink.objects.bulk_create(
        TicketLink(
            anomaly=anomaly,
            integration=integration,
            origin=TicketLink.Origin.LINKED,
            issue_id=str(20000 + number),
            issue_key=f"DQ-{100 + number}",
            url=f"{integration.host_url}/browse/DQ-{100 + number}",
            summary=f"Issue {number}",
            status_name="To Do",
            status_category="new",
            last_synced_at=now,
            linked_at=now,
        )
        for number in range(count)
    )


def queries_for_anomaly_page(client, anomaly) -> int:
    with CaptureQueriesContext(connection) as captured:
        anomaly_page(client, anomaly)
    return len(captured)


def test_it_renders_the_page_in_the_same_number_of_queries_for_1_or_10_links(
    client, orders, member_author, jira_integration
):
    one, ten = make_anomaly(orders), make_anomaly(orders, description="Ten links")
    add_links(one, jira_integration, 1)
    add_links(ten, jira_integration, 10)
    client.force_login(member_author)
    anomaly_page(client, one)  # warm up the session and the permission caches

    assert queries_for_anomaly_page(client, ten) == queries_for_anomaly_page(client, one)
    assert len(keys_listed(anomaly_page(client, ten))) == 10


def test_it_shows_each_anomalys_linked_keys_in_the_list(
    client, orders, member_author, jira_sim, jira_integration
):
    first, second, untouched = (make_anomaly(orders) for _ in range(3))
    link_issues(first, ["DQ-1", "DQ-2"], integration=jira_integration, by=member_author)
    (removed,) = link_issues(second, ["DQ-3"], integration=jira_integration, by=member_author)
    services.remove_ticket_link(removed, by=member_author)
    client.force_login(member_author)

    response = client.get(reverse("anomalies:list"))

    def chips(tag: str) -> dict[int, list[str]]:
        return {
            anomaly.pk: [
                page.text(chip)
                for note in anomaly.row_notes
                for chip in page.elements(page.parse_html(str(note)), tag, class_="ticket-chip")
            ]
            for anomaly in response.context["page"].object_list
        }

    hint = "(opens in a new tab)"
    assert chips("a") == {
        first.pk: [f"DQ-1 {hint}", f"DQ-2 {hint}"],
        second.pk: [],
        untouched.pk: [],
    }
    # A removed link is history: its key shows struck through, not as a link.
    assert chips("span") == {first.pk: [], second.pk: ["DQ-3"], untouched.pk: []}
