"""Jira webhooks (PRODUCT.md §7, two-way sync): the signed endpoint, what a delivery changes on
the anomaly, and the Settings panel that sets it up and shows the secret once."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from anomalies.models import HistoryEntry
from anomalies.services import comment_on_anomaly
from integrations import services
from integrations.jira import webhook as webhooks
from integrations.models import (
    StatusCategory,
    SyncEvent,
    SyncState,
    TicketLink,
    WebhookDelivery,
)
from simulators.jira import SimulatorControl
from tests.conftest import make_anomaly, make_link
from tests.integrations import page

SECRET = "the-webhook-secret-3f9a"
MEMBERS = ["member_author", "member_reporter", "outsider"]
MANAGERS = ["admin", "manager"]
PANEL_ACTIONS = ["webhook_set_up", "webhook_replace", "webhook_turn_off"]


@pytest.fixture
def webhook_on(jira_integration):
    """The connected Jira integration, with its webhook set up."""
    jira_integration.webhook_secret = SECRET
    jira_integration.save(update_fields=["webhook_secret"])
    return jira_integration


@pytest.fixture
def dq1(anomaly, member_author, webhook_on) -> TicketLink:
    """DQ-1 (To Do in the simulator) linked to the anomaly."""
    return link(anomaly, "DQ-1", webhook_on, member_author)


def link(anomaly, key: str, integration, by) -> TicketLink:
    return services.link_existing_issue(anomaly, key, integration=integration, by=by)


def issue_payload(
    event: str,
    link: TicketLink,
    *,
    status: str = "In Progress",
    category: str = "indeterminate",
    summary: str = "Null customer ids",
    **issue_changes,
) -> dict:
    """The v2-style body of an admin webhook (docs/jira-api.md §4.4)."""
    site = link.integration.host_url
    issue = {
        "id": link.issue_id,
        "self": f"{site}/rest/api/2/{link.issue_id}",
        "key": link.issue_key,
        "fields": {
            "summary": summary,
            "description": "plain string",
            "status": {
                "self": f"{site}/rest/api/2/status/3",
                "name": status,
                "id": "3",
                "statusCategory": {"id": 4, "key": category, "name": "In Progress"},
            },
        },
        **issue_changes,
    }
    return {
        "timestamp": int(time.time() * 1000),  # Jira stamps each event when it happens
        "webhookEvent": event,
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "712020:sim-alice", "displayName": "Alice Andersen"},
        "issue": issue,
    }


def stored_link(anomaly, integration, key: str) -> TicketLink:
    """A link to a simulator issue in To Do, stored directly: in a transactional test,
    linking would hand a status refresh to the Celery broker on commit."""
    issue = integration_issue(integration, key)
    return make_link(
        anomaly,
        integration,
        key,
        issue_id=issue["id"],
        url=issue["browseUrl"],
        status_name="To Do",
        status_category=StatusCategory.TO_DO,
    )


def integration_issue(integration, key: str) -> dict:
    return SimulatorControl(integration.host_url).issue(key)


def updated(link: TicketLink, **changes) -> dict:
    return issue_payload("jira:issue_updated", link, **changes)


def deleted(link: TicketLink) -> dict:
    return issue_payload("jira:issue_deleted", link)


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(client, integration, payload=None, *, body=None, signature=None, **headers):
    """POST like Jira: signed with SECRET unless `signature` says otherwise ("" = unsigned)."""
    body = json.dumps(payload).encode() if body is None else body
    headers.setdefault("X-Atlassian-Webhook-Identifier", str(uuid.uuid4()))
    signature = sign(body) if signature is None else signature
    if signature:
        headers["X-Hub-Signature"] = signature
    url = reverse("integrations:jira_webhook", args=[integration.pk])
    return client.post(url, data=body, content_type="application/json", headers=headers)


def status_history(anomaly) -> list[str]:
    return list(
        HistoryEntry.objects.filter(anomaly=anomaly, action="ticket_status_changed")
        .order_by("id")
        .values_list("summary", flat=True)
    )


# --- authentication -------------------------------------------------------------------------


def test_it_refuses_a_delivery_without_a_signature(client, dq1):
    response = deliver(client, dq1.integration, updated(dq1), signature="")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    dq1.refresh_from_db()
    assert dq1.status_name == "To Do"
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "wrong",
    [
        "sha256=" + "0" * 64,
        sign(b"another body"),
        sign(b"{}", secret="someone-elses-secret"),
        "sha1=" + hmac.new(SECRET.encode(), b"", hashlib.sha1).hexdigest(),
        "sha256=not-hex-é",
    ],
)
def test_it_refuses_a_wrong_signature(client, dq1, wrong):
    response = deliver(client, dq1.integration, updated(dq1), signature=wrong)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    dq1.refresh_from_db()
    assert dq1.status_name == "To Do"
    assert not WebhookDelivery.objects.exists()


def test_it_accepts_the_right_signature(client, dq1):
    response = deliver(client, dq1.integration, updated(dq1))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"outcome": "applied"}


def make_secret_unreadable(integration) -> None:
    """As after SECRET_KEY or CRYPTOGRAPHY_KEY changed."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote('integrations_ticketingintegration')} "
            f"SET {quote('webhook_secret')} = %s WHERE id = %s",
            [b"encrypted with keys long gone", integration.pk],
        )


