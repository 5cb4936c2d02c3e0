"""ServiceNowClient call by call, against `responses` mocks shaped like docs/servicenow-api.md."""

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from integrations import errors
from integrations.servicenow import ServiceNowClient
from integrations.servicenow.urls import IncidentRef, incident_ref_from_url, normalize_instance_url

INSTANCE = "https://dev12345.service-now.com"
INCIDENTS = INSTANCE + "/api/now/table/incident"
JOURNAL = INSTANCE + "/api/now/table/sys_journal_field"
CHOICES = INSTANCE + "/api/now/table/sys_choice"
USERNAME = "qualytics.integration"
PASSWORD = "s3cret-Pa55"
SYS_ID = "9d385017c611228701d22104cc95c371"
HIBERNATING = "<html><head><title>Instance Hibernating page</title></head><body>…</body></html>"


def pair(value, display=None):
    return {"value": value, "display_value": value if display is None else display}


def incident_record(number="INC0010001", sys_id=SYS_ID, state=("2", "In Progress"), **extra):
    record = {
        "sys_id": pair(sys_id),
        "number": pair(number),
        "short_description": pair("Orders load is missing rows"),
        "state": pair(*state),
        "active": pair("true"),
        "priority": pair("3", "3 - Moderate"),
        "assignment_group": pair("402074618ec5c6fd70421401ea321b00", "Data Quality"),
        "assigned_to": pair("", ""),
        "correlation_id": pair(""),
    }
    record.update(extra)
    return record


def envelope(message, detail=""):
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


def query_of(call):
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def client():
    with ServiceNowClient(INSTANCE, USERNAME, PASSWORD) as servicenow:
        yield servicenow


# --- reads ------------------------------------------------------------------------------------


def test_it_reads_incidents_by_number_in_batches_of_100_with_basic_auth(mocked, client):
    numbers = [f"INC{n:07d}" for n in range(10001, 10251)]
    mocked.get(INCIDENTS, json={"result": [incident_record(numbers[0])]})
    mocked.get(INCIDENTS, json={"result": []})
    mocked.get(INCIDENTS, json={"result": [incident_record(numbers[-1], sys_id="b" * 32)]})

    lookup = client.get_incidents_by_numbers(numbers)

    assert len(mocked.calls) == 3
    queries = [query_of(call) for call in mocked.calls]
    sent = [q["sysparm_query"].split("^")[0].removeprefix("numberIN").split(",") for q in queries]
    assert [len(chunk) for chunk in sent] == [100, 100, 50]
    assert all(q["sysparm_display_value"] == "all" for q in queries)
    expected = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    assert mocked.calls[0].request.headers["Authorization"] == expected
    assert mocked.calls[0].request.headers["Accept"] == "application/json"
    assert lookup.found[numbers[0]][0].state_label == "In Progress"
    assert lookup.found[numbers[-1]][0].sys_id == "b" * 32
    assert numbers[1] in lookup.missing and len(lookup.missing) == 248


def test_it_ignores_rows_a_dropped_query_part_let_through(mocked, client):
    # An invalid part of an encoded query is dropped and the rest runs (§2.2): rows that
    # were not asked for prove nothing and must not be taken for the wanted ones.
    mocked.get(INCIDENTS, json={"result": [incident_record("INC0010042")]})

    lookup = client.get_incidents_by_numbers(["INC0010001"])

    assert lookup.found == {} and lookup.missing == {"INC0010001"}


def test_it_keeps_every_incident_sharing_a_number(mocked, client):
    rows = [incident_record("INC0010001"), incident_record("INC0010001", sys_id="c" * 32)]
    mocked.get(INCIDENTS, json={"result": rows})

    lookup = client.get_incidents_by_numbers(["inc0010001", "not a number"])

    assert [i.sys_id for i in lookup.found["INC0010001"]] == [SYS_ID, "c" * 32]
    assert "NOT A NUMBER" not in lookup.missing  # never sent, never reported


def test_it_keeps_user_text_inside_its_query_value(mocked, client):
    mocked.get(INCIDENTS, json={"result": []})

    client.search_incidents("orders^NQactive=true")

    query = query_of(mocked.calls[0])["sysparm_query"]
    assert "^NQ" not in query
    assert query.startswith("numberLIKEorders NQactive=true^OR")


def test_it_reads_only_the_asked_fields_choices(mocked, client):
    rows = [
        {"value": "1", "label": "New", "element": "state", "dependent_value": ""},
        {"value": "inquiry", "label": "Inquiry / Help", "element": "category"},
    ]
    mocked.get(CHOICES, json={"result": rows})

    choices = client.get_choices("state")

    assert [(c.value, c.label) for c in choices] == [("1", "New")]
    assert "element=state" in query_of(mocked.calls[0])["sysparm_query"]


