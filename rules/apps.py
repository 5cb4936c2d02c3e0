from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "rules"
    verbose_name = "Automatic ticket rules"

    def ready(self) -> None:
        """Hear anomaly changes and ingestions; tell the anomaly API which rules matched."""
        from . import receivers

        receivers.connect()
