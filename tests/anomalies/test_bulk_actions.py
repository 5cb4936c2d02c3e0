"""Bulk actions on the list: per-anomaly permission checks, one transaction per anomaly, and
a summary that says what was skipped and why."""

import pytest
from django.urls import reverse

from anomalies import bulk, bulk_views, services
from anomalies.models import Container, Datastore, HistoryEntry, Level, Status
from tests.conftest import grant, make_anomaly, make_link, make_user

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


def test_it_keeps_each_anomalys_comment_when_a_later_one_is_refused(
    author_client, orders, monkeypatch
):
    first, second = make_anomaly(orders), make_anomaly(orders)
    real = services.comment_on_anomaly

    def refuse_second(anomaly, *, by, text):
        if anomaly.pk == second.pk:
            real(anomaly, by=by, text=text)  # written, then refused: must roll back
            raise services.CommentRejected("changed meanwhile")
        return real(anomaly, by=by, text=text)

    monkeypatch.setattr(services, "comment_on_anomaly", refuse_second)

    response = post_bulk(author_client, "comment", [first.pk, second.pk], text="Seen")

    assert messages_of(response) == ["1 commented, 1 skipped: changed meanwhile."]
    assert [c.text for c in first.comments.all()] == ["Seen"]
    assert not second.comments.exists()
    assert not HistoryEntry.objects.filter(anomaly=second).exists()


def test_it_refuses_under_the_lock_what_changed_since_the_selection(member_author, orders):
    from anomalies.models import Anomaly

    first, second = make_anomaly(orders), make_anomaly(orders)
    selected, missing = bulk.select_anomalies(Anomaly.objects.all(), [first.pk, second.pk])
    Anomaly.objects.filter(pk=second.pk).update(status=Status.RESOLVED)  # meanwhile

    result = bulk.run_bulk_action(
        bulk.bulk_actions()["acknowledge"], selected, by=member_author, missing=missing
    )

    assert result.done == [first.pk]
    assert result.skipped == {
        second.pk: "Only an Active anomaly can be acknowledged; this one is Resolved."
    }
    second.refresh_from_db()
    assert second.status == Status.RESOLVED
    assert list(HistoryEntry.objects.values_list("anomaly_id", "summary")) == [
        (first.pk, "Acknowledged")
    ]


def test_it_restores_and_writes_what_single_restores_write(author_client, orders):
    archived = make_anomaly(orders, status=Status.DUPLICATE, archive_note="of #1")
    active = make_anomaly(orders)

    response = post_bulk(author_client, "restore", [archived.pk, active.pk])

    assert messages_of(response) == ["1 restored, 1 skipped: not archived."]
    archived.refresh_from_db()
    assert (archived.status, archived.archive_note) == (Status.ACKNOWLEDGED, "")
    assert archived.status_changed_at is not None


def test_it_keeps_every_other_anomaly_when_one_fails_in_the_database(
    author_client, orders, monkeypatch
):
    from django.db import DatabaseError

    first, second, third = make_anomaly(orders), make_anomaly(orders), make_anomaly(orders)
    real = services.record_history

    def fail_second(anomaly, **entry):
        if anomaly.pk == second.pk:  # after its status was written: must roll back
            raise DatabaseError("could not serialize access")
        return real(anomaly, **entry)

    monkeypatch.setattr(services, "record_history", fail_second)

    response = post_bulk(author_client, "acknowledge", [first.pk, second.pk, third.pk])

    assert messages_of(response) == ["2 acknowledged, 1 skipped: database error; try again."]
    statuses = {a.pk: a.status for a in type(first).objects.all()}
    assert statuses == {
        first.pk: Status.ACKNOWLEDGED,
        second.pk: Status.ACTIVE,
        third.pk: Status.ACKNOWLEDGED,
    }


def test_it_announces_each_bulk_change_as_a_single_change(member_author, orders):
    """Whoever listens to anomaly changes (ticket rules, the outbox) hears a bulk archive
    anomaly by anomaly, as from the anomaly's own button."""
    from anomalies.models import Anomaly
    from anomalies.signals import anomaly_changed

    first, second = make_anomaly(orders), make_anomaly(orders)
    heard = []

    def listen(sender, change, **kwargs):
        heard.append((change.anomaly.pk, change.kind, change.status, change.note))

    anomaly_changed.connect(listen, dispatch_uid="test.listen")
    try:
        selected, _ = bulk.select_anomalies(Anomaly.objects.all(), [first.pk, second.pk])
        bulk.run_bulk_action(
            bulk.bulk_actions()["archive"],
            selected,
            by=member_author,
            reason=Status.INVALID,
            note="test data",
        )
    finally:
        anomaly_changed.disconnect(dispatch_uid="test.listen")

    assert heard == [
        (first.pk, "archived", Status.INVALID, "test data"),
        (second.pk, "archived", Status.INVALID, "test data"),
    ]


def test_it_groups_each_actions_options_for_the_bar_to_fold(author_client, orders):
    make_anomaly(orders)

    page = author_client.get(reverse("anomalies:list")).text
    bar = page.split('id="bulk"', 1)[1].split("</form>", 1)[0]

    for group in ("archive", "comment", "assign unassign", "link_issue", "create_issue"):
        assert f'data-bulk-options="{group}"' in bar
    assert 'name="reason"' in bar.split('data-bulk-options="archive"', 1)[1].split("</fieldset>")[0]
    assert "js/bulk-bar.js" in page
    # The saved views fold into one control that opens on demand.
    assert '<details class="saved-views card">' in page


def test_a_bulk_run_reads_each_anomalys_links_once_and_the_rules_once(
    member_author, orders, jira_integration
):
    """The per-anomaly cost of a bulk run (issue 16: 1,000 anomalies): the ticket receivers
    share one read of the links, and the active rules are read once for the whole run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from anomalies.models import Anomaly

    anomalies = [make_anomaly(orders) for _ in range(4)]
    for number, anomaly in enumerate(anomalies):
        make_link(anomaly, jira_integration, key=f"DQ-{number + 1}", issue_id=f"1000{number}")
    selected, missing = bulk.select_anomalies(Anomaly.objects.all(), [a.pk for a in anomalies])

    with CaptureQueriesContext(connection) as queries:
        result = bulk.run_bulk_action(
            bulk.bulk_actions()["acknowledge"], selected, by=member_author, missing=missing
        )

    assert sorted(result.done) == sorted(a.pk for a in anomalies)

    def reads_of(table: str) -> list[str]:
        return [
            q["sql"]
            for q in queries
            if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
        ]

    assert len(reads_of("integrations_ticketlink")) == len(anomalies)
    assert len(reads_of("rules_ticketrule")) == 1
