"""A small ServiceNow Table API client: one method per call the product makes, plain values back.

Plain Python and ``requests``; all configuration comes through the constructor. Retry policy
belongs to the callers: errors say whether they are ``permanent`` and whether a write's
``outcome_unknown`` (see ``errors.py``). Contract: docs/servicenow-api.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from ..host_policy import HostPolicy
from ..http import PolicedTransport
from .errors import (
    ServiceNowError,
    ServiceNowHostNotAllowed,
    ServiceNowUnexpectedResponse,
    error_from_response,
    error_from_transport,
    not_json_error,
)
from .types import INCIDENT_FIELDS, Choice, Incident, IncidentLookup, Reference
from .urls import (
    INCIDENT_NUMBER,
    IncidentRef,
    incident_form_url,
    incident_ref_from_url,
    normalize_instance_url,
    path_segment,
    query_value,
)

TABLE_URL = "/api/now/table/{table}"
RECORD_URL = "/api/now/table/{table}/{sys_id}"
NUMBERS_PER_QUERY = 100  # IN lists of about 100 values keep URLs short (§2.2)
SEARCH_LIMIT = 20
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}  # §1.4
# Every incident read asks for value and label of each field, without reference links (§2.5).
INCIDENT_READ = {
    "sysparm_display_value": "all",
    "sysparm_exclude_reference_link": "true",
    "sysparm_fields": ",".join(INCIDENT_FIELDS),
}
CHOICE_ELEMENTS = ("state", "impact", "urgency", "priority", "category", "subcategory")
logger = logging.getLogger(__name__)


class ServiceNowClient:
    """One ServiceNow instance seen through one account (username + password, Basic auth)."""

    def __init__(
        self,
        instance_url: str,
        username: str,
        password: str,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 15,
        host_policy: HostPolicy | None = None,
        on_response: Callable[..., Any] | None = None,
    ) -> None:
        # Loopback http never leaves this machine (local simulator); any other host needs TLS.
        # Whether the address may be reached at all is the host policy's call, at every
        # connection (docs/outbound-host-policy.md).
        self.instance_url = normalize_instance_url(instance_url, allow_insecure_loopback=True)
        self._http = PolicedTransport(
            self.instance_url,
            username,
            password,
            vendor="ServiceNow",
            logger=logger,
            transport_error=error_from_transport,
            host_refused=ServiceNowHostNotAllowed,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            host_policy=host_policy,
            on_response=on_response,
        )
        self._secrets = self._http.secrets

    def __repr__(self) -> str:
        return f"<ServiceNowClient {self.instance_url}>"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ServiceNowClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- incidents: reads -------------------------------------------------------------------

    def get_incident(self, sys_id: str) -> Incident:
        """One incident; ``ServiceNowNotFound`` when missing or hidden (§2.4)."""
        path = RECORD_URL.format(table="incident", sys_id=path_segment(sys_id))
        return Incident.from_record(self._request("GET", path, params=INCIDENT_READ))

    def get_incidents_by_numbers(self, numbers: Iterable[str]) -> IncidentLookup:
        """Incidents by number, one ``numberIN`` query per 100 numbers (§2.2, §7.1)."""
        wanted = sorted(
            {n.strip().upper() for n in numbers if INCIDENT_NUMBER.fullmatch(n.strip())}
        )
        found: dict[str, list[Incident]] = {}
        for start in range(0, len(wanted), NUMBERS_PER_QUERY):
            chunk = wanted[start : start + NUMBERS_PER_QUERY]
            query = f"numberIN{','.join(chunk)}^ORDERBYsys_created_on"
            for incident in self._incidents(query, limit=len(chunk) * 2):
                # Rows outside the chunk mean the query was not applied as sent (§0.3).
                if incident.number.upper() in chunk:
                    found.setdefault(incident.number.upper(), []).append(incident)
        return IncidentLookup(found=found, missing=frozenset(wanted) - found.keys())

    def get_incidents_by_sys_ids(self, sys_ids: Iterable[str]) -> dict[str, Incident]:
        """Incidents by sys_id, one ``sys_idIN`` query per 100; absent ids are missing or
        hidden (§2.2, §2.4)."""
        wanted = sorted({path_segment(s) for s in sys_ids})
        found: dict[str, Incident] = {}
        for start in range(0, len(wanted), NUMBERS_PER_QUERY):
            chunk = wanted[start : start + NUMBERS_PER_QUERY]
            for incident in self._incidents(f"sys_idIN{','.join(chunk)}", limit=len(chunk)):
                if incident.sys_id in chunk:
                    found[incident.sys_id] = incident
        return found

    def search_incidents(self, text: str, limit: int = SEARCH_LIMIT) -> list[Incident]:
        """Incidents whose number, short description or description contains ``text``,
        newest update first; an exact number ranks first (``LIKE``, not the text index, §2.2)."""
        words = query_value(text)
        if not words:
            return []
        query = (
            f"numberLIKE{words}^ORshort_descriptionLIKE{words}^ORdescriptionLIKE{words}"
            "^ORDERBYDESCsys_updated_on"
        )
        found = self._incidents(query, limit=limit)
        return sorted(found, key=lambda incident: incident.number.upper() != words.upper())

    def find_incident_by_correlation_id(self, correlation_id: str) -> Incident | None:
        """The newest incident carrying ``correlation_id``: a create whose answer was lost
        (§5.4 step 1)."""
        key = query_value(correlation_id)
        if not key:
            return None
        query = f"correlation_id={key}^ORDERBYDESCsys_created_on"
        for incident in self._incidents(query, limit=1):
            if incident.correlation_id == key:  # a dropped query part returns other rows
                return incident
        return None

    def _incidents(self, query: str, *, limit: int) -> list[Incident]:
        params = {**INCIDENT_READ, "sysparm_query": query, "sysparm_limit": max(1, limit)}
        path = TABLE_URL.format(table="incident")
        rows = self._request("GET", path, params=params, expect=list)
        return [Incident.from_record(row) for row in rows if isinstance(row, dict)]

    # --- incidents: writes ------------------------------------------------------------------

    def create_incident(self, fields: dict[str, str]) -> Incident:
        """Create one incident (§2.6). Send ``correlation_id`` so a lost answer can be found."""
        path = TABLE_URL.format(table="incident")
        record = self._request("POST", path, params=INCIDENT_READ, json_body=fields)
        incident = Incident.from_record(record)
        if not incident.sys_id:
            raise ServiceNowUnexpectedResponse(
                "ServiceNow created an incident but sent no sys_id.", outcome_unknown=True
            )
        return incident

    def add_work_note(self, sys_id: str, text: str) -> None:
        """Append one work note (§2.7, §5.1). A 200 is no proof the note was kept (§5.4)."""
        path = RECORD_URL.format(table="incident", sys_id=path_segment(sys_id))
        params = {"sysparm_fields": "sys_id"}
        self._request("PATCH", path, params=params, json_body={"work_notes": text})

    def check_update_allowed(self, sys_id: str) -> None:
        """An update that changes nothing: raises ``ServiceNowForbidden`` when the account may
        not update incidents (the ACL check of §3.2), else leaves the record as it was."""
        path = RECORD_URL.format(table="incident", sys_id=path_segment(sys_id))
        self._request("PATCH", path, params={"sysparm_fields": "sys_id"}, json_body={})

    # --- journal ----------------------------------------------------------------------------

    def find_journal_entry(
        self, sys_id: str, marker: str, element: str = "work_notes"
    ) -> str | None:
        """The sys_id of a journal entry of the incident containing ``marker``, else None
        (docs/servicenow-api.md §5.4, the preferred lookup).

        Needs ``audit_viewer`` or ``admin`` (§5.3); without it the answer is an empty list
        (indistinguishable from "not there") or a 403.
        """
        needle = query_value(marker)
        query = f"element_id={path_segment(sys_id)}^element={element}^valueLIKE{needle}"
        params = {"sysparm_query": query, "sysparm_limit": 1, "sysparm_fields": "sys_id,value"}
        rows = self._request(
            "GET", TABLE_URL.format(table="sys_journal_field"), params=params, expect=list
        )
        for row in rows:
            # Check the text here too: a dropped query part would return unrelated rows.
            if isinstance(row, dict) and needle in str(row.get("value", "")):
                return str(row.get("sys_id") or "journal")
        return None

    def get_account(self, username: str) -> Reference | None:
        """The account's own ``sys_user`` row (§6); any call proves the credentials (§1.2)."""
        query = f"user_name={query_value(username)}"
        rows = self._list("sys_user", query, "sys_id,name,user_name,email", 1)
        found = [r for r in rows if str(r.get("user_name", "")) == query_value(username)]
        return Reference.user(found[0]) if found else None

    def any_incident(self) -> Incident | None:
        """One readable incident, newest first: proves read access to ``incident`` (§2.3)."""
        found = self._incidents("ORDERBYDESCsys_created_on", limit=1)
        return found[0] if found else None

    def journal_readable(self) -> bool:
        """Whether this account reads ``sys_journal_field``: one row of incident journal comes
        back. False on a 403 or an empty answer, which a denied read also gives (§5.3)."""
        params = {"sysparm_query": "name=incident", "sysparm_limit": 1, "sysparm_fields": "sys_id"}
        try:
            rows = self._request(
                "GET", TABLE_URL.format(table="sys_journal_field"), params=params, expect=list
            )
        except ServiceNowError as error:
            if error.status_code == HTTPStatus.FORBIDDEN:
                return False
            raise
        return bool(rows)

    def work_notes_history(self, sys_id: str) -> str:
        """Every work note of the incident as one display string, newest first (§5.2): the
        weaker fallback of §5.4 for accounts that cannot read the journal."""
        path = RECORD_URL.format(table="incident", sys_id=path_segment(sys_id))
        params = {"sysparm_fields": "work_notes", "sysparm_display_value": "true"}
        record = self._request("GET", path, params=params)
        value = record.get("work_notes", "")
        return value if isinstance(value, str) else ""

    # --- users, groups, choices --------------------------------------------------------------

    def search_users(self, text: str, limit: int = SEARCH_LIMIT) -> list[Reference]:
        """Active users whose name, login or email contains ``text`` (§6)."""
        words = query_value(text)
        query = "active=true"
        if words:
            query += f"^nameLIKE{words}^ORuser_nameLIKE{words}^ORemailLIKE{words}"
        rows = self._list("sys_user", f"{query}^ORDERBYname", "sys_id,name,user_name,email", limit)
        return [Reference.user(row) for row in rows]

    def search_groups(self, text: str, limit: int = SEARCH_LIMIT) -> list[Reference]:
        """Active assignment groups whose name contains ``text`` (§6)."""
        words = query_value(text)
        query = "active=true" + (f"^nameLIKE{words}" if words else "")
        rows = self._list("sys_user_group", f"{query}^ORDERBYname", "sys_id,name", limit)
        return [Reference.group(row) for row in rows]

    def get_user(self, sys_id: str) -> Reference:
        path = RECORD_URL.format(table="sys_user", sys_id=path_segment(sys_id))
        params = {"sysparm_fields": "sys_id,name,user_name,email"}
        return Reference.user(self._request("GET", path, params=params))

    def get_group(self, sys_id: str) -> Reference:
        path = RECORD_URL.format(table="sys_user_group", sys_id=path_segment(sys_id))
        return Reference.group(self._request("GET", path, params={"sysparm_fields": "sys_id,name"}))

    def get_choices(self, element: str) -> list[Choice]:
        """Active choices of an incident field, in the instance's order (§4.1, §4.3)."""
        if element not in CHOICE_ELEMENTS:
            raise ValueError(f"Not an incident choice field the product reads: {element!r}")
        query = f"name=incident^element={element}^inactive=false^ORDERBYsequence"
        fields = "value,label,dependent_value,element"
        rows = self._list("sys_choice", query, fields, 500)
        # Drop rows of other fields: an ignored query part would return the whole table (§2.2).
        return [Choice.from_record(row) for row in rows if str(row.get("element", "")) == element]

    def _list(self, table: str, query: str, fields: str, limit: int) -> list[dict[str, Any]]:
        params = {"sysparm_query": query, "sysparm_fields": fields, "sysparm_limit": limit}
        rows = self._request("GET", TABLE_URL.format(table=table), params=params, expect=list)
        return [row for row in rows if isinstance(row, dict)]

    # --- browse links -----------------------------------------------------------------------

    def incident_url(self, sys_id: str) -> str:
        return incident_form_url(self.instance_url, sys_id)

    def incident_ref_from_url(self, url: str) -> IncidentRef | None:
        return incident_ref_from_url(url, self.instance_url)

    # --- transport --------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        expect: type = dict,
    ) -> Any:
        """``result`` of a successful JSON answer; anything else raises a ``ServiceNowError``.

        A 2xx that is not JSON with a ``result`` is the hibernation page or a cut answer
        (§8.3, §8.2): transient, never a success.
        """
        is_write = method != "GET"
        response = self._http.send(
            method,
            path,
            params=params,
            json_body=json_body if is_write else None,
            headers=JSON_HEADERS if is_write else {"Accept": "application/json"},
            is_write=is_write,
        )
        if not HTTPStatus.OK <= response.status_code < HTTPStatus.MULTIPLE_CHOICES:
            raise error_from_response(response, is_write=is_write, secrets=self._secrets)
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            body = response.json() if content_type == "application/json" else None
        except ValueError:
            body = None
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, expect):
            raise not_json_error(response, is_write=is_write)
        return result