def test_it_refuses_every_delivery_when_the_secret_cannot_be_read(client, dq1, manager):
    make_secret_unreadable(dq1.integration)

    response = deliver(client, dq1.integration, updated(dq1))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    dq1.refresh_from_db()
    assert dq1.status_name == "To Do"
    client.force_login(manager)
    assert "The webhook secret cannot be read" in page.text(panel(client)[1])


def test_it_keeps_the_secret_and_the_signature_out_of_the_logs(client, dq1, caplog):
    for name in (None, "django", "django.request", "django.db.backends", "integrations"):
        caplog.set_level(logging.DEBUG, logger=name)
    body = json.dumps(updated(dq1)).encode()
    right = sign(body)
    wrong = sign(body, secret="a-wrong-secret-7c1d")

    deliver(client, dq1.integration, body=body, signature=right)
    deliver(client, dq1.integration, body=body, signature=wrong)
    deliver(client, dq1.integration, body=body, signature="")

    assert caplog.records
    for secret in (SECRET, right.removeprefix("sha256="), wrong.removeprefix("sha256=")):
        assert secret not in caplog.text


# --- which integration ----------------------------------------------------------------------


def test_it_answers_404_when_the_integration_is_disconnected(client, dq1, manager):
    services.disconnect_integration(dq1.integration, by=manager)

    response = deliver(client, dq1.integration, updated(dq1))

    assert response.status_code == HTTPStatus.NOT_FOUND
    dq1.refresh_from_db()
    assert dq1.status_name == "To Do"


def test_it_answers_404_when_no_webhook_is_set_up(client, anomaly, member_author, jira_integration):
    linked = link(anomaly, "DQ-1", jira_integration, member_author)

    response = deliver(client, jira_integration, updated(linked))

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_it_answers_404_for_an_unknown_integration(client, dq1):
    url = reverse("integrations:jira_webhook", args=[dq1.integration_id + 1])

    response = client.post(url, data=b"{}", content_type="application/json")

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_it_takes_only_posts(client, webhook_on):
    url = reverse("integrations:jira_webhook", args=[webhook_on.pk])

    assert client.get(url).status_code == HTTPStatus.METHOD_NOT_ALLOWED


# --- bodies ---------------------------------------------------------------------------------


def test_it_refuses_a_body_over_1_mib(client, dq1):
    payload = updated(dq1, summary="x" * webhooks.MAX_BODY_BYTES)

    response = deliver(client, dq1.integration, payload)

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    dq1.refresh_from_db()
    assert dq1.status_name == "To Do"


def test_it_refuses_a_signed_body_that_is_not_a_json_object(client, dq1):
    for body in (b"not json", b"[1, 2]"):
        response = deliver(client, dq1.integration, body=body)
        assert response.status_code == HTTPStatus.BAD_REQUEST


