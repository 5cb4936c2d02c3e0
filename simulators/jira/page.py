"""Read-only HTML: ``/`` lists projects, issues and comments; ``/browse/{key}`` shows one issue.

For a person watching a demo: what did the product send to "Jira"? Everything is escaped.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from . import adf, seed
from .errors import issue_not_found
from .web import Request, Response, Route

if TYPE_CHECKING:
    from .server import SimulatorApp

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #172b4d; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #dfe1e6; }
td { vertical-align: top; }
td:first-child a, .status { white-space: nowrap; }
.lozenge { border-radius: 3px; padding: 0 .35rem; font-size: .75rem; font-weight: 600; }
.new { background: #dfe1e6; } .indeterminate { background: #deebff; } .done { background: #e3fcef; }
.label { background: #f4f5f7; border-radius: 3px; padding: 0 .3rem; margin-right: .2rem; }
.comment { border-left: 3px solid #dfe1e6; padding: .2rem .7rem; margin: .6rem 0; }
.meta { color: #6b778c; font-size: .8rem; }
pre { white-space: pre-wrap; margin: .2rem 0; font: inherit; }
"""


def _layout(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def _status(issue: dict[str, Any]) -> str:
    status = seed.STATUSES[issue["status"]]
    category = seed.STATUS_CATEGORIES[status["category"]]["key"]
    return f"<span class='lozenge {category}'>{escape(status['name'])}</span>"


def _user_name(app: SimulatorApp, account_id: str | None) -> str:
    user = app.state.user(account_id)
    return escape(user["displayName"]) if user else "Unassigned"


def _comment_html(app: SimulatorApp, comment: dict[str, Any]) -> str:
    properties = ", ".join(escape(key) for key in comment["properties"])
    props = f" · properties: {properties}" if properties else ""
    return (
        f"<div class='comment'><div class='meta'>{_user_name(app, comment['author'])} · "
        f"{escape(comment['created'])}{props}</div>"
        f"<pre>{escape(adf.to_text(comment['body']))}</pre></div>"
    )


def _issue_row(app: SimulatorApp, issue: dict[str, Any]) -> str:
    key = escape(issue["key"])
    priority = seed.PRIORITIES.get(issue["priority"] or "", {}).get("name", "—")
    labels = "".join(f"<span class='label'>{escape(label)}</span>" for label in issue["labels"])
    comments = "".join(_comment_html(app, comment) for comment in issue["comments"])
    return (
        f"<tr><td><a href='/browse/{key}'>{key}</a></td><td>{escape(issue['summary'])}"
        f"<div>{labels}</div>{comments}</td><td>{_status(issue)}</td>"
        f"<td>{escape(priority)}</td><td>{_user_name(app, issue['assignee'])}</td></tr>"
    )


def index(app: SimulatorApp, _request: Request, _params: dict[str, str]) -> Response:
    sections = []
    for project in seed.PROJECTS.values():
        issues = [i for i in app.state.issues() if i["project"] == project["key"]]
        rows = "".join(_issue_row(app, issue) for issue in issues) or (
            "<tr><td colspan='5'>No issues.</td></tr>"
        )
        sections.append(
            f"<h2>{escape(project['name'])} ({escape(project['key'])})</h2><table>"
            "<tr><th>Key</th><th>Summary and comments</th><th>Status</th><th>Priority</th>"
            f"<th>Assignee</th></tr>{rows}</table>"
        )
    body = "<h1>Jira simulator</h1><p class='meta'>Read-only view.</p>" + "".join(sections)
    return Response(200, _layout("Jira simulator", body))


def browse(app: SimulatorApp, _request: Request, params: dict[str, str]) -> Response:
    issue = app.state.find_issue(params["key"])
    if issue is None:
        raise issue_not_found()
    details = [
        ("Status", _status(issue)),
        ("Type", escape(seed.ISSUE_TYPES[issue["issuetype"]]["name"])),
        ("Priority", escape(seed.PRIORITIES.get(issue["priority"] or "", {}).get("name", "—"))),
        ("Assignee", _user_name(app, issue["assignee"])),
        ("Reporter", _user_name(app, issue["reporter"])),
        ("Labels", escape(", ".join(issue["labels"])) or "—"),
        ("Created", escape(issue["created"])),
    ]
    for field_id, value in issue["custom"].items():
        shown = value.get("value") if isinstance(value, dict) else value
        details.append((seed.FIELDS[field_id]["name"], escape(str(shown))))
    rows = "".join(f"<tr><th>{escape(name)}</th><td>{value}</td></tr>" for name, value in details)
    comments = "".join(_comment_html(app, c) for c in issue["comments"]) or "<p>No comments.</p>"
    body = (
        f"<p><a href='/'>All issues</a></p>"
        f"<h1>{escape(issue['key'])}: {escape(issue['summary'])}</h1>"
        f"<table>{rows}</table><h2>Description</h2>"
        f"<pre>{escape(adf.to_text(issue['description'])) or '—'}</pre>"
        f"<h2>Comments ({len(issue['comments'])})</h2>{comments}"
    )
    return Response(200, _layout(f"{issue['key']} {issue['summary']}", body))


ROUTES: list[Route] = [
    Route("GET", "/", index),
    Route("GET", "/browse/{key}", browse),
]
