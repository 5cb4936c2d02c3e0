"""The platform's JSON API, under /api/ (PRODUCT.md §6). Paths have no trailing slash."""

from django.urls import path

from . import api, api_bulk

app_name = "anomalies_api"

urlpatterns = [
    path("anomalies", api.anomalies, name="anomalies"),
    path("anomalies/bulk", api_bulk.bulk, name="bulk"),
    path("anomalies/bulk/<int:run_id>", api_bulk.bulk_run, name="bulk_run"),
    path("anomalies/<int:anomaly_id>", api.anomaly_detail, name="detail"),
    path("anomalies/<int:anomaly_id>/assignees", api_bulk.assignees, name="assignees"),
    path(
        "anomalies/<int:anomaly_id>/assignees/<int:user_id>",
        api_bulk.assignee,
        name="assignee",
    ),
    path("anomalies/<int:anomaly_id>/acknowledge", api.acknowledge, name="acknowledge"),
    path("anomalies/<int:anomaly_id>/archive", api.archive, name="archive"),
    path("anomalies/<int:anomaly_id>/restore", api.restore, name="restore"),
    path("anomalies/<int:anomaly_id>/comments", api.comments, name="comments"),
]
