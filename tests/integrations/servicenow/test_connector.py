"""The ServiceNow connector over real HTTP against the simulator (simulators/servicenow)."""

import pickle

import pytest

from integrations import errors
from integrations.connectors import (
    StatusCategory,
    TicketDescription,
    TicketDraft,
    get_connector,
)
from integrations.host_policy import HostPolicy
from integrations.servicenow.connector import status_of
from integrations.servicenow.types import Incident
from tests.conftest import SN_PASSWORD, SN_USERNAME

LOOPBACK = HostPolicy(allow_loopback=True)
DESCRIPTION = TicketDescription(
    user_text="Rows went missing overnight.",
    header="Qualytics Anomaly Linked [2026-11-30 21:00:00 UTC]",
    facts=("Anomaly: #42", "Container: orders", "Rule: not_null"),
    link_label="View the anomaly in Qualytics: ",
    url="https://qualytics.example.com/anomalies/42",
)


def connect(sim, username=SN_USERNAME, password=SN_PASSWORD, **options):
    connector_class = get_connector("servicenow")
    credentials = connector_class.parse_credentials(f"{username}:{password}")
    return connector_class(sim.url, credentials, host_policy=LOOPBACK, **options)


def draft(**values):
    return TicketDraft(scope="incident", summary="Orders load", description=DESCRIPTION,
                       values=values)  # fmt: skip


@pytest.fixture
def servicenow(servicenow_sim):
    with connect(servicenow_sim) as connector:
        yield connector


# --- connection test --------------------------------------------------------------------------


def test_it_passes_a_full_account_and_promises_exactly_once(servicenow):
    report = servicenow.check_connection("Data Quality")

    assert report.ok, report.failure_text(refused=False)
    assert report.account_name == "Qualytics Integration"
    journal = report.checks[-1]
    assert journal.name == "Journal lookup" and "exactly once" in journal.detail


def test_it_says_which_weaker_guarantee_applies_without_journal_access(servicenow_sim):
    with connect(servicenow_sim, "itil.only", "itil-password") as connector:
        report = connector.check_connection("")

    assert report.ok
    assert "weaker guarantee" in report.checks[-1].detail
    assert "audit_viewer" in report.checks[-1].hint


def test_it_fails_a_read_only_account_with_the_permission_hint(servicenow_sim):
    with connect(servicenow_sim, "readonly.viewer", "viewer-password") as connector:
        report = connector.check_connection("")

    failure = report.first_failure
    assert not report.ok
    assert failure.name == "Create and update incidents"
    assert failure.headline == "Permission check failed"
    assert "itil role" in failure.hint
    assert servicenow_sim.control.incident("INC0010001")["journal"] == []  # nothing written


def test_it_fails_bad_credentials_first_and_checks_nothing_else(servicenow_sim):
    with connect(servicenow_sim, SN_USERNAME, "wrong") as connector:
        report = connector.check_connection("")

    assert report.checks[0].headline == "Authentication failed"
    assert [check.ok for check in report.checks[1:]] == [None] * (len(report.checks) - 1)
    assert "wrong" not in report.failure_text(refused=True)


def test_it_fails_an_unknown_default_group(servicenow):
    report = servicenow.check_connection("No Such Group")

    assert report.first_failure.name == "Default assignment group"


def test_it_refuses_a_loopback_instance_under_the_default_host_policy(servicenow_sim):
    connector_class = get_connector("servicenow")
    credentials = connector_class.parse_credentials(f"{SN_USERNAME}:{SN_PASSWORD}")
    servicenow_sim.control.clear_requests()
    with connector_class(servicenow_sim.url, credentials) as connector:
        report = connector.check_connection("")

    assert report.first_failure.headline == "Host not allowed"
    assert servicenow_sim.control.requests() == []


@pytest.mark.parametrize("text", ["no-colon", ":password", "user:"])
def test_it_explains_the_credentials_format(text):
    with pytest.raises(ValueError, match="username:password"):
        get_connector("servicenow").parse_credentials(text)


# --- create form and create -------------------------------------------------------------------


def test_it_describes_the_create_form_from_the_instances_choices(servicenow):
    spec = servicenow.describe_create_form(
        "Data Quality", {"category": "database", "impact": "1", "urgency": "2"}
    )

    summary = spec.field("summary")
    assert summary.required and summary.max_length == 160
    assert ("1", "1 - High") in spec.field("urgency").choices
    assert ("database", "Database") in spec.field("category").choices
    assert {value for value, _ in spec.field("subcategory").choices} == {
        "db2",
        "sql server",
        "oracle",
    }
    assert "2 - High" in spec.field("impact").help_text  # impact 1 × urgency 2 (§4.2)
    group = spec.field("assignment_group")
    assert dict(group.choices)[group.initial] == "Data Quality"


def test_it_narrows_assignees_by_search(servicenow):
    spec = servicenow.describe_create_form("", {"user_search": "bob"})

    assert [label for _, label in spec.field("assigned_to").choices] == [
        "Bob Brennan (bob@example.com)"
    ]


