"""The Celery app: `celery -A qualytics_jira worker` and `celery -A qualytics_jira beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualytics_jira.settings")

app = Celery("qualytics_jira")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
