import re
from http import HTTPStatus

from django.urls import reverse

from anomalies.permissions import Action
from integrations.jira.checks import (
    CHECK_AUTHENTICATION,
    CHECK_ISSUE_TYPES,
    CHECK_PROJECT,
)
from qualytics_jira.views import ACTION_WORDS


def help_link(page: str) -> str:
    """Where the top bar's Help link points."""
    return re.search(r'<a href="([^"]*)"[^>]*>Help</a>', page).group(1)


def test_it_links_help_from_the_top_bar_of_every_page(client, member_author):
    assert help_link(client.get(reverse("login")).text) == "/help/"

    client.force_login(member_author)

    assert help_link(client.get(reverse("anomalies:list")).text) == "/help/"


def test_it_sends_the_help_link_to_the_configured_support_site(client, member_author, settings):
    settings.SUPPORT_URL = "https://support.example.com/qualytics"
    client.force_login(member_author)

    page = client.get(reverse("anomalies:list")).text

    assert help_link(page) == "https://support.example.com/qualytics"


def test_it_explains_troubles_with_the_connection_checks_own_names(client):
    response = client.get(reverse("help"))

    assert response.status_code == HTTPStatus.OK  # no sign-in needed: it helps with that too
    page = response.text
    for check in (CHECK_AUTHENTICATION, CHECK_PROJECT, CHECK_ISSUE_TYPES):
        assert check in page
    assert "verify the email:api_token format" in page
    assert "ensure Qualytics IPs are allowlisted" in page
    assert "Broken reference" in page and "Needs attention" in page


def test_it_says_who_can_do_what(client):
    page = client.get(reverse("help")).text

    assert "Acknowledge, archive and restore the anomaly</th><td>Author" in page
    assert "Comment (the comment is copied to every linked Jira issue)</th><td>Viewer" in page
    assert "Manager or Admin role" in page
    assert set(ACTION_WORDS) == set(Action)  # a new action must be explained here too


def test_it_shows_the_support_email_only_when_set(client, settings):
    assert "mailto:" not in client.get(reverse("help")).text

    settings.SUPPORT_EMAIL = "help@example.com"

    assert 'href="mailto:help@example.com"' in client.get(reverse("help")).text
