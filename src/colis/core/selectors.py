"""Reads of the outbox and of the workers' state."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from colis.core.errors import ValidationError
from colis.core.models import OutboxMessage, OutboxStatus, WorkerHeartbeat


def outbox_list(*, status: str = "", kind: str = "") -> QuerySet[OutboxMessage]:
    """Newest first. Raises ValidationError for an unknown status."""
    qs = OutboxMessage.objects.order_by("-pk")
    if status:
        if status not in OutboxStatus.values:
            raise ValidationError(
                f"Unknown status {status!r}.",
                code="invalid_filter",
                fields={"status": f"One of {', '.join(OutboxStatus.values)}."},
            )
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def worker_last_seen() -> datetime | None:
    """When a worker last reported, if any runs or stopped uncleanly."""
    return WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
