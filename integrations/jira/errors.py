"""The Jira client's exception tree, and the mapping from HTTP answers to it.

Every error carries a short ``message`` (what happened), a user-facing ``hint`` (what to do,
worded after the Troubleshooting table of the Jira integration FAQ), ``permanent`` (False: the
same call may succeed later, so a worker should retry) and ``outcome_unknown`` (True: a write
was sent but we cannot tell whether Jira applied it; look for it before sending it again).

Each class also subclasses the neutral error of ``integrations/errors.py`` it stands for, so
services catch the neutral ones and never name these.

Nothing here may ever hold the API token, the ``email:token`` pair or the Authorization
header: errors keep no request or response object, break the exception chain of ``requests``
(whose exceptions carry the prepared request, headers included) and scrub every text taken
from a response body with the client's secrets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, ClassVar, cast
from urllib.parse import urlsplit

import requests

from .. import transport_errors
from ..errors import (
    ConnectorError,
    CredentialsRejected,
    Forbidden,
    HostRefused,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RejectedInput,
    Transient,
    UnexpectedResponse,
)
from ..http import scrub

HINT_CONNECTION_FAILED = (
    "Verify the host URL format (https://your-domain.atlassian.net), check the credentials "
    "format (email:api_token) and confirm the account is active."
)
HINT_CREDENTIALS = (
    "Incorrect credentials: verify the email:api_token format is correct and that the API "
    "token is not expired."
)
HINT_FORBIDDEN = (
    "The account lacks required permissions: ensure the user has access to the target project."
)
HINT_PROJECT_NOT_FOUND = "Verify the project key is correct and the user has access to the project."
HINT_ISSUE_TYPE_NOT_FOUND = "Verify the issue type exists in the selected project."
HINT_ISSUE_NOT_FOUND = (
    "The Jira issue may have been deleted, or the account can no longer see it. You can "
    "remove the link from the anomaly's Linked Tickets section."
)
HINT_NETWORK_TIMEOUT = (
    "Network timeout: a firewall may be blocking the connection; ensure Qualytics IPs are "
    "allowlisted."
)
HINT_REJECTED_INPUT = "Jira rejected some of the values sent: correct them and try again."
HINT_TOO_LARGE = (
    "The Jira issue has reached a per-issue limit (for example 5,000 comments) or the text "
    "is too long."
)
HINT_RATE_LIMITED = "Jira is limiting the request rate; try again in a moment."
HINT_UNAVAILABLE = "Jira is temporarily unavailable; try again later."
HINT_HOST_NOT_ALLOWED = (
    "Use the Jira Cloud site's public address (https://your-domain.atlassian.net). A Jira "
    "on a private network must first be named by an operator in TICKETING_ALLOWED_PRIVATE_HOSTS."
)
HINT_UNEXPECTED = "Jira answered in an unexpected way. " + HINT_CONNECTION_FAILED

NOT_FOUND_HINTS = {
    "project": HINT_PROJECT_NOT_FOUND,
    "issue_type": HINT_ISSUE_TYPE_NOT_FOUND,
    "issue": HINT_ISSUE_NOT_FOUND,
    "site": HINT_CONNECTION_FAILED,
}
# Field errors of a create call that mean "wrong project / issue type" (docs/jira-api.md §2.2).
FIELD_HINTS = {"project": HINT_PROJECT_NOT_FOUND, "issuetype": HINT_ISSUE_TYPE_NOT_FOUND}

MAX_MESSAGES = 5
Clock = Callable[[], datetime]


class JiraError(ConnectorError):
    """Base of every error the Jira client raises; each one is also the neutral error of
    ``integrations/errors.py`` it stands for, which is what services catch."""

    default_hint: ClassVar[str] = HINT_UNEXPECTED

    @classmethod
    def from_answer(cls, prefix: str, answer: _ErrorAnswer) -> JiraError:
        return cls(f"{prefix} {answer.summary}", status_code=answer.status, **cls._details(answer))

    @classmethod
    def _details(cls, answer: _ErrorAnswer) -> dict[str, Any]:
        """The subclass's own keyword arguments, taken from a parsed error answer."""
        return {}


class JiraCredentialsRejected(JiraError, CredentialsRejected):
    """401, or any answer flagged ``X-Seraph-LoginReason: AUTHENTICATED_FAILED``."""

    default_hint = HINT_CREDENTIALS


class JiraForbidden(JiraError, Forbidden):
    """403: authenticated, but not allowed."""

    default_hint = HINT_FORBIDDEN


