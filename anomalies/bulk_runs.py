"""Bulk actions too large to answer within the request: a worker carries them out.

A selection of up to BULK_INLINE_LIMIT anomalies (a page at its largest size) runs in the
request, as before. A larger one (the list's "all N matching", or the API's ids) is saved as
a `BulkRun` and answered at once: the page then shows its progress and, when done, the same
summary an inline run gives. The worker applies each anomaly exactly as an inline run does
(anomalies.bulk: the permission check, one transaction per anomaly, the same services and so
the same Jira outbox), so nothing about the outcome depends on where it ran.

Faults: the row is the truth. A run whose message was lost, or whose worker died, is handed
out again by the sweeper (`resume_bulk_runs`, on beat) once its heartbeat is STALE_AFTER old.
Each anomaly's outcome commits in the anomaly's own transaction (`BulkRunOutcome`, unique
per run and anomaly), so the worker that takes over skips what was done and never applies an
anomaly twice, even if the first worker is still alive: an anomaly both reach is rolled
back by whichever records it second, and the first loses its claim at its next heartbeat
and stops. What is lost in a crash is only the summary's notes of the interrupted
part ("86 Jira comments queued"); the comments themselves are in the outbox and go out.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from qualytics_jira.broker import publish

from .bulk import (
    BulkAction,
    BulkRefused,
    BulkResult,
    Skip,
    bulk_actions,
    run_bulk_action,
    select_anomalies,
    validated_options,
)
from .models import Anomaly, BulkRun, BulkRunOutcome, BulkRunState, User

# At most a page's worth (100 rows) runs in the request: about 0.4-0.9 s on Postgres on the
# 2-core dev boxes (bench/bulk_acknowledge.py), inside the 2 s a bulk request may take.
BULK_INLINE_LIMIT = 100
HEARTBEAT_EVERY = 25  # anomalies between heartbeats: ~0.1-0.2 s of work
STALE_AFTER = timedelta(seconds=60)
KEEP_FINISHED = timedelta(days=7)
RUN_TASK = "anomalies.tasks.run_bulk"
DONE_ELSEWHERE = "done by another worker"


class RunTakenOver(Exception):
    """Another worker claimed the run (this one was stalled past STALE_AFTER)."""


def runs_in_background(action: BulkAction, ids: list[int]) -> bool:
    # Actions that act on the selection as a whole (one ticket for all) make one remote call
    # and stay in the request at any size.
    return action.whole is None and len(ids) > BULK_INLINE_LIMIT


def start_bulk_run(user: User, action: BulkAction, data, ids: list[int], back: str) -> BulkRun:
    """Save the run (its options as submitted) and hand it to a worker."""
    run = BulkRun.objects.create(
        user=user,
        action=action.name,
        options=_option_inputs(action, data),
        anomaly_ids=sorted(set(ids)),
        back=back[:2000],
    )
    publish(RUN_TASK, run.pk)  # lost or refused: the sweeper hands it out
    return run


def _option_inputs(action: BulkAction, data) -> dict:
    if action.options_form is None:
        return {}
    names = action.options_form.base_fields
    return {name: data.get(name) for name in names if data.get(name) is not None}


# The list reminds its user of the runs they started in the last hour (kept in the session,
# which the list reads anyway: no query), until they have seen one finished on its page.
REMEMBERED_FOR = timedelta(hours=1)
SESSION_KEY = "bulk_runs"


def remember_run(session, run: BulkRun, label: str) -> None:
    kept = [entry for entry in remembered_runs(session) if entry["id"] != run.pk]
    entry = {"id": run.pk, "label": label, "at": run.created_at.isoformat()}
    session[SESSION_KEY] = [entry, *kept][:3]


def remembered_runs(session) -> list[dict]:
    """[{"id", "label", "at"}], newest first, started within REMEMBERED_FOR."""
    since = timezone.now() - REMEMBERED_FOR
    found = []
    for entry in session.get(SESSION_KEY, []):
        started = datetime.fromisoformat(entry["at"])
        if started >= since:
            found.append({**entry, "at": started})
    return found


def forget_run(session, run_id: int) -> None:
    if any(entry["id"] == run_id for entry in session.get(SESSION_KEY, [])):
        session[SESSION_KEY] = [e for e in session[SESSION_KEY] if e["id"] != run_id]


# --- the worker's side ----------------------------------------------------------------------


def carry_out_bulk_run(run_id: int) -> str:
    """Apply the run's action to each anomaly it has no outcome for yet."""
    claim = _claim(run_id)
    if claim is None:
        return "taken by another worker, or done"
    run = BulkRun.objects.select_related("user").get(pk=run_id)
    action = bulk_actions().get(run.action)
    try:
        if action is None:
            raise BulkRefused("Unknown bulk action.")
        options = validated_options(action, run.options)
    except BulkRefused as refused:
        _finish(run, claim, refused=str(refused))
        return "refused"
    remaining = sorted(
        set(run.anomaly_ids) - set(_outcomes(run).values_list("anomaly_id", flat=True))
    )
    notes: list[str] = []
    if remaining:
        anomalies, missing = select_anomalies(Anomaly.objects.visible_to(run.user), remaining)
        recorder = OutcomeRecorder(run, claim)
        try:
            result = run_bulk_action(
                action, anomalies, by=run.user, missing=missing, record=recorder, **options
            )
        except RunTakenOver:
            return "taken over"
        notes = result.notes
    _finish(run, claim, notes=notes)
    return "done"


