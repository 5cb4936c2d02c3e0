"""Settings › Integrations, over real HTTP to the Jira simulator: who may reach the pages,
connecting, testing, editing and disconnecting, and what a Manager reads when Jira says no."""

import re
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from integrations.jira.errors import (
    HINT_CONNECTION_FAILED,
    HINT_CREDENTIALS,
    HINT_FORBIDDEN,
    HINT_ISSUE_TYPE_NOT_FOUND,
    HINT_NETWORK_TIMEOUT,
    HINT_PROJECT_NOT_FOUND,
)
from integrations.models import (
    IntegrationState,
    SyncEvent,
    SyncState,
    TicketingIntegration,
    TicketLink,
)
from tests.conftest import SIM_EMAIL, SIM_TOKEN, make_link
from tests.integrations.connection_support import (
    closed_port_url,
    make_jira_time_out,
    read_raw_credentials,
    write_raw_credentials,
)

MEMBERS = ["member_author", "member_reporter", "outsider"]
MANAGERS = ["admin", "manager"]
FAQ_HINTS = [
    HINT_CONNECTION_FAILED,
    HINT_CREDENTIALS,
    HINT_FORBIDDEN,
    HINT_PROJECT_NOT_FOUND,
    HINT_ISSUE_TYPE_NOT_FOUND,
    HINT_NETWORK_TIMEOUT,
]
UNREADABLE_MESSAGE = "Stored credentials cannot be read — re-enter them"
SETTINGS_LINK = 'href="/settings/integrations/"'


def connect_form(site_url: str, **changes) -> dict:
    """The Connect form filled in for ``site_url``, with ``changes`` on top."""
    form = {
        "host_url": site_url,
        "credentials": f"{SIM_EMAIL}:{SIM_TOKEN}",
        "default_project_key": "DQ",
    }
    return {**form, **changes}


def connect(client, form):
    return client.post(reverse("integrations:connect"), form, follow=True)


def settings_requests(integration: TicketingIntegration) -> list[tuple]:
    """(method, url, data) for every settings URL, with data a Manager could submit."""
    pk = integration.pk
    form = connect_form(integration.host_url, default_project_key="OPS")
    edit_form = {"credentials": "", "default_project_key": "OPS"}
    return [
        ("get", reverse("integrations:list"), None),
        ("get", reverse("integrations:connect"), None),
        ("post", reverse("integrations:connect"), form),
        ("get", reverse("integrations:edit", args=[pk]), None),
        ("post", reverse("integrations:edit", args=[pk]), edit_form),
        ("post", reverse("integrations:test", args=[pk]), None),
        ("get", reverse("integrations:disconnect", args=[pk]), None),
        ("post", reverse("integrations:disconnect", args=[pk]), None),
    ]


def check_results(page: str) -> dict[str, str]:
    """{check name: ok | failed | skipped}, as the checks list shows them."""
    found = re.findall(r'<li class="check check-(\w+)">.*?<strong>(.*?)</strong>', page, re.S)
    return {name: result for result, name in found}


def make_event(link: TicketLink, state: str) -> SyncEvent:
    return SyncEvent.objects.create(
        link=link, kind="commented", body="A comment", state=state, created_at=timezone.now()
    )


# --- who may reach the settings ---------------------------------------------------------


@pytest.mark.parametrize("persona", MEMBERS)
def test_it_refuses_every_settings_url_to_members(
    client, request, persona, jira_integration, jira_sim
):
    client.force_login(request.getfixturevalue(persona))

    for method, url, data in settings_requests(jira_integration):
        response = getattr(client, method)(url, data)
        assert response.status_code == HTTPStatus.FORBIDDEN, f"{method.upper()} {url}"

    jira_integration.refresh_from_db()
    assert jira_integration.is_connected
    assert jira_integration.default_project_key == "DQ"
    assert jira_integration.last_tested_at is None
    assert TicketingIntegration.objects.count() == 1
    assert jira_sim.control.requests() == []


def test_it_sends_anonymous_visitors_to_sign_in(client, jira_integration):
    for method, url, data in settings_requests(jira_integration):
        response = getattr(client, method)(url, data)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("persona", "sees_link"), [(p, False) for p in MEMBERS] + [(p, True) for p in MANAGERS]
)
def test_it_shows_the_settings_link_to_managers_and_admins_only(
    client, request, persona, sees_link, anomaly
):
    client.force_login(request.getfixturevalue(persona))

    page = client.get(reverse("anomalies:list")).text

    assert (SETTINGS_LINK in page) is sees_link