class JiraNotFound(JiraError, NotFound):
    """404. ``what`` names the thing looked for: project, issue, issue_type, site, …"""

    def __init__(self, message: str, *, what: str = "resource", **kwargs: Any) -> None:
        kwargs.setdefault("hint", NOT_FOUND_HINTS.get(what, HINT_UNEXPECTED))
        super().__init__(message, what=what, **kwargs)

    @classmethod
    def _details(cls, answer: _ErrorAnswer) -> dict[str, Any]:
        return {"what": answer.what}


class JiraRejectedInput(JiraError, RejectedInput):
    """400/422: Jira's ErrorCollection, split into per-field errors and general messages."""

    default_hint = HINT_REJECTED_INPUT

    def __init__(self, message: str, **kwargs: Any) -> None:
        # ``kwargs``: field_errors and messages (``RejectedInput``), and the common ones.
        field_errors = kwargs.get("field_errors") or {}
        field_hint = next((FIELD_HINTS[f] for f in field_errors if f in FIELD_HINTS), None)
        kwargs.setdefault("hint", field_hint)
        super().__init__(message, **kwargs)

    @classmethod
    def _details(cls, answer: _ErrorAnswer) -> dict[str, Any]:
        return {"field_errors": answer.field_errors, "messages": answer.messages}


class JiraPayloadTooLarge(JiraRejectedInput, PayloadTooLarge):
    """413: a per-issue limit (comments, attachments) is reached; retrying cannot help."""

    default_hint = HINT_TOO_LARGE


class JiraRateLimited(JiraError, RateLimited):
    """429. ``retry_after`` (seconds) from ``Retry-After`` or ``X-RateLimit-Reset``."""

    default_hint = HINT_RATE_LIMITED

    @classmethod
    def _details(cls, answer: _ErrorAnswer) -> dict[str, Any]:
        return {"retry_after": answer.retry_after}


class JiraUnavailable(JiraError, Transient):
    """5xx, timeouts and connection failures: transient, retry later."""

    default_hint = HINT_UNAVAILABLE

    @classmethod
    def _details(cls, answer: _ErrorAnswer) -> dict[str, Any]:
        return {"retry_after": answer.retry_after}


class JiraHostNotAllowed(JiraError, HostRefused):
    """The host resolves to an address the host policy refuses; nothing was sent to it.

    Permanent: only a new host URL or an operator's allow-list can change the answer.
    """

    default_hint = HINT_HOST_NOT_ALLOWED


class JiraUnexpectedResponse(JiraError, UnexpectedResponse):
    """A redirect, a non-JSON success body or an unexpected status: most likely a wrong host."""


@dataclass(frozen=True)
class _ErrorAnswer:
    """What an error answer says, already parsed and scrubbed."""

    status: int
    summary: str
    messages: list[str]
    field_errors: dict[str, str]
    retry_after: float | None
    what: str


def error_from_response(
    response: requests.Response,
    *,
    what: str = "resource",
    is_write: bool = False,
    secrets: Iterable[str] = (),
    now: Clock | None = None,
) -> JiraError:
    """The error for a Jira answer that is not a success (or is flagged as failed login)."""
    status = response.status_code
    messages, field_errors = _error_collection(response, list(secrets))
    answer = _ErrorAnswer(
        status=status,
        summary=_summary(status, messages, field_errors),
        messages=messages,
        field_errors=field_errors,
        retry_after=retry_after_seconds(response.headers, now=now),
        what=what,
    )
    if login_failed(response):
        # The body is what an anonymous caller sees (e.g. "An issue with key … does not
        # exist"): it says nothing true about the request, so it is not repeated.
        return JiraCredentialsRejected(
            f"Jira rejected the credentials. (HTTP {status})", status_code=status
        )
    if HTTPStatus.MULTIPLE_CHOICES <= status < HTTPStatus.BAD_REQUEST:
        location = urlsplit(response.headers.get("Location", "")).hostname or "elsewhere"
        return JiraUnexpectedResponse(f"Jira redirected to {location}.", status_code=status)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return _server_error(answer, is_write=is_write)
    error_class, prefix = _CLIENT_ERRORS.get(status, _OTHER_CLIENT_ERROR)
    return error_class.from_answer(prefix.format(what=what.replace("_", " ")), answer)


def _server_error(answer: _ErrorAnswer, *, is_write: bool) -> JiraUnavailable:
    # Any 5xx after a write may hide a success, a 503 included: a proxy or a node can fail
    # after Jira applied the write, so the caller looks before writing again (docs/sync.md).
    error = JiraUnavailable.from_answer("Jira is unavailable.", answer)
    error.outcome_unknown = is_write
    return error


