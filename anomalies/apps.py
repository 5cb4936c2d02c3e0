from django.apps import AppConfig


class AnomaliesConfig(AppConfig):
    name = "anomalies"
    verbose_name = "Anomalies"

    def ready(self) -> None:
        # signals: connects the Public-team membership receiver; tasks: registers the tasks
        # services hand over by name.
        from . import signals, tasks  # noqa: F401
