from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

admin.site.site_header = "Qualytics administration"
admin.site.site_title = "Qualytics admin"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="anomalies:list", permanent=False)),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's, error pages).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("help/", views.help_page, name="help"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("anomalies/", include("anomalies.urls")),
    path("", include("integrations.urls")),
    path("", include("rules.urls")),
    path("api/", include("anomalies.api_urls")),
    path("api/", include("integrations.api_urls")),
    path("api/", include("rules.api_urls")),
    path("admin/", admin.site.urls),
]
