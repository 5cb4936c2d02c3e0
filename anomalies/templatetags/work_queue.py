"""The list's bulk-action bar and saved-views menu, as tags, so the list view stays as it is."""

import uuid

from django import template
from django.db.models import Q
from django.http import HttpRequest

from ..bulk import BULK_LIMIT, bulk_actions
from ..forms import ArchiveForm
from ..models import Role, SavedView, User
from ..permissions import visible_datastores
from ..saved_views import clean_query

register = template.Library()


def assignable_users(user: User):
    """Active users who can see at least one datastore the acting user sees."""
    datastores = visible_datastores(user)
    if user.is_admin:
        return User.objects.filter(is_active=True).order_by("username")
    return (
        User.objects.filter(is_active=True)
        .filter(
            teams__permissions__datastore__in=datastores.values("pk"),
        )
        .distinct()
        .order_by("username")
    )


@register.inclusion_tag("anomalies/_bulk_bar.html", takes_context=True)
def bulk_bar(context, matching):
    """`matching`: how many the list shows, a number or the list's capped count ("1,000+",
    `CappedCount`): past the cap, or past BULK_LIMIT, "all matching" is more than one request
    may change, so the bar says so and offers only the selected rows."""
    request: HttpRequest = context["request"]
    exact = getattr(matching, "exact", True)
    count = getattr(matching, "value", matching)
    return {
        "request": request,
        "actions": [
            {
                "name": action.name,
                "label": action.label,
                "options_html": action.options_html(request) if action.options_html else "",
            }
            for action in bulk_actions().values()
        ],
        "users": assignable_users(request.user),
        "archive_form": ArchiveForm(),
        "filters": clean_query(request.GET.urlencode()),
        "matching": matching,
        "too_many": not exact or count > BULK_LIMIT,
        "limit": BULK_LIMIT,
        "csrf_token": context.get("csrf_token"),
        # The bulk create's idempotency token: submitting this page twice creates one issue.
        "token": uuid.uuid4().hex,
    }


@register.inclusion_tag("anomalies/_saved_views.html", takes_context=True)
def saved_views_menu(context):
    request: HttpRequest = context["request"]
    return {
        "request": request,
        "views": SavedView.objects.for_user(request.user).select_related("owner", "team"),
        "teams": request.user.teams.all(),
        "query": clean_query(request.GET.urlencode()),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("anomalies/_assign_form.html", takes_context=True)
def assign_form(context, anomaly):
    """People who can see this anomaly's datastore, not yet assigned."""
    users = (
        User.objects.filter(is_active=True)
        .filter(Q(role=Role.ADMIN) | Q(teams__permissions__datastore=anomaly.datastore_id))
        .exclude(assigned_anomalies=anomaly)
        .distinct()
        .order_by("username")
    )
    return {"anomaly": anomaly, "users": users, "csrf_token": context.get("csrf_token")}
