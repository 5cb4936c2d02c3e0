"""The Linked Tickets section updates in place while something is pending (htmx polling).

The page carries a poller only while a note is on its way; the fragment it polls swaps each
link's badge and sync line and the timeline's watched outcomes by id, holds no form, and
answers in the same queries however many links there are.
"""

from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anomalies import services as anomaly_services
from integrations.models import SyncEvent
from integrations.services.sync import deliver_sync_event
from tests.conftest import make_anomaly, make_link
from tests.integrations import page

HTMX = {"HTTP_HX_REQUEST": "true"}


def live_url(anomaly, **query) -> str:
    url = reverse("integrations:linked_tickets_live", args=[anomaly.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def poller(root):
    if page.attribute(root, "id") == "linked-tickets-poll":  # a fragment of that one element
        return root
    return page.element(root, "div", id="linked-tickets-poll")


def anomaly_page(client, anomaly):
    response = client.get(reverse("anomalies:detail", args=[anomaly.pk]))
    assert response.status_code == HTTPStatus.OK
    return page.parse(response)


@pytest.fixture
def acknowledged_with_link(anomaly, member_author, jira_integration):
    make_link(
        anomaly,
        jira_integration,
        "DQ-1",
        status_name="To Do",
        status_category="new",
        last_synced_at=timezone.now(),
    )
    anomaly_services.acknowledge_anomaly(anomaly, by=member_author)
    return anomaly


def test_it_polls_every_2_seconds_while_a_comment_is_pending(
    client, acknowledged_with_link, member_author
):
    client.force_login(member_author)

    found = poller(anomaly_page(client, acknowledged_with_link))

    assert page.attribute(found, "hx-trigger") == "every 2s"
    event = SyncEvent.objects.get()
    url = urlsplit(page.attribute(found, "hx-get"))
    assert url.path == live_url(acknowledged_with_link)
    assert parse_qs(url.query)["changes"] == [str(event.pk)]  # the timeline's pending change


def test_it_redraws_nothing_while_nothing_changed(client, acknowledged_with_link, member_author):
    client.force_login(member_author)
    url = page.attribute(poller(anomaly_page(client, acknowledged_with_link)), "hx-get")

    fragment = page.parse(client.get(url, **HTMX))

    # Only the next poller: no sync line is swapped (and read out again) while it says the same.
    assert page.element(fragment, "span", class_="sync-line") is None
    next_url = urlsplit(page.attribute(poller(fragment), "hx-get"))
    assert next_url.path == urlsplit(url).path
    assert parse_qs(next_url.query) == {**parse_qs(urlsplit(url).query), "quiet": ["1"]}


def test_it_asks_less_often_once_nothing_has_changed_for_a_while(
    client, acknowledged_with_link, member_author
):
    """Every 2 s for the first 30 s of silence, then 5 s, then 15 s: a page left open while
    the workers are down costs little. News brings it back to 2 s."""
    client.force_login(member_author)
    url = page.attribute(poller(anomaly_page(client, acknowledged_with_link)), "hx-get")
    triggers = []
    for _ in range(30):
        found = poller(page.parse(client.get(url, **HTMX)))
        triggers.append(page.attribute(found, "hx-trigger"))
        url = page.attribute(found, "hx-get")

    assert triggers[:14] == ["every 2s"] * 14
    assert triggers[15:26] == ["every 5s"] * 11
    assert triggers[27:] == ["every 15s"] * 3

    deliver_sync_event(SyncEvent.objects.get().pk)  # news: the comment is delivered
    fragment = page.parse(client.get(url, **HTMX))
    assert page.element(fragment, "span", class_="sync-line") is not None


def test_it_does_not_poll_when_nothing_is_pending(client, anomaly, member_author, jira_integration):
    make_link(anomaly, jira_integration, "DQ-1", status_name="To Do", last_synced_at=None)
    client.force_login(member_author)

    found = poller(anomaly_page(client, anomaly))

    # A link whose status a worker reads right after linking is pending for a while…
    assert page.attribute(found, "hx-trigger") == "every 2s"
    anomaly.ticket_links.update(linked_at="2000-01-01T00:00:00Z")
    # …but not forever; with nothing else pending the page does not ask.
    assert page.attribute(poller(anomaly_page(client, anomaly)), "hx-trigger") is None


def test_it_swaps_pending_for_delivered_and_stops_polling(
    client, acknowledged_with_link, member_author, jira_sim
):
    event = SyncEvent.objects.get()
    client.force_login(member_author)
    link = event.link

    before = page.parse(client.get(live_url(acknowledged_with_link, changes=event.pk), **HTMX))
    assert deliver_sync_event(event.pk) == "delivered"
    after = page.parse(client.get(live_url(acknowledged_with_link, changes=event.pk), **HTMX))

    pending_line = page.element(before, "span", id=f"ticket-sync-{link.pk}")
    assert page.text(pending_line).startswith("1 comment pending — sending")
    assert page.attribute(poller(before), "hx-trigger") == "every 2s"
    line = page.element(after, "span", id=f"ticket-sync-{link.pk}")
    assert page.attribute(line, "hx-swap-oob") == "innerHTML"
    assert page.text(line).startswith("1 comment delivered")
    outcome = page.element(after, "span", id=f"fanout-{event.pk}")
    assert page.text(outcome) == "comment delivered to DQ-1"
    badge = page.element(after, "span", id=f"ticket-badge-{link.pk}")
    assert page.text(badge) == "To Do"
    assert page.attribute(poller(after), "hx-trigger") is None  # polling stops


def test_it_sends_no_form_so_typed_input_is_never_replaced(
    client, acknowledged_with_link, member_author
):
    event = SyncEvent.objects.get()
    event.finish("failed", reason="Jira rejected the comment.")
    client.force_login(member_author)

    fragment = page.parse(client.get(live_url(acknowledged_with_link), **HTMX))

    assert page.elements(fragment, "form") == []
    assert page.elements(fragment, "input") == [] and page.elements(fragment, "textarea") == []
    # Retry still works: it submits the section's static form, which the fragment leaves be.
    retry = page.element(fragment, "button")
    assert page.text(retry) == "Retry"
    assert page.attribute(retry, "form") == f"sync-retry-{acknowledged_with_link.pk}"
    assert page.attribute(retry, "formaction") == reverse(
        "integrations:retry_event", args=[event.pk]
    )
    static_form = page.element(
        anomaly_page(client, acknowledged_with_link),
        "form",
        id=f"sync-retry-{acknowledged_with_link.pk}",
    )
    assert page.attribute(static_form, "method") == "post"


def test_it_sends_a_person_who_opens_the_address_to_the_page(
    client, acknowledged_with_link, member_author
):
    client.force_login(member_author)

    response = client.get(live_url(acknowledged_with_link))

    assert response.status_code == HTTPStatus.FOUND
    detail = reverse("anomalies:detail", args=[acknowledged_with_link.pk])
    assert response["Location"] == detail + "#linked-tickets"


def test_it_hides_the_fragment_from_outsiders_as_the_page_does(
    client, acknowledged_with_link, outsider
):
    response = client.get(live_url(acknowledged_with_link), **HTMX)
    assert response.status_code == HTTPStatus.FOUND  # to the sign-in page
    assert response["Location"].startswith(reverse("login"))

    client.force_login(outsider)
    assert client.get(live_url(acknowledged_with_link), **HTMX).status_code == (
        HTTPStatus.NOT_FOUND
    )


def test_it_answers_reporters_who_can_see_the_page(client, acknowledged_with_link, member_reporter):
    client.force_login(member_reporter)

    fragment = page.parse(client.get(live_url(acknowledged_with_link), **HTMX))

    assert page.element(fragment, "button") is None  # nothing a Reporter may not do


def test_it_refuses_anything_but_get(client, acknowledged_with_link, member_author):
    client.force_login(member_author)

    response = client.post(live_url(acknowledged_with_link), **HTMX)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED


def queries_for_fragment(client, anomaly) -> int:
    changes = ",".join(str(pk) for pk in SyncEvent.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(live_url(anomaly, changes=changes), **HTMX)
    assert response.status_code == HTTPStatus.OK
    return len(captured)


def test_it_answers_in_the_same_queries_for_1_or_10_links(
    client, orders, member_author, jira_integration
):
    one, ten = make_anomaly(orders), make_anomaly(orders, description="Ten links")
    make_link(one, jira_integration, "DQ-1")
    for number in range(10):
        make_link(ten, jira_integration, f"DQ-{number + 1}", issue_id=str(10001 + number))
    for anomaly in (one, ten):
        anomaly_services.acknowledge_anomaly(anomaly, by=member_author)
    client.force_login(member_author)
    queries_for_fragment(client, one)  # warm up the session and the permission caches

    counts = [queries_for_fragment(client, one), queries_for_fragment(client, ten)]

    assert counts[0] == counts[1]
    # Pinned: session and user, the anomaly and the viewer's access (2), the links with their
    # sync state, the watched changes' events.
    assert counts[1] == 6, counts