def test_it_creates_an_incident_with_the_anomaly_context_in_plain_text(servicenow, servicenow_sim):
    spec = servicenow.describe_create_form("Database", {})
    group = spec.field("assignment_group").initial
    long_summary = "Orders load is missing rows " * 10

    ticket = servicenow.create_ticket(
        TicketDraft("incident", long_summary, DESCRIPTION,
                    {"impact": "1", "urgency": "1", "category": "database",
                     "subcategory": "oracle", "assignment_group": group}),
        marker="create-7",
    )  # fmt: skip

    stored = servicenow_sim.control.incident(ticket.key)
    assert ticket.key == "INC0010006" and ticket.status.category == StatusCategory.TODO
    assert len(stored["short_description"]) <= 160
    assert stored["description"].startswith("Rows went missing overnight.")
    assert "Container: orders" in stored["description"]
    assert "https://qualytics.example.com/anomalies/42" in stored["description"]
    assert (stored["priority"], stored["category"], stored["subcategory"]) == (
        "1",
        "database",
        "oracle",
    )
    assert stored["correlation_id"] == "create-7"


def test_it_finds_an_incident_whose_create_answer_was_lost(servicenow, servicenow_sim):
    servicenow_sim.control.add_fault("drop_after", method="POST")

    with pytest.raises(errors.Transient) as raised:
        servicenow.create_ticket(draft(), marker="create-lost")
    found = servicenow.find_created_ticket("incident", "create-lost")

    assert raised.value.outcome_unknown
    assert found is not None and found.key == "INC0010006"
    assert servicenow.find_created_ticket("incident", "create-other") is None
    assert len(servicenow_sim.control.incidents()) == 6


# --- find, link, statuses ---------------------------------------------------------------------


def test_it_finds_incidents_by_number_url_and_text(servicenow, servicenow_sim):
    stored = servicenow_sim.control.incident("INC0010003")
    sys_id = stored["sys_id"]
    base = servicenow_sim.url

    assert servicenow.get_ticket("inc0010003").summary == stored["short_description"]
    for url in (
        f"{base}/incident.do?sys_id={sys_id}",
        f"{base}/nav_to.do?uri=incident.do%3Fsys_id%3D{sys_id}",
        f"{base}/now/nav/ui/classic/params/target/incident.do%3Fsys_id%3D{sys_id}",
        f"{base}/now/sow/record/incident/{sys_id}",
        f"{base}/now/workspace/agent/record/incident/{sys_id}",
        f"{base}/incident.do?sysparm_query=number=INC0010003",
    ):
        assert servicenow.key_from_url(url) == "INC0010003", url
    assert (
        servicenow.key_from_url(f"https://elsewhere.example.com/incident.do?sys_id={sys_id}")
        is None
    )
    assert [t.key for t in servicenow.search_tickets("replica lag")] == ["INC0010003"]
    assert servicenow.search_tickets("INC0010002")[0].key == "INC0010002"


def test_it_opens_the_link_it_shows(servicenow, servicenow_sim):
    url = servicenow.browse_url("INC0010001")

    assert servicenow.key_from_url(url) == "INC0010001"


def test_it_reports_a_missing_incident_as_not_found(servicenow, servicenow_sim):
    servicenow_sim.control.delete_incident("INC0010001")

    with pytest.raises(errors.NotFound):
        servicenow.get_ticket("INC0010001")


def test_it_reads_every_state_as_a_neutral_status(servicenow, servicenow_sim):
    servicenow.create_ticket(draft(), marker="to-cancel")
    servicenow_sim.control.set_state("INC0010006", "8")

    lookup = servicenow.read_statuses(
        ["INC0010001", "INC0010002", "INC0010003", "INC0010004", "INC0010005", "INC0010006"]
    )

    statuses = {key: (t.status.name, t.status.category) for key, t in lookup.found.items()}
    assert statuses == {
        "INC0010001": ("New", StatusCategory.TODO),
        "INC0010002": ("In Progress", StatusCategory.IN_PROGRESS),
        "INC0010003": ("On Hold", StatusCategory.IN_PROGRESS),
        "INC0010004": ("Resolved", StatusCategory.DONE),
        "INC0010005": ("Closed", StatusCategory.DONE),
        "INC0010006": ("Canceled", StatusCategory.DONE),
    }


def test_it_refreshes_many_links_in_one_call_per_100_numbers(servicenow, servicenow_sim):
    servicenow_sim.control.delete_incident("INC0010002")
    servicenow_sim.control.clear_requests()
    numbers = [f"INC{n:07d}" for n in range(10001, 10151)]

    lookup = servicenow.read_statuses(numbers)

    reads = [r for r in servicenow_sim.control.requests() if r["path"].endswith("/incident")]
    assert len(reads) == 2
    assert set(lookup.found) == {"INC0010001", "INC0010003", "INC0010004", "INC0010005"}
    assert "INC0010002" in lookup.missing and len(lookup.missing) == 146


