"""Personas and shared fixtures.

Personas (STYLE.md): `admin`, `manager`, `member_author`, `member_reporter`, `outsider`,
on one datastore `warehouse` with one anomaly each test can act on.
"""

import os

import pytest
from django.utils import timezone

from anomalies.models import (
    Anomaly,
    AnomalyType,
    Container,
    Datastore,
    DatastorePermission,
    FailedCheck,
    Level,
    Role,
    Team,
    User,
)

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def require_service(name: str, available: bool, why: str = "") -> None:
    """Skip a test whose service is missing; under REQUIRE_SERVICES=1 (CI), fail instead."""
    if available:
        return
    message = f"needs {name}{': ' + why if why else ''}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(message)


@pytest.fixture
def warehouse(db) -> Datastore:
    return Datastore.objects.create(name="Sales Warehouse", connection_type="Snowflake")


@pytest.fixture
def orders(warehouse) -> Container:
    return Container.objects.create(datastore=warehouse, name="orders")


def make_user(username: str, *, role: str = Role.MEMBER) -> User:
    return User.objects.create_user(
        username=username, password="pw", role=role, email=f"{username}@example.com"
    )


def grant(user: User, datastore: Datastore, level: Level) -> Team:
    team = Team.objects.create(name=f"{user.username}-{datastore.pk}-{level.label}")
    team.members.add(user)
    DatastorePermission.objects.create(team=team, datastore=datastore, level=level)
    return team


def make_anomaly(container: Container, **fields) -> Anomaly:
    defaults = {
        "anomaly_type": AnomalyType.RECORD,
        "description": "12 records have a null customer_id.",
        "weight": 8,
        "anomalous_record_count": 12,
        "fingerprint": f"fp-{Anomaly.objects.count() + 1}-{fields.get('description', '')[:20]}",
    }
    anomaly = Anomaly.objects.create(
        datastore=container.datastore, container=container, **{**defaults, **fields}
    )
    FailedCheck.objects.create(
        anomaly=anomaly,
        rule_type="notNull",
        field_name="customer_id",
        message="12 records have a null customer_id.",
    )
    return anomaly


def make_link(anomaly: Anomaly, integration, key: str = "DQ-1", **fields):
    """A ticket link stored as it is, without asking Jira (fields override the defaults)."""
    from integrations.models import TicketLink

    defaults = {
        "origin": TicketLink.Origin.LINKED,
        "issue_id": "10001",
        "url": f"{integration.host_url}/browse/{key}",
        "linked_at": timezone.now(),
    }
    return TicketLink.objects.create(
        anomaly=anomaly, integration=integration, issue_key=key, **{**defaults, **fields}
    )


@pytest.fixture
def anomaly(orders) -> Anomaly:
    return make_anomaly(orders)


@pytest.fixture
def admin(db) -> User:
    return make_user("admin", role=Role.ADMIN)


@pytest.fixture
def manager(db, warehouse) -> User:
    user = make_user("manager", role=Role.MANAGER)
    grant(user, warehouse, Level.AUTHOR)
    return user


@pytest.fixture
def member_author(db, warehouse) -> User:
    user = make_user("author")
    grant(user, warehouse, Level.AUTHOR)
    return user


@pytest.fixture
def member_viewer(db, warehouse) -> User:
    user = make_user("viewer")
    grant(user, warehouse, Level.VIEWER)
    return user


@pytest.fixture
def member_reporter(db, warehouse) -> User:
    user = make_user("reporter")
    grant(user, warehouse, Level.REPORTER)
    return user


@pytest.fixture
def outsider(db) -> User:
    return make_user("outsider")


# --- Jira simulator ----------------------------------------------------------------------

SIM_EMAIL = "bot@example.com"
SIM_TOKEN = "sim-token"


@pytest.fixture(scope="session")
def jira_sim_server():
    from simulators.jira import JiraSimulator

    simulator = JiraSimulator(email=SIM_EMAIL, api_token=SIM_TOKEN, port=0).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def jira_sim(jira_sim_server, settings):
    """The in-process Jira simulator, reset for each test; http to loopback allowed."""
    jira_sim_server.reset()
    settings.JIRA_ALLOW_INSECURE_LOOPBACK = True
    return jira_sim_server


@pytest.fixture
def jira_integration(jira_sim, manager):
    """A connected Jira integration pointing at the simulator, default project DQ."""
    from integrations.models import Connector, TicketingIntegration

    return TicketingIntegration.objects.create(
        connector=Connector.JIRA,
        host_url=jira_sim.url,
        credentials=f"{SIM_EMAIL}:{SIM_TOKEN}",
        default_project_key="DQ",
        account_name="Quality Bot",
        connected_by=manager,
        connected_at=timezone.now(),
    )


# --- ServiceNow simulator -----------------------------------------------------------------

SN_USERNAME = "qualytics.integration"
SN_PASSWORD = "sim-password"


@pytest.fixture(scope="session")
def servicenow_sim_server():
    from simulators.servicenow import ServiceNowSimulator

    simulator = ServiceNowSimulator(username=SN_USERNAME, password=SN_PASSWORD, port=0).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def servicenow_sim(servicenow_sim_server, settings):
    """The in-process ServiceNow simulator, reset for each test; http to loopback allowed."""
    servicenow_sim_server.reset()
    settings.JIRA_ALLOW_INSECURE_LOOPBACK = True
    return servicenow_sim_server


def connect_servicenow(url: str, manager):
    """A connected ServiceNow integration at ``url`` (a simulator), default group Data
    Quality."""
    from integrations.models import TicketingIntegration

    return TicketingIntegration.objects.create(
        connector="servicenow",
        host_url=url,
        credentials=f"{SN_USERNAME}:{SN_PASSWORD}",
        default_project_key="Data Quality",
        account_name="Qualytics Integration",
        connected_by=manager,
        connected_at=timezone.now(),
    )


@pytest.fixture
def servicenow_integration(servicenow_sim, manager):
    return connect_servicenow(servicenow_sim.url, manager)


@pytest.fixture(autouse=True)
def broker_breaker():
    """Each test starts believing the broker is up (a broken one trips a per-process pause)."""
    from qualytics_jira.broker import breaker

    breaker.reset()
    yield breaker
    breaker.reset()
