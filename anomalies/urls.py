from django.urls import path

from . import views

app_name = "anomalies"

urlpatterns = [
    path("", views.anomaly_list, name="list"),
    path("<int:anomaly_id>/", views.anomaly_detail, name="detail"),
    path("<int:anomaly_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:anomaly_id>/archive/", views.archive, name="archive"),
    path("<int:anomaly_id>/restore/", views.restore, name="restore"),
    path("<int:anomaly_id>/comments/", views.comment, name="comment"),
]
