"""Connect the demo to the local Jira simulator (used by `make run`)."""

import time

from django.core.management.base import BaseCommand, CommandError

from anomalies.models import Role, User
from integrations import services
from integrations.connectors import get_connector
from integrations.fields import UNREADABLE

CONNECTOR = "jira"
DEMO_CREDENTIALS = get_connector(CONNECTOR).parse_credentials("bot@example.com:sim-token")


class Command(BaseCommand):
    help = "Connect Jira to the local simulator unless an integration is already connected."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8089")
        parser.add_argument("--project", default="DQ")
        parser.add_argument("--wait", type=float, default=15, help="seconds to wait for Jira")

    def handle(self, *args, url: str, project: str, wait: float, **options) -> None:
        existing = services.connected_integration()
        if existing and existing.credentials is UNREADABLE and existing.host_url == url:
            # Saved under other secrets (e.g. by a run with DEBUG's development keys): the
            # simulator's demo credentials are known, so store them again under these.
            existing.credentials = DEMO_CREDENTIALS.joined()
            existing.save(update_fields=["credentials"])
            self.stdout.write(f"Re-saved the demo credentials of {existing}.")
            return
        if existing:
            self.stdout.write(f"Already connected: {existing}")
            return
        report = self._check(url, project, wait)
        manager = User.objects.filter(role=Role.MANAGER).order_by("pk").first()
        integration = services.connect_integration(
            host_url=url,
            credentials=DEMO_CREDENTIALS,
            default_project_key=project,
            report=report,
            by=manager,
            connector=CONNECTOR,
        )
        self.stdout.write(f"Connected {integration} (default project {project}).")

    def _check(self, url: str, project: str, wait: float):
        deadline = time.monotonic() + wait
        while True:
            report = services.check_connection(url, DEMO_CREDENTIALS, project, CONNECTOR)
            if report.ok:
                return report
            if time.monotonic() > deadline:
                failure = report.first_failure
                raise CommandError(f"Jira at {url} is not answering: {failure.detail}")
            time.sleep(0.5)
