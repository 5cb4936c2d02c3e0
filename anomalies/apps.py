from django.apps import AppConfig


class AnomaliesConfig(AppConfig):
    name = "anomalies"
    verbose_name = "Anomalies"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the Public-team membership receiver)
