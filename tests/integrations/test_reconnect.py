"""Reconnect = same site, same links: connecting again to the Jira site of an earlier
connection re-attaches its links (refreshed at once, one search per 100 keys, never two
current links to one issue on one anomaly), keeps another site's links as history, and sends
the comments owed while disconnected only when asked. Over real HTTP to the Jira simulator."""

from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from anomalies.services import acknowledge_anomaly, comment_on_anomaly
from integrations import services
from integrations.models import (
    IntegrationState,
    SyncEvent,
    SyncState,
    TicketingIntegration,
    TicketLink,
)
from integrations.services import sync
from tests.conftest import SIM_EMAIL, SIM_TOKEN, make_link
from tests.integrations import page
from tests.integrations.test_refresh_statuses import (
    create_dq_issues,
    link_every_dq_issue,
    searches,
)

OTHER_SITE = "https://other-site.atlassian.net"


@pytest.fixture(autouse=True)
def eager_tasks(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True


def connect_again(client, jira_sim, captured, **changes):
    form = {
        "host_url": jira_sim.url,
        "credentials": f"{SIM_EMAIL}:{SIM_TOKEN}",
        "default_project_key": "DQ",
        "reattach_links": "on",
        **changes,
    }
    with captured(execute=True):
        return client.post(reverse("integrations:connect"), form, follow=True)


def new_connection() -> TicketingIntegration:
    return TicketingIntegration.objects.connected().get()


def current_links(anomaly) -> list[TicketLink]:
    return list(TicketLink.objects.current().filter(anomaly=anomaly))


def disconnected_integration(host_url: str, manager) -> TicketingIntegration:
    return TicketingIntegration.objects.create(
        connector="jira",
        host_url=host_url,
        credentials=f"{SIM_EMAIL}:{SIM_TOKEN}",
        default_project_key="DQ",
        state=IntegrationState.DISCONNECTED,
        connected_by=manager,
        connected_at=timezone.now(),
        disconnected_at=timezone.now(),
    )


def test_it_reattaches_250_links_refreshing_them_with_one_search_per_100(
    client, anomaly, manager, jira_sim, jira_integration, django_capture_on_commit_callbacks
):
    create_dq_issues(jira_integration, 247)  # DQ-1..DQ-3 are seeded
    assert link_every_dq_issue(anomaly, jira_integration, jira_sim) == 250
    services.disconnect_integration(jira_integration, by=manager)
    client.force_login(manager)
    jira_sim.control.clear_requests()

    response = connect_again(client, jira_sim, django_capture_on_commit_callbacks)

    assert "250 links from the earlier connection to this site are attached again" in (
        response.text
    )
    assert len(searches(jira_sim)) == 3
    links = TicketLink.objects.current()
    assert links.count() == 250
    assert set(links.values_list("integration", flat=True)) == {new_connection().pk}
    assert not links.filter(last_synced_at__isnull=True).exists()
    assert links.values("issue_id").distinct().count() == 250


def test_it_offers_to_keep_the_links_and_does_so_by_default(client, manager, jira_sim):
    client.force_login(manager)

    form = page.parse(client.get(reverse("integrations:connect")))

    checkbox = page.element(form, "input", name="reattach_links")
    assert "checked" in dict(checkbox.attributes)


def test_it_keeps_another_sites_links_as_history(
    client, anomaly, manager, jira_sim, django_capture_on_commit_callbacks
):
    elsewhere = disconnected_integration(OTHER_SITE, manager)
    other = make_link(anomaly, elsewhere, "DQ-1", issue_id="10001")
    client.force_login(manager)

    connect_again(client, jira_sim, django_capture_on_commit_callbacks)

    other.refresh_from_db()
    assert other.integration == elsewhere
    assert other.removed_at is None
    assert "History only" in client.get(reverse("anomalies:detail", args=[anomaly.pk])).text


def test_it_leaves_the_links_as_history_when_asked_to(
    client, anomaly, manager, jira_sim, jira_integration, django_capture_on_commit_callbacks
):
    old = make_link(anomaly, jira_integration, "DQ-1", issue_id="10001")
    services.disconnect_integration(jira_integration, by=manager)
    client.force_login(manager)

    connect_again(client, jira_sim, django_capture_on_commit_callbacks, reattach_links="")

    old.refresh_from_db()
    assert old.integration == jira_integration


def test_it_reattaches_one_link_per_issue_when_several_connections_left_one(
    client, anomaly, manager, jira_sim, django_capture_on_commit_callbacks
):
    first = disconnected_integration(jira_sim.url, manager)
    second = disconnected_integration(jira_sim.url + "/", manager)  # same site, spelled apart
    make_link(anomaly, first, "DQ-1", issue_id="10001")
    newest = make_link(anomaly, second, "DQ-1", issue_id="10001")
    client.force_login(manager)

    connect_again(client, jira_sim, django_capture_on_commit_callbacks)

    assert [link.pk for link in current_links(anomaly)] == [newest.pk]
    assert current_links(anomaly)[0].integration == new_connection()


def test_it_reattaches_instead_of_linking_the_same_issue_twice(
    client,
    anomaly,
    manager,
    member_author,
    jira_sim,
    jira_integration,
    django_capture_on_commit_callbacks,
):
    old = make_link(anomaly, jira_integration, "DQ-1", issue_id="10001")
    services.disconnect_integration(jira_integration, by=manager)
    client.force_login(manager)
    connect_again(client, jira_sim, django_capture_on_commit_callbacks, reattach_links="")
    client.force_login(member_author)

    client.post(reverse("integrations:link", args=[anomaly.pk]), {"query": "DQ-1"})

    assert [link.pk for link in current_links(anomaly)] == [old.pk]
    detail = client.get(reverse("anomalies:detail", args=[anomaly.pk])).text
    assert detail.count('data-key="DQ-1"') == 1
    assert "History only" not in detail


# --- comments owed while disconnected --------------------------------------------------------


def comment_posts(jira_sim) -> list[dict]:
    return [
        r for r in jira_sim.control.requests() if r["method"] == "POST" and "/comment" in r["path"]
    ]


@pytest.fixture
def missed_while_disconnected(
    anomaly, manager, member_author, jira_sim, jira_integration, monkeypatch
):
    """DQ-2 linked; one comment cancelled by the disconnect, one change made while
    disconnected. Returns the old link."""
    monkeypatch.setattr(sync, "enqueue_deliveries", lambda ids: None)  # no worker yet
    issue = jira_sim.control.issue("DQ-2")
    link = make_link(anomaly, jira_integration, "DQ-2", issue_id=issue["id"])
    comment_on_anomaly(anomaly, by=member_author, text="Checked the loader.")
    services.disconnect_integration(jira_integration, by=manager)
    acknowledge_anomaly(anomaly, by=member_author)
    monkeypatch.undo()
    return link


def test_it_does_not_replay_what_was_missed_but_says_so(
    client,
    anomaly,
    manager,
    member_author,
    jira_sim,
    missed_while_disconnected,
    django_capture_on_commit_callbacks,
):
    client.force_login(manager)
    jira_sim.control.clear_requests()

    settings_page = connect_again(client, jira_sim, django_capture_on_commit_callbacks).text

    assert "2 comments owed while it was disconnected were not sent" in settings_page
    assert comment_posts(jira_sim) == []
    client.force_login(member_author)
    detail = client.get(reverse("anomalies:detail", args=[anomaly.pk])).text
    assert "2 comments from while Jira was disconnected were not sent" in detail


def test_it_sends_the_missed_comments_of_an_anomaly_when_asked(
    client,
    anomaly,
    manager,
    member_author,
    jira_sim,
    missed_while_disconnected,
    django_capture_on_commit_callbacks,
):
    client.force_login(manager)
    connect_again(client, jira_sim, django_capture_on_commit_callbacks)
    client.force_login(member_author)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("integrations:send_missed_for_anomaly", args=[anomaly.pk]), follow=True
        )

    assert response.status_code == HTTPStatus.OK
    assert "Sending 2 missed comments to Jira." in response.text
    _drain(missed_while_disconnected)
    texts = [comment["text"] for comment in jira_sim.control.comments("DQ-2")]
    assert texts[-2].endswith("Checked the loader.")
    assert texts[-1].endswith("Qualytics Anomaly Status: Acknowledged")


