"""How Jira's failures reach callers: error classes, hints, retry advice, and no leaked secret."""

import base64
import logging
import pickle
import socket
import threading
import traceback
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
import requests
import responses

from integrations.host_policy import HostPolicy
from integrations.jira import (
    JiraClient,
    JiraCredentialsRejected,
    JiraError,
    JiraForbidden,
    JiraNotFound,
    JiraRateLimited,
    JiraRejectedInput,
    JiraUnavailable,
    JiraUnexpectedResponse,
)
from integrations.jira.adf import text_to_adf
from integrations.jira.errors import retry_after_seconds

HOST = "https://example.atlassian.net"
LOCAL = HostPolicy(allow_loopback=True)  # the local test servers listen on 127.0.0.1
API = HOST + "/rest/api/3"
EMAIL = "bot@example.com"
SENTINEL = "SENTINEL-TOKEN-1234"
SENTINEL_FORMS = (
    SENTINEL,
    f"{EMAIL}:{SENTINEL}",
    base64.b64encode(f"{EMAIL}:{SENTINEL}".encode()).decode(),
    base64.b64encode(SENTINEL.encode()).decode(),
)
CONNECTION_HINT = (
    "Verify the host URL format (https://your-domain.atlassian.net), check the credentials "
    "format (email:api_token) and confirm the account is active."
)
TIMEOUT_HINT = (
    "Network timeout: a firewall may be blocking the connection; ensure Qualytics IPs are "
    "allowlisted."
)
CREDENTIALS_HINT = (
    "Incorrect credentials: verify the email:api_token format is correct and that the API "
    "token is not expired."
)
HTML_PAGE = "<html><body><h1>Oops</h1><p>Something went wrong</p></body></html>"


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def client():
    with JiraClient(HOST, EMAIL, "api-token-1") as jira:
        yield jira


