"""A small Jira Cloud REST v3 client: one method per endpoint, plain values back.

Plain Python and ``requests``; all configuration comes through the constructor. Retry policy
belongs to the callers: errors say whether they are ``permanent`` and whether a write's
``outcome_unknown`` (see ``errors.py``). Contract and sources: docs/jira-api.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..host_policy import HostPolicy
from ..http import PolicedTransport
from .errors import (
    JiraHostNotAllowed,
    JiraNotFound,
    JiraRejectedInput,
    JiraUnexpectedResponse,
    error_from_response,
    error_from_transport,
    login_failed,
)
from .types import (
    CreatedIssue,
    CreateField,
    IssueLookup,
    IssueSummary,
    JiraIssueType,
    JiraProject,
    JiraUser,
)
from .urls import jql_string, key_order, normalize_host_url, path_segment

MYSELF_URL = "/rest/api/3/myself"
MY_PERMISSIONS_URL = "/rest/api/3/mypermissions"
PROJECT_URL = "/rest/api/3/project/{project}"
PROJECT_SEARCH_URL = "/rest/api/3/project/search"
ISSUE_TYPES_URL = "/rest/api/3/issue/createmeta/{project}/issuetypes"
CREATE_FIELDS_URL = "/rest/api/3/issue/createmeta/{project}/issuetypes/{issue_type}"
ASSIGNABLE_USERS_URL = "/rest/api/3/user/assignable/search"
CREATE_ISSUE_URL = "/rest/api/3/issue"
ISSUE_URL = "/rest/api/3/issue/{issue}"
COMMENTS_URL = "/rest/api/3/issue/{issue}/comment"
JQL_SEARCH_URL = "/rest/api/3/search/jql"
BROWSE_URL = "{host}/browse/{issue}"

# How far back a lost create is looked for among the account's newest issues in the project.
CREATED_LOOKUP_DEPTH = 50
KEYS_PER_SEARCH = 100  # one JQL call per 100 keys keeps the query short and the page whole
MAX_PAGES = 50  # 50 pages of 100 covers Jira's 5,000-comments-per-issue limit
ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[0-9]+")
# Jira's 400 answers naming keys it cannot resolve (old search; kept for safety).
UNKNOWN_KEY_MESSAGE = re.compile(r"key '([A-Za-z][A-Za-z0-9_]*-[0-9]+)'")
# Paths of Jira Cloud's issue views whose last segment is the key (docs/jira-api.md).
ISSUE_URL_PATH = re.compile(
    r"/(?:browse"
    r"|(?:jira/(?:software|core|work-management)(?:/c)?/)?projects/[^/]+/issues"
    r"|jira/servicedesk/projects/[^/]+/(?:issues|queues(?:/[^/]+)*))"
    r"/(?P<key>[^/]+)/?"
)
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
logger = logging.getLogger(__name__)


class JiraClient:
    """One Jira site seen through one account (email + API token, Basic auth)."""

    def __init__(
        self,
        host_url: str,
        email: str,
        api_token: str,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 15,
        host_policy: HostPolicy | None = None,
        on_response: Callable[..., Any] | None = None,
    ) -> None:
        # Loopback http never leaves this machine (local simulator); any other host needs TLS.
        # Whether loopback (or any non-public address) may be reached at all is the host
        # policy's call, made at every connection: by default public addresses only.
        self.host_url = normalize_host_url(host_url, allow_insecure_loopback=True)
        self._http = PolicedTransport(
            self.host_url,
            email,
            api_token,
            vendor="Jira",
            logger=logger,
            transport_error=error_from_transport,
            host_refused=JiraHostNotAllowed,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            host_policy=host_policy,
            on_response=on_response,
        )
        self._secrets = self._http.secrets

    def __repr__(self) -> str:
        return f"<JiraClient {self.host_url}>"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- account, projects, create metadata -------------------------------------------

    def get_myself(self) -> JiraUser:
        # The connection test must start here: elsewhere Jira serves bad credentials as an
        # anonymous request and answers 404, not 401 (docs/jira-api.md §0.1).
        return JiraUser.from_json(self._request("GET", MYSELF_URL, not_found="site"))

    def get_my_permissions(self, project_key: str, keys: Iterable[str]) -> dict[str, bool]:
        """Whether the account holds each project permission in ``project_key``.

        Jira answers anonymous callers too (every permission false), so call ``get_myself``
        first (docs/jira-api.md, "Permissions").
        """
        wanted = list(keys)
        params = {"projectKey": project_key, "permissions": ",".join(wanted)}
        body = self._request("GET", MY_PERMISSIONS_URL, params=params, not_found="project")
        granted = body.get("permissions") or {}
        return {
            key: isinstance(granted.get(key), dict) and granted[key].get("havePermission") is True
            for key in wanted
        }

    def get_project(self, key: str) -> JiraProject:
        path = PROJECT_URL.format(project=path_segment(key))
        return JiraProject.from_json(self._request("GET", path, not_found="project"))

    def search_projects(self, query: str | None = None) -> list[JiraProject]:
        """Projects the account can see, by key, following pages up to ``MAX_PAGES``."""
        params = {"orderBy": "key", **({"query": query} if query else {})}
        pages = self._pages(PROJECT_SEARCH_URL, "values", params, page_size=100)
        try:
            return [JiraProject.from_json(project) for project in pages]
        except JiraNotFound:
            return []  # the OpenAPI description: 404 "if no projects matching … are found"

    def get_issue_types(self, project_key: str) -> list[JiraIssueType]:
        path = ISSUE_TYPES_URL.format(project=path_segment(project_key))
        pages = self._pages(path, "issueTypes", {}, page_size=200, not_found="project")
        return [JiraIssueType.from_json(issue_type) for issue_type in pages]

    def get_create_fields(self, project_key: str, issue_type_id: str) -> list[CreateField]:
        """Fields of the create screen; ``priority`` ones carry the project's priorities.

        Never the removed global ``/issue/createmeta`` nor the deprecated ``/priority``
        (docs/jira-api.md §0.3, §0.4).
        """
        path = CREATE_FIELDS_URL.format(
            project=path_segment(project_key), issue_type=path_segment(issue_type_id)
        )
        pages = self._pages(path, "fields", {}, page_size=200, not_found="issue_type")
        return [CreateField.from_json(meta) for meta in pages]

    def find_assignable_users(
        self, project_key: str, query: str = "", *, account_id: str | None = None, limit: int = 20
    ) -> list[JiraUser]:
        """Users who can be assigned new issues of the project (Jira filters after paging)."""
        params: dict[str, Any] = {"project": project_key, "maxResults": 50}
        params.update({"accountId": account_id} if account_id else {"query": query})
        users = self._request(
            "GET", ASSIGNABLE_USERS_URL, params=params, not_found="project", expect=list
        )
        return [JiraUser.from_json(user) for user in users if isinstance(user, dict)][:limit]

    # --- issues ---------------------------------------------------------------------------

    def create_issue(
        self, fields: dict[str, Any], *, properties: dict[str, Any] | None = None
    ) -> CreatedIssue:
        """Create an issue; ``properties`` become issue entity properties, set in the same
        call (docs/jira-api.md, "Finding an issue after a lost create answer")."""
        body: dict[str, Any] = {"fields": fields}
        if properties:
            body["properties"] = [{"key": k, "value": v} for k, v in properties.items()]
        created = self._request("POST", CREATE_ISSUE_URL, json_body=body)
        if not created.get("key"):
            raise JiraUnexpectedResponse(
                "Jira created an issue but sent no key.", outcome_unknown=True
            )
        return {
            "id": str(created.get("id", "")),
            "key": created["key"],
            "self": created.get("self", ""),
        }

    def get_issue(self, key: str, fields: Iterable[str] = ("summary", "status")) -> IssueSummary:
        path = ISSUE_URL.format(issue=path_segment(key))
        params = {"fields": ",".join(fields)}
        return IssueSummary.from_json(self._request("GET", path, params=params, not_found="issue"))

    def find_created_issue(
        self, project_key: str, property_key: str, value: Any
    ) -> IssueSummary | None:
        """The issue this account created in ``project_key`` whose entity property
        ``property_key`` equals ``value``, among its ``CREATED_LOOKUP_DEPTH`` newest; else None.

        Issue properties set through the REST API are not searchable by JQL (only an app can
        index them), so JQL narrows to the account's newest issues in the project and the
        property is compared here. One search call (docs/jira-api.md).
        """
        jql = (
            f"project = {jql_string(project_key)} AND creator = currentUser() ORDER BY created DESC"
        )
        body = {
            "jql": jql,
            "fields": ["summary", "status"],
            "properties": [property_key],
            "maxResults": CREATED_LOOKUP_DEPTH,
        }
        page = self._request("POST", JQL_SEARCH_URL, json_body=body, is_write=False)
        for issue in page.get("issues") or ():
            if (issue.get("properties") or {}).get(property_key) == value:
                return IssueSummary.from_json(issue)
        return None

    def search_issues_by_keys(self, keys: Iterable[str]) -> IssueLookup:
        """Summary and status of each key, one JQL search per 100 keys."""
        wanted = {key.strip().upper() for key in keys}
        valid = sorted(filter(ISSUE_KEY.fullmatch, wanted), key=key_order)
        found: dict[str, IssueSummary] = {}
        for start in range(0, len(valid), KEYS_PER_SEARCH):
            found.update(self._search_chunk(valid[start : start + KEYS_PER_SEARCH]))
        return IssueLookup(found=found, missing=frozenset(wanted) - found.keys())

    def _search_chunk(self, keys: list[str]) -> dict[str, IssueSummary]:
        try:
            quoted = ", ".join(jql_string(key) for key in keys)
            issues = list(self._jql(f"key in ({quoted})", len(keys)))
        except JiraRejectedInput as error:
            # The older search answered 400 naming keys that no longer exist: drop, retry.
            unknown = {k.upper() for m in error.messages for k in UNKNOWN_KEY_MESSAGE.findall(m)}
            remaining = [key for key in keys if key not in unknown]
            if not unknown or len(remaining) == len(keys):
                raise
            return self._search_chunk(remaining) if remaining else {}
        by_key = {issue.key.upper(): issue for issue in issues}
        found = {key: by_key.pop(key) for key in keys if key in by_key}
        return found | self._match_moved_issues([k for k in keys if k not in found], by_key)

    def _match_moved_issues(
        self, missing: list[str], unclaimed: dict[str, IssueSummary]
    ) -> dict[str, IssueSummary]:
        # A moved issue answers to its old key but comes back under its new one: ask for the
        # old keys one by one, only while some returned issue is still unclaimed.
        matched: dict[str, IssueSummary] = {}
        for key in missing:
            if not unclaimed:
                break
            try:
                issue = self.get_issue(key)
            except JiraNotFound:
                continue
            if unclaimed.pop(issue.key.upper(), None):
                matched[key] = issue
        return matched

    def search_issues_by_text(
        self, words: str, project_key: str | None = None, limit: int = 20
    ) -> list[IssueSummary]:
        """Issues whose text matches ``words``; an issue key in ``words`` also matches itself."""
        words = words.strip()
        if not words:
            return []
        text_clause = f"text ~ {jql_string(words)}"
        scope = f" AND project = {jql_string(project_key)}" if project_key else ""
        order = " ORDER BY updated DESC"
        if ISSUE_KEY.fullmatch(words):
            key_jql = f"(key = {jql_string(words.upper())} OR {text_clause}){scope}{order}"
            try:
                return self._ranked(list(self._jql(key_jql, limit)), words.upper())
            except JiraRejectedInput:
                pass  # Jira refuses a key clause naming an unknown issue: search text only
        return list(self._jql(f"{text_clause}{scope}{order}", limit))

    @staticmethod
    def _ranked(issues: list[IssueSummary], key: str) -> list[IssueSummary]:
        return sorted(issues, key=lambda issue: issue.key.upper() != key)

    def _jql(self, jql: str, limit: int) -> Iterator[IssueSummary]:
        """Issues matching ``jql``, following ``nextPageToken`` until ``limit`` are read."""
        body: dict[str, Any] = {"jql": jql, "fields": ["summary", "status"]}
        seen = 0
        for _ in range(MAX_PAGES if limit > 0 else 0):
            body["maxResults"] = min(KEYS_PER_SEARCH, limit - seen)
            page = self._request("POST", JQL_SEARCH_URL, json_body=body, is_write=False)
            for issue in page.get("issues", [])[: limit - seen]:
                seen += 1
                yield IssueSummary.from_json(issue)
            # The last page has no nextPageToken (OpenAPI, searchAndReconsileIssuesUsingJql).
            if seen >= limit or page.get("isLast") is True or not page.get("nextPageToken"):
                return
            body["nextPageToken"] = page["nextPageToken"]

    # --- comments -------------------------------------------------------------------------

    def add_comment(
        self, issue_key: str, body_adf: dict[str, Any], *, properties: dict[str, Any] | None = None
    ) -> str:
        """Post a comment; ``properties`` become comment entity properties. Returns its id."""
        payload: dict[str, Any] = {"body": body_adf}
        if properties:
            payload["properties"] = [{"key": k, "value": v} for k, v in properties.items()]
        path = COMMENTS_URL.format(issue=path_segment(issue_key))
        comment = self._request("POST", path, json_body=payload, not_found="issue")
        if not comment.get("id"):
            raise JiraUnexpectedResponse(
                "Jira added a comment but sent no id.", outcome_unknown=True
            )
        return str(comment["id"])

    def find_comment_by_property(self, issue_key: str, key: str, value: Any) -> str | None:
        """Id of the comment carrying entity property ``key`` = ``value``, newest first.

        Lets a worker whose comment POST had an unknown outcome check before posting again.
        The OpenAPI description lists only ``renderedBody`` for ``expand``, but Jira also
        honours ``properties`` here (e.g. pycontribs/jira#1011, Service Desk's
        ``sd.public.comment``).
        """
        path = COMMENTS_URL.format(issue=path_segment(issue_key))
        params = {"expand": "properties", "orderBy": "-created"}
        for comment in self._pages(path, "comments", params, page_size=100, not_found="issue"):
            for prop in comment.get("properties") or ():
                if isinstance(prop, dict) and prop.get("key") == key and prop.get("value") == value:
                    return str(comment["id"])
        return None

    # --- browse links ---------------------------------------------------------------------

    def browse_url(self, key: str) -> str:
        if not ISSUE_KEY.fullmatch(key):
            raise ValueError(f"Not a Jira issue key: {key!r}")
        return BROWSE_URL.format(host=self.host_url, issue=key.upper())

    def issue_key_from_browse_url(self, url: str) -> str | None:
        """The issue key of a Jira Cloud issue URL on this site, else None.

        Accepted (docs/jira-api.md, "Issue URLs"): ``/browse/KEY``; a project's issue view
        ``/jira/software[/c]/projects/P/issues/KEY``, ``/projects/P/issues/KEY``; a service
        desk queue ``/jira/servicedesk/projects/P/queues/custom/N/KEY``; any board, backlog or
        list view with ``?selectedIssue=KEY``.
        """
        parts = urlsplit(url.strip())
        try:
            origin = normalize_host_url(
                f"{parts.scheme}://{parts.netloc}", allow_insecure_loopback=True
            )
        except ValueError:
            return None
        if origin != self.host_url:
            return None
        selected = parse_qs(parts.query).get("selectedIssue", [])
        match = ISSUE_URL_PATH.fullmatch(parts.path)
        candidates = selected or ([match.group("key")] if match else [])
        keys = [key.upper() for key in candidates if ISSUE_KEY.fullmatch(key)]
        return keys[0] if keys else None

    # --- transport ------------------------------------------------------------------------

    def _pages(
        self,
        path: str,
        items_key: str,
        params: dict[str, Any],
        *,
        page_size: int,
        not_found: str = "resource",
    ) -> Iterator[dict[str, Any]]:
        """Items of a ``startAt``/``maxResults`` paged list, up to ``MAX_PAGES`` pages."""
        start = 0
        for _ in range(MAX_PAGES):
            page_params = {**params, "startAt": start, "maxResults": page_size}
            page = self._request("GET", path, params=page_params, not_found=not_found)
            items = page.get(items_key) or []
            yield from items
            start += len(items)
            total = page.get("total")
            if not items or page.get("isLast") or (total is not None and start >= total):
                return

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        not_found: str = "resource",
        is_write: bool | None = None,
        expect: type = dict,
    ) -> Any:
        """Decoded JSON of a successful answer; any other outcome raises a ``JiraError``."""
        is_write = method != "GET" if is_write is None else is_write
        response = self._http.send(
            method,
            path,
            params=params,
            json_body=json_body,
            headers=JSON_HEADERS,
            is_write=is_write,
        )
        if response.status_code >= HTTPStatus.MULTIPLE_CHOICES or login_failed(response):
            raise error_from_response(
                response, what=not_found, is_write=is_write, secrets=self._secrets
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, expect):
            raise JiraUnexpectedResponse(
                f"Jira answered HTTP {response.status_code} with an unexpected body.",
                status_code=response.status_code,
                outcome_unknown=is_write,
            )
        return body
