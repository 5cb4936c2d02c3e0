from django.core.management.base import BaseCommand

from anomalies.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create demo teams, users, datastores and anomalies. Safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--anomalies", type=int, default=2000, help="How many demo anomalies (default 2000)."
        )

    def handle(self, *args, anomalies: int, **options) -> None:
        if anomalies < 0:
            self.stderr.write("--anomalies must be 0 or more.")
            raise SystemExit(2)
        report = seed_demo(anomalies=anomalies)
        self.stdout.write(
            f"Demo anomalies: {report.created_anomalies} created, {report.total_anomalies} in all."
        )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD!r}):")
        for username, description in report.logins:
            self.stdout.write(f"  {username:<10} {description}")
