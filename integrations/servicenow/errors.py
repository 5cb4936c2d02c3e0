"""The ServiceNow client's errors, and the mapping from HTTP answers to them.

Every error carries ``message`` (what happened), ``hint`` (what to do), ``permanent`` (False:
the same call may succeed later), ``outcome_unknown`` (True: a write was sent and may have been
applied; look for it before sending it again) and, for rate limits, ``retry_after`` seconds.
Classification is by status code, never by wording (docs/servicenow-api.md §3.1, §3.3).

Nothing here keeps a request or response object: errors never hold the password, the
``user:password`` pair or the Authorization header, and every text taken from an answer is
scrubbed with the client's secrets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, ClassVar, cast

import requests

from .. import errors, transport_errors
from ..http import scrub

HINT_CONNECTION_FAILED = (
    "Verify the instance URL (https://your-instance.service-now.com), check the credentials "
    "format (username:password) and confirm the account is active."
)
HINT_CREDENTIALS = (
    "Incorrect credentials: verify the username:password pair and that the account is active "
    "and allowed to use web services."
)
HINT_FORBIDDEN = (
    "The account lacks required permissions: it needs the itil role (read, create and update "
    "incidents)."
)
HINT_NOT_FOUND = (
    "The ServiceNow incident may have been deleted, or the account can no longer see it. You "
    "can remove the link from the anomaly's Linked Tickets section."
)
HINT_NETWORK_TIMEOUT = (
    "Network timeout: a firewall may be blocking the connection; ensure Qualytics IPs are "
    "allowlisted."
)
HINT_REJECTED_INPUT = "ServiceNow rejected some of the values sent: correct them and try again."
HINT_RATE_LIMITED = "ServiceNow is limiting the request rate; try again in a moment."
HINT_UNAVAILABLE = (
    "The ServiceNow instance is unavailable (it may be hibernating or under maintenance); try "
    "again later."
)
HINT_HOST_NOT_ALLOWED = (
    "Use the instance's public address (https://your-instance.service-now.com). An instance "
    "on a private network must first be named by an operator in "
    "TICKETING_ALLOWED_PRIVATE_HOSTS."
)
HINT_UNEXPECTED = "ServiceNow answered in an unexpected way. " + HINT_CONNECTION_FAILED

Clock = Callable[[], float]


class ServiceNowError(errors.ConnectorError):
    """Base of every error the ServiceNow client raises; each subclass is also the shared
    error (``integrations/errors.py``) services catch."""

    default_hint: ClassVar[str] = HINT_UNEXPECTED

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        is_timeout: bool = False,
        detail: str = "",
        **kwargs: Any,
    ) -> None:
        # ``kwargs``: hint, permanent, status_code, outcome_unknown (``ConnectorError``).
        errors.ConnectorError.__init__(self, message, **kwargs)
        self.retry_after = retry_after
        self.is_timeout = is_timeout
        self.detail = detail


class ServiceNowCredentialsRejected(ServiceNowError, errors.CredentialsRejected):
    """401 (docs/servicenow-api.md §1.2): bad, missing or MFA-blocked credentials."""

    default_hint = HINT_CREDENTIALS


class ServiceNowForbidden(ServiceNowError, errors.Forbidden):
    """403: an ACL, a data policy or an unreadable query field (§3.2)."""

    default_hint = HINT_FORBIDDEN


class ServiceNowNotFound(ServiceNowError, errors.NotFound):
    """404: the record is missing or hidden by an ACL (§2.4)."""

    default_hint = HINT_NOT_FOUND
    what = "ticket"


class ServiceNowRejectedInput(ServiceNowError, errors.RejectedInput):
    """400 (unknown table, bad JSON, missing headers), 406, 415 (§1.4, §3.2)."""

    default_hint = HINT_REJECTED_INPUT

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field_errors: dict[str, str] = {}
        self.messages = [self.detail] if self.detail else []


class ServiceNowRateLimited(ServiceNowError, errors.RateLimited):
    """429: a rate-limit rule or a saturated semaphore queue (§8.1, §8.2)."""

    default_hint = HINT_RATE_LIMITED
    default_permanent = False


class ServiceNowUnavailable(ServiceNowError, errors.Transient):
    """5xx, timeouts, dropped connections and the hibernation page (§3.3, §8.3): transient."""

    default_hint = HINT_UNAVAILABLE
    default_permanent = False


class ServiceNowHostNotAllowed(ServiceNowError, errors.HostRefused):
    """The host policy refused every address of the instance; nothing was sent."""

    default_hint = HINT_HOST_NOT_ALLOWED


class ServiceNowUnexpectedResponse(ServiceNowError, errors.UnexpectedResponse):
    """A redirect or an unexpected status: most likely a wrong instance URL."""


_CLIENT_ERRORS: dict[int, tuple[type[ServiceNowError], str]] = {
    HTTPStatus.BAD_REQUEST: (ServiceNowRejectedInput, "ServiceNow rejected the request."),
    HTTPStatus.UNAUTHORIZED: (
        ServiceNowCredentialsRejected,
        "ServiceNow rejected the credentials.",
    ),
    HTTPStatus.FORBIDDEN: (ServiceNowForbidden, "ServiceNow refused access."),
    HTTPStatus.NOT_FOUND: (ServiceNowNotFound, "ServiceNow record not found."),
    HTTPStatus.NOT_ACCEPTABLE: (ServiceNowRejectedInput, "ServiceNow refused the Accept header."),
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: (ServiceNowRejectedInput, "ServiceNow refused the body."),
    HTTPStatus.TOO_MANY_REQUESTS: (ServiceNowRateLimited, "ServiceNow rate limit reached."),
}


def error_from_response(
    response: requests.Response,
    *,
    is_write: bool,
    secrets: Iterable[str] = (),
    now: Clock | None = None,
) -> ServiceNowError:
    """The error for an answer that is not a 2xx."""
    status = response.status_code
    message, detail = error_envelope(response, list(secrets))
    said = " ".join(part for part in (message, detail) if part)
    summary = f"(HTTP {status}) {said}".rstrip()
    if HTTPStatus.MULTIPLE_CHOICES <= status < HTTPStatus.BAD_REQUEST:
        return ServiceNowUnexpectedResponse(
            f"ServiceNow redirected the request (HTTP {status}); check the instance URL.",
            status_code=status,
        )
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        # A 500 may be the 60 s transaction quota cancelling a committed write (§8.2), and any
        # 5xx after a write may hide a success: the caller looks before writing again (§5.4).
        return ServiceNowUnavailable(
            f"ServiceNow is unavailable. {summary}",
            status_code=status,
            outcome_unknown=is_write,
            detail=detail,
        )
    error_class, prefix = _CLIENT_ERRORS.get(
        status, (ServiceNowUnexpectedResponse, "ServiceNow refused the request.")
    )
    retry_after = (
        retry_after_seconds(response.headers, now=now)
        if status == HTTPStatus.TOO_MANY_REQUESTS
        else None
    )
    return error_class(
        f"{prefix} {summary}", status_code=status, retry_after=retry_after, detail=detail
    )


def not_json_error(response: requests.Response, *, is_write: bool) -> ServiceNowUnavailable:
    """A 2xx that is not JSON with ``result``: a hibernating or half-answering instance (§8.3).

    Never a success. A write may still have been applied (a truncated 200 after the 60 s
    quota, §8.2), so its outcome is unknown.
    """
    kind = (response.headers.get("Content-Type") or "no content type").split(";")[0].strip()
    return ServiceNowUnavailable(
        f"ServiceNow answered HTTP {response.status_code} with {kind} instead of a JSON result "
        "(the instance may be hibernating).",
        status_code=response.status_code,
        outcome_unknown=is_write,
    )


def error_from_transport(
    exc: requests.RequestException, *, is_write: bool, read_timeout: float | None = None
) -> ServiceNowError:
    """The error for a request that got no HTTP answer. Keeps nothing of ``exc`` but its type."""
    error = transport_errors.error_from_transport(
        exc, _TRANSPORT_ERRORS, is_write=is_write, read_timeout=read_timeout
    )
    return cast(ServiceNowError, error)  # built from this module's classes (_TRANSPORT_ERRORS)


def retry_after_seconds(headers: Mapping[str, str], *, now: Clock | None = None) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds), else ``X-RateLimit-Reset`` (Unix seconds of
    the next reset), docs/servicenow-api.md §8.1."""
    retry_after = _finite(headers.get("Retry-After"))
    if retry_after is not None:
        return max(0.0, retry_after)
    reset = _finite(headers.get("X-RateLimit-Reset"))
    if reset is None:
        return None
    return max(0.0, reset - (now or time.time)())


def _finite(value: str | None) -> float | None:
    try:
        number = float((value or "").strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def error_envelope(response: requests.Response, secrets: list[str]) -> tuple[str, str]:
    """``error.message`` and ``error.detail`` of the envelope (§3.1), scrubbed; else blanks.

    OAuth errors use ``error`` / ``error_description`` strings (§1.3).
    """
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    error = body.get("error")
    if isinstance(error, dict):
        message, detail = error.get("message"), error.get("detail")
    else:
        message, detail = error, body.get("error_description")
    return (
        scrub(message if isinstance(message, str) else "", secrets),
        scrub(detail if isinstance(detail, str) else "", secrets),
    )


_TRANSPORT_ERRORS = transport_errors.TransportErrorKinds(
    vendor="ServiceNow",
    unavailable=ServiceNowUnavailable,
    unexpected=ServiceNowUnexpectedResponse,
    hint_timeout=HINT_NETWORK_TIMEOUT,
    hint_connection_failed=HINT_CONNECTION_FAILED,
)
