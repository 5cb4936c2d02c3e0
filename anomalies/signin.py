"""Sign-in throttling with django-axes: which client address counts, and the page a refused
sign-in gets (the sign-in form itself, with the message beside it).

Axes counts failed sign-ins per account and client address (settings `AXES_*`); after the
limit, sign-ins from there are refused for a cool-off, then allowed again. A success resets
the count.
"""

from __future__ import annotations

import ipaddress
import math

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.utils import timezone

LOCKED_OUT_STATUS = 429  # Too Many Requests


def client_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind `TRUSTED_PROXY_COUNT` reverse proxies the address the outermost
    of them saw: each proxy appends the address it was reached from to X-Forwarded-For, so
    the client is that many entries from the right (anything left of it may be forged)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if proxies > 0 and len(forwarded) >= proxies and _is_address(forwarded[-proxies]):
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def locked_out_message(request: HttpRequest, credentials: dict | None) -> str:
    minutes = minutes_left(request, credentials)
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed sign-ins. Try again in {minutes} {unit}."


def minutes_left(request: HttpRequest, credentials: dict | None) -> int:
    """Until the cool-off of the newest counted failure ends, rounded up (at least 1)."""
    handler = AxesProxyHandler.get_implementation()
    latest = [
        attempts.aggregate(latest=Max("attempt_time"))["latest"]
        for attempts in handler.get_user_attempts(request, credentials)
    ]
    last_failure = max((time for time in latest if time), default=timezone.now())
    left = last_failure + get_cool_off(request) - timezone.now()
    return max(1, math.ceil(left.total_seconds() / 60))


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page that was refused (ours or the admin's), its
    form saying why instead of "wrong password", answered 429."""
    message = locked_out_message(request, credentials)
    if isinstance(original_response, TemplateResponse) and original_response.context_data:
        context = original_response.context_data
        form = context.get("form")
        if form is not None and form.is_bound:
            form.errors.clear()  # not "wrong password": the password was never checked
            form.add_error(None, message)
        context["locked_out"] = message
        original_response.content = original_response.rendered_content
        original_response.status_code = LOCKED_OUT_STATUS
        return original_response
    form = AuthenticationForm(request, initial={"username": (credentials or {}).get("username")})
    context = {"form": form, "locked_out": message, "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=LOCKED_OUT_STATUS)