def test_it_answers_200_to_an_event_it_does_not_use(client, dq1):
    payload = {**updated(dq1), "webhookEvent": "comment_created", "comment": {"body": "Hi"}}

    response = deliver(client, dq1.integration, payload)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"outcome": "ignored"}
    dq1.refresh_from_db()
    assert dq1.status_name == "To Do"


def test_it_answers_200_for_an_issue_no_anomaly_links(client, dq1):
    other = TicketLink(integration=dq1.integration, issue_id="99999", issue_key="DQ-99")

    response = deliver(client, dq1.integration, updated(other))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"outcome": "not_linked"}


# --- dedup ----------------------------------------------------------------------------------


def test_it_applies_a_repeated_delivery_once(client, dq1):
    identifier = "b7a5c0de-0000-4000-8000-000000000001"
    deliver(client, dq1.integration, updated(dq1), **{"X-Atlassian-Webhook-Identifier": identifier})

    again = deliver(
        client,
        dq1.integration,
        updated(dq1, status="Done", category="done"),
        **{"X-Atlassian-Webhook-Identifier": identifier, "X-Atlassian-Webhook-Retry": "1"},
    )

    assert again.status_code == HTTPStatus.OK
    assert again.json() == {"outcome": "duplicate"}
    dq1.refresh_from_db()
    assert dq1.status_name == "In Progress"
    assert status_history(dq1.anomaly) == ["Jira issue DQ-1 moved to In Progress"]
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers, so two deliveries cannot overlap; this runs on Postgres",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_applies_once_when_jira_retries_while_the_first_copy_is_in_flight(
    monkeypatch, anomaly, webhook_on
):
    linked = stored_link(anomaly, webhook_on, "DQ-1")
    slow_apply = webhooks._apply

    def apply_slowly(*args):
        time.sleep(0.3)  # the copy's insert now waits on the first copy's uncommitted row
        return slow_apply(*args)

    monkeypatch.setattr(webhooks, "_apply", apply_slowly)
    body = json.dumps(updated(linked)).encode()
    start_together = threading.Barrier(2)
    outcomes: list[str] = []

    def receive() -> None:
        try:
            start_together.wait(timeout=5)
            outcomes.append(
                webhooks.receive_webhook(
                    webhook_on, body=body, signature=sign(body), identifier="same-delivery"
                )
            )
        finally:
            connection.close()  # each thread has its own database connection

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(outcomes) == ["applied", "duplicate"]
    assert status_history(anomaly) == ["Jira issue DQ-1 moved to In Progress"]


def test_it_records_each_delivery_for_operators(client, dq1):
    deliver(client, dq1.integration, updated(dq1), **{"X-Atlassian-Webhook-Identifier": "d-1"})

    delivery = WebhookDelivery.objects.get()

    assert (delivery.identifier, delivery.event, delivery.issue_key, delivery.outcome) == (
        "d-1",
        "jira:issue_updated",
        "DQ-1",
        WebhookDelivery.Outcome.APPLIED,
    )
    assert delivery.integration == dq1.integration


def test_it_forgets_deliveries_after_a_week(client, dq1):
    deliver(client, dq1.integration, updated(dq1))
    deliver(client, dq1.integration, updated(dq1, summary="Later"))
    WebhookDelivery.objects.filter(pk=WebhookDelivery.objects.order_by("pk").first().pk).update(
        received_at=timezone.now() - timedelta(days=8)
    )

    assert webhooks.prune_webhook_deliveries() == 1
    assert WebhookDelivery.objects.get().issue_key == "DQ-1"


# --- issue updated --------------------------------------------------------------------------


def test_it_reflects_a_new_status_and_summary(client, dq1):
    before = dq1.last_synced_at

    deliver(client, dq1.integration, updated(dq1, summary="Renamed in Jira"))

    dq1.refresh_from_db()
    assert (dq1.status_name, dq1.status_category) == ("In Progress", StatusCategory.IN_PROGRESS)
    assert dq1.summary == "Renamed in Jira"
    assert dq1.last_synced_at > before
    assert status_history(dq1.anomaly) == ["Jira issue DQ-1 moved to In Progress"]


