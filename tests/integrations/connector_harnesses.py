"""What the connector contract suite needs to know of each connector's simulator: where it
is, an account, a scope, a ticket that exists, the browse URL forms of its site, how to read
the notes on a ticket, delete a ticket, and make one kind of call fail.

A new connector adds a harness class here and one line in ``HARNESSES``; the suite in
test_connector_contract.py then runs every behaviour against it.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from integrations.connectors import Credentials
from tests.conftest import SIM_EMAIL, SIM_TOKEN, SN_PASSWORD, SN_USERNAME


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


class ServiceNowHarness:
    kind: ClassVar[str] = "servicenow"
    simulator_fixture: ClassVar[str] = "servicenow_sim"
    scope = "Data Quality"  # the default assignment group
    existing_key = "INC0010001"
    existing_summary = "Nightly orders load is missing rows"
    search_words = "orders load"
    missing_key = "INC0099999"
    other_site_url = "https://elsewhere.service-now.com/incident.do?sysparm_query=number=INC0010001"
    CALLS: ClassVar[dict[str, tuple[str, str]]] = {
        "post_note": ("PATCH", r"/api/now/table/incident/[0-9a-f]{32}$"),
        "create": ("POST", r"/api/now/table/incident$"),
        "get_ticket": ("GET", r"/api/now/table/incident$"),
    }
    # Work notes end with the delivery marker (docs/servicenow-api.md §12); a reader sees the
    # text above it.
    MARKER_LINE = re.compile(r"\n\n\[qualytics-event:[^\]]+\]$")

    def __init__(self, simulator: Any) -> None:
        self.simulator = simulator

    @property
    def site_url(self) -> str:
        return self.simulator.url

    credentials = Credentials(SN_USERNAME, SN_PASSWORD)
    wrong_credentials = Credentials(SN_USERNAME, "not-the-password")

    def browse_urls(self, key: str) -> list[str]:
        sys_id = self.simulator.control.incident(key)["sys_id"]
        return [
            f"{self.site_url}/incident.do?sys_id={sys_id}",
            f"{self.site_url}/nav_to.do?uri=incident.do%3Fsys_id%3D{sys_id}",
            f"{self.site_url}/now/nav/ui/classic/params/target/incident.do%3Fsys_id%3D{sys_id}",
            f"{self.site_url}/now/sow/record/incident/{sys_id}",
            f"{self.site_url}/now/workspace/agent/record/incident/{sys_id}",
            f"{self.site_url}/incident.do?sysparm_query=number={key}",
        ]

    def note_texts(self, key: str) -> list[str]:
        return [self.MARKER_LINE.sub("", text) for text in self.simulator.control.work_notes(key)]

    def delete(self, key: str) -> None:
        self.simulator.control.delete_incident(key)

    def fail(self, call: str, *, status: int, action: str = "status", **extra: Any) -> None:
        method, path = self.CALLS[call]
        self.simulator.control.add_fault(
            action, method=method, path_regex=path, status=status, **extra
        )


HARNESSES: dict[str, type] = {
    "jira": JiraHarness,
    "servicenow": ServiceNowHarness,
}
