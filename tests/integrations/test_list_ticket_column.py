"""The anomaly list's Tickets column (registered by integrations): each row's tickets as
links with their status and markers, and the live chips of rows whose sync is pending."""

from __future__ import annotations

import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anomalies.models import Anomaly, Container, Datastore
from integrations.models import StatusCategory, SyncEvent, SyncState, TicketLink
from tests.conftest import make_anomaly, make_link

LIST_URL = reverse("anomalies:list")
CHIPS_URL = reverse("integrations:row_tickets")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def author_client(client, member_author):
    client.force_login(member_author)
    return client


def event(link, state: str) -> SyncEvent:
    return SyncEvent.objects.create(
        link=link, kind="acknowledged", body="x", state=state, created_at=timezone.now()
    )


def cell(page: str, anomaly_id: int) -> str:
    """The Tickets cell of one row."""
    found = re.search(rf'<span class="row-tickets" id="row-tickets-{anomaly_id}".*?</td>', page)
    assert found, f"no tickets for #{anomaly_id}"
    return found.group(0)


def test_it_links_each_ticket_in_a_new_tab_with_its_status(author_client, orders, jira_integration):
    anomaly = make_anomaly(orders)
    make_link(
        anomaly,
        jira_integration,
        "DQ-7",
        issue_id="7",
        status_name="In Review",
        status_category=StatusCategory.IN_PROGRESS,
    )

    tickets = cell(author_client.get(LIST_URL).text, anomaly.pk)

    assert (
        f'<a class="ticket-chip" href="{jira_integration.host_url}/browse/DQ-7" target="_blank" '
        'rel="noopener">DQ-7<span class="visually-hidden"> (opens in a new tab)</span></a>'
    ) in tickets
    assert '<span class="badge jira-indeterminate">In Review</span>' in tickets
    assert "Sync" not in tickets and "Broken" not in tickets


def test_it_marks_pending_and_failed_sync_and_broken_references(
    author_client, orders, jira_integration
):
    pending, failed, broken = make_anomaly(orders), make_anomaly(orders), make_anomaly(orders)
    event(make_link(pending, jira_integration, "DQ-1", issue_id="1"), SyncState.PENDING)
    event(make_link(failed, jira_integration, "DQ-2", issue_id="2"), SyncState.FAILED)
    make_link(broken, jira_integration, "DQ-3", issue_id="3", broken_reason="Deleted in Jira")

    page = author_client.get(LIST_URL).text

    assert "Sync pending" in cell(page, pending.pk) and "data-sync-pending" in cell(
        page, pending.pk
    )
    assert "Sync failed" in cell(page, failed.pk)
    assert "Broken reference" in cell(page, broken.pk)
    assert "data-sync-pending" not in cell(page, failed.pk) + cell(page, broken.pk)


def test_it_tells_history_only_links_apart(author_client, orders, jira_integration):
    anomaly = make_anomaly(orders)
    make_link(anomaly, jira_integration, "DQ-4", issue_id="4", removed_at=timezone.now())
    make_link(anomaly, jira_integration, "DQ-5", issue_id="5")
    # Relinked after a removal: the current link shows, not its history.
    make_link(anomaly, jira_integration, "DQ-5", issue_id="5", removed_at=timezone.now())

    tickets = cell(author_client.get(LIST_URL).text, anomaly.pk)

    assert (
        '<span class="row-ticket ticket-history"><span class="ticket-chip">DQ-4</span>' in tickets
    )
    assert "removed" in tickets and "DQ-4</a>" not in tickets  # not a link: history only
    assert tickets.count("DQ-5<span") == 1 and ">DQ-5</span>" not in tickets


def test_it_never_links_a_stored_url_that_is_not_http(author_client, orders, jira_integration):
    anomaly = make_anomaly(orders)
    link = make_link(anomaly, jira_integration, "DQ-6", issue_id="6")
    TicketLink.objects.filter(pk=link.pk).update(url="javascript:alert(1)")

    tickets = cell(author_client.get(LIST_URL).text, anomaly.pk)

    assert "javascript:" not in tickets and '<span class="ticket-chip">DQ-6</span>' in tickets


# --- live chips ---------------------------------------------------------------------------


def poller(page: str) -> str:
    return re.search(r'<div id="ticket-poller"[^>]*>', page).group(0)


def test_it_polls_only_the_pending_rows_and_nothing_when_none_is(
    author_client, orders, jira_integration
):
    pending, synced = make_anomaly(orders), make_anomaly(orders)
    link = make_link(pending, jira_integration, "DQ-1", issue_id="1")
    queued = event(link, SyncState.PENDING)
    event(make_link(synced, jira_integration, "DQ-2", issue_id="2"), SyncState.DELIVERED)

    live = poller(author_client.get(LIST_URL).text)
    queued.state = SyncState.DELIVERED
    queued.save()
    calm = poller(author_client.get(LIST_URL).text)

    assert f'hx-get="{CHIPS_URL}?ids={pending.pk}"' in live
    assert 'hx-trigger="every 2s"' in live
    assert calm == '<div id="ticket-poller">'  # no request: polling stops


