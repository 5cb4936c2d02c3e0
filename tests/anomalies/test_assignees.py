"""Assigning people to an anomaly from its page."""

from django.urls import reverse

from anomalies.models import HistoryEntry
from tests.conftest import make_anomaly


def post(client, anomaly, action: str, user):
    url = reverse(f"anomalies:{action}", args=[anomaly.pk])
    return client.post(url, {"assignee": user.pk}, follow=True)


def shown(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_it_assigns_and_unassigns_someone_who_can_see_the_datastore(
    client, member_author, member_reporter, orders
):
    anomaly = make_anomaly(orders)
    client.force_login(member_author)

    page = client.get(reverse("anomalies:detail", args=[anomaly.pk])).content.decode()
    assert f'<option value="{member_reporter.pk}">reporter</option>' in page

    assert shown(post(client, anomaly, "assign", member_reporter)) == ["Assigned to reporter."]
    assert list(anomaly.assignees.all()) == [member_reporter]
    assert shown(post(client, anomaly, "unassign", member_reporter)) == ["Unassigned reporter."]
    assert not anomaly.assignees.exists()
    assert list(
        HistoryEntry.objects.filter(anomaly=anomaly)
        .order_by("id")
        .values_list("summary", flat=True)
    ) == ["Assigned to reporter", "Unassigned reporter"]


def test_it_refuses_someone_who_cannot_see_the_datastore(client, member_author, outsider, orders):
    anomaly = make_anomaly(orders)
    client.force_login(member_author)

    assert shown(post(client, anomaly, "assign", outsider)) == [
        "outsider cannot see Sales Warehouse."
    ]
    assert not anomaly.assignees.exists()


def test_it_needs_author_to_assign(client, member_reporter, orders):
    anomaly = make_anomaly(orders)
    client.force_login(member_reporter)

    response = client.post(
        reverse("anomalies:assign", args=[anomaly.pk]), {"assignee": member_reporter.pk}
    )

    assert response.status_code == 403
    assert not anomaly.assignees.exists()
