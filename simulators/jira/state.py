"""In-memory Jira data behind one lock, optionally persisted to a JSON file (``core.state``).

Records are plain JSON-able dicts (see ``seed.py`` for their shape); the Jira JSON
representations are built from them in ``render.py``.
"""

from __future__ import annotations

import copy
import os
import re
from datetime import UTC, datetime
from typing import Any

from ..core.state import PersistedState
from . import seed

ISSUE_KEY_PATTERN = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)-(\d+)$")


def jira_timestamp(moment: datetime | None = None) -> str:
    """Jira's format, e.g. ``2021-01-17T12:34:00.000+0000`` (docs/jira-api.md §1.8)."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


class SimState(PersistedState):
    """All mutable Jira data. Callers hold ``lock`` around multi-step reads."""

    def __init__(
        self,
        state_file: str | os.PathLike[str] | None = None,
        email: str = seed.DEFAULT_EMAIL,
        api_token: str = seed.DEFAULT_TOKEN,
    ) -> None:
        super().__init__(state_file, (email, api_token))

    def seed_data(self) -> dict[str, Any]:
        return seed.seed_state()

    def apply_configured_credentials(self) -> None:
        """The configured email/token always log in as the bot user (the product's account)."""
        bot = self.user(seed.BOT_ACCOUNT_ID)
        if bot is not None:
            bot["email"], token = self.configured_credentials
            if token not in bot["tokens"]:
                bot["tokens"] = [token]

    # --- users and accounts --------------------------------------------------------------

    def users(self) -> list[dict[str, Any]]:
        return self.data["users"]

    def user(self, account_id: str | None) -> dict[str, Any] | None:
        return next((u for u in self.users() if u["accountId"] == account_id), None)

    def authenticate(self, email: str, token: str) -> dict[str, Any] | None:
        with self.lock:
            for user in self.users():
                if user["email"].lower() == email.lower() and token in user["tokens"]:
                    return user
        return None

    def add_account(
        self, email: str, token: str, forbidden: bool = False, display_name: str | None = None
    ) -> dict[str, Any]:
        """Add credentials; an unknown email becomes a new user (accountId derived from it)."""
        with self.lock:
            user = next((u for u in self.users() if u["email"].lower() == email.lower()), None)
            if user is None:
                slug = re.sub(r"[^a-z0-9]+", "-", email.lower()).strip("-")
                user = {
                    "accountId": f"712020:sim-{slug}",
                    "displayName": display_name or email.split("@")[0].title(),
                    "email": email,
                    "emailVisible": True,
                    "tokens": [],
                    "forbidden": False,
                }
                self.users().append(user)
            if token not in user["tokens"]:
                user["tokens"].append(token)
            user["forbidden"] = bool(forbidden)
            self.save()
            return copy.deepcopy(user)

    # --- issues --------------------------------------------------------------------------

    def issues(self) -> list[dict[str, Any]]:
        return list(self.data["issues"].values())

    def find_issue(self, id_or_key: str) -> dict[str, Any] | None:
        """By id, by key case-insensitively, then by a moved issue's old key (§1.7)."""
        with self.lock:
            issues = self.data["issues"]
            if id_or_key in issues:
                return issues[id_or_key]
            wanted = id_or_key.upper()
            for issue in issues.values():
                if issue["key"] == wanted:
                    return issue
            moved_to = self.data["aliases"].get(wanted)
            return issues.get(moved_to) if moved_to else None

    def create_issue(self, values: dict[str, Any], reporter: str) -> dict[str, Any]:
        """``values``: validated field values (project key, issuetype id, summary …)."""
        with self.lock:
            issue = self._new_issue(values, reporter, jira_timestamp())
            self.save()
            return issue

    def import_issues(self, specs: list[dict[str, Any]], reporter: str) -> list[dict[str, Any]]:
        """Many issues at once, each with its status, times and comments, saved once (the
        demo's data set: hundreds of issues would otherwise rewrite the file per issue).
        ``specs``: ``create_issue`` values plus ``status`` (an id), ``created`` and
        ``comments`` (``body`` ADF, ``properties``, ``created``)."""
        with self.lock:
            issues = []
            for spec in specs:
                created = spec.get("created") or jira_timestamp()
                issue = self._new_issue(spec, reporter, created)
                issue["status"] = spec.get("status") or seed.INITIAL_STATUS_ID
                for comment in spec.get("comments", []):
                    self._new_comment(
                        issue,
                        reporter,
                        comment["body"],
                        comment.get("properties", {}),
                        comment.get("created") or created,
                    )
                issues.append(issue)
            self.save()
            return issues

    def _new_issue(self, values: dict[str, Any], reporter: str, now: str) -> dict[str, Any]:
        with self.lock:
            issue_id = str(self.data["next_issue_id"])
            self.data["next_issue_id"] += 1
            issue = {
                "id": issue_id,
                "key": self._next_key(values["project"]),
                "project": values["project"],
                "issuetype": values["issuetype"],
                "summary": values["summary"],
                "description": values.get("description"),
                "priority": values.get("priority"),
                "labels": values.get("labels", []),
                "assignee": values.get("assignee"),
                "reporter": reporter,
                "status": seed.INITIAL_STATUS_ID,
                "created": now,
                "updated": now,
                "statuscategorychangedate": now,
                "custom": values.get("custom", {}),
                "properties": values.get("properties", {}),
                "comments": [],
            }
            self.data["issues"][issue_id] = issue
            return issue

    def _next_key(self, project_key: str) -> str:
        counters = self.data["project_counters"]
        counters[project_key] = counters.get(project_key, 0) + 1
        return f"{project_key}-{counters[project_key]}"

    def add_comment(
        self,
        issue: dict[str, Any],
        author: str,
        body: dict[str, Any],
        properties: dict[str, Any],
        visibility: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            comment = self._new_comment(issue, author, body, properties, jira_timestamp())
            comment["visibility"] = visibility
            self.save()
            return comment

    def _new_comment(
        self,
        issue: dict[str, Any],
        author: str,
        body: dict[str, Any],
        properties: dict[str, Any],
        now: str,
    ) -> dict[str, Any]:
        comment = {
            "id": str(self.data["next_comment_id"]),
            "author": author,
            "body": body,
            "created": now,
            "updated": now,
            "properties": properties,
            "visibility": None,
        }
        self.data["next_comment_id"] += 1
        issue["comments"].append(comment)
        issue["updated"] = max(issue["updated"], now)
        return comment

    def delete_issue(self, id_or_key: str) -> bool:
        with self.lock:
            issue = self.find_issue(id_or_key)
            if issue is None:
                return False
            del self.data["issues"][issue["id"]]
            aliases = self.data["aliases"]
            for old_key in [old for old, target in aliases.items() if target == issue["id"]]:
                del aliases[old_key]
            self.save()
            return True

    def transition(self, id_or_key: str, status: str) -> dict[str, Any] | None:
        """Move to a status given by id or (case-insensitive) name; ``None`` if unknown."""
        with self.lock:
            issue = self.find_issue(id_or_key)
            status_id = find_status_id(status)
            if issue is None or status_id is None:
                return None
            now = jira_timestamp()
            old_category = seed.STATUSES[issue["status"]]["category"]
            if seed.STATUSES[status_id]["category"] != old_category:
                issue["statuscategorychangedate"] = now
            issue["status"] = status_id
            issue["updated"] = now
            self.save()
            return issue

    def move(self, id_or_key: str, project_key: str) -> dict[str, Any] | None:
        """Move to another project: new key; the old key keeps resolving (§1.7)."""
        with self.lock:
            issue = self.find_issue(id_or_key)
            if issue is None or project_key not in seed.PROJECTS:
                return None
            if issue["project"] == project_key:
                return issue
            self.data["aliases"][issue["key"]] = issue["id"]
            issue["key"] = self._next_key(project_key)
            issue["project"] = project_key
            issue["updated"] = jira_timestamp()
            self.save()
            return issue


def find_status_id(status: str) -> str | None:
    if status in seed.STATUSES:
        return status
    wanted = status.strip().lower()
    return next((sid for sid, s in seed.STATUSES.items() if s["name"].lower() == wanted), None)


def find_project(id_or_key: str) -> dict[str, Any] | None:
    """Project keys are case sensitive (getProject's parameter description)."""
    if id_or_key in seed.PROJECTS:
        return seed.PROJECTS[id_or_key]
    return next((p for p in seed.PROJECTS.values() if p["id"] == id_or_key), None)