def test_it_finds_a_journal_entry_only_when_its_text_holds_the_marker(mocked, client):
    marker = "[qualytics-event:abc]"
    mocked.get(JOURNAL, json={"result": [{"sys_id": "j1", "value": "other note"}]})
    mocked.get(JOURNAL, json={"result": [{"sys_id": "j2", "value": f"Acknowledged\n\n{marker}"}]})

    assert client.find_journal_entry(SYS_ID, marker) is None
    assert client.find_journal_entry(SYS_ID, marker) == "j2"
    assert "valueLIKE[qualytics-event:abc]" in query_of(mocked.calls[1])["sysparm_query"]


# --- writes -----------------------------------------------------------------------------------


def test_it_creates_an_incident_with_json_and_reads_it_back(mocked, client):
    created = incident_record("INC0010006", state=("1", "New"), correlation_id=pair("m-1"))
    mocked.post(INCIDENTS, status=201, json={"result": created})

    incident = client.create_incident({"short_description": "Orders", "correlation_id": "m-1"})

    request = mocked.calls[0].request
    assert json.loads(request.body) == {"short_description": "Orders", "correlation_id": "m-1"}
    assert request.headers["Content-Type"] == "application/json"
    assert (incident.number, incident.state_label, incident.correlation_id) == (
        "INC0010006",
        "New",
        "m-1",
    )


def test_it_adds_a_work_note_with_patch(mocked, client):
    mocked.patch(f"{INCIDENTS}/{SYS_ID}", json={"result": {"sys_id": SYS_ID}})

    client.add_work_note(SYS_ID, "Acknowledged by Ana")

    assert json.loads(mocked.calls[0].request.body) == {"work_notes": "Acknowledged by Ana"}


def test_it_refuses_a_sys_id_that_could_leave_its_path_segment(client):
    with pytest.raises(ValueError):
        client.add_work_note("../sys_user/abc", "x")


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error_class", "permanent"),
    [
        (401, envelope("User Not Authenticated", "Required to provide Auth information"),
         errors.CredentialsRejected, True),
        (403, envelope("Operation Failed", "ACL Exception Update Failed"),
         errors.Forbidden, True),
        (404, envelope("No Record found", "Record doesn't exist or ACL restricts it"),
         errors.NotFound, True),
        (400, envelope("Invalid table incidnt", "Table incidnt does not exist"),
         errors.RejectedInput, True),
        (503, None, errors.Transient, False),
    ],
)  # fmt: skip
def test_it_maps_each_status_to_the_shared_error_tree(
    mocked, client, status, body, error_class, permanent
):
    mocked.patch(f"{INCIDENTS}/{SYS_ID}", status=status, json=body)

    with pytest.raises(error_class) as raised:
        client.add_work_note(SYS_ID, "x")

    assert raised.value.permanent is permanent
    assert raised.value.status_code == status
    assert raised.value.hint
    assert raised.value.outcome_unknown is (status >= 500)


def test_it_waits_as_long_as_retry_after_says(mocked, client):
    mocked.get(INCIDENTS, status=429, json=envelope("Rate limit exceeded"), headers={
        "Retry-After": "7", "X-RateLimit-Reset": str(int(time.time()) + 600)})  # fmt: skip

    with pytest.raises(errors.RateLimited) as raised:
        client.search_incidents("orders")

    assert raised.value.retry_after == 7
    assert raised.value.permanent is False


def test_it_waits_until_the_rate_limit_reset_without_retry_after(mocked, client):
    reset = int(time.time()) + 30
    mocked.get(INCIDENTS, status=429, json=envelope("Rate limit exceeded"),
               headers={"X-RateLimit-Reset": str(reset)})  # fmt: skip

    with pytest.raises(errors.RateLimited) as raised:
        client.search_incidents("orders")

    assert 25 <= raised.value.retry_after <= 30


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_it_never_takes_a_hibernation_page_for_success(mocked, client, method):
    mocked.add(method, f"{INCIDENTS}/{SYS_ID}", status=200, body=HIBERNATING,
               content_type="text/html")  # fmt: skip

    with pytest.raises(errors.Transient) as raised:
        if method == "GET":
            client.get_incident(SYS_ID)
        else:
            client.add_work_note(SYS_ID, "x")

    assert "hibernating" in raised.value.message
    assert raised.value.outcome_unknown is (method == "PATCH")


def test_it_never_takes_json_without_a_result_for_success(mocked, client):
    mocked.get(INCIDENTS, status=200, json={"status": "ok"})

    with pytest.raises(errors.Transient):
        client.search_incidents("orders")


