"""The background worker: django-tasks' database worker plus a housekeeping thread.

The housekeeping thread writes a heartbeat (shown by /api/v1/health) and requeues outbox rows
whose worker died mid-delivery.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from colis.core.models import IdempotencyRecord, WorkerHeartbeat
from colis.core.outbox import outbox_pump, outbox_recover

logger = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 5.0


def load_handler_modules() -> None:
    """Import the modules that register outbox handlers (settings.COLIS_OUTBOX_HANDLER_MODULES)."""
    for name in settings.COLIS_OUTBOX_HANDLER_MODULES:
        importlib.import_module(name)


# Periodic jobs other apps add (fulfillment: route backorders again), with their period in
# heartbeats. Registered at app start-up, so core imports none of them.
_PERIODIC: list[tuple[Callable[[], object], int]] = []


def housekeeping_register(job: Callable[[], object], *, every: int) -> None:
    if all(existing is not job for existing, _ in _PERIODIC):
        _PERIODIC.append((job, every))


IDEMPOTENCY_KEEP = timedelta(hours=24)
HEARTBEAT_KEEP = timedelta(hours=1)
TASK_RESULTS_KEEP = timedelta(days=7)
PRUNE_EVERY = 120  # heartbeats, about ten minutes


def housekeeping_prune() -> dict[str, int]:
    """Delete what is only kept for a while: idempotency records after 24 hours, heartbeats of
    workers gone for an hour, finished task results after seven days."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    return {
        "idempotency": IdempotencyRecord.objects.filter(
            created_at__lt=now - IDEMPOTENCY_KEEP
        ).delete()[0],
        "heartbeats": WorkerHeartbeat.objects.filter(seen_at__lt=now - HEARTBEAT_KEEP).delete()[0],
        "task_results": DBTaskResult.objects.filter(
            status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
            finished_at__lt=now - TASK_RESULTS_KEEP,
        ).delete()[0],
    }


def _housekeeping(worker_id: str, started: threading.Event, stop: threading.Event) -> None:
    now = timezone.now()
    beats = 0
    while not stop.is_set():
        try:
            close_old_connections()
            WorkerHeartbeat.objects.update_or_create(
                worker_id=worker_id,
                defaults={
                    "hostname": socket.gethostname()[:200],
                    "pid": os.getpid(),
                    "seen_at": timezone.now(),
                },
                create_defaults={
                    "hostname": socket.gethostname()[:200],
                    "pid": os.getpid(),
                    "started_at": now,
                    "seen_at": timezone.now(),
                },
            )
            if connection.vendor == "sqlite":
                # PASSIVE: copies the log into the database without blocking anyone.
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            requeued = outbox_recover()
            if requeued:
                logger.info("requeued %s outbox messages", requeued)
            if beats % PRUNE_EVERY == 0 and any((pruned := housekeeping_prune()).values()):
                logger.info("pruned %s", pruned)
            for job, every in _PERIODIC:
                if beats % every == 0:
                    job()
            beats += 1
        except Exception:
            logger.exception("worker housekeeping failed")
        finally:
            started.set()
            connection.close()
        stop.wait(HEARTBEAT_SECONDS)


PUMP_IDLE_SECONDS = 0.5
# After a batch that drained the queue, wait this long so a trickle of rows is claimed a few at a
# time rather than one by one (each claim and prepare costs the same queries for 1 row or 200).
PUMP_LINGER_SECONDS = 0.5
PUMP_BATCH = 200


def _pump(worker_id: str, stop: threading.Event) -> None:
    """Deliver the outbox rows no task carries, as they come due."""
    while not stop.is_set():
        tried = 0
        try:
            close_old_connections()
            tried = outbox_pump(
                worker_id=worker_id,
                limit=PUMP_BATCH,
                stop=stop,
                lanes=settings.COLIS_OUTBOX_LANES,
            )
        except Exception:
            logger.exception("outbox pump failed")
        if not tried:
            stop.wait(PUMP_IDLE_SECONDS)
        elif tried < PUMP_BATCH:
            stop.wait(PUMP_LINGER_SECONDS)
    connection.close()


def worker_run(*, interval: float = 0.5, max_tasks: int | None = None, batch: bool = False) -> None:
    """Run until SIGTERM/SIGINT (or, with `batch`, until the queue is empty)."""
    from django_tasks_db.management.commands.db_worker import Worker

    load_handler_modules()
    worker_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    stop = threading.Event()
    started = threading.Event()
    worker = Worker(
        queue_names=["*"],
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    # Before the first heartbeat: a SIGTERM that comes as soon as the worker shows up still
    # goes through the clean shutdown below.
    worker.configure_signals()
    thread = threading.Thread(
        target=_housekeeping, args=(worker_id, started, stop), daemon=True, name="housekeeping"
    )
    pump = threading.Thread(target=_pump, args=(worker_id, stop), daemon=True, name="pump")
    try:
        thread.start()
        started.wait(10)
        if not batch:
            pump.start()
        worker.run()
        if batch:
            while outbox_pump(worker_id=worker_id):
                pass
    finally:
        stop.set()
        # Both threads finish their round first, so no heartbeat is written after this delete.
        if thread.is_alive():
            thread.join(HEARTBEAT_SECONDS * 2)
        if pump.is_alive():
            pump.join(HEARTBEAT_SECONDS * 2)
        # The signal may have cut a query short: start from a fresh connection.
        connection.close()
        WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
