"""Seed data, re-created by reset: accounts, users, groups, choices, incidents and journal.

Choice values follow docs/servicenow-api.md §4 (state, impact, urgency, priority, categories).
"""

from __future__ import annotations

import hashlib
from typing import Any

DEFAULT_USERNAME = "qualytics.integration"
DEFAULT_PASSWORD = "sim-password"
SEED_TIME = "2026-01-05 09:00:00"
FIRST_NUMBER = 10001  # INC0010001: a new instance's first incidents (§7.1)


def seed_sys_id(table: str, key: str) -> str:
    """Stable 32-hex sys_ids, so seeded records keep their ids across resets."""
    return hashlib.md5(f"{table}:{key}".encode(), usedforsecurity=False).hexdigest()


def user_id(user_name: str) -> str:
    return seed_sys_id("sys_user", user_name)


def group_id(name: str) -> str:
    return seed_sys_id("sys_user_group", name)


def incident_id(number: str) -> str:
    return seed_sys_id("incident", number)


# (user_name, name, email, active, web service only)
USERS = [
    (DEFAULT_USERNAME, "Qualytics Integration", "integration@example.com", True, True),
    ("itil.only", "ITIL Only", "itil.only@example.com", True, True),
    ("readonly.viewer", "Read-Only Viewer", "viewer@example.com", True, True),
    ("alice.andersen", "Alice Andersen", "alice@example.com", True, False),
    ("bob.brennan", "Bob Brennan", "bob@example.com", True, False),
    ("carol.castillo", "Carol Castillo", "carol@example.com", True, False),
    ("dave.dormant", "Dave Dormant", "dave@example.com", False, False),
]

# username: (password, roles). The first is replaced by the configured pair.
ACCOUNTS = {
    DEFAULT_USERNAME: (DEFAULT_PASSWORD, ["itil", "audit_viewer"]),
    "itil.only": ("itil-password", ["itil"]),
    "readonly.viewer": ("viewer-password", []),
}

# (name, description, manager user_name, active)
GROUPS = [
    ("Data Quality", "Owns data-quality checks and anomalies", "alice.andersen", True),
    ("Database", "Database administration", "carol.castillo", True),
    ("Service Desk", "First-line support", "bob.brennan", True),
    ("Legacy Reporting", "Retired reporting team", "dave.dormant", False),
]

STATES = [("1", "New"), ("2", "In Progress"), ("3", "On Hold"), ("6", "Resolved")]
STATES += [("7", "Closed"), ("8", "Canceled")]
LEVELS = [("1", "1 - High"), ("2", "2 - Medium"), ("3", "3 - Low")]
PRIORITIES = [("1", "1 - Critical"), ("2", "2 - High"), ("3", "3 - Moderate")]
PRIORITIES += [("4", "4 - Low"), ("5", "5 - Planning")]
CATEGORIES = [("inquiry", "Inquiry / Help"), ("software", "Software"), ("hardware", "Hardware")]
CATEGORIES += [("network", "Network"), ("database", "Database")]
# category value -> [(subcategory value, label)] (§4.3)
SUBCATEGORIES = {
    "inquiry": [
        ("antivirus", "Antivirus"),
        ("email", "Email"),
        ("internal application", "Internal Application"),
    ],
    "software": [("email", "Email"), ("os", "Operating System")],
    "hardware": [
        ("cpu", "CPU"),
        ("disk", "Disk"),
        ("keyboard", "Keyboard"),
        ("memory", "Memory"),
        ("monitor", "Monitor"),
        ("mouse", "Mouse"),
    ],
    "network": [
        ("dhcp", "DHCP"),
        ("dns", "DNS"),
        ("ip address", "IP Address"),
        ("vpn", "VPN"),
        ("wireless", "Wireless"),
    ],
    "database": [("db2", "DB2"), ("sql server", "MS SQL Server"), ("oracle", "Oracle")],
}
HOLD_REASONS = [("1", "Awaiting Caller"), ("3", "Awaiting Problem"), ("4", "Awaiting Vendor")]
HOLD_REASONS += [("5", "Awaiting Change")]
CONTACT_TYPES = [("phone", "Phone"), ("email", "Email"), ("self-service", "Self-service")]
CLOSE_CODES = [
    (label, label)
    for label in ("Solved (Permanently)", "Solved (Work Around)", "Not Solved (Not Reproducible)")
]

