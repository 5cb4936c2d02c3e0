"""Each global role × each team level (and no access) × each page and action."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from anomalies.models import Anomaly, Level, Role, Status
from tests.conftest import grant, make_anomaly, make_user

LEVELS = [None, Level.REPORTER, Level.VIEWER, Level.DRAFTER, Level.AUTHOR, Level.EDITOR]

# The lowest level each action needs, straight from PRODUCT.md §1.
NEEDS = {
    "detail": Level.REPORTER,
    "comment": Level.VIEWER,
    "acknowledge": Level.AUTHOR,
    "archive": Level.AUTHOR,
    "restore": Level.AUTHOR,
}
SUCCESS = {
    "detail": HTTPStatus.OK,
    "comment": HTTPStatus.FOUND,
    "acknowledge": HTTPStatus.FOUND,
    "archive": HTTPStatus.FOUND,
    "restore": HTTPStatus.FOUND,
}


def expected_status(role: str, level: Level | None, action: str) -> HTTPStatus:
    if role == Role.ADMIN:
        return SUCCESS[action]
    if level is None:
        return HTTPStatus.NOT_FOUND
    return SUCCESS[action] if level >= NEEDS[action] else HTTPStatus.FORBIDDEN


def request_action(client, action: str, anomaly: Anomaly):
    if action == "detail":
        return client.get(reverse("anomalies:detail", args=[anomaly.pk]))
    data = {"reason": "Resolved", "text": "hello"}
    return client.post(reverse(f"anomalies:{action}", args=[anomaly.pk]), data)


CASES = [
    (role, level, action)
    for role in (Role.MEMBER, Role.MANAGER)
    for level in LEVELS
    for action in NEEDS
] + [(Role.ADMIN, None, action) for action in NEEDS]


@pytest.mark.parametrize(("role", "level", "action"), CASES)
def test_it_allows_exactly_what_the_level_allows(client, orders, role, level, action):
    user = make_user("someone", role=role)
    if level is not None:
        grant(user, orders.datastore, level)
    status = Status.RESOLVED if action == "restore" else Status.ACTIVE
    anomaly = make_anomaly(orders, status=status)
    client.force_login(user)

    response = request_action(client, action, anomaly)

    assert response.status_code == expected_status(role, level, action)
    changed = Anomaly.objects.get(pk=anomaly.pk).status != status or anomaly.comments.exists()
    assert changed == (response.status_code == HTTPStatus.FOUND)


def test_it_takes_the_highest_level_over_all_teams(client, orders):
    user = make_user("both")
    grant(user, orders.datastore, Level.REPORTER)
    grant(user, orders.datastore, Level.AUTHOR)
    anomaly = make_anomaly(orders)
    client.force_login(user)

    response = client.post(reverse("anomalies:acknowledge", args=[anomaly.pk]))

    assert response.status_code == HTTPStatus.FOUND
    assert Anomaly.objects.get(pk=anomaly.pk).status == Status.ACKNOWLEDGED


def test_it_does_not_let_a_level_on_another_datastore_leak(client, orders, db):
    from anomalies.models import Datastore

    other = Datastore.objects.create(name="Other")
    user = make_user("elsewhere")
    grant(user, other, Level.EDITOR)
    anomaly = make_anomaly(orders)
    client.force_login(user)

    assert client.get(reverse("anomalies:detail", args=[anomaly.pk])).status_code == 404


def test_it_counts_a_grant_to_the_public_team_for_everyone(client, orders, outsider):
    from anomalies.models import DatastorePermission, Team

    DatastorePermission.objects.create(
        team=Team.objects.public(), datastore=orders.datastore, level=Level.REPORTER
    )
    anomaly = make_anomaly(orders)
    client.force_login(outsider)

    assert client.get(reverse("anomalies:detail", args=[anomaly.pk])).status_code == 200


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("admin", 200),
        ("manager", 200),
        ("member_author", 403),
        ("member_reporter", 403),
        ("outsider", 403),
    ],
)
def test_it_keeps_integration_settings_to_managers_and_admins(
    db, client, request, persona, expected
):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("integrations:list")).status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("admin", 200), ("manager", 200), ("member_author", 302), ("outsider", 302)],
)
def test_it_opens_the_django_admin_to_managers_and_admins_only(
    db, client, request, persona, expected
):
    client.force_login(request.getfixturevalue(persona))

    assert client.get("/admin/").status_code == expected


@pytest.mark.parametrize("url_name", ["anomalies:list", "integrations:list"])
def test_it_sends_anonymous_visitors_to_sign_in(client, db, url_name):
    response = client.get(reverse(url_name))

    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("login"))


def test_it_hides_the_settings_link_from_members(client, member_author, manager):
    client.force_login(member_author)
    assert reverse("integrations:list") not in client.get(reverse("anomalies:list")).text

    client.force_login(manager)
    assert reverse("integrations:list") in client.get(reverse("anomalies:list")).text
