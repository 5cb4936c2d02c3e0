"""The Django admin follows the app's team permissions: a Manager sees there exactly the rows
they see on the pages, cannot reach the others by URL, popup, autocomplete or action, and
cannot grant access. Admins see and manage everything."""

from dataclasses import dataclass
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from anomalies.models import (
    Anomaly,
    Comment,
    Container,
    Datastore,
    DatastorePermission,
    HistoryEntry,
    Level,
    Tag,
    Team,
)
from integrations.models import (
    Connector,
    SyncEvent,
    SyncState,
    TicketingIntegration,
    TicketLink,
    WebhookDelivery,
)
from tests.conftest import grant, make_anomaly, make_link, make_user


@dataclass
class Rows:
    """One row of each kind on a datastore."""

    datastore: Datastore
    container: Container
    anomaly: Anomaly
    comment: Comment
    history: HistoryEntry
    link: TicketLink
    event: SyncEvent
    delivery: WebhookDelivery
    permission: DatastorePermission
    tag: Tag

    def of(self, model_name: str):
        return {
            "datastore": self.datastore,
            "container": self.container,
            "anomaly": self.anomaly,
            "comment": self.comment,
            "historyentry": self.history,
            "ticketlink": self.link,
            "syncevent": self.event,
            "webhookdelivery": self.delivery,
            "datastorepermission": self.permission,
            "tag": self.tag,
        }[model_name]


MODELS = {
    "datastore": "anomalies",
    "container": "anomalies",
    "datastorepermission": "anomalies",
    "tag": "anomalies",
    "anomaly": "anomalies",
    "comment": "anomalies",
    "historyentry": "anomalies",
    "ticketlink": "integrations",
    "syncevent": "integrations",
    "webhookdelivery": "integrations",
}


@pytest.fixture
def integration(db, admin) -> TicketingIntegration:
    return TicketingIntegration.objects.create(
        connector=Connector.JIRA,
        host_url="https://example.atlassian.net",
        credentials="bot@example.com:token",
        default_project_key="DQ",
        connected_by=admin,
        connected_at=timezone.now(),
    )


def rows_on(
    datastore: Datastore, container: Container, anomaly: Anomaly, *, key: str, integration, team
) -> Rows:
    author = make_user(f"author-{key}")
    comment = Comment.objects.create(anomaly=anomaly, author=author, text=f"note on {key}")
    history = HistoryEntry.objects.create(anomaly=anomaly, action="acknowledged", summary=key)
    link = make_link(anomaly, integration, key=key, issue_id=f"id-{key}")
    event = SyncEvent.objects.create(
        link=link, kind="commented", body=f"secret {key}", state=SyncState.FAILED,
        created_at=timezone.now(),
    )  # fmt: skip
    delivery = WebhookDelivery.objects.create(
        integration=integration, identifier=f"d-{key}", event="jira:issue_updated",
        issue_key=key, received_at=timezone.now(), outcome=WebhookDelivery.Outcome.APPLIED,
    )  # fmt: skip
    tag = Tag.objects.create(name=f"tag-{key}")
    anomaly.tags.add(tag)
    permission = DatastorePermission.objects.get(team=team, datastore=datastore)
    return Rows(
        datastore, container, anomaly, comment, history, link, event, delivery, permission, tag
    )


@pytest.fixture
def seen(manager, warehouse, orders, anomaly, integration) -> Rows:
    """Rows on the warehouse, where the manager's team is Author."""
    team = manager.teams.exclude(is_public=True).get()
    return rows_on(warehouse, orders, anomaly, key="DQ-1", integration=integration, team=team)


@pytest.fixture
def hidden(db, integration) -> Rows:
    """Rows on a datastore none of the manager's teams can see."""
    lake = Datastore.objects.create(name="Finance Lake")
    ledger = Container.objects.create(datastore=lake, name="ledger")
    finance = Team.objects.create(name="Finance")
    DatastorePermission.objects.create(team=finance, datastore=lake, level=Level.EDITOR)
    anomaly = make_anomaly(ledger, description="salaries are negative")
    return rows_on(lake, ledger, anomaly, key="FIN-9", integration=integration, team=finance)


def changelist(client, model_name: str, **params) -> set[int]:
    url = reverse(f"admin:{MODELS[model_name]}_{model_name}_changelist")
    response = client.get(url, params)
    assert response.status_code == HTTPStatus.OK
    return {row.pk for row in response.context["cl"].result_list}


def admin_url(model_name: str, view: str, pk: int) -> str:
    return reverse(f"admin:{MODELS[model_name]}_{model_name}_{view}", args=[pk])


