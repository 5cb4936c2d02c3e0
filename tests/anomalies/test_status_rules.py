import pytest

from anomalies import services
from anomalies.models import Anomaly, HistoryEntry, Status, StatusTransitionError


def reload(anomaly: Anomaly) -> Anomaly:
    return Anomaly.objects.get(pk=anomaly.pk)


def test_it_acknowledges_an_active_anomaly_and_records_who(anomaly, member_author):
    services.acknowledge_anomaly(anomaly, by=member_author)

    anomaly = reload(anomaly)
    assert anomaly.status == Status.ACKNOWLEDGED
    assert anomaly.status_changed_at is not None
    entry = anomaly.history.get()
    assert (entry.action, entry.actor, entry.summary) == (
        "acknowledged",
        member_author,
        "Acknowledged",
    )


def test_it_refuses_to_acknowledge_twice(anomaly, member_author):
    services.acknowledge_anomaly(anomaly, by=member_author)

    with pytest.raises(StatusTransitionError, match="Only an Active anomaly"):
        services.acknowledge_anomaly(anomaly, by=member_author)
    assert anomaly.history.count() == 1


@pytest.mark.parametrize("reason", ["Resolved", "Duplicate", "Invalid", "Discarded"])
def test_it_archives_with_each_reason_and_keeps_the_note(anomaly, member_author, reason):
    services.archive_anomaly(anomaly, by=member_author, reason=reason, note="  fixed upstream  ")

    anomaly = reload(anomaly)
    assert anomaly.status == reason
    assert anomaly.is_archived and not anomaly.is_open
    assert anomaly.archive_note == "fixed upstream"
    assert anomaly.history.get().summary == f"Archived as {reason}: fixed upstream"


def test_it_refuses_an_unknown_archive_reason_and_changes_nothing(anomaly, member_author):
    with pytest.raises(StatusTransitionError, match="Choose an archive reason"):
        services.archive_anomaly(anomaly, by=member_author, reason="Acknowledged")

    assert reload(anomaly).status == Status.ACTIVE
    assert not HistoryEntry.objects.exists()


def test_it_refuses_to_archive_an_archived_anomaly(anomaly, member_author):
    services.archive_anomaly(anomaly, by=member_author, reason="Resolved")

    with pytest.raises(StatusTransitionError, match="already archived as Resolved"):
        services.archive_anomaly(anomaly, by=member_author, reason="Invalid")
    assert reload(anomaly).status == Status.RESOLVED


def test_it_restores_to_acknowledged_never_to_active(anomaly, member_author):
    services.archive_anomaly(anomaly, by=member_author, reason="Invalid", note="oops")

    services.restore_anomaly(anomaly, by=member_author)

    anomaly = reload(anomaly)
    assert anomaly.status == Status.ACKNOWLEDGED
    assert anomaly.archive_note == ""
    assert anomaly.history.first().summary == "Restored to Acknowledged"


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.ACKNOWLEDGED])
def test_it_refuses_to_restore_an_open_anomaly(anomaly, member_author, status):
    Anomaly.objects.filter(pk=anomaly.pk).update(status=status)

    with pytest.raises(StatusTransitionError, match="Only an archived anomaly"):
        services.restore_anomaly(anomaly, by=member_author)
    assert reload(anomaly).status == status


def test_it_has_no_way_back_to_active(anomaly, member_author):
    services.acknowledge_anomaly(anomaly, by=member_author)
    services.archive_anomaly(anomaly, by=member_author, reason="Resolved")
    services.restore_anomaly(anomaly, by=member_author)

    with pytest.raises(StatusTransitionError):
        services.acknowledge_anomaly(anomaly, by=member_author)
    assert reload(anomaly).status == Status.ACKNOWLEDGED


def test_it_checks_rules_against_the_stored_status_not_a_stale_copy(anomaly, member_author):
    stale = Anomaly.objects.get(pk=anomaly.pk)
    services.archive_anomaly(anomaly, by=member_author, reason="Resolved")

    with pytest.raises(StatusTransitionError):
        services.acknowledge_anomaly(stale, by=member_author)
    assert reload(anomaly).status == Status.RESOLVED


def test_it_adds_a_comment_and_records_it(anomaly, member_author):
    comment = services.comment_on_anomaly(anomaly, by=member_author, text="  Looking into it  ")

    assert comment.text == "Looking into it"
    assert list(anomaly.comments.all()) == [comment]
    assert anomaly.history.get().action == "commented"


def test_it_refuses_comments_on_archived_anomalies(anomaly, member_author):
    services.archive_anomaly(anomaly, by=member_author, reason="Duplicate")

    with pytest.raises(services.CommentRejected, match="archived as Duplicate"):
        services.comment_on_anomaly(anomaly, by=member_author, text="late")
    assert not anomaly.comments.exists()


def test_it_refuses_blank_comments(anomaly, member_author):
    with pytest.raises(services.CommentRejected, match="Write something"):
        services.comment_on_anomaly(anomaly, by=member_author, text="   ")
    assert not anomaly.comments.exists()


def test_it_rolls_back_the_change_when_a_listener_fails(anomaly, member_author):
    from anomalies.signals import anomaly_changed

    def failing_listener(**kwargs):
        raise RuntimeError("outbox unavailable")

    anomaly_changed.connect(failing_listener, dispatch_uid="failing")
    try:
        with pytest.raises(RuntimeError):
            services.acknowledge_anomaly(anomaly, by=member_author)
    finally:
        anomaly_changed.disconnect(dispatch_uid="failing")

    assert reload(anomaly).status == Status.ACTIVE
    assert not anomaly.history.exists()