def test_it_shows_the_new_status_on_the_anomaly_page(client, dq1, member_author):
    deliver(client, dq1.integration, updated(dq1, status="Done", category="done"))

    client.force_login(member_author)
    root = page.parse(client.get(reverse("anomalies:detail", args=[dq1.anomaly_id])))
    item = page.element(root, "li", **{"data-key": "DQ-1"})
    badge = page.element(item, "span", class_="badge")
    assert page.text(badge) == "Done"
    assert "jira-done" in page.classes(badge)


def test_it_writes_no_history_when_the_status_did_not_change(client, dq1):
    deliver(client, dq1.integration, updated(dq1, status="To Do", category="new", summary="New"))

    dq1.refresh_from_db()
    assert (dq1.status_name, dq1.summary) == ("To Do", "New")
    assert status_history(dq1.anomaly) == []


def test_it_updates_every_anomaly_linked_to_the_issue(
    client, dq1, orders, member_author, member_reporter
):
    second = link(
        make_anomaly(orders, description="Another"), "DQ-1", dq1.integration, member_author
    )
    removed = link(
        make_anomaly(orders, description="Third"), "DQ-1", dq1.integration, member_author
    )
    services.remove_ticket_link(removed, by=member_author)

    deliver(client, dq1.integration, updated(dq1))

    for linked in (dq1, second):
        linked.refresh_from_db()
        assert linked.status_name == "In Progress"
        assert status_history(linked.anomaly) == ["Jira issue DQ-1 moved to In Progress"]
    removed.refresh_from_db()
    assert removed.status_name == "To Do"
    assert status_history(removed.anomaly) == []


def test_it_finds_the_link_by_issue_id_after_a_move_to_another_project(client, dq1):
    deliver(client, dq1.integration, updated(dq1, key="OPS-7"))

    dq1.refresh_from_db()
    assert dq1.status_name == "In Progress"


def test_it_falls_back_to_the_key_when_the_payload_has_no_id(client, dq1):
    payload = updated(dq1)
    del payload["issue"]["id"]

    deliver(client, dq1.integration, payload)

    dq1.refresh_from_db()
    assert dq1.status_name == "In Progress"


def test_it_maps_an_unknown_status_category_to_no_category(client, dq1):
    deliver(client, dq1.integration, updated(dq1, status="Parked", category="parked"))

    dq1.refresh_from_db()
    assert (dq1.status_name, dq1.status_category) == ("Parked", StatusCategory.NO_CATEGORY)


# --- issue deleted --------------------------------------------------------------------------


def test_it_marks_a_deleted_issue_broken_and_fails_its_pending_comments(client, dq1, member_author):
    comment_on_anomaly(dq1.anomaly, by=member_author, text="First")
    comment_on_anomaly(dq1.anomaly, by=member_author, text="Second")

    response = deliver(client, dq1.integration, deleted(dq1))

    assert response.json() == {"outcome": "applied"}
    dq1.refresh_from_db()
    assert dq1.broken_reason == "The issue was deleted in Jira."
    assert dq1.status_name == ""
    events = SyncEvent.objects.filter(link=dq1)
    assert [event.state for event in events] == [SyncState.FAILED, SyncState.FAILED]
    assert {event.finished_reason for event in events} == {
        "Not sent: The issue was deleted in Jira."
    }
    summaries = set(
        HistoryEntry.objects.filter(anomaly=dq1.anomaly).values_list("summary", flat=True)
    )
    assert "Jira issue DQ-1 was deleted in Jira" in summaries
    assert (
        "Comment to Jira issue DQ-1 failed: Not sent: The issue was deleted in Jira." in summaries
    )


def test_it_shows_a_deleted_issue_as_a_broken_reference(client, dq1, member_author):
    deliver(client, dq1.integration, deleted(dq1))

    client.force_login(member_author)
    root = page.parse(client.get(reverse("anomalies:detail", args=[dq1.anomaly_id])))
    item = page.element(root, "li", **{"data-key": "DQ-1"})
    assert "ticket-broken" in page.classes(item)
    assert page.text(page.element(item, "span", class_="badge")) == "Broken reference"