@pytest.mark.parametrize("persona", MANAGERS)
def test_it_opens_every_settings_page_to_managers_and_admins(
    client, request, persona, jira_integration
):
    client.force_login(request.getfixturevalue(persona))
    pk = jira_integration.pk

    assert client.get(reverse("integrations:list")).status_code == HTTPStatus.OK
    assert client.get(reverse("integrations:edit", args=[pk])).status_code == HTTPStatus.OK
    assert client.get(reverse("integrations:disconnect", args=[pk])).status_code == HTTPStatus.OK
    assert client.post(reverse("integrations:test", args=[pk])).status_code == HTTPStatus.FOUND
    disconnected = client.post(reverse("integrations:disconnect", args=[pk]))
    assert disconnected.status_code == HTTPStatus.FOUND
    assert client.get(reverse("integrations:connect")).status_code == HTTPStatus.OK


# --- connecting -------------------------------------------------------------------------


def test_it_connects_after_jira_accepts_the_settings(client, manager, jira_sim):
    client.force_login(manager)

    response = connect(client, connect_form(jira_sim.url))

    assert "The integration has been successfully created." in response.text
    integration = TicketingIntegration.objects.get()
    assert integration.is_connected
    assert (integration.host_url, integration.default_project_key) == (jira_sim.url, "DQ")
    assert integration.account_name == "Quality Bot"
    assert integration.connected_by == manager
    assert integration.last_test_ok is True
    assert integration.credentials == f"{SIM_EMAIL}:{SIM_TOKEN}"


def test_it_stores_the_credentials_encrypted(client, manager, jira_sim):
    client.force_login(manager)
    connect(client, connect_form(jira_sim.url))

    stored = read_raw_credentials(TicketingIntegration.objects.get().pk)

    assert SIM_TOKEN.encode() not in stored
    assert SIM_EMAIL.encode() not in stored


def _wrong_token(jira_sim, request) -> dict:
    return {"credentials": f"{SIM_EMAIL}:expired-token"}


def _project_forbidden(jira_sim, request) -> dict:
    jira_sim.control.add_fault(status=403, method="GET", path_regex=r"/rest/api/3/project/DQ$")
    return {}


def _unknown_project(jira_sim, request) -> dict:
    return {"default_project_key": "NOPE"}


def _no_issue_types(jira_sim, request) -> dict:
    empty_page = {"startAt": 0, "maxResults": 200, "total": 0, "issueTypes": []}
    jira_sim.control.add_fault(status=200, path_regex=r"/issuetypes$", body=empty_page)
    return {}


def _network_timeout(jira_sim, request) -> dict:
    make_jira_time_out(request, r"/myself$")
    return {}


def _connection_refused(jira_sim, request) -> dict:
    return {"host_url": closed_port_url()}


def _read_only_account(jira_sim, request) -> dict:
    # The seeded viewer may browse DQ but not create issues nor comment (simulator README).
    return {"credentials": "viewer@example.com:viewer-token"}


