"""Acting on many anomalies at once: a selection, a permission check and a transaction per
anomaly, and a summary of what was done and what was skipped, and why.

Each anomaly goes through the same service as its page's button, in its own transaction, so
a refusal never half-applies another and the Jira comments are queued exactly as single
actions queue them. Other apps register actions of their own (integrations: link to one Jira
issue, create one ticket for several) and batch hooks (integrations: hand the queued comments
to workers once per Jira issue after the batch, instead of one broker message per comment).

BULK_LIMIT: 1,000 anomalies a request. A bulk acknowledge of 1,000 takes about a second on
Postgres (bench/bulk_acknowledge.py), so a request stays well inside a web worker's timeout;
above that, narrowing the filters is the better tool anyway.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

from django import forms
from django.db.models import QuerySet

from . import services
from .forms import ArchiveForm, AssigneeForm, CommentForm
from .models import Anomaly, Level, User
from .permissions import Action, effective_level

BULK_LIMIT = 1000


class BulkRefused(Exception):
    """A bulk request that does nothing at all (bad selection or options); shown as it is."""


class Skip(Exception):
    """One anomaly left alone; the message is the reason, short enough to group by."""


@dataclasses.dataclass
class BulkResult:
    verb: str  # "acknowledged"
    done: list[int] = dataclasses.field(default_factory=list)
    skipped: dict[int, str] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)  # "86 Jira comments queued"

    @property
    def skipped_by_reason(self) -> Counter:
        return Counter(self.skipped.values())

    def summary(self) -> str:
        parts = [f"{len(self.done)} {self.verb}"]
        by_reason = sorted(self.skipped_by_reason.items(), key=lambda pair: (-pair[1], pair[0]))
        parts += [f"{n} skipped: {reason}" for reason, n in by_reason]
        return "; ".join([", ".join(parts), *self.notes])

    def per_anomaly(self) -> list[dict[str, Any]]:
        rows = [{"id": pk, "result": "done"} for pk in self.done]
        rows += [{"id": pk, "result": "skipped", "reason": r} for pk, r in self.skipped.items()]
        return sorted(rows, key=lambda row: row["id"])


@dataclasses.dataclass(frozen=True)
class BulkAction:
    """`apply(anomaly, by=user, **options)` changes one anomaly or raises Skip; a `whole`
    action instead takes every permitted anomaly at once (one Jira issue for all)."""

    name: str
    label: str
    verb: str
    needs: Action
    apply: Callable[..., Any] | None = None
    whole: Callable[..., None] | None = None
    # The form of the action's options (archive: reason and note); its cleaned_data are
    # passed to apply/whole as keyword arguments.
    options_form: type[forms.Form] | None = None


# A batch hook wraps a whole bulk run; what its context manager yields, when callable,
# gives the summary's extra notes once the run is over.
BatchHook = Callable[[], AbstractContextManager]

_actions: dict[str, BulkAction] = {}
_batch_hooks: list[BatchHook] = []


def register_bulk_action(action: BulkAction) -> BulkAction:
    _actions[action.name] = action
    return action


def bulk_actions() -> dict[str, BulkAction]:
    return dict(_actions)


def register_batch_hook(hook: BatchHook) -> BatchHook:
    if hook not in _batch_hooks:
        _batch_hooks.append(hook)
    return hook


def _refusing(change: Callable, *errors: type[Exception]) -> Callable:
    """A service whose refusal becomes a Skip with the service's own message."""

    def apply(anomaly: Anomaly, **options) -> None:
        try:
            change(anomaly, **options)
        except errors as error:
            raise Skip(str(error)) from None

    return apply


def _acknowledge(anomaly: Anomaly, *, by: User) -> None:
    if anomaly.status == "Acknowledged":
        raise Skip("already acknowledged")
    if anomaly.is_archived:
        raise Skip("archived")
    services.acknowledge_anomaly(anomaly, by=by)


def _archive(anomaly: Anomaly, *, by: User, reason: str, note: str = "") -> None:
    if anomaly.is_archived:
        raise Skip("already archived")
    services.archive_anomaly(anomaly, by=by, reason=reason, note=note)


def _restore(anomaly: Anomaly, *, by: User) -> None:
    if not anomaly.is_archived:
        raise Skip("not archived")
    services.restore_anomaly(anomaly, by=by)


