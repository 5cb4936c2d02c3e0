"""The connector boundary: what services ask of a ticketing system, and the registry.

A connector is one class in its own package (``integrations/jira/``,
``integrations/servicenow/``) implementing ``Connector``. Services, views, the API, forms,
tasks and templates talk only to this interface and to the neutral values below; they never
import a connector's package. Errors are those of ``integrations/errors.py``.

An instance is bound to one site and one account (``connector_class(host_url, credentials,
...)``) and is used as a context manager, like a ``requests`` session. Adding a connector:
a new package whose class implements ``Connector``, plus one line in ``CONNECTORS``
(docs/architecture.md).
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from django.utils.module_loading import import_string

from . import errors

# --- registry ------------------------------------------------------------------------------

# kind (stored on the integration) → the connector class, by dotted path so that importing
# this module never imports a connector package (each connector imports this module).
CONNECTORS: dict[str, str] = {
    "jira": "integrations.jira.connector.JiraConnector",
    "servicenow": "integrations.servicenow.connector.ServiceNowConnector",
}
DEFAULT_CONNECTOR = "jira"  # preselected on the connect page


def get_connector(kind: str) -> type[Connector]:
    """The connector class registered as ``kind``; ``KeyError`` for an unknown kind."""
    return import_string(CONNECTORS[kind])


def connector_choices() -> list[tuple[str, str]]:
    """(kind, display name) of every registered connector, for the connect page."""
    return [(kind, get_connector(kind).name) for kind in CONNECTORS]


# --- neutral values ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Credentials:
    """One account's ``user:secret`` pair, parsed once from the form by the connector's
    ``parse_credentials`` and handed unchanged to the client that builds the header
    (Jira: email + API token; ServiceNow: user name + password). Its repr hides the secret."""

    username: str
    secret: str = dataclasses.field(repr=False)

    def joined(self) -> str:
        """The stored form (encrypted at rest): ``username:secret``."""
        return f"{self.username}:{self.secret}"

    @classmethod
    def from_joined(cls, value: str) -> Credentials:
        """The stored form back; no validation (it was validated when stored)."""
        username, _, secret = value.partition(":")
        return cls(username, secret)


class StatusCategory(enum.StrEnum):
    """Where a ticket's status stands, whatever the connector calls it."""

    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    UNKNOWN = "unknown"  # the remote gave a status this product cannot place


@dataclasses.dataclass(frozen=True)
class TicketStatus:
    category: StatusCategory
    name: str  # as the remote shows it: "In Progress", "On Hold", …


@dataclasses.dataclass(frozen=True)
class RemoteTicket:
    """A ticket as the remote knows it. ``id`` never changes (Jira's issue id, ServiceNow's
    sys_id); ``key`` is what people read (``DQ-12``, ``INC0010001``) and may change."""

    id: str
    key: str
    summary: str = ""
    status: TicketStatus | None = None  # None: not read (e.g. a create's bare answer)


@dataclasses.dataclass(frozen=True)
class TicketLookup:
    """Tickets found by (normalised) key, and the keys the remote did not return."""

    found: dict[str, RemoteTicket]
    missing: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Check:
    """One step of a connection test."""

    name: str
    ok: bool | None  # None: not run, because an earlier check failed
    detail: str
    hint: str = ""  # what to do, from the FAQ's Troubleshooting table
    headline: str = ""  # what failed, in words: "Jira timed out", "Permission check failed"


@dataclasses.dataclass(frozen=True)
class ConnectionReport:
    checks: list[Check]
    account_name: str = ""

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def first_failure(self) -> Check | None:
        return next((check for check in self.checks if check.ok is False), None)

    def failure_text(self, *, refused: bool) -> str:
        """The first failed check and what to do about it, in one sentence for the user;
        ``refused`` when the failure stopped a connect or an edit from being saved."""
        failure = self.first_failure
        if failure is None:
            return ""
        outcome = " — nothing was saved." if refused else "."
        headline = failure.headline or f"{failure.name} failed"
        return f"{headline}{outcome} {failure.detail} {failure.hint}".strip()

    def as_json(self) -> list[dict]:
        return [dataclasses.asdict(check) for check in self.checks]