@pytest.mark.parametrize(
    ("make_jira_fail", "failed_check", "headline", "hint"),
    [
        pytest.param(
            _connection_refused,
            "Authentication",
            "Connection failed",
            HINT_CONNECTION_FAILED,
            id="refused",
        ),
        pytest.param(
            _wrong_token, "Authentication", "Authentication failed", HINT_CREDENTIALS, id="401"
        ),
        pytest.param(
            _project_forbidden,
            "Project access",
            "Permission check failed",
            HINT_FORBIDDEN,
            id="403",
        ),
        pytest.param(
            _read_only_account,
            "Permissions",
            "Permission check failed",
            HINT_FORBIDDEN,
            id="read-only",
        ),
        pytest.param(
            _unknown_project,
            "Project access",
            "Project not found",
            HINT_PROJECT_NOT_FOUND,
            id="no-project",
        ),
        pytest.param(
            _no_issue_types,
            "Issue types available",
            "Issue type not found",
            HINT_ISSUE_TYPE_NOT_FOUND,
            id="no-types",
        ),
        pytest.param(
            _network_timeout, "Authentication", "Jira timed out", HINT_NETWORK_TIMEOUT, id="timeout"
        ),
    ],
)
def test_it_explains_each_troubleshooting_case_and_stores_nothing(
    client, request, manager, jira_sim, make_jira_fail, failed_check, headline, hint
):
    client.force_login(manager)
    form = connect_form(jira_sim.url, **make_jira_fail(jira_sim, request))

    page = connect(client, form).text

    assert f"{headline} — nothing was saved." in page
    assert [h for h in FAQ_HINTS if escape(h) in page] == [hint]
    assert check_results(page)[failed_check] == "failed"
    assert TicketingIntegration.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        pytest.param(
            {"host_url": "http://jira.example.com"},
            "The Jira URL must start with https://.",
            id="http-to-a-remote-host",
        ),
        pytest.param(
            {"host_url": "https://example.atlassian.net/jira"},
            "Enter only the site address, like https://your-domain.atlassian.net.",
            id="path",
        ),
        pytest.param(
            {"host_url": "https://example.atlassian.net?next=1"},
            "Enter only the site address, like https://your-domain.atlassian.net.",
            id="query",
        ),
        pytest.param(
            {"host_url": "https://bot:secret@example.atlassian.net"},
            "The Jira URL must not contain a user name or password.",
            id="userinfo",
        ),
        pytest.param(
            {"credentials": "bot@example.com"},
            "Enter the credentials as email:api_token",
            id="credentials-without-colon",
        ),
        pytest.param(
            {"default_project_key": "data quality"},
            "A Jira project key is letters, digits and underscores",
            id="project-key",
        ),
    ],
)
def test_it_rejects_bad_input_before_calling_jira(client, manager, jira_sim, changes, error):
    client.force_login(manager)

    response = connect(client, connect_form(jira_sim.url, **changes))

    assert response.status_code == HTTPStatus.OK
    assert error in response.text
    assert TicketingIntegration.objects.count() == 0
    assert jira_sim.control.requests() == []


def test_it_refuses_plain_http_to_loopback_unless_allowed(client, manager, jira_sim, settings):
    settings.JIRA_ALLOW_INSECURE_LOOPBACK = False
    client.force_login(manager)

    response = connect(client, connect_form(jira_sim.url))

    assert "The Jira URL must start with https://." in response.text
    assert TicketingIntegration.objects.count() == 0
    assert jira_sim.control.requests() == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_refuses_a_second_connection_naming_the_connected_one(
    client, manager, jira_integration, jira_sim, method
):
    client.force_login(manager)

    response = getattr(client, method)(
        reverse("integrations:connect"),
        connect_form(jira_sim.url, default_project_key="OPS"),
        follow=True,
    )

    assert f"Jira ({jira_sim.url}) is already connected. Disconnect it" in response.text
    assert TicketingIntegration.objects.count() == 1
    assert jira_sim.control.requests() == []


# --- testing ----------------------------------------------------------------------------


def test_it_shows_each_check_of_a_passing_test(client, manager, jira_integration):
    client.force_login(manager)

    page = client.post(reverse("integrations:test", args=[jira_integration.pk]), follow=True).text

    assert "Connection test passed." in page
    assert check_results(page) == {
        "Authentication": "ok",
        "Project access": "ok",
        "Permissions": "ok",
        "Issue types available": "ok",
    }
    assert "Signed in as Quality Bot" in page
    assert "Data Quality (DQ)" in page
    assert "Task, Bug, Story" in page


def test_it_shows_which_check_failed_and_which_did_not_run(
    client, manager, jira_integration, jira_sim
):
    _project_forbidden(jira_sim, request=None)
    client.force_login(manager)

    page = client.post(reverse("integrations:test", args=[jira_integration.pk]), follow=True).text

    assert "Connection test failed." in page
    assert check_results(page) == {
        "Authentication": "ok",
        "Project access": "failed",
        "Permissions": "skipped",
        "Issue types available": "skipped",
    }
    assert escape(HINT_FORBIDDEN) in page
    assert "Not checked: an earlier check failed." in page
    jira_integration.refresh_from_db()
    assert jira_integration.last_test_ok is False
    assert jira_integration.is_connected


