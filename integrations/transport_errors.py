"""Requests that got no HTTP answer, turned into connector errors the same way for every vendor.

Nothing of the ``requests`` exception is kept but its type: its prepared request holds the
Authorization header.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from .errors import ConnectorError


@dataclass(frozen=True)
class TransportErrorKinds:
    """The vendor's words and classes: ``unavailable`` takes ``is_timeout``."""

    vendor: str
    unavailable: type[ConnectorError]
    unexpected: type[ConnectorError]
    hint_timeout: str
    hint_connection_failed: str


def error_from_transport(
    exc: requests.RequestException,
    kinds: TransportErrorKinds,
    *,
    is_write: bool,
    read_timeout: float | None = None,
) -> ConnectorError:
    """The error for a request that got no HTTP answer."""
    sent = request_was_sent(exc)
    unknown = is_write and sent
    if isinstance(exc, requests.Timeout):
        phase = "answer" if sent else "accept the connection"
        limit = f" within {read_timeout:g} s" if sent and read_timeout else ""
        return kinds.unavailable(
            f"{kinds.vendor} did not {phase}{limit} ({type(exc).__name__}).",
            hint=kinds.hint_timeout,
            is_timeout=True,
            outcome_unknown=unknown,
        )
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return kinds.unavailable(
            f"Could not talk to {kinds.vendor}: {connection_problem(exc, kinds.vendor)}.",
            hint=kinds.hint_connection_failed,
            outcome_unknown=unknown,
        )
    return kinds.unexpected(
        f"The request to {kinds.vendor} failed ({type(exc).__name__}).",
        hint=kinds.hint_connection_failed,
    )


def request_was_sent(exc: requests.RequestException) -> bool:
    """False only when we know no byte of the request reached the remote."""
    not_sent = (
        requests.ConnectTimeout | requests.exceptions.SSLError | requests.exceptions.ProxyError
    )
    if isinstance(exc, not_sent):
        return False
    return not isinstance(_root_cause(exc), NewConnectionError)


def _root_cause(exc: requests.RequestException) -> object:
    reason = exc.args[0] if exc.args else None
    return reason.reason if isinstance(reason, MaxRetryError) else reason


def connection_problem(exc: requests.RequestException, vendor: str) -> str:
    cause = _root_cause(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed"
    if isinstance(cause, NameResolutionError):
        return "the host name could not be resolved"
    if isinstance(cause, NewConnectionError):
        return "the connection was refused or the host is unreachable"
    return f"the connection was closed before {vendor} answered"
