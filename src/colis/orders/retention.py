"""The daily redaction run: the worker's housekeeping claims the day in the database (so many
workers start it once between them) and queues one task that redacts what is due."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from colis.core.actor import Actor
from colis.core.models import Shop
from colis.core.worker import housekeeping_register

logger = logging.getLogger(__name__)

EVERY = timedelta(days=1)
# Heartbeats between two looks at the stamp: about an hour.
CHECK_EVERY = 720


@task(queue_name="default")
def orders_redact_task() -> dict[str, Any]:
    from colis.orders.redaction import orders_redact

    report = orders_redact(now=timezone.now(), actor=Actor.system("retention"))
    if report.orders or report.channel_records:
        logger.info("redacted %s orders, %s channel records", len(report.orders),
                    report.channel_records)  # fmt: skip
    return report.as_dict()


def redaction_claim(now: datetime) -> bool:
    """Take today's run: true for the one caller that moves the stamp (a day after the last)."""
    Shop.objects.get_or_create(pk=1)
    return bool(
        Shop.objects.filter(pk=1)
        .filter(Q(redaction_ran_at__isnull=True) | Q(redaction_ran_at__lte=now - EVERY))
        .update(redaction_ran_at=now)
    )


def redaction_schedule() -> bool:
    """Queue the day's redaction when a retention rule exists and no one ran it in the last
    day (housekeeping job). True when queued."""
    from colis.orders.redaction import retention_rules

    now = timezone.now()
    if not retention_rules() or not redaction_claim(now):
        return False
    orders_redact_task.enqueue()
    return True


housekeeping_register(redaction_schedule, every=CHECK_EVERY)