@pytest.mark.parametrize("model_name", MODELS)
def test_it_lists_for_a_manager_only_the_rows_of_datastores_they_can_see(
    client, manager, seen, hidden, model_name
):
    client.force_login(manager)

    assert changelist(client, model_name) == {seen.of(model_name).pk}


@pytest.mark.parametrize("model_name", MODELS)
def test_it_lists_every_row_for_an_admin(client, admin, seen, hidden, model_name):
    client.force_login(admin)

    assert changelist(client, model_name) >= {seen.of(model_name).pk, hidden.of(model_name).pk}


def test_it_shows_a_manager_the_anomalies_the_app_shows_them(client, manager, seen, hidden):
    client.force_login(manager)
    on_the_page = {row.pk for row in client.get(reverse("anomalies:list")).context["page"]}

    assert changelist(client, "anomaly") == on_the_page == {seen.anomaly.pk}


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_it_never_opens_a_hidden_row_by_its_id_for_a_manager(
    client, manager, seen, hidden, model_name, view
):
    client.force_login(manager)
    row = hidden.of(model_name)

    response = client.get(admin_url(model_name, view, row.pk))

    assert response.status_code in (HTTPStatus.FOUND, HTTPStatus.FORBIDDEN)
    assert str(row) not in response.content.decode()
    if response.status_code == HTTPStatus.FOUND:
        assert response.url == reverse("admin:index")


@pytest.mark.parametrize("model_name", MODELS)
def test_it_opens_a_visible_row_for_a_manager_and_any_row_for_an_admin(
    client, manager, admin, seen, hidden, model_name
):
    client.force_login(manager)
    assert client.get(admin_url(model_name, "change", seen.of(model_name).pk)).status_code == 200

    client.force_login(admin)
    assert client.get(admin_url(model_name, "change", hidden.of(model_name).pk)).status_code == 200


def test_it_keeps_hidden_datastores_out_of_a_managers_autocomplete(client, manager, seen, hidden):
    client.force_login(manager)

    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "anomalies", "model_name": "datastorepermission", "field_name": "datastore"},
    )

    assert response.status_code == HTTPStatus.OK
    assert [item["text"] for item in response.json()["results"]] == [seen.datastore.name]


def test_it_keeps_hidden_containers_out_of_a_managers_raw_id_popup(client, manager, seen, hidden):
    client.force_login(manager)

    shown = changelist(client, "container", _popup=1, _to_field="id")

    assert shown == {seen.container.pk}


def test_it_keeps_hidden_datastores_out_of_a_managers_list_filters(client, manager, seen, hidden):
    client.force_login(manager)

    page = client.get(reverse("admin:anomalies_anomaly_changelist")).content.decode()

    assert seen.datastore.name in page
    assert hidden.datastore.name not in page


def test_it_refuses_a_manager_any_grant_of_a_level(client, manager, seen, hidden):
    client.force_login(manager)
    my_team = seen.permission.team

    add = client.post(
        reverse("admin:anomalies_datastorepermission_add"),
        {"team": my_team.pk, "datastore": hidden.datastore.pk, "level": Level.EDITOR},
    )
    raise_level = client.post(
        admin_url("datastorepermission", "change", seen.permission.pk),
        {"team": my_team.pk, "datastore": seen.datastore.pk, "level": Level.EDITOR},
    )
    join_team = client.post(
        reverse("admin:anomalies_team_change", args=[hidden.permission.team.pk]),
        {"name": "Finance", "members": [manager.pk]},
    )
    new_team = client.post(reverse("admin:anomalies_team_add"), {"name": "Mine"})

    assert {add.status_code, raise_level.status_code, join_team.status_code} == {403}
    assert new_team.status_code == HTTPStatus.FORBIDDEN
    assert not Anomaly.objects.visible_to(manager).filter(pk=hidden.anomaly.pk).exists()
    assert DatastorePermission.objects.get(pk=seen.permission.pk).level == Level.AUTHOR
    assert not Team.objects.filter(name="Mine").exists()


def test_it_shows_a_manager_team_levels_read_only(client, manager, seen, hidden):
    client.force_login(manager)

    page = client.get(reverse("admin:anomalies_team_change", args=[seen.permission.team.pk]))

    assert page.status_code == HTTPStatus.OK
    assert not page.context["has_change_permission"]
    assert "Finance Lake" not in page.content.decode()


