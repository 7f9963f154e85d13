"""Background tasks: thin wrappers that load by id and call a service."""

from __future__ import annotations

from django_tasks import TaskContext, task

from colis.core.outbox import outbox_deliver


@task(queue_name="outbox", takes_context=True)
def outbox_deliver_task(context: TaskContext, message_id: int) -> str:
    worker = context.task_result.worker_ids[-1] if context.task_result.worker_ids else "worker"
    return outbox_deliver(message_id=message_id, worker_id=worker)
