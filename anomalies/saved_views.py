"""Saved views: a user names the list's current filters, sees theirs (and their teams')
beside the list, and may share one with a team they belong to."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from .listing import CURSOR_PARAMS
from .models import SavedView, Team, User
from .validation import CleanInputForm

# What a saved view keeps of the query string: filters, sort and page size, not the page
# being looked at (its cursor and number).
NOT_SAVED = CURSOR_PARAMS


class SavedViewRefused(Exception):
    """Shown to the user as it is."""


class SaveViewForm(CleanInputForm):
    name = forms.CharField(max_length=80, error_messages={"required": "Give the view a name."})
    query = forms.CharField(required=False, max_length=2000)


def clean_query(query: str) -> str:
    params = QueryDict(query, mutable=True)
    for name in NOT_SAVED:
        params.pop(name, None)
    return params.urlencode()


@transaction.atomic
def save_view(owner: User, *, name: str, query: str) -> SavedView:
    """Save (or overwrite the same-named) view of the owner's."""
    view, _ = SavedView.objects.update_or_create(
        owner=owner, name=name.strip(), defaults={"query": clean_query(query)}
    )
    return view


def share_view(view: SavedView, *, by: User, team: Team | None) -> SavedView:
    if view.owner_id != by.pk:
        raise SavedViewRefused("Only the view's owner can share it.")
    if team is not None and not team.members.filter(pk=by.pk).exists():
        raise SavedViewRefused("Share with a team you belong to.")
    view.team = team
    view.save(update_fields=["team"])
    return view


def delete_view(view: SavedView, *, by: User) -> None:
    if view.owner_id != by.pk:
        raise SavedViewRefused("Only the view's owner can delete it.")
    view.delete()


# --- views ----------------------------------------------------------------------------------


def _back(view: SavedView | None = None):
    return redirect(reverse("anomalies:list") + (f"?{view.query}" if view else ""))


def _own_or_shared(user: User, view_id: int) -> SavedView:
    view = SavedView.objects.for_user(user).filter(pk=view_id).first()
    if view is None:
        raise Http404("No such saved view.")
    return view


@login_required
@require_POST
def save(request: HttpRequest):
    form = SaveViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, next(iter(form.errors.values()))[0])
        return _back()
    try:
        view = save_view(request.user, **form.cleaned_data)
    except IntegrityError:
        messages.error(request, "A view with that name was saved at the same time; try again.")
        return _back()
    messages.success(request, f"Saved view “{view.name}”.")
    return _back(view)


@login_required
@require_POST
def share(request: HttpRequest, view_id: int):
    view = _own_or_shared(request.user, view_id)
    team_id = request.POST.get("team", "")
    team = request.user.teams.filter(pk=team_id).first() if team_id.isdigit() else None
    if team_id and team is None:
        messages.error(request, "Share with a team you belong to.")
        return _back(view)
    try:
        share_view(view, by=request.user, team=team)
    except SavedViewRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"“{view.name}” shared with {team}." if team else "Unshared.")
    return _back(view)


@login_required
@require_POST
def delete(request: HttpRequest, view_id: int):
    view = _own_or_shared(request.user, view_id)
    try:
        delete_view(view, by=request.user)
    except SavedViewRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Deleted “{view.name}”.")
    return _back()
