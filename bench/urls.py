"""The product's URLs plus `/__floor__/<name>`: the framework floor of a page.

The floor view runs one trivial query and returns the bytes the real page returned (saved
by bench/pages.py), through the same middleware and server, without a session.
"""

from pathlib import Path

from django.db import connection
from django.http import Http404, HttpResponse
from django.urls import path

from qualytics_jira.urls import urlpatterns as product_urlpatterns

FLOOR_DIR = Path(__file__).resolve().parent.parent / "var" / "bench-floor"


def floor(request, name: str):
    page = FLOOR_DIR / f"{name}.html"
    if not name.isidentifier() or not page.exists():
        raise Http404
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return HttpResponse(page.read_bytes(), content_type="text/html; charset=utf-8")


urlpatterns = [path("__floor__/<str:name>", floor), *product_urlpatterns]