def test_it_leaves_delivered_comments_alone_when_the_issue_is_deleted(client, dq1, member_author):
    comment_on_anomaly(dq1.anomaly, by=member_author, text="Sent already")
    SyncEvent.objects.update(state=SyncState.DELIVERED, delivered_at=timezone.now())

    deliver(client, dq1.integration, deleted(dq1))

    assert SyncEvent.objects.get().state == SyncState.DELIVERED


# --- Settings › Integrations: the webhook panel ---------------------------------------------


def panel(client):
    response = client.get(reverse("integrations:list"))
    assert response.status_code == HTTPStatus.OK
    return response, page.element(page.parse(response), "section", id="jira-webhook")


@pytest.mark.parametrize("persona", MEMBERS)
def test_it_refuses_the_webhook_actions_to_members(client, request, persona, webhook_on):
    client.force_login(request.getfixturevalue(persona))

    for action in PANEL_ACTIONS:
        response = client.post(reverse(f"integrations:{action}", args=[webhook_on.pk]))
        assert response.status_code == HTTPStatus.FORBIDDEN, action
        assert SECRET not in response.text

    webhook_on.refresh_from_db()
    assert webhook_on.webhook_secret == SECRET


@pytest.mark.parametrize("persona", MANAGERS)
def test_it_offers_managers_and_admins_to_set_up_the_webhook(
    client, request, persona, jira_integration
):
    client.force_login(request.getfixturevalue(persona))

    _response, section = panel(client)

    assert section is not None
    assert "Set up webhook" in page.text(section)


def test_it_takes_only_posts_on_the_panel(client, manager, webhook_on):
    client.force_login(manager)

    for action in PANEL_ACTIONS:
        response = client.get(reverse(f"integrations:{action}", args=[webhook_on.pk]))
        assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED, action


def test_it_shows_the_url_and_the_secret_once(client, manager, jira_integration, settings):
    settings.SITE_URL = "https://qualytics.example.com"
    client.force_login(manager)

    shown = client.post(reverse("integrations:webhook_set_up", args=[jira_integration.pk]))

    jira_integration.refresh_from_db()
    secret = jira_integration.webhook_secret
    assert len(secret) >= 40
    root = page.parse(shown)
    url = f"https://qualytics.example.com/integrations/jira/webhook/{jira_integration.pk}"
    assert page.text(page.element(root, "code", class_="webhook-url")) == url
    assert page.text(page.element(root, "code", class_="webhook-secret")) == secret
    assert "no-store" in shown["Cache-Control"]
    later, section = panel(client)
    assert secret not in later.text
    assert "Configured" in page.text(section)
    assert "None has arrived yet." in page.text(section)
    for again in (
        client.get(reverse("integrations:edit", args=[jira_integration.pk])),
        client.get(reverse("integrations:disconnect", args=[jira_integration.pk])),
        client.get(reverse("integrations:health")),
    ):
        assert secret not in again.text


def test_it_stores_the_webhook_secret_encrypted(client, manager, jira_integration):
    client.force_login(manager)
    client.post(reverse("integrations:webhook_set_up", args=[jira_integration.pk]))
    jira_integration.refresh_from_db()

    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('webhook_secret')} FROM {quote('integrations_ticketingintegration')}"
        )
        (stored,) = cursor.fetchone()

    assert jira_integration.webhook_secret.encode() not in bytes(stored)


def test_it_keeps_the_secret_when_set_up_is_posted_again(client, manager, webhook_on):
    client.force_login(manager)

    response = client.post(
        reverse("integrations:webhook_set_up", args=[webhook_on.pk]), follow=True
    )

    assert "already set up" in response.text
    assert SECRET not in response.text
    webhook_on.refresh_from_db()
    assert webhook_on.webhook_secret == SECRET


def test_it_says_when_the_last_delivery_arrived(client, manager, dq1):
    deliver(client, dq1.integration, updated(dq1))
    client.force_login(manager)

    _response, section = panel(client)

    text = page.text(section)
    assert "jira:issue_updated for DQ-1 (applied to linked tickets)" in text
    assert "now" in text