_CLIENT_ERRORS: dict[int, tuple[type[JiraError], str]] = {
    HTTPStatus.BAD_REQUEST: (JiraRejectedInput, "Jira rejected the request."),
    HTTPStatus.UNAUTHORIZED: (JiraCredentialsRejected, "Jira rejected the credentials."),
    HTTPStatus.FORBIDDEN: (JiraForbidden, "Jira refused access."),
    HTTPStatus.NOT_FOUND: (JiraNotFound, "Jira {what} not found."),
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: (JiraPayloadTooLarge, "Jira refused it as too large."),
    HTTPStatus.UNPROCESSABLE_ENTITY: (JiraRejectedInput, "Jira rejected the request."),
    HTTPStatus.TOO_MANY_REQUESTS: (JiraRateLimited, "Jira rate limit reached."),
}
_OTHER_CLIENT_ERROR = (JiraUnexpectedResponse, "Jira refused the request.")


def error_from_transport(
    exc: requests.RequestException, *, is_write: bool, read_timeout: float | None = None
) -> JiraError:
    """The error for a request that got no HTTP answer. Keeps nothing of ``exc`` but its type."""
    error = transport_errors.error_from_transport(
        exc, _TRANSPORT_ERRORS, is_write=is_write, read_timeout=read_timeout
    )
    return cast(JiraError, error)  # built from this module's classes (_TRANSPORT_ERRORS)


def retry_after_seconds(headers: Mapping[str, str], *, now: Clock | None = None) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds or HTTP date), else ``X-RateLimit-Reset``.

    https://developer.atlassian.com/cloud/jira/platform/rate-limiting/ (docs/jira-api.md §2.4): the
    reset header is an ISO 8601 timestamp such as ``2026-01-01T01:01Z``.
    """
    current = now() if now else datetime.now(UTC)
    retry_after = (headers.get("Retry-After") or "").strip()
    if retry_after:
        try:
            seconds = float(retry_after)
        except ValueError:
            return _seconds_until(_parse_http_date(retry_after), current)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    reset = (headers.get("X-RateLimit-Reset") or "").strip()
    return _seconds_until(_parse_iso(reset), current) if reset else None


def _parse_http_date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _parse_iso(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _seconds_until(moment: datetime | None, current: datetime) -> float | None:
    return None if moment is None else max(0.0, (moment - current).total_seconds())


def login_failed(response: requests.Response) -> bool:
    # Jira Cloud serves bad Basic credentials as an anonymous request and flags it with this
    # header, often on a 404 rather than a 401 (docs/jira-api.md §0.1).
    return "AUTHENTICATED_FAILED" in response.headers.get("X-Seraph-LoginReason", "").upper()


def _error_collection(
    response: requests.Response, secrets: list[str]
) -> tuple[list[str], dict[str, str]]:
    """``errorMessages`` and ``errors`` of Jira's ErrorCollection (docs/jira-api.md §2.1), scrubbed.

    HTML or otherwise unreadable bodies give nothing; a short plain-text body is one message.
    """
    try:
        body = response.json()
    except ValueError:
        return _plain_text_message(response, secrets), {}
    if not isinstance(body, dict):
        return [], {}
    raw_messages = body.get("errorMessages")
    messages = (
        [m for m in raw_messages if isinstance(m, str)] if isinstance(raw_messages, list) else []
    )
    if isinstance(body.get("message"), str):  # the api.atlassian.com gateway's shape
        messages.append(body["message"])
    raw_errors = body.get("errors")
    errors = raw_errors if isinstance(raw_errors, dict) else {}
    field_errors = {scrub(str(k), secrets): scrub(str(v), secrets) for k, v in errors.items()}
    return [scrub(m, secrets) for m in messages[:MAX_MESSAGES]], field_errors


def _plain_text_message(response: requests.Response, secrets: list[str]) -> list[str]:
    if not response.headers.get("Content-Type", "").startswith("text/plain"):
        return []
    first_line = response.text.strip().splitlines()[0] if response.text.strip() else ""
    return [scrub(first_line, secrets)] if first_line else []


def _summary(status: int, messages: list[str], field_errors: dict[str, str]) -> str:
    details = [*messages, *(f"{field}: {text}" for field, text in field_errors.items())]
    return f"(HTTP {status}) " + " ".join(details[:MAX_MESSAGES]) if details else f"(HTTP {status})"


_TRANSPORT_ERRORS = transport_errors.TransportErrorKinds(
    vendor="Jira",
    unavailable=JiraUnavailable,
    unexpected=JiraUnexpectedResponse,
    hint_timeout=HINT_NETWORK_TIMEOUT,
    hint_connection_failed=HINT_CONNECTION_FAILED,
)
