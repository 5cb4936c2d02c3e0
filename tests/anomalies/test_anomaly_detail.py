from http import HTTPStatus

from django.urls import reverse

from anomalies import services
from anomalies.models import Anomaly, Status
from anomalies.sections import _renderers as registered_sections
from anomalies.sections import register_detail_section


def detail(client, anomaly):
    return client.get(reverse("anomalies:detail", args=[anomaly.pk]))


def test_it_shows_summary_checks_comments_and_history(client, anomaly, member_author):
    services.comment_on_anomaly(anomaly, by=member_author, text="Upstream job failed")
    client.force_login(member_author)

    page = detail(client, anomaly).text

    assert str(anomaly.uuid) in page
    assert "12 records have a null customer_id." in page
    assert "Upstream job failed" in page
    assert "Commented" in page
    assert "Sales Warehouse" in page and "orders" in page


def test_it_offers_status_actions_to_authors_only(client, anomaly, member_author, member_viewer):
    client.force_login(member_viewer)
    page = detail(client, anomaly).text
    assert "Acknowledge" not in page and "Archive…" not in page
    assert "Add comment" in page

    client.force_login(member_author)
    page = detail(client, anomaly).text
    assert "Acknowledge" in page and "Archive…" in page


def test_it_hides_the_comment_box_from_reporters(client, anomaly, member_reporter):
    client.force_login(member_reporter)

    assert "Add comment" not in detail(client, anomaly).text


def test_it_says_archived_anomalies_take_no_comments(client, anomaly, member_author):
    services.archive_anomaly(anomaly, by=member_author, reason="Resolved")
    client.force_login(member_author)

    page = detail(client, anomaly).text

    assert "Archived anomalies take no new comments." in page
    assert "Restore" in page and "Add comment" not in page


def test_it_explains_an_illegal_transition_and_changes_nothing(client, anomaly, member_author):
    services.acknowledge_anomaly(anomaly, by=member_author)
    client.force_login(member_author)

    response = client.post(reverse("anomalies:acknowledge", args=[anomaly.pk]), follow=True)

    assert "Only an Active anomaly can be acknowledged" in response.text
    assert anomaly.history.count() == 1


def test_it_archives_through_the_page_with_reason_and_note(client, anomaly, member_author):
    client.force_login(member_author)

    response = client.post(
        reverse("anomalies:archive", args=[anomaly.pk]),
        {"reason": "Duplicate", "note": "Same as #12"},
        follow=True,
    )

    anomaly = Anomaly.objects.get(pk=anomaly.pk)
    assert (anomaly.status, anomaly.archive_note) == (Status.DUPLICATE, "Same as #12")
    assert "Anomaly archived as Duplicate." in response.text


def test_it_refuses_an_archive_without_a_valid_reason(client, anomaly, member_author):
    client.force_login(member_author)

    response = client.post(
        reverse("anomalies:archive", args=[anomaly.pk]), {"reason": "Active"}, follow=True
    )

    assert "Choose a reason" in response.text
    assert Anomaly.objects.get(pk=anomaly.pk).status == Status.ACTIVE


def test_it_refuses_a_blank_comment_with_a_message(client, anomaly, member_author):
    client.force_login(member_author)

    response = client.post(
        reverse("anomalies:comment", args=[anomaly.pk]), {"text": "  "}, follow=True
    )

    assert "Write something before adding a comment." in response.text
    assert not anomaly.comments.exists()


def test_it_refuses_get_on_actions(client, anomaly, member_author):
    client.force_login(member_author)

    response = client.get(reverse("anomalies:acknowledge", args=[anomaly.pk]))

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_it_renders_sections_registered_by_other_apps(client, anomaly, member_reporter):
    from django.utils.html import format_html

    def section(request, access):
        return format_html("<section id='extra'>Extra for {}</section>", access.anomaly.pk)

    register_detail_section(section)
    try:
        client.force_login(member_reporter)
        page = detail(client, anomaly).text
    finally:
        registered_sections.remove(section)

    assert f"<section id='extra'>Extra for {anomaly.pk}</section>" in page