def test_it_replaces_the_secret_and_refuses_the_old_one(client, manager, dq1):
    client.force_login(manager)

    shown = client.post(reverse("integrations:webhook_replace", args=[dq1.integration_id]))

    dq1.integration.refresh_from_db()
    new_secret = dq1.integration.webhook_secret
    assert new_secret != SECRET
    assert new_secret in shown.text
    body = json.dumps(updated(dq1)).encode()
    old = deliver(client, dq1.integration, body=body)
    assert old.status_code == HTTPStatus.UNAUTHORIZED
    new = deliver(client, dq1.integration, body=body, signature=sign(body, new_secret))
    assert new.status_code == HTTPStatus.OK


def test_it_turns_the_webhook_off(client, manager, dq1):
    client.force_login(manager)

    response = client.post(
        reverse("integrations:webhook_turn_off", args=[dq1.integration_id]), follow=True
    )

    assert "The Jira webhook is turned off" in response.text
    dq1.integration.refresh_from_db()
    assert not dq1.integration.has_webhook
    assert deliver(client, dq1.integration, updated(dq1)).status_code == HTTPStatus.NOT_FOUND
    _response, section = panel(client)
    assert "Set up webhook" in page.text(section)


def test_it_shows_no_webhook_panel_without_a_connected_jira(client, manager):
    client.force_login(manager)

    _response, section = panel(client)

    assert section is None


# --- end to end: the simulator delivers to the running app -------------------------------


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# serialized_rollback: the live server needs committed rows, and the tables are emptied after
# the test; this puts back first what the migrations created (the Public team).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_reflects_what_the_simulator_delivers_to_the_live_app(
    live_server, settings, jira_sim, jira_integration, anomaly, manager
):
    settings.SITE_URL = live_server.url
    secret = webhooks.set_webhook_secret(jira_integration, by=manager)
    linked = stored_link(anomaly, jira_integration, "DQ-1")
    jira_sim.control.add_webhook(webhooks.webhook_url(jira_integration), secret=secret)

    jira_sim.control.move_issue("DQ-1", status="In Progress")
    wait_for(lambda: TicketLink.objects.get(pk=linked.pk).status_name == "In Progress")
    jira_sim.control.delete_issue("DQ-1")
    wait_for(lambda: TicketLink.objects.get(pk=linked.pk).is_broken)

    deliveries = jira_sim.control.wait_for_webhook_deliveries(2)
    assert [d["statuses"] for d in deliveries] == [[HTTPStatus.OK], [HTTPStatus.OK]]
    assert status_history(anomaly) == ["Jira issue DQ-1 moved to In Progress"]
    assert WebhookDelivery.objects.count() == 2


def test_it_never_lets_an_older_update_move_the_status_back(client, dq1):
    # Jira retries deliveries: an update that happened before the last one applied is stale.
    newer = updated(dq1, status="Done", category="done")
    older = updated(dq1, status="In Progress")
    older["timestamp"] = newer["timestamp"] - 60_000

    assert deliver(client, dq1.integration, newer).json() == {"outcome": "applied"}
    assert deliver(client, dq1.integration, older).json() == {"outcome": "ignored"}

    dq1.refresh_from_db()
    assert dq1.status_name == "Done"


# --- malformed signed bodies (issue 10, Found 5) --------------------------------------------


def _reshaped(link: TicketLink, change) -> dict:
    payload = updated(link)
    change(payload)
    return payload


