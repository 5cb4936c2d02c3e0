"""The read-only HTML view."""

from __future__ import annotations

import requests

from simulators.jira import JiraSimulator

from .conftest import JiraClient, adf

SCRIPT = "<script>alert('x')</script>"


def test_it_lists_projects_issues_and_comments(sim: JiraSimulator) -> None:
    page = requests.get(f"{sim.url}/", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html;charset=UTF-8"
    for text in (
        "Data Quality (DQ)",
        "Operations (OPS)",
        "/browse/DQ-1",
        "Looking into the upstream loader.",
    ):
        assert text in page.text


def test_it_escapes_everything_the_product_sent(sim: JiraSimulator, api: JiraClient) -> None:
    key = api.create_issue(summary=SCRIPT, labels=["<b>"]).json()["key"]
    api.add_comment(key, adf('<img src=x onerror="boom">'))
    for url in (f"{sim.url}/", f"{sim.url}/browse/{key}"):
        html = requests.get(url, timeout=5).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>" not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=&quot;boom&quot;&gt;" in html


def test_it_shows_one_issue_with_rendered_comments(sim: JiraSimulator, api: JiraClient) -> None:
    document = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {
                        "type": "text",
                        "text": "open",
                        "marks": [{"type": "link", "attrs": {"href": "https://q.example/1"}}],
                    },
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [adf("one")["content"][0]]},
                    {"type": "listItem", "content": [adf("two")["content"][0]]},
                ],
            },
        ],
    }
    api.add_comment("OPS-1", document)
    html = requests.get(f"{sim.url}/browse/ops-1", timeout=5).text
    assert "OPS-1: Nightly warehouse load failed" in html
    assert "open &lt;https://q.example/1&gt;\n- one\n- two" in html
    assert "Impacted system" in html and "Warehouse" in html
    assert requests.get(f"{sim.url}/browse/OPS-99", timeout=5).status_code == 404
