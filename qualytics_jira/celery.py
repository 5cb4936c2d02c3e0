"""The Celery app: `celery -A qualytics_jira worker` and `celery -A qualytics_jira beat`."""

import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualytics_jira.settings")

app = Celery("qualytics_jira")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def check_database_connection(task=None, **kwargs) -> None:
    """Before each task, what Django does before each request: drop a connection that is
    too old (CONN_MAX_AGE) or broken, and health-check a reused one on first use. Eager
    tasks run inside their caller's connection and transaction: left alone."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
