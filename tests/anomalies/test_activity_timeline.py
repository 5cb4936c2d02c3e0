"""One activity timeline per anomaly: comments, status changes and other changes, oldest
first, with the comment box below it."""

from http import HTTPStatus

from django.urls import reverse

from anomalies import services
from anomalies.sections import _hidden_history_actions, _timeline_folders
from anomalies.timeline import FoldedOutcome
from tests.integrations import page


def timeline_entries(client, anomaly) -> list[str]:
    response = client.get(reverse("anomalies:detail", args=[anomaly.pk]))
    assert response.status_code == HTTPStatus.OK
    activity = page.element(page.parse(response), "section", id="activity")
    assert activity is not None, "the anomaly page has no Activity section"
    return [page.text(li) for li in page.elements(activity, "li", class_="timeline-entry")]


def test_it_merges_comments_and_changes_oldest_first(
    client, anomaly, member_author, member_reporter
):
    services.comment_on_anomaly(anomaly, by=member_author, text="Looking into it")
    services.acknowledge_anomaly(anomaly, by=member_author)
    services.assign_anomaly(anomaly, by=member_author, assignee=member_reporter)
    client.force_login(member_author)

    entries = timeline_entries(client, anomaly)

    assert len(entries) == 3  # the comment is one entry, not a comment and a history line
    assert entries[0].startswith(f"{member_author} Commented")
    assert entries[0].endswith("Looking into it")
    assert entries[1].startswith(f"{member_author} Acknowledged")
    assert entries[2].startswith(f"{member_author} Assigned to {member_reporter}")


def test_it_keeps_the_comment_box_below_the_timeline(client, anomaly, member_author):
    client.force_login(member_author)

    response = client.get(reverse("anomalies:detail", args=[anomaly.pk]))

    activity = page.element(page.parse(response), "section", id="activity")
    form = page.element(activity, "form", action=reverse("anomalies:comment", args=[anomaly.pk]))
    assert form is not None
    assert "Nothing has happened to this anomaly yet." in page.text(activity)
    headings = [page.text(h2) for h2 in page.elements(page.parse(response), "h2")]
    assert "History" not in headings and "Activity" in headings


def test_it_folds_what_another_app_did_into_the_change_that_caused_it(
    client, anomaly, member_author
):
    from django.utils.html import format_html

    def folder(request, access):
        entry = access.anomaly.history.get(action="acknowledged")
        return [
            FoldedOutcome(
                "acknowledged", entry.created_at, "unused", format_html("{}", "sent twice")
            ),
            FoldedOutcome("archived", entry.created_at, "Archive note elsewhere", "sent once"),
        ]

    services.acknowledge_anomaly(anomaly, by=member_author)
    services.record_history(anomaly, action="noise", summary="One line per ticket")
    _timeline_folders.append(folder)
    _hidden_history_actions.add("noise")
    try:
        client.force_login(member_author)
        entries = timeline_entries(client, anomaly)
    finally:
        _timeline_folders.remove(folder)
        _hidden_history_actions.discard("noise")

    assert len(entries) == 2
    assert entries[0].startswith(f"{member_author} Acknowledged")
    assert entries[0].endswith("sent twice")
    assert entries[1].startswith("System Archive note elsewhere")  # a change not listed
    assert all("One line per ticket" not in entry for entry in entries)