def raised_by(call, *args, **kwargs) -> JiraError:
    with pytest.raises(JiraError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_it_reports_rejected_credentials_on_myself_as_permanent(mocked, client):
    mocked.get(API + "/myself", status=401)

    error = raised_by(client.get_myself)

    assert isinstance(error, JiraCredentialsRejected)
    assert (error.status_code, error.permanent, error.hint) == (401, True, CREDENTIALS_HINT)


def test_it_reads_a_404_flagged_as_failed_login_as_rejected_credentials(mocked, client):
    body = {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
    headers = {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
    mocked.get(API + "/issue/OPS-1", json=body, status=404, headers=headers)

    assert isinstance(raised_by(client.get_issue, "OPS-1"), JiraCredentialsRejected)


def test_it_refuses_an_answer_served_anonymously_after_a_failed_login(mocked, client):
    # A public project answers 200 to an anonymous caller: bad credentials must still show.
    headers = {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
    mocked.get(API + "/project/OPS", json={"id": "1", "key": "OPS"}, headers=headers)

    assert isinstance(raised_by(client.get_project, "OPS"), JiraCredentialsRejected)


def test_it_accepts_an_answer_flagged_as_a_good_login(mocked, client):
    headers = {"X-Seraph-LoginReason": "OK"}
    mocked.get(API + "/project/OPS", json={"id": "1", "key": "OPS", "name": "Ops"}, headers=headers)

    assert client.get_project("OPS").key == "OPS"


def test_it_includes_a_plain_text_401_message(mocked, client):
    text = "Client must be authenticated to access this resource."
    mocked.get(API + "/myself", body=text, status=401, content_type="text/plain")

    assert text in str(raised_by(client.get_myself))


def test_it_reports_a_403_with_the_permissions_hint(mocked, client):
    mocked.post(API + "/issue", json={"errorMessages": ["You do not have permission."]}, status=403)

    error = raised_by(client.create_issue, {"summary": "x"})

    assert isinstance(error, JiraForbidden) and error.permanent and not error.outcome_unknown
    assert error.hint.startswith("The account lacks required permissions")


def test_it_splits_jira_error_collections_into_messages_and_field_errors(mocked, client):
    body = {
        "errorMessages": ["Field 'priority' is required"],
        "errors": {"summary": "Summary must be less than 255 characters."},
    }
    mocked.post(API + "/issue", json=body, status=400)

    error = raised_by(client.create_issue, {"summary": "x" * 300})

    assert isinstance(error, JiraRejectedInput)
    assert error.messages == ["Field 'priority' is required"]
    assert error.field_errors == {"summary": "Summary must be less than 255 characters."}
    assert "Summary must be less than 255 characters." in str(error)


def test_it_points_a_bad_project_in_a_create_at_the_project_hint(mocked, client):
    mocked.post(
        API + "/issue",
        json={"errors": {"project": "Specify a valid project ID or key"}},
        status=400,
    )

    error = raised_by(client.create_issue, {"project": {"key": "NOPE"}})

    assert error.hint == "Verify the project key is correct and the user has access to the project."


def test_it_treats_a_422_configuration_problem_as_rejected_input(mocked, client):
    mocked.post(
        API + "/issue", json={"errorMessages": ["Workflow is broken"], "errors": {}}, status=422
    )

    error = raised_by(client.create_issue, {})

    assert isinstance(error, JiraRejectedInput) and error.permanent


def test_it_passes_on_retry_after_of_a_429(mocked, client):
    mocked.get(API + "/user/assignable/search", status=429, headers={"Retry-After": "7"})

    error = raised_by(client.find_assignable_users, "OPS", "mi")

    assert isinstance(error, JiraRateLimited)
    assert (error.retry_after, error.permanent) == (7.0, False)


def test_it_computes_retry_after_from_the_rate_limit_reset_alone(mocked, client):
    reset = (datetime.now(UTC) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%MZ")
    mocked.get(API + "/myself", status=429, headers={"X-RateLimit-Reset": reset})

    error = raised_by(client.get_myself)

    assert 55 <= error.retry_after <= 120


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "1"}, 1.0),
        ({"Retry-After": "2.5", "X-RateLimit-Reset": "2026-01-01T02:00Z"}, 2.5),
        ({"X-RateLimit-Reset": "2026-01-01T01:01Z"}, 60.0),
        ({"X-RateLimit-Reset": "2026-01-01T01:00:30Z"}, 30.0),
        ({"X-RateLimit-Reset": "2025-12-31T23:00Z"}, 0.0),
        ({"Retry-After": "Thu, 01 Jan 2026 01:00:45 GMT"}, 45.0),
        ({"Retry-After": "soon"}, None),
        ({"X-RateLimit-Reset": "tomorrow"}, None),
        ({}, None),
    ],
)
def test_it_reads_retry_advice_in_every_documented_form(headers, seconds):
    now = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)

    assert retry_after_seconds(headers, now=lambda: now) == seconds


def test_it_reports_a_503_on_a_write_as_transient_and_outcome_unknown(mocked, client):
    mocked.post(
        API + "/issue/OPS-1/comment",
        body=HTML_PAGE,
        status=503,
        headers={"Retry-After": "30"},
        content_type="text/html",
    )

    error = raised_by(client.add_comment, "OPS-1", text_to_adf("hi"))

    assert isinstance(error, JiraUnavailable)
    # A proxy may answer 503 after Jira applied the write: the caller must look first.
    assert (error.retry_after, error.permanent, error.outcome_unknown) == (30.0, False, True)


@pytest.mark.parametrize("status", [HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.GATEWAY_TIMEOUT])
def test_it_cannot_tell_whether_a_write_that_met_a_server_error_was_applied(mocked, client, status):
    mocked.post(
        API + "/issue/OPS-1/comment", body=HTML_PAGE, status=status, content_type="text/html"
    )

    error = raised_by(client.add_comment, "OPS-1", text_to_adf("hi"))

    assert isinstance(error, JiraUnavailable) and error.outcome_unknown