class FieldKind(enum.StrEnum):
    TEXT = "text"  # one line
    TEXTAREA = "textarea"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    NUMBER = "number"
    DATE = "date"
    TAGS = "tags"  # comma-separated words without spaces (Jira labels)
    SEARCH = "search"  # words that narrow another field's choices; never sent on create


@dataclasses.dataclass(frozen=True)
class FormField:
    """One input of the create form, described by the connector from the remote's own
    metadata. ``refreshes_form``: changing it re-renders the form (dependent choices), and
    its value comes back in ``describe_create_form``'s ``values``."""

    name: str
    label: str
    kind: FieldKind
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (value, label), as the remote lists them
    blank_label: str = ""  # the empty choice's label ("Default", "None", "Unassigned")
    max_length: int | None = None
    help_text: str = ""
    initial: Any = None
    refreshes_form: bool = False
    # A SEARCH field: the CHOICE field whose choices its words narrow (Jira: "assignee").
    searches: str = ""
    # For the connector's own use: the remote's name for a field beyond the standard ones
    # (the API takes those under ``fields.<remote_name>``), and how to send its value.
    remote_name: str = ""
    remote_type: str = ""


@dataclasses.dataclass(frozen=True)
class CreateFormSpec:
    """The create form for one scope (Jira: project + issue type): its fields in order,
    always including ``summary`` and ``description``. ``scope`` is where the ticket will go
    (recorded, so a lost create can be looked for there). ``unsupported`` names required
    remote fields this product cannot fill: such a form refuses to submit."""

    scope: str
    fields: tuple[FormField, ...]
    unsupported: tuple[str, ...] = ()
    scope_field: str = ""  # the field choosing the scope (Jira: "project"), if any

    def field(self, name: str) -> FormField | None:
        return next((field for field in self.fields if field.name == name), None)


@dataclasses.dataclass(frozen=True)
class TicketDescription:
    """A new ticket's description, built once in ``integrations/outbound.py`` and rendered
    by the connector (ADF for Jira, plain text for ServiceNow)."""

    user_text: str  # what the user typed; may be blank or span lines
    header: str  # "Qualytics Anomaly Linked [2026-01-01 10:00:00 UTC]"
    facts: tuple[str, ...]  # one fact a line
    link_label: str  # "View the anomaly in Qualytics: "
    url: str
    # One ticket for several anomalies (a bulk create): each further anomaly's facts and
    # page, after the first's.
    also: tuple[ContextBlock, ...] = ()

    @property
    def blocks(self) -> tuple[ContextBlock, ...]:
        return (ContextBlock(self.facts, self.url), *self.also)

    def as_plain_text(self) -> str:
        parts = [self.user_text.strip()] if self.user_text.strip() else []
        parts += ["---", self.header]
        for block in self.blocks:
            parts += ["\n".join(block.facts), f"{self.link_label}{block.url}"]
        return "\n\n".join(parts)


@dataclasses.dataclass(frozen=True)
class ContextBlock:
    """One anomaly's facts, a line each, and the address of its page."""

    facts: tuple[str, ...]
    url: str


@dataclasses.dataclass(frozen=True)
class TicketDraft:
    """What the create form collected: ``values`` keyed by the spec's field names (cleaned,
    ``summary`` included), and the description to render."""

    scope: str
    summary: str
    description: TicketDescription
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    spec: CreateFormSpec | None = None  # the form the values were collected with


@dataclasses.dataclass(frozen=True)
class Trouble:
    """One row of the help page's troubleshooting table (the FAQ's, in the product's words)."""

    seen: str  # what the user sees
    where: str
    what_to_do: str


# --- the interface -------------------------------------------------------------------------