def test_it_swaps_in_fresh_chips_and_stops_once_delivered(author_client, orders, jira_integration):
    anomaly = make_anomaly(orders)
    queued = event(make_link(anomaly, jira_integration, "DQ-1", issue_id="1"), SyncState.PENDING)

    while_pending = author_client.get(CHIPS_URL, {"ids": [anomaly.pk]}, **HTMX).text
    queued.state = SyncState.DELIVERED
    queued.save()
    delivered = author_client.get(CHIPS_URL, {"ids": [anomaly.pk]}, **HTMX).text

    assert f'id="row-tickets-{anomaly.pk}" data-sync-pending hx-swap-oob="true"' in while_pending
    assert "hx-trigger" in poller(while_pending)
    assert f'id="row-tickets-{anomaly.pk}" hx-swap-oob="true"' in delivered
    assert "Sync pending" not in delivered and "hx-get" not in poller(delivered)


def test_it_gives_chips_only_of_anomalies_the_user_can_see(author_client, orders, jira_integration):
    hidden_store = Datastore.objects.create(name="Hidden")
    hidden = make_anomaly(Container.objects.create(datastore=hidden_store, name="t"))
    event(make_link(hidden, jira_integration, "DQ-9", issue_id="9"), SyncState.PENDING)

    response = author_client.get(CHIPS_URL, {"ids": [hidden.pk]}, **HTMX)

    assert response.status_code == HTTPStatus.OK
    assert "DQ-9" not in response.text and "row-tickets" not in response.text


def test_it_sends_a_plain_browser_to_the_list(author_client):
    response = author_client.get(CHIPS_URL, {"ids": ["1"]})

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == LIST_URL


def test_it_asks_anonymous_visitors_to_sign_in(client):
    response = client.get(CHIPS_URL, {"ids": ["1"]}, **HTMX)

    assert response.status_code == HTTPStatus.FOUND
    assert "/login/" in response["Location"]


# --- the query count at scale ---------------------------------------------------------------


def _seed(orders, integration, anomalies: int, links: int) -> None:
    """`anomalies` anomalies, the newest `links` of them linked, half of those syncing."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        _insert_anomalies_in_postgres(orders, anomalies)
    else:
        Anomaly.objects.bulk_create(
            Anomaly(
                datastore=orders.datastore,
                container=orders,
                anomaly_type="record",
                description=f"scale {n}",
                fingerprint=f"scale-{n}",
                detected_at=now - timedelta(seconds=n),
            )
            for n in range(anomalies)
        )
    newest = Anomaly.objects.order_by("-detected_at", "-id").values_list("pk", flat=True)[:links]
    created = TicketLink.objects.bulk_create(
        (
            TicketLink(
                anomaly_id=pk,
                integration=integration,
                origin=TicketLink.Origin.LINKED,
                issue_id=str(n),
                issue_key=f"DQ-{n}",
                url=f"{integration.host_url}/browse/DQ-{n}",
                linked_at=now,
            )
            for n, pk in enumerate(newest)
        ),
        batch_size=5000,
    )
    SyncEvent.objects.bulk_create(
        (SyncEvent(link=link, kind="commented", body="x", created_at=now) for link in created[::2]),
        batch_size=5000,
    )


def _insert_anomalies_in_postgres(orders, count: int) -> None:
    """Rows made by Postgres itself (one statement: a second for 100,000), as bench/seed.py."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO anomalies_anomaly (uuid, datastore_id, container_id, anomaly_type,
                status, weight, anomalous_record_count, description, detected_at, fingerprint,
                archive_note, status_changed_at, created_at)
            SELECT gen_random_uuid(), %(datastore)s, %(container)s, 'record', 'Active', 8, 1,
                'scale ' || i, now() - make_interval(secs => i), 'scale-' || i, '', NULL, now()
            FROM generate_series(1, %(count)s) AS i
            """,
            {"datastore": orders.datastore_id, "container": orders.pk, "count": count},
        )
        cursor.execute("ANALYZE anomalies_anomaly")


def _list_queries(client, query: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_URL, query)
    assert response.status_code == HTTPStatus.OK
    return len(queries)


PAGES = [{}, {"size": "100"}, {"page": "last"}, {"ticket": "has"}]


def test_it_runs_as_many_queries_with_a_few_anomalies_as_with_many(
    author_client, orders, jira_integration
):
    """Two sizes on every database: the count of queries does not grow with the rows."""
    _seed(orders, jira_integration, 30, 10)
    few = [_list_queries(author_client, query) for query in PAGES]
    _seed_more(orders, jira_integration)
    many = [_list_queries(author_client, query) for query in PAGES]

    assert few == many


def _seed_more(orders, jira_integration) -> None:
    Anomaly.objects.all().delete()
    _seed(orders, jira_integration, 1500, 300)


def test_it_runs_the_same_queries_at_100000_anomalies_with_10000_links(
    author_client, orders, jira_integration
):
    """The issue's scale, on Postgres (bulk inserts keep the setup to seconds)."""
    if connection.vendor != "postgresql":
        pytest.skip("the scale test builds its rows with Postgres's fast bulk inserts")
    _seed(orders, jira_integration, 30, 10)
    few = [_list_queries(author_client, query) for query in PAGES]
    Anomaly.objects.all().delete()
    _seed(orders, jira_integration, 100_000, 10_000)

    page = author_client.get(LIST_URL, {"ticket": "has"}).text
    assert [_list_queries(author_client, query) for query in PAGES] == few
    assert "1,000+ matching" in page and page.count('class="row-ticket"') == 50