def test_it_maps_an_html_error_page_without_repeating_it(mocked, client):
    mocked.get(API + "/issue/OPS-1", body=HTML_PAGE, status=502, content_type="text/html")

    error = raised_by(client.get_issue, "OPS-1")

    assert isinstance(error, JiraUnavailable) and not error.outcome_unknown
    assert str(error) == "Jira is unavailable. (HTTP 502)"


def test_it_refuses_a_success_page_that_is_not_json(mocked, client):
    mocked.get(API + "/myself", body=HTML_PAGE, status=200, content_type="text/html")

    error = raised_by(client.get_myself)

    assert isinstance(error, JiraUnexpectedResponse)
    assert error.hint.endswith(CONNECTION_HINT)


def test_it_does_not_follow_a_redirect(mocked, client):
    mocked.get(API + "/myself", status=302, headers={"Location": "https://id.example.com/login"})

    error = raised_by(client.get_myself)

    assert str(error) == "Jira redirected to id.example.com."
    assert len(mocked.calls) == 1


def test_it_reports_a_myself_404_as_a_wrong_site(mocked, client):
    mocked.get(API + "/myself", body="Not here", status=404, content_type="text/plain")

    error = raised_by(client.get_myself)

    assert isinstance(error, JiraNotFound) and error.hint == CONNECTION_HINT


def test_it_gives_up_on_a_read_timeout_of_a_write_as_outcome_unknown(mocked, client):
    mocked.post(API + "/issue", body=requests.ReadTimeout("read timed out"))

    error = raised_by(client.create_issue, {"summary": "x"})

    assert isinstance(error, JiraUnavailable)
    assert (error.is_timeout, error.outcome_unknown, error.hint) == (True, True, TIMEOUT_HINT)
    assert error.__cause__ is None and error.__context__ is None


def test_it_knows_a_read_timeout_of_a_search_changed_nothing(mocked, client):
    mocked.post(API + "/search/jql", body=requests.ReadTimeout("read timed out"))

    error = raised_by(client.search_issues_by_keys, ["OPS-1"])

    assert error.is_timeout and not error.outcome_unknown


def test_it_knows_a_connect_timeout_sent_nothing(mocked, client):
    mocked.post(API + "/issue", body=requests.ConnectTimeout("connect timed out"))

    error = raised_by(client.create_issue, {"summary": "x"})

    assert error.is_timeout and not error.outcome_unknown and error.hint == TIMEOUT_HINT


def test_it_keeps_every_detail_through_pickling():
    error = JiraRateLimited("Jira rate limit reached. (HTTP 429)", retry_after=3.0, status_code=429)

    copy = pickle.loads(pickle.dumps(error))

    assert (type(copy), str(copy), copy.retry_after, copy.hint, copy.permanent) == (
        JiraRateLimited,
        str(error),
        3.0,
        error.hint,
        False,
    )


# --- real sockets: what urllib3 really raises, and that nothing is retried behind our back --


