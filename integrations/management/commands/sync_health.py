from django.core.management.base import BaseCommand

from integrations.services.health import format_health, sync_health


class Command(BaseCommand):
    help = "Print the state of the sync queue (exit 1 when it needs attention)."

    def handle(self, *args, **options) -> None:
        health = sync_health()
        for line in format_health(health):
            self.stdout.write(line)
        if not health.healthy:
            raise SystemExit(1)