# --- editing ----------------------------------------------------------------------------


def edit(client, integration, **form):
    return client.post(reverse("integrations:edit", args=[integration.pk]), form, follow=True)


def test_it_keeps_the_stored_credentials_when_the_field_is_left_blank(
    client, manager, jira_integration
):
    client.force_login(manager)

    page = edit(client, jira_integration, credentials="", default_project_key="OPS").text

    assert "The integration has been updated." in page
    jira_integration.refresh_from_db()
    assert jira_integration.default_project_key == "OPS"
    assert jira_integration.credentials == f"{SIM_EMAIL}:{SIM_TOKEN}"


def test_it_keeps_the_old_values_when_new_credentials_fail(client, manager, jira_integration):
    client.force_login(manager)

    page = edit(
        client, jira_integration, credentials=f"{SIM_EMAIL}:expired", default_project_key="OPS"
    ).text

    assert "Authentication failed — nothing was saved." in page
    assert escape(HINT_CREDENTIALS) in page
    jira_integration.refresh_from_db()
    assert jira_integration.default_project_key == "DQ"
    assert jira_integration.credentials == f"{SIM_EMAIL}:{SIM_TOKEN}"


def test_it_lifts_the_sync_pause_once_credentials_are_fixed(client, manager, jira_integration):
    jira_integration.attention_reason = "Jira rejected the credentials. (HTTP 401)"
    jira_integration.save(update_fields=["attention_reason"])
    client.force_login(manager)
    assert "Needs attention" in client.get(reverse("integrations:list")).text

    page = edit(
        client,
        jira_integration,
        credentials=f"{SIM_EMAIL}:{SIM_TOKEN}",
        default_project_key="DQ",
    ).text

    assert "Needs attention" not in page
    jira_integration.refresh_from_db()
    assert jira_integration.attention_reason == ""


def test_it_switches_to_new_credentials_that_jira_accepts(
    client, manager, jira_integration, jira_sim
):
    jira_sim.control.add_account("lead@example.com", "lead-token", display_name="Quality Lead")
    client.force_login(manager)

    edit(
        client,
        jira_integration,
        credentials="lead@example.com:lead-token",
        default_project_key="DQ",
    )

    jira_integration.refresh_from_db()
    assert jira_integration.credentials == "lead@example.com:lead-token"
    assert jira_integration.account_name == "Quality Lead"


def credentials_input(page: str) -> str:
    (tag,) = re.findall(r'<input[^>]*name="credentials"[^>]*>', page)
    return tag


def test_it_never_renders_the_stored_token(client, manager, jira_integration):
    client.force_login(manager)
    pages = [
        client.get(reverse("integrations:list")),
        client.get(reverse("integrations:edit", args=[jira_integration.pk])),
        client.get(reverse("integrations:disconnect", args=[jira_integration.pk])),
        client.post(reverse("integrations:test", args=[jira_integration.pk]), follow=True),
        edit(client, jira_integration, credentials="", default_project_key="NOPE"),
    ]

    for response in pages:
        assert response.status_code == HTTPStatus.OK
        assert SIM_TOKEN not in response.text
    edit_page = pages[1].text
    assert 'type="password"' in credentials_input(edit_page)
    assert "value=" not in credentials_input(edit_page)


@pytest.mark.parametrize("page", ["connect", "edit"])
def test_it_does_not_echo_typed_credentials_back_after_a_failure(client, manager, jira_sim, page):
    client.force_login(manager)
    typed = f"{SIM_EMAIL}:typed-but-wrong"
    if page == "connect":
        response = connect(client, connect_form(jira_sim.url, credentials=typed))
    else:
        integration = connect_via_page(client, jira_sim)
        response = edit(client, integration, credentials=typed, default_project_key="DQ")

    assert "Authentication failed" in response.text
    assert "typed-but-wrong" not in response.text
    assert "value=" not in credentials_input(response.text)


def connect_via_page(client, jira_sim) -> TicketingIntegration:
    connect(client, connect_form(jira_sim.url))
    return TicketingIntegration.objects.get()


# --- disconnecting ----------------------------------------------------------------------