def _claim(run_id: int) -> str | None:
    """Take the run if it is queued, or running with a stale heartbeat; the claim's token."""
    now = timezone.now()
    claim = secrets.token_hex(16)
    taken = (
        BulkRun.objects.filter(pk=run_id)
        .filter(_claimable(now))
        .update(state=BulkRunState.RUNNING, claim=claim, heartbeat_at=now)
    )
    return claim if taken else None


def _claimable(now) -> Q:
    stalled = Q(state=BulkRunState.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
    return Q(state=BulkRunState.QUEUED) | stalled


def _finish(run: BulkRun, claim: str, *, notes=(), refused: str = "") -> None:
    BulkRun.objects.filter(pk=run.pk, claim=claim).update(
        state=BulkRunState.DONE,
        notes=[*run.notes, *notes],
        refused=refused,
        finished_at=timezone.now(),
    )


def _outcomes(run: BulkRun):
    return BulkRunOutcome.objects.filter(run=run)


class OutcomeRecorder:
    """anomalies.bulk's Recorder for a run: outcomes in the table, a heartbeat as it goes."""

    def __init__(self, run: BulkRun, claim: str) -> None:
        self.run, self.claim = run, claim
        self.since_heartbeat = 0

    def done(self, anomaly_id: int) -> None:
        # In the anomaly's transaction: if another worker recorded it first, the Skip rolls
        # the whole change back (the anomaly is not applied twice) and the run goes on with
        # the next one. No savepoint: the transaction is left at once, by the raise.
        try:
            BulkRunOutcome.objects.create(run=self.run, anomaly_id=anomaly_id)
        except IntegrityError:
            raise Skip(DONE_ELSEWHERE) from None

    def skipped(self, reasons: dict[int, str]) -> None:
        BulkRunOutcome.objects.bulk_create(
            [
                BulkRunOutcome(run=self.run, anomaly_id=pk, skipped=reason[:200])
                for pk, reason in reasons.items()
            ],
            ignore_conflicts=True,  # a skip recorded before a crash: the same reason again
        )

    def progressed(self) -> None:
        self.since_heartbeat += 1
        if self.since_heartbeat < HEARTBEAT_EVERY:
            return
        self.since_heartbeat = 0
        beat = BulkRun.objects.filter(pk=self.run.pk, claim=self.claim)
        if not beat.update(heartbeat_at=timezone.now()):
            raise RunTakenOver


def resume_bulk_runs() -> int:
    """The sweeper: hand out again each run nobody is working on (message lost, worker
    died). Queued runs get STALE_AFTER too, for their first message to arrive."""
    now = timezone.now()
    forgotten = BulkRun.objects.filter(
        Q(state=BulkRunState.QUEUED, created_at__lt=now - STALE_AFTER)
        | Q(state=BulkRunState.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
    )
    ids = list(forgotten.values_list("pk", flat=True)[:100])
    for run_id in ids:
        publish(RUN_TASK, run_id)
    return len(ids)


def prune_bulk_runs() -> int:
    """Forget runs finished more than KEEP_FINISHED ago (their pages then 404); the changes
    themselves are in each anomaly's history."""
    cutoff = timezone.now() - KEEP_FINISHED
    deleted, _ = BulkRun.objects.filter(state=BulkRunState.DONE, finished_at__lt=cutoff).delete()
    return deleted


# --- what the page and the API show ---------------------------------------------------------


def run_result(run: BulkRun) -> BulkResult:
    """The run's outcomes so far, as an inline run's result."""
    action = bulk_actions().get(run.action)
    result = BulkResult(verb=action.verb if action else run.action, notes=list(run.notes))
    for anomaly_id, skipped in (
        _outcomes(run).order_by("anomaly_id").values_list("anomaly_id", "skipped")
    ):
        if skipped:
            result.skipped[anomaly_id] = skipped
        else:
            result.done.append(anomaly_id)
    return result


def runs_of(user: User):
    return BulkRun.objects.filter(user=user)


def run_title(run: BulkRun) -> str:
    """ "Acknowledge 1,000 anomalies": the run's page heading and the list's reminder."""
    action = bulk_actions().get(run.action)
    label = action.label if action else run.action
    total = len(run.anomaly_ids)
    return f"{label} {total:,} anomal{'y' if total == 1 else 'ies'}"
