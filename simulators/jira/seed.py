"""Deterministic seed data: the Jira site the simulator pretends to be.

Configuration (projects, issue types, create screens, fields, priorities, statuses) is static;
users, issues and comments are *state* (copied into ``SimState`` and re-created on reset).
Ids are strings, like Jira's. Status categories follow docs/jira-api.md §1.7.
"""

from __future__ import annotations

import copy
from typing import Any

DEFAULT_EMAIL = "bot@example.com"
DEFAULT_TOKEN = "sim-token"
BOT_ACCOUNT_ID = "712020:sim-bot"

# --- static configuration ---------------------------------------------------------------

STATUS_CATEGORIES: dict[int, dict[str, Any]] = {
    2: {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    4: {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    3: {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}

STATUSES: dict[str, dict[str, Any]] = {
    "10000": {"id": "10000", "name": "To Do", "category": 2},
    "3": {"id": "3", "name": "In Progress", "category": 4},
    "10002": {"id": "10002", "name": "In Review", "category": 4},
    "10001": {"id": "10001", "name": "Done", "category": 3},
}
INITIAL_STATUS_ID = "10000"

PRIORITIES: dict[str, dict[str, str]] = {
    "1": {"id": "1", "name": "Highest", "icon": "highest", "statusColor": "#d04437"},
    "2": {"id": "2", "name": "High", "icon": "high", "statusColor": "#f15C75"},
    "3": {"id": "3", "name": "Medium", "icon": "medium", "statusColor": "#f79232"},
    "4": {"id": "4", "name": "Low", "icon": "low", "statusColor": "#707070"},
    "5": {"id": "5", "name": "Lowest", "icon": "lowest", "statusColor": "#999999"},
}
DEFAULT_PRIORITY_ID = "3"

ISSUE_TYPES: dict[str, dict[str, Any]] = {
    "10001": {"id": "10001", "name": "Task", "description": "A small, distinct piece of work."},
    "10002": {"id": "10002", "name": "Bug", "description": "A problem or error."},
    "10003": {"id": "10003", "name": "Story", "description": "A user-facing feature."},
    "10004": {"id": "10004", "name": "Incident", "description": "An operational incident."},
}

IMPACTED_SYSTEM_OPTIONS = [
    {"id": "10100", "value": "Warehouse"},
    {"id": "10101", "value": "Pipelines"},
    {"id": "10102", "value": "Dashboards"},
]

# kind decides how a value is validated and stored (see validation.py).
FIELDS: dict[str, dict[str, Any]] = {
    "summary": {"name": "Summary", "kind": "summary", "schema": {"type": "string"}},
    "issuetype": {"name": "Issue Type", "kind": "issuetype", "schema": {"type": "issuetype"}},
    "project": {"name": "Project", "kind": "project", "schema": {"type": "project"}},
    "description": {"name": "Description", "kind": "adf", "schema": {"type": "string"}},
    "priority": {"name": "Priority", "kind": "priority", "schema": {"type": "priority"}},
    "labels": {
        "name": "Labels",
        "kind": "labels",
        "schema": {"type": "array", "items": "string"},
        "operations": ["add", "set", "remove"],
    },
    "assignee": {"name": "Assignee", "kind": "user", "schema": {"type": "user"}},
    "customfield_10050": {
        "name": "Impacted system",
        "kind": "select",
        "schema": {
            "type": "option",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select",
            "customId": 10050,
        },
        "options": IMPACTED_SYSTEM_OPTIONS,
    },
    "customfield_10060": {
        "name": "Data source",
        "kind": "textfield",
        "schema": {
            "type": "string",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
            "customId": 10060,
        },
    },
}
SYSTEM_FIELD_IDS = {"summary", "issuetype", "project", "description", "priority", "labels"}
CUSTOM_FIELD_IDS = [field_id for field_id in FIELDS if field_id.startswith("customfield_")]

_COMMON = ["summary", "issuetype", "project", "description", "priority", "labels", "assignee"]

PROJECTS: dict[str, dict[str, Any]] = {
    "DQ": {
        "id": "10000",
        "key": "DQ",
        "name": "Data Quality",
        "description": "Data-quality anomalies raised by the quality platform.",
        "lead": "712020:sim-alice",
        # create screen per issue type: field ids on the screen, and the required ones
        "screens": {
            "10001": {"fields": [*_COMMON, "customfield_10060"], "required": []},
            "10002": {"fields": [*_COMMON, "customfield_10060"], "required": []},
            # Story has no priority field: the product must hide the priority picker.
            "10003": {"fields": [f for f in _COMMON if f != "priority"], "required": []},
        },
        "assignable": ["712020:sim-bot", "712020:sim-alice", "712020:sim-bob"],
    },
    "OPS": {
        "id": "10001",
        "key": "OPS",
        "name": "Operations",
        "description": "Operational incidents.",
        "lead": "712020:sim-carol",
        "screens": {
            "10001": {"fields": list(_COMMON), "required": []},
            "10002": {"fields": list(_COMMON), "required": []},
            "10004": {
                "fields": [*_COMMON, "customfield_10050"],
                "required": ["customfield_10050"],
                # Incident's priority has no default: createmeta says hasDefaultValue false.
                "no_default": ["priority"],
            },
        },
        "assignable": ["712020:sim-bot", "712020:sim-alice", "712020:sim-carol"],
    },
}
ALWAYS_REQUIRED = {"summary", "issuetype", "project"}

# --- state: users, issues, comments -----------------------------------------------------

SEED_USERS: list[dict[str, Any]] = [
    {
        "accountId": "712020:sim-bot",
        "displayName": "Quality Bot",
        "email": DEFAULT_EMAIL,
        "emailVisible": True,
        "tokens": [DEFAULT_TOKEN],
        "forbidden": False,
    },
    {
        "accountId": "712020:sim-alice",
        "displayName": "Alice Andersen",
        "email": "alice@example.com",
        "emailVisible": True,
        "tokens": [],
        "forbidden": False,
    },
    {
        # Bob hides his email (profile visibility): user JSON has no emailAddress (§1.1).
        "accountId": "712020:sim-bob",
        "displayName": "Bob Brennan",
        "email": "bob@example.com",
        "emailVisible": False,
        "tokens": [],
        "forbidden": False,
    },
    {
        "accountId": "712020:sim-carol",
        "displayName": "Carol Castillo",
        "email": "carol@example.com",
        "emailVisible": True,
        "tokens": [],
        "forbidden": False,
    },
    {
        # Authenticated, can browse, but lacks "Create issues" / "Add comments".
        "accountId": "712020:sim-viewer",
        "displayName": "Vera Viewer",
        "email": "viewer@example.com",
        "emailVisible": True,
        "tokens": ["viewer-token"],
        "forbidden": True,
    },
]


def _doc(*paragraphs: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}
            for text in paragraphs
        ],
    }


SEED_ISSUES: list[dict[str, Any]] = [
    {
        "key": "DQ-1",
        "issuetype": "10001",
        "summary": "Null values in orders.customer_id",
        "description": _doc("The completeness check found 1,204 null customer ids."),
        "priority": "2",
        "labels": ["completeness", "orders"],
        "assignee": "712020:sim-alice",
        "status": "10000",
        "created": "2024-03-04T09:15:00.000+0000",
        "comments": [
            (
                "712020:sim-alice",
                "Looking into the upstream loader.",
                "2024-03-04T10:00:00.000+0000",
            )
        ],
    },
    {
        "key": "DQ-2",
        "issuetype": "10002",
        "summary": "Duplicate rows in payments table",
        "description": _doc("Uniqueness check on payments.payment_id failed."),
        "priority": "3",
        "labels": ["uniqueness"],
        "assignee": None,
        "status": "3",
        "created": "2024-03-05T11:30:00.000+0000",
        "comments": [],
    },
    {
        "key": "DQ-3",
        "issuetype": "10003",
        "summary": "Freshness check failed for inventory snapshot",
        "description": None,
        "priority": None,
        "labels": [],
        "assignee": "712020:sim-bob",
        "status": "10001",
        "created": "2024-03-06T08:00:00.000+0000",
        "comments": [],
    },
    {
        "key": "OPS-1",
        "issuetype": "10004",
        "summary": "Nightly warehouse load failed",
        "description": _doc("The 02:00 load job exited with code 137."),
        "priority": "1",
        "labels": ["warehouse"],
        "assignee": "712020:sim-carol",
        "status": "3",
        "created": "2024-03-07T02:10:00.000+0000",
        "custom": {"customfield_10050": {"id": "10100", "value": "Warehouse"}},
        "comments": [],
    },
    {
        "key": "OPS-2",
        "issuetype": "10001",
        "summary": "Rotate warehouse service credentials",
        "description": None,
        "priority": "4",
        "labels": [],
        "assignee": None,
        "status": "10000",
        "created": "2024-03-08T14:45:00.000+0000",
        "comments": [],
    },
]


def seed_state() -> dict[str, Any]:
    """A fresh, JSON-serialisable state document."""
    issues: dict[str, dict[str, Any]] = {}
    next_issue_id, next_comment_id = 10001, 10001
    counters = {key: 0 for key in PROJECTS}
    for template in SEED_ISSUES:
        issue, next_comment_id = _seed_issue(template, str(next_issue_id), next_comment_id)
        issues[issue["id"]] = issue
        next_issue_id += 1
        project, number = issue["key"].split("-")
        counters[project] = max(counters[project], int(number))
    return {
        "version": 1,
        "users": copy.deepcopy(SEED_USERS),
        "issues": issues,
        "aliases": {},
        "next_issue_id": next_issue_id,
        "next_comment_id": next_comment_id,
        "project_counters": counters,
    }


def _seed_issue(
    template: dict[str, Any], issue_id: str, next_comment_id: int
) -> tuple[dict[str, Any], int]:
    comments = []
    for author, text, created in template["comments"]:
        comments.append(
            {
                "id": str(next_comment_id),
                "author": author,
                "body": _doc(text),
                "created": created,
                "updated": created,
                "properties": {},
                "visibility": None,
            }
        )
        next_comment_id += 1
    issue = {
        **copy.deepcopy({k: v for k, v in template.items() if k != "comments"}),
        "id": issue_id,
        "project": template["key"].split("-")[0],
        "reporter": "712020:sim-alice",
        "updated": template["created"],
        "statuscategorychangedate": template["created"],
        "custom": copy.deepcopy(template.get("custom", {})),
        "properties": {},
        "comments": comments,
    }
    return issue, next_comment_id
