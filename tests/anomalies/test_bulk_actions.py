"""Bulk actions on the list: per-anomaly permission checks, one transaction per anomaly, and
a summary that says what was skipped and why."""

import pytest
from django.urls import reverse

from anomalies import bulk, bulk_views, services
from anomalies.models import Container, Datastore, HistoryEntry, Level, Status
from tests.conftest import grant, make_anomaly, make_user

BULK_URL = reverse("anomalies:bulk")


@pytest.fixture
def lake(db) -> Container:
    datastore = Datastore.objects.create(name="Data Lake")
    return Container.objects.create(datastore=datastore, name="events")


@pytest.fixture
def author_client(client, member_author, lake):
    grant(member_author, lake.datastore, Level.VIEWER)
    client.force_login(member_author)
    return client


def messages_of(response) -> list[str]:
    """The messages the list page shows after the redirect (the post followed it)."""
    return [str(message) for message in response.context["messages"]]


def post_bulk(client, action: str, ids, **options):
    data = {"action": action, "scope": "selected", "ids": [str(pk) for pk in ids], **options}
    return client.post(BULK_URL, data, follow=True)


def test_it_acts_only_where_the_level_allows_and_reports_the_rest(author_client, orders, lake):
    writable = [make_anomaly(orders) for _ in range(3)]
    archived = make_anomaly(orders, status=Status.RESOLVED)
    read_only = [make_anomaly(lake) for _ in range(2)]

    response = post_bulk(
        author_client,
        "acknowledge",
        [a.pk for a in [*writable, archived]] + [a.pk for a in read_only],
    )

    assert messages_of(response) == [
        "3 acknowledged, 2 skipped: needs Author permission, 1 skipped: archived."
    ]
    for anomaly in writable:
        anomaly.refresh_from_db()
        assert anomaly.status == Status.ACKNOWLEDGED
    for anomaly in read_only:
        anomaly.refresh_from_db()
        assert anomaly.status == Status.ACTIVE
    assert not HistoryEntry.objects.filter(anomaly__in=read_only, action="acknowledged").exists()


def test_it_comments_where_viewer_is_enough(author_client, orders, lake):
    here, there = make_anomaly(orders), make_anomaly(lake)

    response = post_bulk(author_client, "comment", [here.pk, there.pk], text="Upstream job")

    assert messages_of(response) == ["2 commented."]
    assert [c.text for c in there.comments.all()] == ["Upstream job"]


def test_it_archives_with_the_reason_and_note(author_client, orders):
    first, second = make_anomaly(orders), make_anomaly(orders)

    post_bulk(author_client, "archive", [first.pk, second.pk], reason="Duplicate", note="of #1")

    for anomaly in (first, second):
        anomaly.refresh_from_db()
        assert (anomaly.status, anomaly.archive_note) == (Status.DUPLICATE, "of #1")


def test_it_refuses_an_archive_without_a_reason_and_changes_nothing(author_client, orders):
    anomaly = make_anomaly(orders)

    response = post_bulk(author_client, "archive", [anomaly.pk])

    assert messages_of(response) == ["Archive: This field is required."]
    anomaly.refresh_from_db()
    assert anomaly.status == Status.ACTIVE


def test_it_assigns_only_people_who_can_see_the_datastore(
    author_client, member_reporter, orders, lake
):
    here, there = make_anomaly(orders), make_anomaly(lake)

    response = post_bulk(author_client, "assign", [here.pk], assignee=member_reporter.pk)
    assert messages_of(response) == ["1 assigned."]
    assert list(here.assignees.all()) == [member_reporter]

    # The Author only views the lake, so cannot assign there either way; via the service,
    # a reporter who cannot see the lake is refused.
    with pytest.raises(services.AssignmentRejected):
        services.assign_anomaly(there, by=make_user("boss", role="admin"), assignee=member_reporter)


def test_it_never_touches_what_the_user_cannot_see(author_client, orders):
    hidden_store = Datastore.objects.create(name="Hidden")
    hidden = make_anomaly(Container.objects.create(datastore=hidden_store, name="t"))

    response = post_bulk(author_client, "acknowledge", [hidden.pk])

    assert messages_of(response) == ["0 acknowledged, 1 skipped: not found."]
    hidden.refresh_from_db()
    assert hidden.status == Status.ACTIVE


def test_it_applies_to_all_matching_anomalies_of_the_filters(author_client, orders):
    shape = [make_anomaly(orders, anomaly_type="shape") for _ in range(3)]
    record = make_anomaly(orders, anomaly_type="record")

    response = author_client.post(
        BULK_URL, {"action": "acknowledge", "scope": "all", "filters": "type=shape"}, follow=True
    )

    assert messages_of(response) == ["3 acknowledged."]
    record.refresh_from_db()
    assert record.status == Status.ACTIVE
    assert {a.status for a in type(record).objects.filter(pk__in=[a.pk for a in shape])} == {
        Status.ACKNOWLEDGED
    }


def test_it_refuses_more_than_the_limit_at_once(author_client, orders, monkeypatch):
    monkeypatch.setattr(bulk, "BULK_LIMIT", 2)
    monkeypatch.setattr(bulk_views, "BULK_LIMIT", 2)
    anomalies = [make_anomaly(orders) for _ in range(3)]

    by_ids = post_bulk(author_client, "acknowledge", [a.pk for a in anomalies])
    assert messages_of(by_ids) == [
        "3 anomalies selected; at most 2 at once. Narrow the filters and repeat."
    ]
    by_filters = author_client.post(
        BULK_URL, {"action": "acknowledge", "scope": "all"}, follow=True
    )
    assert messages_of(by_filters) == [
        "More than 2 anomalies match; at most 2 at once. Narrow the filters and repeat."
    ]
    assert {a.status for a in type(anomalies[0]).objects.all()} == {Status.ACTIVE}


def test_it_keeps_each_anomalys_change_when_a_later_one_fails(author_client, orders, monkeypatch):
    first, second = make_anomaly(orders), make_anomaly(orders)
    real = services.acknowledge_anomaly

    def fail_on_second(anomaly, *, by):
        if anomaly.pk == second.pk:
            raise services.StatusTransitionError("changed meanwhile")
        return real(anomaly, by=by)

    monkeypatch.setattr(services, "acknowledge_anomaly", fail_on_second)

    response = post_bulk(author_client, "acknowledge", [first.pk, second.pk])

    assert messages_of(response) == ["1 acknowledged, 1 skipped: changed meanwhile."]
    first.refresh_from_db()
    assert first.status == Status.ACKNOWLEDGED
