"""One active ticketing integration at a time, enforced by the database (PRODUCT §3)."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from integrations import services
from integrations.models import Connector, IntegrationState, TicketingIntegration
from tests.conftest import SIM_EMAIL, SIM_TOKEN, make_user

PASSING_REPORT = services.ConnectionReport(
    [services.Check(name, True, "ok") for name in ("Authentication", "Project access")],
    account_name="Quality Bot",
)


def connect(host_url: str, by) -> TicketingIntegration:
    return services.connect_integration(
        host_url=host_url,
        credentials=services.Credentials(SIM_EMAIL, SIM_TOKEN),
        default_project_key="DQ",
        report=PASSING_REPORT,
        by=by,
    )


def test_it_refuses_a_second_connected_row_even_without_the_service(manager):
    connect("https://first.atlassian.net", manager)

    with pytest.raises(IntegrityError), transaction.atomic():
        TicketingIntegration.objects.create(
            connector=Connector.SERVICENOW,
            host_url="https://second.service-now.com",
            credentials="someone@example.com:token",
            default_project_key="DQ",
            connected_at=timezone.now(),
        )


def test_it_reports_already_connected_naming_the_active_one(manager):
    connect("https://first.atlassian.net", manager)

    with pytest.raises(services.AlreadyConnected) as refused:
        connect("https://second.atlassian.net", manager)

    assert str(refused.value).startswith(
        "Jira (https://first.atlassian.net) is already connected. Disconnect it"
    )
    assert TicketingIntegration.objects.get().host_url == "https://first.atlassian.net"


def test_it_tells_the_manager_who_lost_a_race_who_won(client, manager, jira_sim, monkeypatch):
    """Both Managers opened an empty Connect form; the other one saved first, while this
    one's settings were still being checked against Jira."""
    check_against_jira = services.check_connection

    def other_manager_connects_meanwhile(*args):
        connect("https://winner.atlassian.net", manager)
        return check_against_jira(*args)

    monkeypatch.setattr(services, "check_connection", other_manager_connects_meanwhile)
    client.force_login(manager)
    form = {
        "host_url": jira_sim.url,
        "credentials": f"{SIM_EMAIL}:{SIM_TOKEN}",
        "default_project_key": "DQ",
    }

    page = client.post(reverse("integrations:connect"), form, follow=True).text

    assert "Jira (https://winner.atlassian.net) is already connected." in page
    assert "successfully created" not in page
    assert TicketingIntegration.objects.get().host_url == "https://winner.atlassian.net"


def test_it_accepts_a_new_connection_once_the_old_one_is_disconnected(manager):
    first = connect("https://first.atlassian.net", manager)
    services.disconnect_integration(first, by=manager)

    second = connect("https://second.atlassian.net", manager)

    assert services.connected_integration() == second
    states = dict(TicketingIntegration.objects.values_list("host_url", "state"))
    assert states == {
        "https://first.atlassian.net": IntegrationState.DISCONNECTED,
        "https://second.atlassian.net": IntegrationState.CONNECTED,
    }


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers, so two connections cannot race on the constraint; "
    "this runs on Postgres (DATABASE_URL=postgres://…)",
)
# serialized_rollback: put back what the migrations created (the Public team every new user
# joins) before the test, and keep Django from re-creating content types after it, which
# would clash with the next test that puts them back.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_lets_only_one_of_two_simultaneous_connections_win():
    managers = [make_user("first-manager"), make_user("second-manager")]
    start_together = threading.Barrier(len(managers))
    outcomes: list[str] = []

    def connect_as(manager, host_url: str) -> None:
        try:
            start_together.wait(timeout=5)
            connect(host_url, manager)
            outcomes.append("connected")
        except services.AlreadyConnected:
            outcomes.append("already connected")
        finally:
            connection.close()  # each thread has its own database connection

    threads = [
        threading.Thread(target=connect_as, args=(manager, f"https://site{n}.atlassian.net"))
        for n, manager in enumerate(managers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(outcomes) == ["already connected", "connected"]
    assert TicketingIntegration.objects.connected().count() == 1
