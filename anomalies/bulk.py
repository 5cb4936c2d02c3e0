"""Acting on many anomalies at once: a selection, a permission check and a transaction per
anomaly, and a summary of what was done and what was skipped, and why.

Each anomaly goes through the same service as its page's button, in a transaction of its
own, so a refusal never half-applies another and the Jira comments are queued exactly as
single actions queue them (outbox rows in the change's transaction, in order per issue).
Other apps register actions of their own (integrations: link to one Jira issue, create one
ticket for several) and batch hooks (integrations: hand the queued comments to workers once
per Jira issue after the batch, instead of one broker message per comment).

BULK_LIMIT: 1,000 anomalies a request. Above a page's worth (bulk_runs.BULK_INLINE_LIMIT) a
worker carries the run out and the page shows its progress (anomalies.bulk_runs); 1,000 take
it 4-9 s on Postgres on the 2-core dev boxes (bench/bulk_acknowledge.py). Above 1,000,
narrowing the filters is the better tool anyway.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from django import forms
from django.db import DatabaseError, transaction
from django.db.models import QuerySet

from . import services
from .forms import ArchiveForm, AssigneeForm, CommentForm
from .models import Anomaly, Level, Status, User
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
    def processed(self) -> int:
        """How many anomalies have an outcome, done or skipped."""
        return len(self.done) + len(self.skipped)

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
    # The bulk bar's inputs for those options, for actions other apps register (the bar
    # lays out this app's own): given the request, safe HTML.
    options_html: Callable[[Any], str] | None = None


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


def _refuse_acknowledge(anomaly: Anomaly, **_) -> str:
    if anomaly.status == Status.ACKNOWLEDGED:
        return "already acknowledged"
    return "archived" if anomaly.is_archived else ""


def _refuse_archive(anomaly: Anomaly, **_) -> str:
    return "already archived" if anomaly.is_archived else ""


def _refuse_restore(anomaly: Anomaly, **_) -> str:
    return "" if anomaly.is_archived else "not archived"


def _status_change(change: Callable, refuse: Callable[..., str]) -> Callable[..., None]:
    """acknowledge/archive/restore_anomaly for one anomaly: an obvious refusal is told from
    the row as selected (a clearer reason); the service decides again under the row lock."""

    def apply(anomaly: Anomaly, **options) -> None:
        reason = refuse(anomaly, **options)
        if reason:
            raise Skip(reason)
        change(anomaly, **options)

    return apply


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
    BulkAction(
        "acknowledge",
        "Acknowledge",
        "acknowledged",
        CHANGE,
        _status_change(services.acknowledge_anomaly, _refuse_acknowledge),
    ),
    BulkAction(
        "archive",
        "Archive",
        "archived",
        CHANGE,
        _status_change(services.archive_anomaly, _refuse_archive),
        options_form=ArchiveForm,
    ),
    BulkAction(
        "restore",
        "Restore",
        "restored",
        CHANGE,
        _status_change(services.restore_anomaly, _refuse_restore),
    ),
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


class Recorder(Protocol):
    """Where a run that outlives its request writes what it did (anomalies.bulk_runs)."""

    def done(self, anomaly_id: int) -> None:
        """Called inside the anomaly's transaction: the record commits with the change."""

    def skipped(self, reasons: dict[int, str]) -> None: ...

    def progressed(self) -> None:
        """After each anomaly; may raise to stop the run (another worker took it over)."""


def validated_options(action: BulkAction, data) -> dict:
    """The action's options (archive: reason and note), from the submitted inputs."""
    if action.options_form is None:
        return {}
    form = action.options_form(data)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        raise BulkRefused(f"{action.label}: {first}")
    return form.cleaned_data


def run_bulk_action(
    action: BulkAction,
    anomalies: list[Anomaly],
    *,
    by: User,
    missing=(),
    record: Recorder | None = None,
    **options,
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
    if record is not None and result.skipped:
        record.skipped(result.skipped)
    with contextlib.ExitStack() as stack:
        note_makers = [stack.enter_context(hook()) for hook in _batch_hooks]
        if action.whole is not None:
            action.whole(permitted, result, by=by, **options)
        else:
            _one_by_one(action, permitted, result, by=by, record=record, **options)
    result.notes += [note for make in note_makers if callable(make) for note in make()]
    return result


def _one_by_one(
    action: BulkAction,
    anomalies: list[Anomaly],
    result: BulkResult,
    *,
    record: Recorder | None,
    **options,
):
    """Each anomaly in a transaction of its own, in id order, so a refusal (or a database
    error) rolls back that anomaly alone and leaves every other one applied.

    Deadlock-free across concurrent bulk runs over overlapping selections: a transaction
    holds one anomaly's row and then its tickets' queue rows in key order
    (integrations.services.sync.queue_sync_events), the order every change takes. (One
    transaction for many anomalies would hold rows taken in anomaly order and then ask for
    queue rows another run holds: Postgres would abort one of them.)"""
    for anomaly in anomalies:
        _apply_one(action, anomaly, result, record=record, **options)
        if record is not None:
            record.progressed()


def _apply_one(
    action: BulkAction, anomaly: Anomaly, result: BulkResult, *, record: Recorder | None, **options
) -> None:
    try:
        with transaction.atomic():  # the anomaly's transaction: a refusal rolls back all of it
            action.apply(anomaly, **options)
            if record is not None:
                record.done(anomaly.pk)
    except Skip as skip:
        result.skipped[anomaly.pk] = str(skip)
    except DatabaseError:
        result.skipped[anomaly.pk] = "database error; try again"
    else:
        result.done.append(anomaly.pk)
        return
    if record is not None:
        record.skipped({anomaly.pk: result.skipped[anomaly.pk]})


def _levels(user: User, datastore_ids: set[int]) -> dict[int, Level | None]:
    return {datastore_id: effective_level(user, datastore_id) for datastore_id in datastore_ids}
