"""Imports on each channel's schedule: the worker's housekeeping finds the channels that are due
and queues one import task each; a running import holds a lease on its channel, so a slow one
is never doubled. Every few hours an import re-reads the last two days (reconciliation)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from colis.channels.models import Channel
from colis.core.errors import Conflict, NotFound
from colis.core.worker import housekeeping_register

logger = logging.getLogger(__name__)

RECONCILE_EVERY = timedelta(hours=6)
RECONCILE_SPAN = timedelta(days=2)


@task(queue_name="default")
def channel_import_task(channel_id: int, reconcile: bool = False) -> dict:
    from colis.channels.importing import channel_import

    since = timezone.now() - RECONCILE_SPAN if reconcile else None
    try:
        summary = channel_import(channel_id=channel_id, since=since)
    except (Conflict, NotFound) as exc:
        return {"skipped": exc.message}
    if reconcile and not summary.errors:
        Channel.objects.filter(pk=channel_id).update(reconciled_at=timezone.now())
    return summary.as_dict()


def channels_due() -> list[tuple[int, bool]]:
    """(channel id, reconcile?) for each active channel whose import is due and not running."""
    now = timezone.now()
    due = []
    rows = (
        Channel.objects.filter(active=True, import_enabled=True)
        .filter(Q(import_lease_until__isnull=True) | Q(import_lease_until__lt=now))
        .values_list("pk", "last_import_at", "import_interval_seconds", "reconciled_at")
    )
    for pk, last, interval, reconciled in rows:
        if last is None or last + timedelta(seconds=interval) <= now:
            due.append((pk, reconciled is None or reconciled + RECONCILE_EVERY <= now))
    return due


def channels_schedule() -> int:
    """Queue the imports that are due (housekeeping job). Returns how many were queued."""
    queued = 0
    for channel_id, reconcile in channels_due():
        # Marked as started now, so the next beat does not queue it again while it waits.
        if Channel.objects.filter(pk=channel_id).update(last_import_at=timezone.now()):
            channel_import_task.enqueue(channel_id, reconcile)
            queued += 1
    return queued


housekeeping_register(channels_schedule, every=2)
