"""ServiceNow behind the connector boundary (``integrations/connectors.py``): incidents.

A ticket's ``key`` is the incident number (``INC0010001``) and its ``id`` the sys_id. Sync
events become work notes carrying a delivery marker; exactly-once rests on finding that marker
before a re-send (docs/servicenow-api.md §5.4). Contract: docs/servicenow-api.md.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .. import errors
from ..connectors import (
    Check,
    ConnectionReport,
    Connector,
    CreateFormSpec,
    Credentials,
    FieldKind,
    FormField,
    RemoteTicket,
    StatusCategory,
    TicketDraft,
    TicketLookup,
    TicketStatus,
    failure_headline,
    run_checks,
)
from . import help
from .client import ServiceNowClient
from .errors import ServiceNowNotFound
from .types import Choice, Incident, Reference
from .urls import EXAMPLE, INCIDENT_NUMBER, SYS_ID, normalize_instance_url

SHORT_DESCRIPTION_MAX = 160  # not enforced by the platform: cut it ourselves (§4.4)
CORRELATION_ID_MAX = 100  # §4.4
MARKER = "[qualytics-event:{marker}]"  # ends each work note (§5.4 step 2)
CREATE_SCOPE = "incident"
# State values of the base system (§4.1) and where each stands.
STATE_CATEGORIES = {
    "1": StatusCategory.TODO,  # New
    "2": StatusCategory.IN_PROGRESS,  # In Progress
    "3": StatusCategory.IN_PROGRESS,  # On Hold
    "6": StatusCategory.DONE,  # Resolved
    "7": StatusCategory.DONE,  # Closed
    "8": StatusCategory.DONE,  # Canceled
}
# Priority looked up from impact × urgency (§4.2); the instance computes it, we only show it.
PRIORITY = {(1, 1): 1, (1, 2): 2, (1, 3): 3, (2, 1): 2, (2, 2): 3, (2, 3): 4}
PRIORITY |= {(3, 1): 3, (3, 2): 4, (3, 3): 5}
DEFAULT_IMPACT_URGENCY = "3"  # what the instance uses when none is sent (§2.6)
JOURNAL_READABLE = (
    "Work notes are looked up in sys_journal_field before any re-send: each event is "
    "delivered exactly once."
)
JOURNAL_NOT_READABLE = (
    "The account cannot read sys_journal_field (it needs the audit_viewer role), so a re-sent "
    "work note is looked for in the incident's work-notes history instead: a weaker "
    "guarantee, a duplicate note is possible if that history is cut short."
)
HINT_JOURNAL = "Grant the integration account the audit_viewer role for exactly-once delivery."
HINT_GROUP = (
    "Check the group's name in ServiceNow (User Administration > Groups), or leave it blank."
)


def status_of(incident: Incident) -> TicketStatus:
    """The neutral status of an incident's ``state``; an unplaced state is Unknown, named."""
    category = STATE_CATEGORIES.get(incident.state, StatusCategory.UNKNOWN)
    if not incident.state:  # the field came back empty: hidden by an ACL or not sent
        return TicketStatus(StatusCategory.UNKNOWN, "Unknown (state not readable)")
    name = incident.state_label or f"Unknown (state {incident.state})"
    return TicketStatus(category, name)


def remote_ticket(incident: Incident) -> RemoteTicket:
    return RemoteTicket(
        id=incident.sys_id,
        key=incident.number.upper(),
        summary=incident.short_description,
        status=status_of(incident),
    )


def chosen(choices: tuple[tuple[str, str], ...], value: str | None) -> str | None:
    """``value`` when the instance offers it, else None (the form falls back to its blank)."""
    return value if value and value in dict(choices) else None


def note_id(marker: str) -> str:
    """What stands for a work note's id: the PATCH answer has none (§2.7), so its marker, as
    32 hex characters (the outbox keeps note ids that short)."""
    try:
        return uuid.UUID(marker).hex
    except ValueError:
        return hashlib.sha256(marker.encode()).hexdigest()[:32]


def marked(text: str, marker: str) -> str:
    """``text`` ending with the delivery marker (once)."""
    tag = MARKER.format(marker=marker)
    return text if tag in text else f"{text.rstrip()}\n\n{tag}"


