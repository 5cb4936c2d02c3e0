"""In-memory tables behind one lock, optionally persisted to a JSON file (``core.state``).

Records are flat dicts of strings keyed by field name (``schema.py``); the JSON the Table API
answers is built from them in ``render.py``.
"""

from __future__ import annotations

import copy
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ..core.state import PersistedState
from . import incidents, seed
from .schema import TABLES


def sn_timestamp(moment: datetime | None = None) -> str:
    """UTC ``YYYY-MM-DD HH:MM:SS``: no ``T``, no offset (docs/servicenow-api.md §9)."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S")


def new_sys_id() -> str:
    return uuid.uuid4().hex


class SimState(PersistedState):
    """All mutable ServiceNow data. Callers hold ``lock`` around multi-step reads."""

    def __init__(
        self,
        state_file: str | os.PathLike[str] | None = None,
        username: str = seed.DEFAULT_USERNAME,
        password: str = seed.DEFAULT_PASSWORD,
    ) -> None:
        super().__init__(state_file, (username, password))

    def seed_data(self) -> dict[str, Any]:
        return _seed_data()

    def apply_configured_credentials(self) -> None:
        """The configured pair always logs in as the integration user (the product's account)."""
        username, password = self.configured_credentials
        accounts = self.data["accounts"]
        integration_id = seed.user_id(seed.DEFAULT_USERNAME)
        current = next(name for name, a in accounts.items() if a["user"] == integration_id)
        account = accounts.pop(current)
        account["password"] = password
        accounts[username] = account
        self.table("sys_user")[integration_id]["user_name"] = username

    # --- accounts --------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> dict[str, Any] | None:
        with self.lock:
            account = self.data["accounts"].get(username)
            if account is None or account["password"] != password:
                return None
            user = self.get("sys_user", account["user"])
            if user is None or user["active"] != "true":
                return None
            return {"username": username, "roles": list(account["roles"]), "user": user}

    def add_account(
        self, username: str, password: str, roles: list[str], name: str | None = None
    ) -> dict[str, Any]:
        """Credentials for a (new or existing) ``sys_user`` with that ``user_name``."""
        with self.lock:
            users = self.table("sys_user")
            user = next((u for u in users.values() if u["user_name"] == username), None)
            if user is None:
                now = sn_timestamp()
                user = {field: "" for field in TABLES["sys_user"].fields}
                user.update(
                    sys_id=new_sys_id(),
                    user_name=username,
                    name=name or username,
                    active="true",
                    web_service_access_only="true",
                    sys_created_on=now,
                    sys_updated_on=now,
                    sys_mod_count="0",
                )
                users[user["sys_id"]] = user
            self.data["accounts"][username] = {
                "password": password,
                "roles": list(roles),
                "user": user["sys_id"],
            }
            self.save()
            return {"username": username, "roles": list(roles), "user": copy.deepcopy(user)}

    # --- tables ----------------------------------------------------------------------------

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        return self.data["tables"][name]

    def rows(self, name: str) -> list[dict[str, Any]]:
        return list(self.table(name).values())

    def get(self, name: str, sys_id: str) -> dict[str, Any] | None:
        return self.table(name).get(sys_id)

    def find_incident(self, number_or_sys_id: str) -> dict[str, Any] | None:
        incidents_by_id = self.table("incident")
        if number_or_sys_id in incidents_by_id:
            return incidents_by_id[number_or_sys_id]
        wanted = number_or_sys_id.upper()
        return next((i for i in incidents_by_id.values() if i["number"] == wanted), None)

    def next_number(self) -> str:
        number = self.data["next_number"]
        self.data["next_number"] = number + 1
        return f"INC{number:07d}"

    def insert_incident(self, record: dict[str, Any]) -> None:
        self.table("incident")[record["sys_id"]] = record
        self.save()

    def delete_incident(self, record: dict[str, Any]) -> None:
        with self.lock:
            del self.table("incident")[record["sys_id"]]
            journal = self.table("sys_journal_field")
            for entry_id in [k for k, e in journal.items() if e["element_id"] == record["sys_id"]]:
                del journal[entry_id]
            self.save()

    def add_journal_entry(
        self, record: dict[str, Any], element: str, text: str, username: str, now: str
    ) -> dict[str, Any]:
        entry = journal_entry(new_sys_id(), record["sys_id"], element, text, username, now)
        self.table("sys_journal_field")[entry["sys_id"]] = entry
        return entry

    def journal(self, sys_id: str, elements: tuple[str, ...]) -> list[dict[str, Any]]:
        """Entries of one record, oldest first."""
        return [
            entry
            for entry in self.rows("sys_journal_field")
            if entry["element_id"] == sys_id and entry["element"] in elements
        ]

    def choice_values(self, element: str, dependent_value: str | None) -> set[str]:
        return {
            row["value"]
            for row in self.rows("sys_choice")
            if row["name"] == "incident"
            and row["element"] == element
            and (dependent_value is None or row["dependent_value"] == dependent_value)
        }


def _seed_data() -> dict[str, Any]:
    tables: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in TABLES}
    for name, rows in (
        ("sys_user", seed.user_rows()),
        ("sys_user_group", seed.group_rows()),
        ("sys_choice", seed.choice_rows()),
    ):
        for row in rows:
            record = {field: "" for field in TABLES[name].fields}
            record.update(_system_fields(seed.SEED_TIME), **row)
            tables[name][row["sys_id"]] = record
    data = {
        "tables": tables,
        "accounts": {
            username: {"password": password, "roles": roles, "user": seed.user_id(username)}
            for username, (password, roles) in seed.ACCOUNTS.items()
        },
        "next_number": seed.FIRST_NUMBER + len(seed.INCIDENTS),
    }
    _seed_incidents(data)
    return data


def journal_entry(
    sys_id: str, element_id: str, element: str, text: str, username: str, now: str
) -> dict[str, Any]:
    """A ``sys_journal_field`` row (docs/servicenow-api.md §5.3)."""
    return {
        "sys_id": sys_id,
        "element_id": element_id,
        "name": "incident",
        "element": element,
        "value": text,
        "sys_tags": "",
        **_system_fields(now),
        "sys_created_by": username,
        "sys_updated_by": username,
    }


def _system_fields(now: str) -> dict[str, str]:
    return {
        "sys_created_on": now,
        "sys_created_by": "admin",
        "sys_updated_on": now,
        "sys_updated_by": "admin",
        "sys_mod_count": "0",
    }


def _seed_incidents(data: dict[str, Any]) -> None:
    start = datetime.strptime(seed.SEED_TIME, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    caller_id = seed.user_id("alice.andersen")
    for index, (number, spec) in enumerate(seed.incident_specs()):
        now = sn_timestamp(start + timedelta(hours=index))
        values = {k: v for k, v in spec.items() if k != "journal"}
        record = incidents.new_incident(
            values,
            sys_id=seed.incident_id(number),
            number=number,
            now=now,
            username="alice.andersen",
            user_id=caller_id,
        )
        data["tables"]["incident"][record["sys_id"]] = record
        for minutes, (element, user_name, text) in enumerate(spec.get("journal", []), start=1):
            when = sn_timestamp(start + timedelta(hours=index, minutes=minutes))
            entry_id = seed.seed_sys_id("sys_journal_field", f"{number}:{minutes}")
            entry = journal_entry(entry_id, record["sys_id"], element, text, user_name, when)
            data["tables"]["sys_journal_field"][entry["sys_id"]] = entry