# number suffix: fields (references by user_name / group name, resolved below)
INCIDENTS: list[dict[str, Any]] = [
    {
        "short_description": "Nightly orders load is missing rows",
        "description": "Row count check on orders dropped by 12% since Monday.",
        "state": "1",
        "impact": "2",
        "urgency": "2",
        "category": "database",
        "subcategory": "sql server",
        "assignment_group": "Data Quality",
        "caller_id": "alice.andersen",
    },
    {
        "short_description": "Dashboard freshness check failing",
        "state": "2",
        "impact": "1",
        "urgency": "2",
        "category": "software",
        "assignment_group": "Data Quality",
        "assigned_to": "bob.brennan",
        "caller_id": "alice.andersen",
        "journal": [
            ("work_notes", "alice.andersen", "Looking at the upstream job first."),
            ("comments", "bob.brennan", "The refresh job was paused; restarting it."),
        ],
    },
    {
        "short_description": "Replica lag on the reporting database",
        "state": "3",
        "hold_reason": "4",
        "impact": "3",
        "urgency": "3",
        "category": "database",
        "subcategory": "oracle",
        "assignment_group": "Database",
        "assigned_to": "carol.castillo",
    },
    {
        "short_description": "Duplicate customer ids in the CRM extract",
        "state": "6",
        "impact": "2",
        "urgency": "3",
        "category": "inquiry",
        "assignment_group": "Data Quality",
        "close_code": "Solved (Permanently)",
        "close_notes": "Deduplicated upstream.",
    },
    {
        "short_description": "VPN outage during the monthly close",
        "state": "7",
        "impact": "1",
        "urgency": "1",
        "category": "network",
        "subcategory": "vpn",
        "assignment_group": "Service Desk",
        "close_code": "Solved (Work Around)",
        "close_notes": "Provider fixed the tunnel.",
    },
]


def choice_rows() -> list[dict[str, Any]]:
    """``sys_choice`` rows for the incident table (§4.1–§4.3)."""
    lists: list[tuple[str, list[tuple[str, str]], str]] = [
        ("state", STATES, ""),
        ("incident_state", STATES, ""),
        ("impact", LEVELS, ""),
        ("urgency", LEVELS, ""),
        ("severity", LEVELS, ""),
        ("priority", PRIORITIES, ""),
        ("category", CATEGORIES, ""),
        ("hold_reason", HOLD_REASONS, ""),
        ("contact_type", CONTACT_TYPES, ""),
        ("close_code", CLOSE_CODES, ""),
    ]
    lists += [("subcategory", subs, category) for category, subs in SUBCATEGORIES.items()]
    rows = []
    for element, pairs, dependent in lists:
        for sequence, (value, label) in enumerate(pairs, start=1):
            key = f"incident.{element}.{dependent}.{value}"
            rows.append(
                {
                    "sys_id": seed_sys_id("sys_choice", key),
                    "name": "incident",
                    "element": element,
                    "value": value,
                    "label": label,
                    "dependent_value": dependent,
                    "language": "en",
                    "sequence": str(sequence),
                    "inactive": "false",
                }
            )
    return rows


def user_rows() -> list[dict[str, Any]]:
    rows = []
    for user_name, name, email, active, web_only in USERS:
        first, _, last = name.partition(" ")
        rows.append(
            {
                "sys_id": user_id(user_name),
                "user_name": user_name,
                "name": name,
                "first_name": first,
                "last_name": last,
                "email": email,
                "title": "",
                "active": str(active).lower(),
                "web_service_access_only": str(web_only).lower(),
            }
        )
    return rows


def group_rows() -> list[dict[str, Any]]:
    return [
        {
            "sys_id": group_id(name),
            "name": name,
            "description": description,
            "email": "",
            "manager": user_id(manager),
            "active": str(active).lower(),
        }
        for name, description, manager, active in GROUPS
    ]


def incident_specs() -> list[tuple[str, dict[str, Any]]]:
    """``(number, values)`` with references resolved to sys_ids; journal kept aside."""
    specs = []
    for offset, spec in enumerate(INCIDENTS):
        values = dict(spec)
        if "assignment_group" in values:
            values["assignment_group"] = group_id(values["assignment_group"])
        for field in ("assigned_to", "caller_id"):
            if field in values:
                values[field] = user_id(values[field])
        specs.append((f"INC{FIRST_NUMBER + offset:07d}", values))
    return specs