class Connector(abc.ABC):
    """One ticketing system, seen through one account on one site."""

    kind: ClassVar[str]  # the registry key, stored on the integration: "jira"
    name: ClassVar[str]  # "Jira"
    ticket_noun: ClassVar[str]  # "issue", "incident"
    note_noun: ClassVar[str]  # what a sync event becomes there: "comment", "work note"
    key_example: ClassVar[str]  # "DQ-12", "INC0010001"
    key_pattern: ClassVar[re.Pattern[str]]  # a typed key, matched in full, any case
    host_example: ClassVar[str]  # "https://your-domain.atlassian.net"
    credentials_format: ClassVar[str]  # "email:api_token"
    credentials_help: ClassVar[str]  # under the input: "email:api_token — the API token …"
    scope_label: ClassVar[str]  # "Default project key", "Default assignment group"
    scope_example: ClassVar[str] = ""  # the input's placeholder: "DQ"
    scope_required: ClassVar[bool] = True
    troubles: ClassVar[tuple[Trouble, ...]] = ()  # the help page's rows for this connector
    summary: ClassVar[str] = ""  # under the name in Settings: "Jira Cloud, email + API token"
    pitch: ClassVar[str] = ""  # what connecting it does, for the Settings row
    # Optional extras of a connector, by name, so nothing outside its package imports it: a
    # URL module included under the ``integrations`` namespace (e.g. its webhook), and a
    # template included in Settings below the connected integration (``connected`` in it).
    urls: ClassVar[str] = ""
    settings_panel: ClassVar[str] = ""
    do_not_call_in_templates = True  # templates read a connector class's attributes
    status_batch_size: ClassVar[int] = 100  # keys per remote call in ``read_statuses``
    # Create-form choice fields ``search_choices`` can search as the user types (the
    # assignee typeahead); a field not named here keeps its search input's Find button.
    searchable_fields: ClassVar[frozenset[str]] = frozenset()
    host_url: str  # the site, normalised

    @abc.abstractmethod
    def __init__(
        self,
        host_url: str,
        credentials: Credentials,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 15,
        host_policy: Any = None,
        on_response: Callable[..., Any] | None = None,
    ) -> None:
        """Bind to a site and an account. Sends nothing. ``host_policy`` decides, at every
        connection, which addresses may be reached; ``on_response`` counts answers."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection pool."""

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- what the connect form needs (no site contact) -------------------------------------

    @classmethod
    @abc.abstractmethod
    def normalize_host_url(cls, url: str, *, allow_insecure_loopback: bool = False) -> str:
        """The site address in canonical form (``https://host[:port]``), or ``ValueError``
        with a message for the user. Plain http only for loopback hosts, and only when
        ``allow_insecure_loopback`` (the local simulator)."""

    @classmethod
    @abc.abstractmethod
    def parse_credentials(cls, text: str) -> Credentials:
        """The typed credentials, or ``ValueError`` saying the expected format."""

    @classmethod
    def normalize_scope(cls, text: str) -> str:
        """The typed default scope in canonical form, or ``ValueError`` saying what is wrong."""
        return text.strip()

    @classmethod
    def normalize_key(cls, text: str) -> str | None:
        """A typed ticket key in canonical form (``dq-12`` → ``DQ-12``), else None."""
        text = text.strip()
        return text.upper() if cls.key_pattern.fullmatch(text) else None

    @classmethod
    def ticket_group(cls, key: str) -> str:
        """The group a ticket belongs to, for the 403 rule: refusals in several groups at
        once pause the whole integration (Jira: the project key). "" when there is none."""
        return ""

    # What ``ticket_group`` returns, in words ("projects"); "" when each ticket is its own.
    ticket_group_noun = ""

    # --- connection -------------------------------------------------------------------------

    @abc.abstractmethod
    def check_connection(self, scope: str) -> ConnectionReport:
        """Run the connection test, authentication first; each failed check carries the
        FAQ's hint and a headline. Never raises ``ConnectorError``: a failure is a check."""

    # --- creating ---------------------------------------------------------------------------

    @abc.abstractmethod
    def describe_create_form(self, scope: str, values: Mapping[str, str]) -> CreateFormSpec:
        """The create form, its choices read from the remote. ``scope`` is the integration's
        default; ``values`` are what the user chose so far (clean text only), so dependent
        choices follow them (Jira: project → issue types → fields; assignee search)."""

    def search_choices(
        self, field: str, words: str, *, scope: str, limit: int = 20
    ) -> list[tuple[str, str]]:
        """(value, label) choices of the create form's ``field`` whose people or groups match
        ``words``, in ``scope`` (the spec's; Jira: the project, whose assignable users are
        listed). Only for ``searchable_fields``; one remote call."""
        raise NotImplementedError(f"{self.name} cannot search the {field} field")

    @abc.abstractmethod
    def create_ticket(self, draft: TicketDraft, *, marker: str) -> RemoteTicket:
        """Create the ticket, carrying ``marker`` where ``find_created_ticket`` can see it.
        ``RejectedInput.field_errors`` are keyed by form field names. A lost answer raises
        with ``outcome_unknown`` set."""

    @abc.abstractmethod
    def find_created_ticket(self, scope: str, marker: str) -> RemoteTicket | None:
        """The ticket this account created in ``scope`` carrying ``marker``, else None."""

    # --- finding and linking ----------------------------------------------------------------

    @abc.abstractmethod
    def get_ticket(self, key: str) -> RemoteTicket:
        """One ticket with summary and status; ``NotFound`` when gone or hidden."""

    @abc.abstractmethod
    def search_tickets(self, words: str, *, limit: int = 20) -> list[RemoteTicket]:
        """Tickets whose text matches ``words`` (a key in ``words`` ranks its ticket first)."""

    @abc.abstractmethod
    def key_from_url(self, url: str) -> str | None:
        """The ticket key of any browse URL form of this site, else None (other site too)."""

    @abc.abstractmethod
    def browse_url(self, key: str) -> str:
        """The URL a person opens to see the ticket."""

    @abc.abstractmethod
    def read_statuses(self, keys: Iterable[str]) -> TicketLookup:
        """Summary and status of many tickets, ``status_batch_size`` keys per remote call;
        keys the remote does not return are ``missing`` (deleted or hidden)."""

    # --- sync notes -------------------------------------------------------------------------

    @abc.abstractmethod
    def post_note(self, key: str, text: str, *, marker: str) -> str:
        """Add ``text`` to the ticket (Jira comment, ServiceNow work note) carrying
        ``marker``; returns the note's id (may be ""). A lost answer raises with
        ``outcome_unknown`` set."""

    @abc.abstractmethod
    def find_note(self, key: str, marker: str) -> str | None:
        """The id of a note carrying ``marker`` already on the ticket, else None. Called
        before re-sending a note whose outcome is unknown: exactly-once rests on it."""