@contextmanager
def local_server(reply=None, delay=0.0):
    """A TCP server on 127.0.0.1 that reads each request, waits, sends ``reply(request)``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop, connections = threading.Event(), []

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                connections.append(read_request(conn))
                stop.wait(delay)
                if reply:
                    conn.sendall(reply(connections[-1]))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", connections
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(body) < length:
        body += conn.recv(65536)
    return data


def http_reply(status: int, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    )
    return head.encode() + b"Connection: close\r\n\r\n" + body


def unused_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def test_it_knows_a_refused_connection_sent_nothing():
    client = JiraClient(
        f"http://127.0.0.1:{unused_port()}", EMAIL, "api-token-1", host_policy=LOCAL
    )

    error = raised_by(client.create_issue, {"summary": "x"})

    assert isinstance(error, JiraUnavailable) and not error.outcome_unknown
    assert "refused" in str(error) and error.hint == CONNECTION_HINT


@pytest.mark.parametrize(
    ("call", "outcome_unknown"),
    [
        (lambda client: client.add_comment("OPS-1", text_to_adf("hi")), True),
        (lambda client: client.get_issue("OPS-1"), False),
    ],
    ids=["write", "read"],
)
def test_it_tries_once_and_flags_a_dropped_write_as_outcome_unknown(call, outcome_unknown):
    with local_server(reply=None) as (url, connections):
        error = raised_by(call, JiraClient(url, EMAIL, "t", host_policy=LOCAL))

    assert isinstance(error, JiraUnavailable) and error.outcome_unknown is outcome_unknown
    assert len(connections) == 1


def test_it_gives_up_when_jira_answers_too_slowly():
    with local_server(reply=lambda _: http_reply(201, b'{"id":"1"}'), delay=1) as (url, _):
        client = JiraClient(url, EMAIL, "t", read_timeout=0.2, host_policy=LOCAL)
        error = raised_by(client.add_comment, "OPS-1", text_to_adf("hi"))

    assert error.is_timeout and error.outcome_unknown and "0.2 s" in str(error)


def echo_authorization(request: bytes) -> bytes:
    """A misbehaving proxy that repeats the Authorization header in its error body."""
    header = next(
        line for line in request.split(b"\r\n") if line.lower().startswith(b"authorization")
    )
    return http_reply(
        401,
        b'{"errorMessages":["bad header: ' + header + b'"],"errors":{"auth":"' + header + b'"}}',
    )


def sentinel_failures(mocked) -> list[JiraError]:
    """One error per failure path, raised by a client whose token is the sentinel."""
    mocked.get(API + "/myself", status=401, body=f"no {SENTINEL}", content_type="text/plain")
    mocked.get(API + "/project/NOPE", status=404, json={"errorMessages": [f"key {SENTINEL}"]})
    mocked.post(API + "/issue", status=400, json={"errors": {"summary": SENTINEL}})
    mocked.post(API + "/issue", status=403)
    mocked.post(API + "/issue/OPS-1/comment", status=413)
    mocked.post(API + "/issue/OPS-1/comment", status=429, headers={"Retry-After": "1"})
    mocked.get(API + "/issue/OPS-1", status=503, body=HTML_PAGE, content_type="text/html")
    mocked.get(API + "/issue/OPS-2", body=requests.ConnectionError("dropped"))
    mocked.post(API + "/search/jql", body=requests.ReadTimeout("slow"))
    mocked.get(API + "/issue/OPS-3", body=HTML_PAGE, content_type="text/html")
    client = JiraClient(HOST, EMAIL, SENTINEL)
    calls = [
        (client.get_myself,),
        (client.get_project, "NOPE"),
        (client.create_issue, {}),
        (client.create_issue, {}),
        (client.add_comment, "OPS-1", {}),
        (client.add_comment, "OPS-1", {}),
        (client.get_issue, "OPS-1"),
        (client.get_issue, "OPS-2"),
        (client.search_issues_by_keys, ["OPS-1"]),
        (client.get_issue, "OPS-3"),
    ]
    return [raised_by(*call) for call in calls]


def test_it_never_shows_the_token_in_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    with responses.RequestsMock() as mocked:
        errors = sentinel_failures(mocked)
    with local_server(reply=echo_authorization) as (url, _):
        errors.append(raised_by(JiraClient(url, EMAIL, SENTINEL, host_policy=LOCAL).get_myself))
    errors.append(
        raised_by(
            JiraClient(
                f"http://127.0.0.1:{unused_port()}", EMAIL, SENTINEL, host_policy=LOCAL
            ).get_myself
        )
    )

    shown = [caplog.text, repr(JiraClient(HOST, EMAIL, SENTINEL))]
    for error in errors:
        shown += [str(error), repr(error), error.hint, "".join(traceback.format_exception(error))]
        shown += [repr(vars(error)), repr(pickle.loads(pickle.dumps(error)).__dict__)]
    assert len(errors) == 12 and "urllib3" in caplog.text
    assert "[redacted]" in str(errors[-2])
    leaks = [form for form in SENTINEL_FORMS for text in shown if form in text]
    assert leaks == []