def test_it_never_reads_a_hibernating_instance_as_all_gone(servicenow, servicenow_sim):
    servicenow_sim.control.set_hibernating(True)

    with pytest.raises(errors.Transient):
        servicenow.read_statuses(["INC0010001"])


# --- work notes -------------------------------------------------------------------------------


def test_it_posts_a_work_note_carrying_its_marker(servicenow, servicenow_sim):
    servicenow.post_note("INC0010001", "Anomaly acknowledged by Ana", marker="evt-1")

    notes = servicenow_sim.control.work_notes("INC0010001")
    assert notes == ["Anomaly acknowledged by Ana\n\n[qualytics-event:evt-1]"]
    assert servicenow.find_note("INC0010001", "evt-1")
    assert servicenow.find_note("INC0010001", "evt-2") is None


@pytest.mark.parametrize(
    ("account", "journal_denied"),
    [
        ((SN_USERNAME, SN_PASSWORD), "empty"),
        (("itil.only", "itil-password"), "empty"),
        (("itil.only", "itil-password"), "forbidden"),
    ],
)
def test_it_finds_a_note_whose_answer_was_lost_with_or_without_journal_access(
    servicenow_sim, account, journal_denied
):
    servicenow_sim.control.settings(journal_denied=journal_denied)
    servicenow_sim.control.add_fault("drop_after", method="PATCH")

    with connect(servicenow_sim, *account) as connector:
        with pytest.raises(errors.Transient) as raised:
            connector.post_note("INC0010002", "Anomaly archived", marker="evt-9")
        found = connector.find_note("INC0010002", "evt-9")
        missing = connector.find_note("INC0010002", "evt-10")

    assert raised.value.outcome_unknown
    assert found and missing is None
    assert servicenow_sim.control.work_notes("INC0010002")[-1].endswith("[qualytics-event:evt-9]")


def test_it_passes_on_the_wait_a_rate_limit_asks_for(servicenow, servicenow_sim):
    servicenow_sim.control.add_rate_limited(count=1, retry_after=3, method="PATCH")

    with pytest.raises(errors.RateLimited) as raised:
        servicenow.post_note("INC0010001", "Comment", marker="evt-3")

    assert raised.value.retry_after == 3
    assert servicenow_sim.control.work_notes("INC0010001") == []


def test_it_reports_a_note_on_a_deleted_incident_as_not_found(servicenow, servicenow_sim):
    servicenow.get_ticket("INC0010001")  # the number is known, its sys_id cached
    servicenow_sim.control.delete_incident("INC0010001")

    with pytest.raises(errors.NotFound):
        servicenow.post_note("INC0010001", "Comment", marker="evt-4")


def test_it_accepts_only_https_instances_unless_the_simulator_is_allowed():
    connector_class = get_connector("servicenow")

    assert connector_class.normalize_host_url("https://Dev1.service-now.com/") == (
        "https://dev1.service-now.com"
    )
    with pytest.raises(ValueError, match="https://"):
        connector_class.normalize_host_url("http://127.0.0.1:8090")
    assert connector_class.normalize_host_url(
        "http://127.0.0.1:8090", allow_insecure_loopback=True
    ) == ("http://127.0.0.1:8090")


def test_it_hands_workers_errors_that_survive_pickling(servicenow, servicenow_sim):
    servicenow_sim.control.add_rate_limited(count=1, retry_after=5)

    with pytest.raises(errors.RateLimited) as raised:
        servicenow.get_ticket("INC0010001")
    copy = pickle.loads(pickle.dumps(raised.value))

    assert isinstance(copy, errors.RateLimited) and copy.retry_after == 5
    assert (copy.message, copy.hint, copy.permanent) == (
        raised.value.message,
        raised.value.hint,
        False,
    )


def test_it_fails_the_connection_test_of_a_hibernating_instance_as_unavailable(
    servicenow, servicenow_sim
):
    servicenow_sim.control.set_hibernating(True)

    report = servicenow.check_connection("")

    assert report.checks[0].headline == "Connection failed"
    assert "hibernating" in report.checks[0].detail


@pytest.mark.parametrize(
    ("state", "label", "expected"),
    [
        ("9", "Awaiting Vendor", (StatusCategory.UNKNOWN, "Awaiting Vendor")),
        ("9", "", (StatusCategory.UNKNOWN, "Unknown (state 9)")),
        ("", "", (StatusCategory.UNKNOWN, "Unknown (state not readable)")),
    ],
)
def test_it_names_a_state_it_cannot_place_as_unknown_with_the_reason(state, label, expected):
    incident = Incident(
        sys_id="a" * 32, number="INC0010001", short_description="", state=state,
        state_label=label, active=True, priority_label="", assignment_group="",
        assigned_to="", correlation_id="",
    )  # fmt: skip

    status = status_of(incident)

    assert (status.category, status.name) == expected