def failure_headline(
    connector_name: str, check_name: str, error: errors.ConnectorError, *, own: str = ""
) -> str:
    """Name what failed in a connection check: the transport, the credentials, or (``own``)
    the check's own subject, e.g. "Project not found"."""
    if isinstance(error, errors.HostRefused):
        return "Host not allowed"
    if isinstance(error, errors.Transient) and error.is_timeout:
        return f"{connector_name} timed out"
    if isinstance(error, errors.RateLimited):
        return f"{connector_name} is limiting requests"
    if isinstance(error, errors.CredentialsRejected):
        return "Authentication failed"
    if isinstance(error, errors.Forbidden):
        return "Permission check failed"
    if isinstance(error, errors.NotFound | errors.Transient) or error.status_code is None:
        return "Connection failed"
    return own or f"{check_name} failed"


CheckStep = Callable[[], Check]
Headline = Callable[[str, errors.ConnectorError], str]


def run_checks(steps: Iterable[tuple[str, CheckStep]], *, headline: Headline) -> list[Check]:
    """Run checks in order; after a failure the rest are "not checked". A step raising a
    ``ConnectorError`` fails its check with the error's message, hint and
    ``headline(check_name, error)`` (most connectors wrap ``failure_headline``)."""
    checks: list[Check] = []
    for name, step in steps:
        if checks and not checks[-1].ok:
            checks.append(Check(name, None, "Not checked: an earlier check failed."))
            continue
        try:
            checks.append(step())
        except errors.ConnectorError as error:
            checks.append(Check(name, False, error.message, error.hint, headline(name, error)))
    return checks
