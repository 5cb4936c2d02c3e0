from django.conf import settings
from django.http import HttpRequest


def support(request: HttpRequest) -> dict[str, str]:
    """Where the top bar's Help link goes (SUPPORT_URL, else the in-app help page)."""
    return {"help_url": settings.SUPPORT_URL, "support_email": settings.SUPPORT_EMAIL}