class ServiceNowConnector(Connector):
    kind = "servicenow"
    name = "ServiceNow"
    ticket_noun = "incident"
    note_noun = "work note"
    key_example = "INC0010001"
    key_pattern = INCIDENT_NUMBER
    host_example = EXAMPLE
    credentials_format = "username:password"
    credentials_help = (
        "username:password of an integration account with the itil role (add audit_viewer "
        "for exactly-once work notes); Basic authentication, stored encrypted."
    )
    scope_example = "Data Quality"
    troubles = help.TROUBLES
    summary = "ServiceNow incidents, username + password"
    pitch = (
        "Create and link ServiceNow incidents from anomalies; anomaly changes arrive as work notes."
    )
    scope_label = "Default assignment group"
    scope_required = False
    status_batch_size = 100  # numberIN lists of about 100 (§2.2)
    searchable_fields = frozenset({"assignment_group", "assigned_to"})

    def __init__(self, host_url: str, credentials: Credentials, **options: Any) -> None:
        # ``options``: the timeouts, host_policy and on_response of ``Connector.__init__``.
        self.client = ServiceNowClient(
            host_url, credentials.username, credentials.secret, **options
        )
        self.host_url = self.client.instance_url
        self._username = credentials.username
        self._sys_ids: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<ServiceNowConnector {self.host_url}>"

    def close(self) -> None:
        self.client.close()

    # --- connect form ---------------------------------------------------------------------

    @classmethod
    def normalize_host_url(cls, url: str, *, allow_insecure_loopback: bool = False) -> str:
        return normalize_instance_url(url, allow_insecure_loopback=allow_insecure_loopback)

    @classmethod
    def parse_credentials(cls, text: str) -> Credentials:
        username, colon, password = text.strip().partition(":")
        if not colon or not username.strip() or not password:
            raise ValueError("Enter the credentials as username:password.")
        return Credentials(username.strip(), password)

    @classmethod
    def ticket_group(cls, key: str) -> str:
        """Each incident is its own group: a 403 on work notes of two incidents is an account
        without the itil role (§3.2, §5.1), so the integration pauses; one refused incident
        (a restrictive ACL on it) only holds that incident."""
        return cls.normalize_key(key) or ""

    # --- connection -------------------------------------------------------------------------

    def check_connection(self, scope: str) -> ConnectionReport:
        """Authentication, read access, write access, the default group, the journal."""
        found: dict[str, Any] = {}

        def authentication() -> Check:
            account = self.client.get_account(self._username)
            found["account"] = account.name if account else self._username
            return Check("Authentication", True, f"Signed in as {found['account']}.")

        def read_access() -> Check:
            found["incident"] = self.client.any_incident()
            return Check("Read incidents", True, "The account can read the incident table.")

        def write_access() -> Check:
            incident = found.get("incident")
            if incident is None:
                detail = "No incident to try an update on; the first create will tell."
                return Check("Create and update incidents", True, detail)
            # An update changing nothing meets the same ACL as a real one (§3.2); ServiceNow
            # has no dry-run insert, and the itil role grants both.
            self.client.check_update_allowed(incident.sys_id)
            detail = "The account may create and update incidents."
            return Check("Create and update incidents", True, detail)

        def default_group() -> Check:
            group = self._group_named(scope)
            if group is None:
                detail = f"No active assignment group is named {scope!r}."
                return Check(
                    "Default assignment group", False, detail, HINT_GROUP, "Group not found"
                )
            return Check("Default assignment group", True, f"Found {group.name}.")

        def journal() -> Check:
            if self.client.journal_readable():
                return Check("Journal lookup", True, JOURNAL_READABLE)
            return Check("Journal lookup", True, JOURNAL_NOT_READABLE, HINT_JOURNAL)

        steps = [
            ("Authentication", authentication),
            ("Read incidents", read_access),
            ("Create and update incidents", write_access),
        ]
        if scope.strip():
            steps.append(("Default assignment group", default_group))
        steps.append(("Journal lookup", journal))
        checks = run_checks(steps, headline=self._headline)
        return ConnectionReport(checks, account_name=found.get("account", ""))

    def _headline(self, check_name: str, error: errors.ConnectorError) -> str:
        return failure_headline(self.name, check_name, error)

    def _group_named(self, name: str) -> Reference | None:
        wanted = name.strip().casefold()
        if SYS_ID.fullmatch(name.strip()):
            try:
                return self.client.get_group(name.strip())
            except ServiceNowNotFound:
                return None
        groups = self.client.search_groups(name.strip(), limit=50)
        return next((g for g in groups if g.name.casefold() == wanted), None)

    # --- creating ---------------------------------------------------------------------------

    def describe_create_form(self, scope: str, values: Mapping[str, str]) -> CreateFormSpec:
        """Short description, description, urgency, impact, category and subcategory (choices
        from ``sys_choice``), assignment group and assigned to (searchable)."""
        urgency = self._choices("urgency")
        impact = self._choices("impact")
        categories = self._choices("category")
        category = values.get("category", "")
        subcategories = tuple(
            (c.value, c.label)
            for c in self.client.get_choices("subcategory")
            if category and c.dependent_value == category
        )
        default_group = self._group_named(scope) if scope.strip() else None
        group_id = values.get("assignment_group") or (default_group.sys_id if default_group else "")
        fields = (
            FormField(
                "summary",
                "Short description",
                FieldKind.TEXT,
                required=True,
                max_length=SHORT_DESCRIPTION_MAX,
            ),
            FormField(
                "description",
                "Description",
                FieldKind.TEXTAREA,
                help_text="The anomaly's details and a link back are added below your text.",
            ),
            FormField(
                "urgency",
                "Urgency",
                FieldKind.CHOICE,
                choices=urgency,
                initial=chosen(urgency, values.get("urgency")),
                blank_label="Default",
                refreshes_form=True,
            ),
            FormField(
                "impact",
                "Impact",
                FieldKind.CHOICE,
                choices=impact,
                initial=chosen(impact, values.get("impact")),
                blank_label="Default",
                refreshes_form=True,
                help_text=self._priority_text(values),
            ),
            FormField(
                "category",
                "Category",
                FieldKind.CHOICE,
                choices=categories,
                initial=chosen(categories, values.get("category")),
                blank_label="Default",
                refreshes_form=True,
            ),
            FormField(
                "subcategory",
                "Subcategory",
                FieldKind.CHOICE,
                choices=subcategories,
                initial=chosen(subcategories, values.get("subcategory")),
                blank_label="None",
                help_text="" if category else "Choose a category first.",
            ),
            FormField(
                "group_search",
                "Find assignment group",
                FieldKind.SEARCH,
                refreshes_form=True,
                searches="assignment_group",
                help_text="Type part of the group's name.",
            ),
            FormField(
                "assignment_group",
                "Assignment group",
                FieldKind.CHOICE,
                choices=self._references(
                    self.client.search_groups(values.get("group_search", "")),
                    group_id,
                    self.client.get_group,
                ),
                blank_label="None",
                initial=group_id or None,
            ),
            FormField(
                "user_search",
                "Find assignee",
                FieldKind.SEARCH,
                refreshes_form=True,
                searches="assigned_to",
                help_text="Type part of a name, user name or email address.",
            ),
            FormField(
                "assigned_to",
                "Assigned to",
                FieldKind.CHOICE,
                choices=self._references(
                    self.client.search_users(values.get("user_search", "")),
                    values.get("assigned_to", ""),
                    self.client.get_user,
                ),
                blank_label="Unassigned",
            ),
        )
        return CreateFormSpec(scope=CREATE_SCOPE, fields=fields)

    def search_choices(
        self, field: str, words: str, *, scope: str, limit: int = 20
    ) -> list[tuple[str, str]]:
        # Users and groups are instance-wide: ``scope`` narrows nothing here.
        if field == "assigned_to":
            return list(
                self._references(self.client.search_users(words, limit), "", self.client.get_user)
            )
        if field == "assignment_group":
            return list(
                self._references(self.client.search_groups(words, limit), "", self.client.get_group)
            )
        return super().search_choices(field, words, scope=scope, limit=limit)

    def _choices(self, element: str) -> tuple[tuple[str, str], ...]:
        return tuple((c.value, c.label) for c in self.client.get_choices(element))

    def _priority_text(self, values: Mapping[str, str]) -> str:
        impact = values.get("impact") or DEFAULT_IMPACT_URGENCY
        urgency = values.get("urgency") or DEFAULT_IMPACT_URGENCY
        try:
            priority = PRIORITY[(int(impact), int(urgency))]
        except (KeyError, ValueError):
            return "ServiceNow computes the priority from impact and urgency."
        labels: dict[str, str] = {
            c.value: c.label for c in self._safe_choices("priority") if isinstance(c, Choice)
        }
        shown = labels.get(str(priority), str(priority))
        return f"Priority (computed by ServiceNow from impact and urgency): {shown}"

    def _safe_choices(self, element: str) -> list[Choice]:
        try:
            return self.client.get_choices(element)
        except errors.ConnectorError:
            return []

    @staticmethod
    def _references(
        found: list[Reference], chosen: str, fetch: Callable[[str], Reference]
    ) -> tuple[tuple[str, str], ...]:
        """Search results, plus the chosen record when the search no longer lists it."""
        choices = [(r.sys_id, f"{r.name} ({r.detail})" if r.detail else r.name) for r in found]
        if chosen and SYS_ID.fullmatch(chosen) and chosen not in {r.sys_id for r in found}:
            try:
                record = fetch(chosen)
            except ServiceNowNotFound:
                return tuple(choices)
            choices.insert(0, (record.sys_id, record.name))
        return tuple(choices)

    def create_ticket(self, draft: TicketDraft, *, marker: str) -> RemoteTicket:
        """One incident with ``marker`` as its ``correlation_id`` (§2.6, §5.4 step 1)."""
        fields = {
            "short_description": draft.summary.strip()[:SHORT_DESCRIPTION_MAX].rstrip(),
            "description": draft.description.as_plain_text(),
            "correlation_id": marker[:CORRELATION_ID_MAX],
            "correlation_display": "Qualytics",
        }
        for name in ("urgency", "impact", "category", "subcategory"):
            value = str(draft.values.get(name) or "").strip()
            if value:
                fields[name] = value
        for name in ("assignment_group", "assigned_to"):
            value = str(draft.values.get(name) or "").strip()
            if SYS_ID.fullmatch(value):  # references are written as sys_ids (§6)
                fields[name] = value
        incident = self.client.create_incident(fields)
        self._sys_ids[incident.number.upper()] = incident.sys_id
        return remote_ticket(incident)

    def find_created_ticket(self, scope: str, marker: str) -> RemoteTicket | None:
        incident = self.client.find_incident_by_correlation_id(marker[:CORRELATION_ID_MAX])
        return remote_ticket(incident) if incident else None

    # --- finding and linking ----------------------------------------------------------------

    def get_ticket(self, key: str) -> RemoteTicket:
        return remote_ticket(self._incident(key))

    def _incident(self, key: str) -> Incident:
        """The incident a number (or a sys_id) names; of several with one number, the oldest
        (§7.1: numbers are not guaranteed unique)."""
        key = key.strip()
        if SYS_ID.fullmatch(key):
            return self.client.get_incident(key)
        number = self.normalize_key(key)
        rows = self.client.get_incidents_by_numbers([number]).found.get(number or "", [])
        if not rows:
            raise ServiceNowNotFound(
                f"ServiceNow incident {key} not found.", status_code=None, detail=""
            )
        self._sys_ids[rows[0].number.upper()] = rows[0].sys_id
        return rows[0]

    def _sys_id(self, key: str) -> str:
        key = key.strip()
        if SYS_ID.fullmatch(key):
            return key
        cached = self._sys_ids.get(key.upper())
        return cached or self._incident(key).sys_id

    def search_tickets(self, words: str, *, limit: int = 20) -> list[RemoteTicket]:
        return [remote_ticket(i) for i in self.client.search_incidents(words, limit=limit)]

    def key_from_url(self, url: str) -> str | None:
        """The number of the incident any §7.2 URL form of this instance names; a sys_id is
        confirmed with a GET (``NotFound`` when gone)."""
        ref = self.client.incident_ref_from_url(url)
        if ref is None:
            return None
        if ref.number:
            return ref.number
        incident = self.client.get_incident(ref.sys_id)
        self._sys_ids[incident.number.upper()] = incident.sys_id
        return incident.number.upper()

    def browse_url(self, key: str) -> str:
        number = self.normalize_key(key)
        if number is None:
            raise ValueError(f"Not a ServiceNow incident number: {key!r}")
        # The classic form by number (§7.2): needs no sys_id, so no call.
        return f"{self.host_url}/incident.do?sysparm_query=number={number}"

    def read_statuses(self, keys: Iterable[str]) -> TicketLookup:
        """One ``numberIN`` query per 100 numbers (§2.2); of duplicates, the oldest."""
        wanted = {key.strip().upper() for key in keys}
        lookup = self.client.get_incidents_by_numbers(wanted)
        found = {number: remote_ticket(rows[0]) for number, rows in lookup.found.items()}
        for number, rows in lookup.found.items():
            self._sys_ids[number] = rows[0].sys_id
        return TicketLookup(found=found, missing=frozenset(wanted - found.keys()))

    # --- sync notes -------------------------------------------------------------------------

    def post_note(self, key: str, text: str, *, marker: str) -> str:
        """One work note ending with the marker (§2.7, §5.4 step 2). A work note has no id
        of its own in the answer, so ``note_id(marker)`` stands for it, as in ``find_note``."""
        self.client.add_work_note(self._sys_id(key), marked(text, marker))
        return note_id(marker)

    def find_note(self, key: str, marker: str) -> str | None:
        """The journal entry carrying the marker (preferred, §5.4), else the work-notes
        history string searched for it (the weaker fallback). Both are asked when the journal
        answers nothing, since a denied journal read may look empty (§5.3)."""
        sys_id = self._sys_id(key)
        tag = MARKER.format(marker=marker)
        try:
            if self.client.find_journal_entry(sys_id, tag):
                return note_id(marker)
        except errors.Forbidden:
            pass
        return note_id(marker) if tag in self.client.work_notes_history(sys_id) else None
