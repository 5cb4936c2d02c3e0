"""Jira Cloud JSON representations of the simulator's records (shapes from the OpenAPI schemas).

Every function takes the ``site`` base URL used for ``self`` links (``--site-url``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from . import seed

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


def avatar_urls(site: str, kind: str, ident: str) -> dict[str, str]:
    return {
        f"{size}x{size}": f"{site}/secure/{kind}avatar?size={size}&id={quote(ident)}"
        for size in (16, 24, 32, 48)
    }


def user_details(site: str, user: dict[str, Any] | None) -> dict[str, Any] | None:
    """``UserDetails`` (authors, assignees). ``emailAddress`` is absent when hidden (§1.1)."""
    if user is None:
        return None
    details = {
        "self": f"{site}/rest/api/3/user?accountId={quote(user['accountId'])}",
        "accountId": user["accountId"],
        "emailAddress": user["email"],
        "avatarUrls": avatar_urls(site, "user", user["accountId"]),
        "displayName": user["displayName"],
        "active": True,
        "timeZone": "Etc/UTC",
        "accountType": "atlassian",
    }
    if not user["emailVisible"]:
        del details["emailAddress"]
    return details


def full_user(site: str, user: dict[str, Any], expand: set[str] | None = None) -> dict[str, Any]:
    """``User``: ``/myself`` and user searches."""
    result = {**user_details(site, user), "locale": "en_US"}  # type: ignore[dict-item]
    expand = expand or set()
    if "groups" in expand or expand == {"*"}:
        result["groups"] = {"size": 1, "items": [{"name": "jira-software-users"}]}
    else:
        result["groups"] = {"size": 1, "items": []}
    result["applicationRoles"] = {"size": 1, "items": []}
    result["expand"] = "groups,applicationRoles"
    return result


def issue_type(site: str, type_id: str) -> dict[str, Any]:
    """``IssueTypeDetails`` for a company-managed (global) issue type."""
    definition = seed.ISSUE_TYPES[type_id]
    return {
        "self": f"{site}/rest/api/3/issuetype/{type_id}",
        "id": type_id,
        "description": definition["description"],
        "iconUrl": f"{site}/images/icons/issuetypes/{definition['name'].lower()}.svg",
        "name": definition["name"],
        "subtask": False,
        "avatarId": 10300 + int(type_id) % 100,
        "hierarchyLevel": 0,
    }


def project_summary(site: str, project: dict[str, Any]) -> dict[str, Any]:
    """The short project shape used inside issues and in ``/project/search``."""
    return {
        "self": f"{site}/rest/api/3/project/{project['id']}",
        "id": project["id"],
        "key": project["key"],
        "name": project["name"],
        "avatarUrls": avatar_urls(site, "project", project["id"]),
        "projectTypeKey": "software",
        "simplified": False,
    }


def project_full(site: str, project: dict[str, Any], lead: dict[str, Any]) -> dict[str, Any]:
    """``Project`` as returned by ``GET /project/{key}`` (issueTypes are included by default)."""
    return {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        **project_summary(site, project),
        "description": project["description"],
        "lead": full_user(site, lead),
        "components": [],
        "issueTypes": [issue_type(site, type_id) for type_id in project["screens"]],
        "assigneeType": "UNASSIGNED",
        "versions": [],
        "roles": {},
        "style": "classic",
        "isPrivate": False,
        "properties": {},
    }


def priority(site: str, priority_id: str | None) -> dict[str, Any] | None:
    if priority_id is None:
        return None
    definition = seed.PRIORITIES[priority_id]
    return {
        "self": f"{site}/rest/api/3/priority/{priority_id}",
        "iconUrl": f"{site}/images/icons/priorities/{definition['icon']}.svg",
        "name": definition["name"],
        "id": priority_id,
    }


def status(site: str, status_id: str) -> dict[str, Any]:
    """``StatusDetails`` with its ``statusCategory`` (docs/jira-api.md §1.7)."""
    definition = seed.STATUSES[status_id]
    category = seed.STATUS_CATEGORIES[definition["category"]]
    return {
        "self": f"{site}/rest/api/3/status/{status_id}",
        "description": "",
        "iconUrl": f"{site}/",
        "name": definition["name"],
        "id": status_id,
        "statusCategory": {
            "self": f"{site}/rest/api/3/statuscategory/{category['id']}",
            **category,
        },
    }


def select_option(site: str, option: dict[str, str]) -> dict[str, str]:
    return {"self": f"{site}/rest/api/3/customFieldOption/{option['id']}", **option}


def comment(
    site: str, issue: dict[str, Any], record: dict[str, Any], users: Any, with_properties: bool
) -> dict[str, Any]:
    """``Comment``; ``users`` maps accountId -> user record."""
    author = user_details(site, users(record["author"]))
    result: dict[str, Any] = {
        "self": f"{site}/rest/api/3/issue/{issue['id']}/comment/{record['id']}",
        "id": record["id"],
        "author": author,
        "body": record["body"],
        "updateAuthor": author,
        "created": record["created"],
        "updated": record["updated"],
        "jsdPublic": True,
    }
    if record.get("visibility"):
        result["visibility"] = record["visibility"]
    if with_properties:
        result["properties"] = [{"key": k, "value": v} for k, v in record["properties"].items()]
    return result


def issue_fields(site: str, issue: dict[str, Any], users: Any) -> dict[str, Any]:
    """Every field of an issue (``fields=*all``); custom fields are null when unset."""
    project = seed.PROJECTS[issue["project"]]
    done = seed.STATUSES[issue["status"]]["category"] == 3
    fields: dict[str, Any] = {
        "statuscategorychangedate": issue["statuscategorychangedate"],
        "issuetype": issue_type(site, issue["issuetype"]),
        "project": project_summary(site, project),
        "priority": priority(site, issue["priority"]),
        "labels": list(issue["labels"]),
        "assignee": user_details(site, users(issue["assignee"])),
        "reporter": user_details(site, users(issue["reporter"])),
        "creator": user_details(site, users(issue["reporter"])),
        "status": status(site, issue["status"]),
        "resolution": _resolution(site) if done else None,
        "resolutiondate": issue["statuscategorychangedate"] if done else None,
        "created": issue["created"],
        "updated": issue["updated"],
        "summary": issue["summary"],
        "description": issue["description"],
        "comment": _comment_field(site, issue, users),
    }
    for field_id in seed.CUSTOM_FIELD_IDS:
        value = issue["custom"].get(field_id)
        is_option = isinstance(value, dict)
        fields[field_id] = select_option(site, value) if is_option else value
    return fields


def _resolution(site: str) -> dict[str, str]:
    return {
        "self": f"{site}/rest/api/3/resolution/10000",
        "id": "10000",
        "description": "Work has been completed on this issue.",
        "name": "Done",
    }


def _comment_field(site: str, issue: dict[str, Any], users: Any) -> dict[str, Any]:
    comments = [comment(site, issue, c, users, False) for c in issue["comments"]]
    return {
        "comments": comments,
        "self": f"{site}/rest/api/3/issue/{issue['id']}/comment",
        "maxResults": len(comments),
        "total": len(comments),
        "startAt": 0,
    }


def issue_bean(
    site: str,
    issue: dict[str, Any],
    users: Any,
    wanted: set[str],
    properties: list[str] | None = None,
    expand: str = ISSUE_EXPAND,
) -> dict[str, Any]:
    """``IssueBean`` restricted to the ``wanted`` field ids."""
    all_fields = issue_fields(site, issue, users)
    bean: dict[str, Any] = {
        "expand": expand,
        "id": issue["id"],
        "self": f"{site}/rest/api/3/issue/{issue['id']}",
        "key": issue["key"],
        "fields": {name: value for name, value in all_fields.items() if name in wanted},
    }
    if properties:
        everything = "*all" in properties
        bean["properties"] = {
            key: value
            for key, value in issue["properties"].items()
            if everything or key in properties
        }
    return bean


def all_field_ids() -> list[str]:
    return [
        "statuscategorychangedate",
        "issuetype",
        "project",
        "priority",
        "labels",
        "assignee",
        "reporter",
        "creator",
        "status",
        "resolution",
        "resolutiondate",
        "created",
        "updated",
        "summary",
        "description",
        "comment",
        *seed.CUSTOM_FIELD_IDS,
    ]