def test_it_lets_an_admin_grant_a_level(client, admin, seen, hidden):
    client.force_login(admin)
    team = seen.permission.team

    response = client.post(
        reverse("admin:anomalies_datastorepermission_add"),
        {"team": team.pk, "datastore": hidden.datastore.pk, "level": Level.REPORTER},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert DatastorePermission.objects.filter(team=team, datastore=hidden.datastore).exists()


@pytest.mark.parametrize("persona", ["admin", "manager"])
def test_it_never_edits_or_deletes_a_comment_in_the_admin(client, request, seen, persona):
    client.force_login(request.getfixturevalue(persona))
    comment = seen.comment

    change = client.post(
        admin_url("comment", "change", comment.pk),
        {"anomaly": comment.anomaly_id, "author": comment.author_id, "text": "rewritten"},
    )
    delete = client.post(admin_url("comment", "delete", comment.pk), {"post": "yes"})

    assert change.status_code == delete.status_code == HTTPStatus.FORBIDDEN
    assert Comment.objects.get(pk=comment.pk).text == "note on DQ-1"
    assert client.get(admin_url("comment", "change", comment.pk)).status_code == HTTPStatus.OK


@pytest.mark.parametrize("persona", ["admin", "manager"])
def test_it_lets_only_admins_edit_an_anomaly_in_the_admin(client, request, seen, persona):
    client.force_login(request.getfixturevalue(persona))

    page = client.get(admin_url("anomaly", "change", seen.anomaly.pk))
    delete = client.post(admin_url("anomaly", "delete", seen.anomaly.pk), {"post": "yes"})

    assert page.context["has_change_permission"] == (persona == "admin")
    assert delete.status_code == HTTPStatus.FORBIDDEN  # its comments and history stay
    assert Anomaly.objects.filter(pk=seen.anomaly.pk).exists()


def retry_in_admin(client, *events: SyncEvent):
    return client.post(
        reverse("admin:integrations_syncevent_changelist"),
        {"action": "retry_failed", "_selected_action": [event.pk for event in events]},
    )


def test_it_bulk_retries_only_the_events_a_manager_can_see(client, manager, seen, hidden):
    client.force_login(manager)

    retry_in_admin(client, seen.event, hidden.event)

    assert SyncEvent.objects.get(pk=seen.event.pk).state == SyncState.PENDING
    assert SyncEvent.objects.get(pk=hidden.event.pk).state == SyncState.FAILED


def test_it_bulk_retries_only_where_the_manager_is_author(client, manager, seen, hidden):
    grant(manager, hidden.datastore, Level.REPORTER)
    client.force_login(manager)

    response = retry_in_admin(client, seen.event, hidden.event)

    assert SyncEvent.objects.get(pk=seen.event.pk).state == SyncState.PENDING
    assert SyncEvent.objects.get(pk=hidden.event.pk).state == SyncState.FAILED
    shown = [str(m) for m in response.wsgi_request._messages]
    assert "1 event(s) left alone: retrying needs Author permission" in " ".join(shown)


def test_it_bulk_retries_every_event_for_an_admin(client, admin, seen, hidden):
    client.force_login(admin)

    retry_in_admin(client, seen.event, hidden.event)

    assert set(SyncEvent.objects.values_list("state", flat=True)) == {SyncState.PENDING}


def test_it_shows_a_manager_webhook_deliveries_about_unlinked_issues(
    client, manager, integration, seen, hidden
):
    unlinked = WebhookDelivery.objects.create(
        integration=integration, identifier="d-x", event="jira:issue_updated",
        issue_key="OPS-3", received_at=timezone.now(), outcome=WebhookDelivery.Outcome.NOT_LINKED,
    )  # fmt: skip
    client.force_login(manager)

    assert changelist(client, "webhookdelivery") == {seen.delivery.pk, unlinked.pk}


@pytest.mark.parametrize("persona", ["member_author", "member_reporter", "outsider"])
@pytest.mark.parametrize("model_name", MODELS)
def test_it_keeps_members_out_of_the_admin(client, request, seen, persona, model_name):
    client.force_login(request.getfixturevalue(persona))

    for url in (
        reverse(f"admin:{MODELS[model_name]}_{model_name}_changelist"),
        admin_url(model_name, "change", seen.of(model_name).pk),
    ):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response.url.startswith(reverse("admin:login"))


@pytest.mark.parametrize("model_name", MODELS)
def test_it_lets_a_manager_add_nothing_in_the_admin(client, manager, seen, model_name):
    client.force_login(manager)

    response = client.get(reverse(f"admin:{MODELS[model_name]}_{model_name}_add"))

    assert response.status_code == HTTPStatus.FORBIDDEN
