"""What the connector contract suite needs to know of each connector's simulator: where it
is, an account, a scope, a ticket that exists, the browse URL forms of its site, how to read
the notes on a ticket, delete a ticket, and make one kind of call fail.

A new connector adds a harness class here and one line in ``HARNESSES``; the suite in
test_connector_contract.py then runs every behaviour against it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from integrations.connectors import Credentials
from tests.conftest import SIM_EMAIL, SIM_TOKEN


class JiraHarness:
    kind: ClassVar[str] = "jira"
    simulator_fixture: ClassVar[str] = "jira_sim"
    scope = "DQ"
    existing_key = "DQ-1"
    existing_summary = "Null values in orders.customer_id"
    search_words = "customer_id"
    missing_key = "DQ-999"
    other_site_url = "https://elsewhere.atlassian.net/browse/DQ-1"
    # Which calls a fault applies to, by method and path.
    CALLS: ClassVar[dict[str, tuple[str, str]]] = {
        "post_note": ("POST", r"/comment$"),
        "create": ("POST", r"/rest/api/3/issue$"),
        "get_ticket": ("GET", r"/rest/api/3/issue/[^/]+$"),
    }

    def __init__(self, simulator: Any) -> None:
        self.simulator = simulator

    @property
    def site_url(self) -> str:
        return self.simulator.url

    credentials = Credentials(SIM_EMAIL, SIM_TOKEN)
    wrong_credentials = Credentials(SIM_EMAIL, "not-the-token")

    def browse_urls(self, key: str) -> list[str]:
        project = key.partition("-")[0]
        return [
            f"{self.site_url}/browse/{key}",
            f"{self.site_url}/jira/software/c/projects/{project}/issues/{key}",
            f"{self.site_url}/jira/software/projects/{project}/boards/1?selectedIssue={key}",
        ]

    def note_texts(self, key: str) -> list[str]:
        return [comment["text"] for comment in self.simulator.control.comments(key)]

    def delete(self, key: str) -> None:
        self.simulator.control.delete_issue(key)

    def fail(self, call: str, *, status: int, action: str = "status", **extra: Any) -> None:
        """The next ``call`` answers ``status`` (``status_after``: after doing its work)."""
        method, path = self.CALLS[call]
        self.simulator.control.add_fault(
            action, method=method, path_regex=path, status=status, **extra
        )


HARNESSES: dict[str, type] = {
    "jira": JiraHarness,
}
