"""Celery tasks of the rules: take ids, call one service."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def execute_rule_action(action_id: int) -> str:
    # Retries are scheduled by the service (it knows Retry-After and the budget); a task that
    # dies mid-create is recovered by the sweeper, and the create marker finds its issue.
    return services.execute_rule_action(action_id)


@shared_task(ignore_result=True)
def sweep_rule_actions() -> dict:
    return services.sweep_rule_actions()