MALFORMED = {
    "status is a string": lambda p: p["issue"]["fields"].update(status="Done"),
    "status is a list": lambda p: p["issue"]["fields"].update(status=["Done"]),
    "status name is a number": lambda p: p["issue"]["fields"]["status"].update(name=3),
    "category is a string": lambda p: p["issue"]["fields"]["status"].update(statusCategory="x"),
    "category key is an object": lambda p: p["issue"]["fields"]["status"]["statusCategory"].update(
        key={"a": 1}
    ),
    "key is a number": lambda p: p["issue"].update(key=12, id=None),
    "key is an object": lambda p: p["issue"].update(key={"k": "DQ-1"}),
    "id is a list": lambda p: p["issue"].update(id=["10001"]),
    "id is a boolean": lambda p: p["issue"].update(id=True),
    "summary is a number": lambda p: p["issue"]["fields"].update(summary=5),
    "fields is a string": lambda p: p["issue"].update(fields="all"),
    "issue is a list": lambda p: p.update(issue=[1, 2]),
    "issue is missing": lambda p: p.pop("issue"),
    "event is an object": lambda p: p.update(webhookEvent={"e": 1}),
    "event is missing": lambda p: p.pop("webhookEvent"),
}


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
def test_it_ignores_a_signed_body_of_the_wrong_shape(client, dq1, change):
    response = deliver(client, dq1.integration, _reshaped(dq1, change))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"outcome": "ignored"}
    dq1.refresh_from_db()
    assert dq1.status_name == "To Do"
    assert WebhookDelivery.objects.get().outcome == WebhookDelivery.Outcome.IGNORED


def test_it_still_applies_an_issue_id_sent_as_a_number(client, dq1):
    payload = _reshaped(dq1, lambda p: p["issue"].update(id=int(dq1.issue_id)))

    assert deliver(client, dq1.integration, payload).json() == {"outcome": "applied"}


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 50_000,
        b'{"timestamp": 1, "issue": ' + b"[" * 50_000 + b"}",
        json.dumps({"webhookEvent": "jira:issue_updated\ud800"}).encode(),
        json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"key": "DQ-1\x00"}}).encode(),
        b'{"timestamp": NaN}',
        b"\xff\xfe not utf-8",
    ],
)
def test_it_answers_400_to_a_signed_body_beyond_the_input_rules(client, dq1, body):
    response = deliver(client, dq1.integration, body=body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not WebhookDelivery.objects.exists()
    dq1.refresh_from_db()
    assert dq1.status_name == "To Do"


# --- replays ----------------------------------------------------------------------------------


def test_it_refuses_a_replay_under_a_new_identifier(client, dq1):
    body = json.dumps(updated(dq1, status="Done", category="done")).encode()
    deliver(client, dq1.integration, body=body)
    TicketLink.objects.filter(pk=dq1.pk).update(status_name="Reopened", status_event_at=None)

    replay = deliver(client, dq1.integration, body=body)  # deliver() makes a new identifier

    assert replay.status_code == HTTPStatus.OK
    assert replay.json() == {"outcome": "duplicate"}
    dq1.refresh_from_db()
    assert dq1.status_name == "Reopened"
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize(
    "age",
    [webhooks.ACCEPTED_AGE + timedelta(minutes=1), -(webhooks.CLOCK_SKEW + timedelta(minutes=1))],
    ids=["older than the window", "ahead of the clock"],
)
def test_it_refuses_an_event_outside_the_accepted_window(client, dq1, age):
    payload = updated(dq1)
    payload["timestamp"] = int((timezone.now() - age).timestamp() * 1000)

    response = deliver(client, dq1.integration, payload)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "replays are refused" in response.content.decode()
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("stamp", [None, "1700000000000", True, 10**30, -(10**30)])
def test_it_refuses_an_event_without_a_usable_timestamp(client, dq1, stamp):
    payload = updated(dq1)
    payload["timestamp"] = stamp

    response = deliver(client, dq1.integration, payload)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not WebhookDelivery.objects.exists()


def test_it_keeps_digests_longer_than_it_accepts_events(client, dq1):
    # Any body still accepted must have a digest still on record, or a replay would pass.
    assert webhooks.DELIVERY_RETENTION > webhooks.ACCEPTED_AGE + webhooks.CLOCK_SKEW


@pytest.mark.parametrize("identifier", ["a\x00b", "\ud800", "forged\nINFO line", "x" * 201])
def test_it_refuses_an_identifier_it_could_not_store_or_log(client, dq1, identifier):
    response = deliver(
        client, dq1.integration, updated(dq1), **{"X-Atlassian-Webhook-Identifier": identifier}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not WebhookDelivery.objects.exists()
