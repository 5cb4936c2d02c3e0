"""Creating a remote ticket from an anomaly exactly once per submitted form.

A submitted form carries a token (the page's hidden field, the API's Idempotency-Key). The
first request with a token claims a CreateAttempt row (unique per user and token); a repeat of
the same form finds that row and gets the issue already created instead of a second one.

The create call carries the attempt's marker (``Connector.create_ticket``; Jira keeps it in an
issue entity property). When the remote's answer is lost (timeout, dropped connection,
gateway error after sending), the outcome is unknown: the ticket is looked for by that marker
(``Connector.find_created_ticket``) before anything is said. Found, it is linked; not found,
the remote has confirmed nothing was created; the lookup failing too leaves the outcome
unknown, and the next submit of the same form looks again before creating.
(docs/jira-api.md, "Finding an issue after a lost create answer".)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from anomalies.models import Anomaly, User

from ..connectors import Connector, RemoteTicket, TicketDraft
from ..errors import ConnectorError
from ..models import CreateAttempt, TicketingIntegration, TicketLink
from .clients import connector_for

WAIT_STEP_SECONDS = 0.2
State = CreateAttempt.State
StoreLink = Callable[[Connector, RemoteTicket, bool], TicketLink]


class CreateOutcomeUnknown(Exception):
    """The remote may or may not have created the ticket, and could not be asked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NothingCreated(Exception):
    """The remote's answer was lost, and it has no ticket carrying this form's marker."""

    def __init__(self, error: ConnectorError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclasses.dataclass(frozen=True)
class CreateResult:
    link: TicketLink
    # "created": the remote answered; "recovered": its answer was lost, the ticket found by
    # marker; "already_created": this form had been submitted before and its ticket is linked.
    how: str


def create_once(
    anomaly: Anomaly,
    draft: TicketDraft,
    *,
    token: str,
    integration: TicketingIntegration,
    by: User,
    store_link: StoreLink,
) -> CreateResult:
    """Create the ticket for this form unless it exists already; ``store_link(connector,
    ticket, fresh)`` stores the link. Raises ConnectorError (the remote refused or was not
    reached: nothing was created), NothingCreated or CreateOutcomeUnknown."""
    attempt = _claim(anomaly, token=token, scope=draft.scope, integration=integration, by=by)
    if attempt.state == State.CREATED:
        return CreateResult(attempt.link, "already_created")
    with connector_for(integration) as connector:
        if attempt.state == State.UNKNOWN:  # an earlier submit's answer was lost: look first
            found = _look_for(connector, attempt, reason=attempt.last_error)
            if found is not None:
                link = store_link(connector, found, False)
                return CreateResult(_linked(attempt, link), "recovered")
            _set_state(attempt, State.SENDING)
        try:
            created = connector.create_ticket(draft, marker=str(attempt.marker))
        except ConnectorError as error:
            if not error.outcome_unknown:
                _set_state(attempt, State.NOT_CREATED, error.message)
                raise
            found = _look_for(connector, attempt, reason=error.message)
            if found is None:
                _set_state(attempt, State.NOT_CREATED, error.message)
                raise NothingCreated(error) from None
            return CreateResult(_linked(attempt, store_link(connector, found, False)), "recovered")
        return CreateResult(_linked(attempt, store_link(connector, created, True)), "created")


def _claim(
    anomaly: Anomaly,
    *,
    token: str,
    scope: str,
    integration: TicketingIntegration,
    by: User,
) -> CreateAttempt:
    """This request's attempt, in a state to act on: CREATED (nothing to do), SENDING (ours
    to send) or UNKNOWN (look first). Waits while another request sends the same form."""
    deadline = time.monotonic() + in_flight_limit().total_seconds()
    while True:
        with transaction.atomic():
            attempt, _ = CreateAttempt.objects.select_for_update().get_or_create(
                requested_by=by,
                token=token,
                defaults={
                    "anomaly": anomaly,
                    "integration": integration,
                    "project_key": scope,
                    "state": State.NOT_CREATED,
                    "started_at": timezone.now(),
                },
            )
            if attempt.anomaly_id != anomaly.pk or attempt.integration_id != integration.pk:
                raise FormReused()
            if attempt.state == State.SENDING and _stale(attempt):
                attempt.state = State.UNKNOWN  # the request sending it died on the way
            if attempt.state != State.SENDING:
                return _take(attempt, scope)
        if time.monotonic() > deadline:
            raise CreateOutcomeUnknown("The same form is still being sent by another request.")
        time.sleep(WAIT_STEP_SECONDS)  # a double click: wait for the first request's outcome


class FormReused(Exception):
    """A token already used for another anomaly or integration (a copied form)."""


def _take(attempt: CreateAttempt, scope: str) -> CreateAttempt:
    if attempt.state == State.NOT_CREATED:
        attempt.project_key = scope
    if attempt.state != State.CREATED:
        attempt.state = State.UNKNOWN if attempt.state == State.UNKNOWN else State.SENDING
        attempt.started_at = timezone.now()
        attempt.save(update_fields=["state", "project_key", "started_at"])
    return attempt


def in_flight_limit() -> timedelta:
    """Longest one request can spend creating a ticket and looking for it."""
    lookups = 1 + settings.JIRA_CREATE_LOOKUP_RETRIES
    seconds = (1 + lookups) * (settings.JIRA_CONNECT_TIMEOUT + settings.JIRA_READ_TIMEOUT)
    return timedelta(seconds=seconds + lookups * settings.JIRA_CREATE_LOOKUP_PAUSE + 1)


def _stale(attempt: CreateAttempt) -> bool:
    return attempt.started_at < timezone.now() - in_flight_limit()


def _look_for(connector: Connector, attempt: CreateAttempt, *, reason: str) -> RemoteTicket | None:
    """The ticket carrying the attempt's marker, or None when the remote says there is none.
    A search index may lag a create by a moment, so a miss is asked again after a pause. The
    lookup failing leaves the outcome UNKNOWN: CreateOutcomeUnknown."""
    marker = str(attempt.marker)
    try:
        for retry in range(1 + settings.JIRA_CREATE_LOOKUP_RETRIES):
            if retry:
                time.sleep(settings.JIRA_CREATE_LOOKUP_PAUSE)
            found = connector.find_created_ticket(attempt.project_key, marker)
            if found is not None:
                return found
    except ConnectorError as error:
        _set_state(attempt, State.UNKNOWN, reason or error.message)
        raise CreateOutcomeUnknown(reason or error.message) from None
    return None


def _linked(attempt: CreateAttempt, link: TicketLink) -> TicketLink:
    attempt.state, attempt.link, attempt.last_error = State.CREATED, link, ""
    attempt.save(update_fields=["state", "link", "last_error"])
    return link


def _set_state(attempt: CreateAttempt, state: str, reason: str = "") -> None:
    attempt.state, attempt.last_error = state, reason[:1000]
    attempt.save(update_fields=["state", "last_error"])


def earlier_outcome_unknown(by: User, token: str) -> bool:
    """Whether an earlier submit of this form may have created a ticket we have not found."""
    return CreateAttempt.objects.filter(
        requested_by=by, token=token, state__in=(State.UNKNOWN, State.SENDING)
    ).exists()