def test_it_asks_for_confirmation_before_disconnecting(client, manager, jira_integration, anomaly):
    link = make_link(anomaly, jira_integration, linked_by=manager)
    make_event(link, SyncState.PENDING)
    client.force_login(manager)

    page = client.get(reverse("integrations:disconnect", args=[jira_integration.pk])).text

    assert f"Disconnect Jira ({jira_integration.host_url})?" in page
    assert "1 pending Jira comment will be cancelled" in page
    assert "The 1 existing anomaly–ticket link stay on the anomalies as history" in page
    jira_integration.refresh_from_db()
    assert jira_integration.is_connected


def test_it_disconnects_and_cancels_pending_comments(client, manager, jira_integration, anomaly):
    link = make_link(anomaly, jira_integration, linked_by=manager)
    pending = [make_event(link, SyncState.PENDING), make_event(link, SyncState.PENDING)]
    delivered = make_event(link, SyncState.DELIVERED)
    client.force_login(manager)

    response = client.post(
        reverse("integrations:disconnect", args=[jira_integration.pk]), follow=True
    )

    assert "was disconnected. 2 pending Jira comments were cancelled." in response.text
    assert "Earlier connections" in response.text
    jira_integration.refresh_from_db()
    assert jira_integration.state == IntegrationState.DISCONNECTED
    assert jira_integration.disconnected_by == manager
    for event in pending:
        event.refresh_from_db()
        assert event.state == SyncState.CANCELLED
        assert event.finished_reason == "The integration was disconnected."
    delivered.refresh_from_db()
    assert delivered.state == SyncState.DELIVERED
    assert TicketLink.objects.filter(pk=link.pk).exists()


def test_it_keeps_links_as_history_after_disconnecting(client, manager, jira_integration, anomaly):
    make_link(anomaly, jira_integration, linked_by=manager)
    client.force_login(manager)

    client.post(reverse("integrations:disconnect", args=[jira_integration.pk]))
    page = client.get(reverse("anomalies:detail", args=[anomaly.pk])).text

    assert "DQ-1" in page
    assert f"History only: Jira ({jira_integration.host_url}) is disconnected" in page


# --- credentials that cannot be decrypted -----------------------------------------------


@pytest.fixture
def unreadable_integration(jira_integration) -> TicketingIntegration:
    write_raw_credentials(jira_integration.pk, b"\x00garbage, not a ciphertext\xff")
    return TicketingIntegration.objects.get(pk=jira_integration.pk)


def test_it_asks_to_reenter_undecryptable_credentials(client, manager, unreadable_integration):
    client.force_login(manager)
    pk = unreadable_integration.pk

    list_page = client.get(reverse("integrations:list"))
    edit_page = client.get(reverse("integrations:edit", args=[pk]))
    tested = client.post(reverse("integrations:test", args=[pk]), follow=True)

    for response in (list_page, edit_page, tested):
        assert response.status_code == HTTPStatus.OK
        assert UNREADABLE_MESSAGE in response.text
    assert tested.redirect_chain[-1][0] == reverse("integrations:edit", args=[pk])


def test_it_cannot_keep_undecryptable_credentials_on_edit(client, manager, unreadable_integration):
    client.force_login(manager)

    page = edit(client, unreadable_integration, credentials="", default_project_key="DQ").text

    assert UNREADABLE_MESSAGE in page
    assert "The integration has been updated." not in page
    assert not TicketingIntegration.objects.get().credentials_readable


def test_it_recovers_once_credentials_are_reentered(client, manager, unreadable_integration):
    client.force_login(manager)

    page = edit(
        client,
        unreadable_integration,
        credentials=f"{SIM_EMAIL}:{SIM_TOKEN}",
        default_project_key="DQ",
    ).text

    assert "The integration has been updated." in page
    assert UNREADABLE_MESSAGE not in page
    assert TicketingIntegration.objects.get().credentials == f"{SIM_EMAIL}:{SIM_TOKEN}"


def test_it_disconnects_even_when_the_credentials_cannot_be_read(
    client, manager, unreadable_integration
):
    client.force_login(manager)
    url = reverse("integrations:disconnect", args=[unreadable_integration.pk])

    confirmation = client.get(url)
    disconnected = client.post(url, follow=True)

    assert confirmation.status_code == HTTPStatus.OK
    assert "was disconnected." in disconnected.text
    assert TicketingIntegration.objects.get().state == IntegrationState.DISCONNECTED
