"""What can go wrong when talking to a ticketing system, the same for every connector.

Services catch these and never a vendor's own exception: a connector raises (or subclasses)
them. Every error carries a short ``message`` (what happened), a ``hint`` for the user (what
to do, worded after the FAQ's Troubleshooting table), ``permanent`` (False: the same call may
succeed later, so a worker retries) and ``outcome_unknown`` (True: a write was sent but we
cannot tell whether the remote applied it; look for its marker before sending it again).

No error may hold a secret: no request, no response, no header; texts taken from a remote
answer are scrubbed by the connector before they get here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

HINT_UNEXPECTED = (
    "The ticketing system answered in an unexpected way: check the site address and the "
    "credentials."
)


class ConnectorError(Exception):
    """Base of every error a connector raises."""

    default_hint: ClassVar[str] = HINT_UNEXPECTED
    default_permanent: ClassVar[bool] = True
    # Seconds the remote asked us to wait, when it said (set by transient errors only).
    retry_after: float | None = None
    is_timeout: bool = False

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        permanent: bool | None = None,
        status_code: int | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.default_hint
        self.permanent = self.default_permanent if permanent is None else permanent
        self.status_code = status_code
        self.outcome_unknown = outcome_unknown

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments defeat BaseException's pickling (Celery pickles errors).
        return _rebuild_error, (type(self), dict(self.__dict__))


def _rebuild_error(cls: type[ConnectorError], state: dict[str, Any]) -> ConnectorError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class CredentialsRejected(ConnectorError):
    """The remote does not accept the credentials (401, or its own way of saying so)."""


class Forbidden(ConnectorError):
    """Authenticated, but not allowed to do this (403)."""


class NotFound(ConnectorError):
    """The thing looked for is not there, or the account cannot see it (404).

    ``what`` names it: ``site``, ``project``, ``issue_type``, ``ticket``/``issue``, …
    """

    def __init__(self, message: str, *, what: str = "resource", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.what = what


class RejectedInput(ConnectorError):
    """The remote refused the values sent (400/422). ``field_errors`` are keyed by the
    create form's field names where the connector knows them, else by the remote's names."""

    def __init__(
        self,
        message: str,
        *,
        field_errors: Mapping[str, str] | None = None,
        messages: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        self.field_errors = dict(field_errors or {})
        self.messages = list(messages)
        super().__init__(message, **kwargs)


class PayloadTooLarge(RejectedInput):
    """A per-ticket limit is reached or the text is too long (413): retrying cannot help."""


class Transient(ConnectorError):
    """5xx, a timeout, a dropped connection, a hibernating site: retry later."""

    default_permanent = False

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        is_timeout: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.is_timeout = is_timeout


class RateLimited(ConnectorError):
    """429: ``retry_after`` seconds (when the remote said) apply to the whole site."""

    default_permanent = False

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class HostRefused(ConnectorError):
    """The host resolves to an address the host policy refuses; nothing was sent to it.

    Permanent: only a new site address or an operator's allow-list changes the answer.
    """


class UnexpectedResponse(ConnectorError):
    """A redirect, a success answer that is not the expected JSON, an odd status."""
