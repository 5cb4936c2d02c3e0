from django.core.management import call_command
from django.core.management.base import BaseCommand

from anomalies.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = (
        "Create demo teams, users, datastores and anomalies; with --jira, connect the Jira "
        "simulator at that URL and link anomalies to issues there. Safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--anomalies", type=int, default=2000, help="How many demo anomalies (default 2000)."
        )
        parser.add_argument(
            "--jira",
            metavar="URL",
            help="The Jira simulator (python -m simulators.jira) to connect and link to.",
        )
        parser.add_argument(
            "--links", type=int, default=300, help="How many anomalies to link (default 300)."
        )

    def handle(self, *args, anomalies: int, jira: str | None, links: int, **options) -> None:
        if anomalies < 0 or links < 0:
            self.stderr.write("--anomalies and --links must be 0 or more.")
            raise SystemExit(2)
        report = seed_demo(anomalies=anomalies)
        self.stdout.write(
            f"Demo anomalies: {report.created_anomalies} created, {report.total_anomalies} in all."
        )
        if jira:
            self._link_tickets(jira, links)
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD!r}):")
        for username, description in report.logins:
            self.stdout.write(f"  {username:<10} {description}")

    def _link_tickets(self, url: str, links: int) -> None:
        # Imported here: the anomalies app does not depend on the integrations app.
        from integrations.demo import seed_demo_tickets
        from integrations.services import connected_integration

        call_command("connect_demo_jira", url=url, stdout=self.stdout)
        integration = connected_integration()
        if integration.host_url.rstrip("/") != url.rstrip("/"):
            self.stdout.write(f"Not linking demo tickets: connected to {integration.host_url}.")
            return
        report = seed_demo_tickets(integration, links=links)
        if not report.linked:
            self.stdout.write(f"Demo tickets: {report.total_links} links already there.")
            return
        broken = f", {report.broken_key} deleted there (a broken reference)"
        self.stdout.write(
            f"Demo tickets: {report.linked} anomalies linked to simulator issues; "
            f"{report.pending} comments pending, {report.failed} failed"
            f"{broken if report.broken_key else ''}."
        )