def test_it_does_not_know_whether_a_timed_out_write_happened(mocked, client):
    mocked.patch(f"{INCIDENTS}/{SYS_ID}", body=requests.ReadTimeout("read timed out"))
    mocked.get(INCIDENTS, body=requests.ConnectTimeout("connect timed out"))

    with pytest.raises(errors.Transient) as write:
        client.add_work_note(SYS_ID, "x")
    with pytest.raises(errors.Transient) as read:
        client.search_incidents("orders")

    assert write.value.outcome_unknown is True and write.value.is_timeout
    assert read.value.outcome_unknown is False


def test_it_sends_a_failed_write_exactly_once(mocked, client):
    # No urllib3 retries: a second PATCH could add a second work note.
    mocked.patch(f"{INCIDENTS}/{SYS_ID}", status=502)

    with pytest.raises(errors.Transient):
        client.add_work_note(SYS_ID, "x")

    assert len(mocked.calls) == 1


def test_it_does_not_follow_redirects(mocked, client):
    mocked.get(INCIDENTS, status=302, headers={"Location": "https://login.example.com/"})

    with pytest.raises(errors.UnexpectedResponse):
        client.search_incidents("orders")

    assert len(mocked.calls) == 1


def test_it_keeps_the_password_out_of_errors_and_reprs(mocked, client):
    echoed = envelope("User Not Authenticated", f"bad password {PASSWORD} for {USERNAME}")
    mocked.get(INCIDENTS, status=401, json=echoed)

    with pytest.raises(errors.CredentialsRejected) as raised:
        client.search_incidents("orders")

    encoded = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    shown = " ".join([str(raised.value), repr(raised.value), raised.value.hint, repr(client)])
    assert PASSWORD not in shown and encoded not in shown
    assert "[redacted]" in raised.value.message
    assert raised.value.__cause__ is None and raised.value.__context__ is None


# --- URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"{INSTANCE}/incident.do?sys_id={SYS_ID}",
        f"{INSTANCE}/incident.do?sys_id={SYS_ID}&sysparm_view=ess",
        f"{INSTANCE}/nav_to.do?uri=incident.do?sys_id={SYS_ID}",
        f"{INSTANCE}/nav_to.do?uri=incident.do%3Fsys_id%3D{SYS_ID}",
        f"{INSTANCE}/nav_to.do?uri=%252Fincident.do%253Fsys_id%253D{SYS_ID}",
        f"{INSTANCE}/now/nav/ui/classic/params/target/incident.do%3Fsys_id%3D{SYS_ID}",
        f"{INSTANCE}/now/sow/record/incident/{SYS_ID}",
        f"{INSTANCE}/now/workspace/agent/record/incident/{SYS_ID}/",
        f"{INSTANCE.upper().replace('HTTPS', 'https')}/incident.do?sys_id={SYS_ID.upper()}",
    ],
)
def test_it_reads_the_sys_id_of_every_incident_url_form(url):
    assert incident_ref_from_url(url, INSTANCE) == IncidentRef(sys_id=SYS_ID)


def test_it_reads_the_number_of_the_classic_form_by_number():
    url = f"{INSTANCE}/incident.do?sysparm_query=number=inc0010001"
    assert incident_ref_from_url(url, INSTANCE) == IncidentRef(number="INC0010001")


@pytest.mark.parametrize(
    "url",
    [
        f"https://other.service-now.com/incident.do?sys_id={SYS_ID}",
        f"http://dev12345.service-now.com/incident.do?sys_id={SYS_ID}",
        f"{INSTANCE}/incident.do?sys_id=-1",
        f"{INSTANCE}/sys_user.do?sys_id={SYS_ID}",
        f"{INSTANCE}/now/sow/record/problem/{SYS_ID}",
        f"{INSTANCE}/incident_list.do?sysparm_query=number=INC0010001",
        "INC0010001",
        "",
    ],
)
def test_it_refuses_urls_of_other_hosts_records_or_tables(url):
    assert incident_ref_from_url(url, INSTANCE) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://dev12345.service-now.com", "https://"),
        ("https://dev12345.service-now.com/now/nav", "only the instance address"),
        ("https://admin:pw@dev12345.service-now.com", "user name or password"),
        ("dev12345.service-now.com", "full ServiceNow instance URL"),
    ],
)
def test_it_explains_a_wrong_instance_url(url, message):
    with pytest.raises(ValueError, match=message):
        normalize_instance_url(url, allow_insecure_loopback=True)


def test_it_accepts_custom_domains_and_loopback_http_for_the_simulator():
    assert normalize_instance_url("https://ITSM.Example.com/", allow_insecure_loopback=False) == (
        "https://itsm.example.com"
    )
    assert normalize_instance_url("http://127.0.0.1:8090", allow_insecure_loopback=True) == (
        "http://127.0.0.1:8090"
    )