def _comment(anomaly: Anomaly, *, by: User, text: str) -> None:
    if not anomaly.takes_comments:
        raise Skip("archived anomalies take no comments")
    services.comment_on_anomaly(anomaly, by=by, text=text)


def _assign(anomaly: Anomaly, *, by: User, assignee: User) -> None:
    if effective_level(assignee, anomaly.datastore_id) is None:
        raise Skip(f"{assignee} cannot see {anomaly.datastore.name}")
    if assignee in anomaly.assignees.all():
        raise Skip(f"already assigned to {assignee}")
    services.assign_anomaly(anomaly, by=by, assignee=assignee)


def _unassign(anomaly: Anomaly, *, by: User, assignee: User) -> None:
    if assignee not in anomaly.assignees.all():
        raise Skip(f"not assigned to {assignee}")
    services.unassign_anomaly(anomaly, by=by, assignee=assignee)


_STATE_ERRORS = (services.StatusTransitionError, services.CommentRejected)
CHANGE, COMMENT = Action.CHANGE_STATUS, Action.COMMENT
for _action in (
    BulkAction("acknowledge", "Acknowledge", "acknowledged", CHANGE, _acknowledge),
    BulkAction("archive", "Archive", "archived", CHANGE, _archive, options_form=ArchiveForm),
    BulkAction("restore", "Restore", "restored", CHANGE, _restore),
    BulkAction("comment", "Comment", "commented", COMMENT, _comment, options_form=CommentForm),
    BulkAction("assign", "Assign", "assigned", CHANGE, _assign, options_form=AssigneeForm),
    BulkAction("unassign", "Unassign", "unassigned", CHANGE, _unassign, options_form=AssigneeForm),
):
    register_bulk_action(
        dataclasses.replace(
            _action,
            apply=_refusing(_action.apply, *_STATE_ERRORS, services.AssignmentRejected),
        )
    )


# --- running one --------------------------------------------------------------------------


def select_anomalies(visible: QuerySet, ids: Iterable[int]) -> tuple[list[Anomaly], list[int]]:
    """The chosen anomalies the user can see, in id order, and the ids that are not there."""
    ids = sorted(set(ids))
    if not ids:
        raise BulkRefused("Select at least one anomaly.")
    if len(ids) > BULK_LIMIT:
        raise BulkRefused(
            f"{len(ids):,} anomalies selected; at most {BULK_LIMIT:,} at once. "
            "Narrow the filters and repeat."
        )
    found = list(
        visible.filter(pk__in=ids)
        .select_related("datastore", "container")
        .prefetch_related("assignees")
        .order_by("pk")
    )
    missing = sorted(set(ids) - {anomaly.pk for anomaly in found})
    return found, missing


def run_bulk_action(
    action: BulkAction, anomalies: list[Anomaly], *, by: User, missing=(), **options
) -> BulkResult:
    """Apply `action` wherever the user's level allows, one transaction per anomaly."""
    result = BulkResult(verb=action.verb)
    for pk in missing:
        result.skipped[pk] = "not found"
    levels = _levels(by, {anomaly.datastore_id for anomaly in anomalies})
    permitted = []
    for anomaly in anomalies:
        level = levels.get(anomaly.datastore_id)
        if level is None or level < action.needs.level:
            result.skipped[anomaly.pk] = f"needs {action.needs.level.label} permission"
        else:
            permitted.append(anomaly)
    with contextlib.ExitStack() as stack:
        note_makers = [stack.enter_context(hook()) for hook in _batch_hooks]
        if action.whole is not None:
            action.whole(permitted, result, by=by, **options)
        else:
            _one_by_one(action, permitted, result, by=by, **options)
    result.notes += [note for make in note_makers if callable(make) for note in make()]
    return result


def _one_by_one(action: BulkAction, anomalies: list[Anomaly], result: BulkResult, **options):
    for anomaly in anomalies:
        try:
            action.apply(anomaly, **options)
        except Skip as skip:
            result.skipped[anomaly.pk] = str(skip)
        else:
            result.done.append(anomaly.pk)


def _levels(user: User, datastore_ids: set[int]) -> dict[int, Level | None]:
    return {datastore_id: effective_level(user, datastore_id) for datastore_id in datastore_ids}