def test_it_sends_every_missed_comment_from_settings(
    client,
    orders,
    anomaly,
    manager,
    jira_sim,
    missed_while_disconnected,
    django_capture_on_commit_callbacks,
):
    client.force_login(manager)
    connect_again(client, jira_sim, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("integrations:send_missed", args=[new_connection().pk]))

    _drain(missed_while_disconnected)
    assert not SyncEvent.objects.filter(state=SyncState.CANCELLED).exists()
    assert SyncEvent.objects.filter(state=SyncState.DELIVERED).count() == 2


def test_it_syncs_new_changes_of_reattached_links_at_once(
    client,
    orders,
    manager,
    member_author,
    jira_sim,
    missed_while_disconnected,
    django_capture_on_commit_callbacks,
):
    client.force_login(manager)
    connect_again(client, jira_sim, django_capture_on_commit_callbacks)
    anomaly = missed_while_disconnected.anomaly
    jira_sim.control.clear_requests()

    with django_capture_on_commit_callbacks(execute=True):
        comment_on_anomaly(anomaly, by=member_author, text="After the reconnection.")

    texts = [comment["text"] for comment in jira_sim.control.comments("DQ-2")]
    assert texts[-1].endswith("After the reconnection.")
    assert len(comment_posts(jira_sim)) == 1  # only the new change; nothing replayed


def _drain(link: TicketLink) -> None:
    """Deliver what is pending on the link, as a worker would, one after the other."""
    for _ in range(10):
        head = SyncEvent.objects.filter(link=link, state=SyncState.PENDING).order_by("pk").first()
        if head is None:
            return
        services.deliver_sync_event(head.pk)
