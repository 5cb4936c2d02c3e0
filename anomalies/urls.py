from django.urls import path

from . import assign_views, bulk_views, saved_views, views

app_name = "anomalies"

urlpatterns = [
    path("", views.anomaly_list, name="list"),
    path("bulk/", bulk_views.bulk_action, name="bulk"),
    path("bulk/<int:run_id>/", bulk_views.bulk_run_page, name="bulk_run"),
    path("bulk/<int:run_id>/progress", bulk_views.bulk_run_progress, name="bulk_run_progress"),
    path("views/", saved_views.save, name="save_view"),
    path("views/<int:view_id>/share/", saved_views.share, name="share_view"),
    path("views/<int:view_id>/delete/", saved_views.delete, name="delete_view"),
    path("<int:anomaly_id>/", views.anomaly_detail, name="detail"),
    path("<int:anomaly_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:anomaly_id>/archive/", views.archive, name="archive"),
    path("<int:anomaly_id>/restore/", views.restore, name="restore"),
    path("<int:anomaly_id>/comments/", views.comment, name="comment"),
    path("<int:anomaly_id>/assign/", assign_views.assign, name="assign"),
    path("<int:anomaly_id>/unassign/", assign_views.unassign, name="unassign"),
]
