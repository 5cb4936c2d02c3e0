"""Celery tasks of the anomalies app: take ids, call one service. Never take secrets."""

from celery import shared_task

from . import bulk_runs


# A run of 1,000 anomalies takes ~4-10 s; the limits leave room for a slow, shared box.
# A run cut off by them is taken over by the sweeper where it stopped.
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=600, time_limit=660)
def run_bulk(run_id: int) -> str:
    return bulk_runs.carry_out_bulk_run(run_id)


@shared_task(ignore_result=True)
def resume_bulk_runs() -> int:
    return bulk_runs.resume_bulk_runs()


@shared_task(ignore_result=True)
def prune_bulk_runs() -> int:
    return bulk_runs.prune_bulk_runs()
