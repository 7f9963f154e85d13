"""The outbox: effects outside the database, delivered by the worker, each exactly once.

A service that causes an effect calls `outbox_enqueue` inside its own transaction, so the row
exists if and only if the change committed. The worker claims a row (`SKIP LOCKED` on
PostgreSQL), calls the handler for its kind *outside* any transaction, then records the outcome.
Handlers receive the row's stable `idempotency_key` so the far side can drop a repeat; a row is
repeated only when a worker dies between the call and recording its outcome (the claim's lease
then expires and another worker picks the row up again).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound
from colis.core.models import OutboxMessage, OutboxStatus, WorkerHeartbeat
from colis.core.timeline import event_record

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxMessage], None]
_HANDLERS: dict[str, Handler] = {}

BACKOFF_BASE_SECONDS = 10.0
DEAD_WORKER_SECONDS = 30.0  # six missed heartbeats
BACKOFF_CAP_SECONDS = 6 * 3600.0


class TemporaryFailure(Exception):
    """The effect may succeed later: retry with backoff."""


class PermanentFailure(Exception):
    """The effect will never succeed as it is: stop and show it as failed."""


def outbox_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that delivers outbox rows of `kind`."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


def outbox_handler_for(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)


def backoff_delay(attempts: int, *, rng: random.Random | None = None) -> float:
    """Seconds before attempt `attempts + 1`: exponential, capped, with full jitter on half."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** max(attempts - 1, 0)))
    r = (rng or random).random()
    return ceiling / 2 + r * ceiling / 2


def _schedule(message: OutboxMessage) -> None:
    from colis.core.tasks import outbox_deliver_task

    task = outbox_deliver_task
    if message.next_attempt_at > timezone.now():
        task = task.using(run_after=message.next_attempt_at)
    task.enqueue(message.pk)


def outbox_enqueue(
    *,
    kind: str,
    idempotency_key: str,
    payload: dict[str, Any],
    order_id: int | None = None,
    max_attempts: int = 12,
) -> OutboxMessage:
    """Queue one effect in the caller's transaction; the same key queues it once only."""
    now = timezone.now()
    existing = OutboxMessage.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                kind=kind,
                idempotency_key=idempotency_key,
                payload=payload,
                order_id=order_id,
                max_attempts=max_attempts,
                next_attempt_at=now,
                created_at=now,
            )
            _schedule(message)
    except IntegrityError:
        return OutboxMessage.objects.get(idempotency_key=idempotency_key)
    return message


@dataclass(frozen=True, kw_only=True, slots=True)
class Effect:
    """One outbox row to queue with `outbox_enqueue_many`."""

    kind: str
    idempotency_key: str
    payload: dict[str, Any]
    order_id: int | None = None
    max_attempts: int = 12


OUTBOX_COLUMNS = (
    "kind",
    "idempotency_key",
    "payload",
    "order_id",
    "status",
    "attempts",
    "max_attempts",
    "next_attempt_at",
    "claimed_by",
    "last_error",
    "created_at",
)


def outbox_enqueue_many(effects: Sequence[Effect]) -> list[int]:
    """Queue several effects in the caller's transaction with one insert; the worker's outbox
    pump (`outbox_pump`) picks them up. A key queued before is skipped (its row stays as it
    is). Returns the new rows' ids."""
    if not effects:
        return []
    from colis.core.bulk import bulk_insert

    now = timezone.now()
    rows = [
        (e.kind, e.idempotency_key, e.payload, e.order_id, OutboxStatus.PENDING, 0,
         e.max_attempts, now, "", "", now)
        for e in effects
    ]  # fmt: skip
    return [
        r[0]
        for r in bulk_insert(
            OutboxMessage, OUTBOX_COLUMNS, rows, returning=("id",), on_conflict_skip=True
        )
    ]


def outbox_pump(*, worker_id: str, limit: int = 100) -> int:
    """Deliver up to `limit` due rows, oldest first; returns how many this call tried.

    Rows queued with `outbox_enqueue_many` have no task of their own: the worker runs this in a
    loop. A row that also has a task is delivered once all the same (the claim is fenced).
    """
    due = list(
        OutboxMessage.objects.filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(outbox_deliver(message_id=pk, worker_id=worker_id) != "skipped" for pk in due)


def _claim(message_id: int, worker_id: str) -> OutboxMessage | None:
    now = timezone.now()
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if message is None:
            return None
        message.status = OutboxStatus.IN_FLIGHT
        message.claimed_at = now
        message.claimed_by = worker_id
        message.attempts += 1
        message.save(update_fields=["status", "claimed_at", "claimed_by", "attempts"])
    return message


def _record_failure(message: OutboxMessage, error: str, *, permanent: bool) -> None:
    claimed_by = message.claimed_by
    message.last_error = error[:2000]
    if permanent or message.attempts >= message.max_attempts:
        message.status = OutboxStatus.FAILED
    else:
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = timezone.now() + timedelta(
            seconds=backoff_delay(message.attempts)
        )
    with transaction.atomic():
        # Fenced: only the claim that is still ours records an outcome; a claim taken over
        # after its lease ran out belongs to the new worker now.
        updated = OutboxMessage.objects.filter(
            pk=message.pk, status=OutboxStatus.IN_FLIGHT, claimed_by=claimed_by
        ).update(
            status=message.status,
            last_error=message.last_error,
            claimed_at=None,
            claimed_by="",
            next_attempt_at=message.next_attempt_at,
        )
        if not updated:
            return
        if message.status == OutboxStatus.PENDING:
            _schedule(message)
        else:
            _failed_event(message)


def _failed_event(message: OutboxMessage) -> None:
    """A failed delivery shows on the timeline of the order it was for."""
    if message.order_id is not None:
        event_record(
            subject_type="outbox",
            subject_id=message.pk,
            order_id=message.order_id,
            kind="outbox_failed",
            actor=Actor.system("worker"),
            data={"kind": message.kind, "error": message.last_error[:500]},
        )


PARK_SECONDS = 24 * 3600.0


def _park(message: OutboxMessage) -> None:
    """No transport delivers this kind in this installation yet: keep the row, untried, and
    look again later (the recovery pass requeues it), so nothing queued is lost."""
    OutboxMessage.objects.filter(
        pk=message.pk, status=OutboxStatus.IN_FLIGHT, claimed_by=message.claimed_by
    ).update(
        status=OutboxStatus.PENDING,
        attempts=message.attempts - 1,
        claimed_at=None,
        claimed_by="",
        next_attempt_at=timezone.now() + timedelta(seconds=PARK_SECONDS),
        last_error=f"No handler delivers {message.kind!r} yet; kept for later.",
    )


def outbox_deliver(*, message_id: int, worker_id: str = "worker") -> str:
    """Deliver one due row. Returns delivered, retry, failed, parked (no handler for its kind
    yet) or skipped (not due or taken)."""
    message = _claim(message_id, worker_id)
    if message is None:
        return "skipped"
    handler = outbox_handler_for(message.kind)
    if handler is None:
        _park(message)
        return "parked"
    try:
        handler(message)
    except PermanentFailure as exc:
        _record_failure(message, f"{type(exc).__name__}: {exc}", permanent=True)
        return "failed"
    except Exception as exc:
        logger.warning(
            "outbox %s (%s) attempt %s failed: %s", message.pk, message.kind, message.attempts, exc
        )
        _record_failure(message, f"{type(exc).__name__}: {exc}", permanent=False)
        return "failed" if message.status == OutboxStatus.FAILED else "retry"
    OutboxMessage.objects.filter(
        pk=message.pk, status=OutboxStatus.IN_FLIGHT, claimed_by=message.claimed_by
    ).update(
        status=OutboxStatus.DELIVERED,
        delivered_at=timezone.now(),
        claimed_at=None,
        last_error="",
    )
    return "delivered"


def outbox_retry(*, message_id: int, actor: Actor) -> OutboxMessage:
    """Put a failed row back in the queue now (by hand). Raises NotFound, Conflict."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            raise NotFound("No such outbox message.", code="outbox_message_not_found")
        if message.status != OutboxStatus.FAILED:
            raise Conflict(
                f"Only a failed message can be retried; this one is {message.status}.",
                code="outbox_not_failed",
            )
        message.status = OutboxStatus.PENDING
        message.attempts = 0
        message.next_attempt_at = timezone.now()
        message.save(update_fields=["status", "attempts", "next_attempt_at"])
        _schedule(message)
        event_record(
            subject_type="outbox",
            subject_id=message.pk,
            order_id=message.order_id,
            kind="outbox_retried",
            actor=actor,
            data={"kind": message.kind},
        )
    return message


def outbox_recover(*, lease_seconds: float | None = None, overdue_seconds: float = 600) -> int:
    """Requeue rows whose worker died mid-delivery and due rows whose task was lost."""
    lease = lease_seconds if lease_seconds is not None else settings.COLIS_OUTBOX_LEASE_SECONDS
    now = timezone.now()
    requeued = 0
    with transaction.atomic():
        # A claim is stale after the lease, or as soon as its worker's heartbeat has stopped
        # (a worker killed mid-delivery is noticed in half a minute, not after the lease).
        dead = WorkerHeartbeat.objects.filter(
            seen_at__lt=now - timedelta(seconds=DEAD_WORKER_SECONDS)
        ).values("worker_id")
        stale = list(
            OutboxMessage.objects.select_for_update(skip_locked=True).filter(
                Q(claimed_at__lt=now - timedelta(seconds=lease)) | Q(claimed_by__in=dead),
                status=OutboxStatus.IN_FLIGHT,
            )[:500]
        )
        overdue = list(
            OutboxMessage.objects.select_for_update(skip_locked=True).filter(
                status=OutboxStatus.PENDING,
                next_attempt_at__lt=now - timedelta(seconds=overdue_seconds),
            )[:500]
        )
        exhausted = [m for m in stale if m.attempts >= m.max_attempts]
        stale = [m for m in stale if m.attempts < m.max_attempts]
        for message in exhausted:
            # A message whose delivery kept killing its worker stops here, visibly.
            message.status = OutboxStatus.FAILED
            message.claimed_at = None
            message.last_error = (
                f"Worker {message.claimed_by} stopped mid-delivery on the last attempt."
            )
            message.claimed_by = ""
            message.save(update_fields=["status", "claimed_at", "claimed_by", "last_error"])
            _failed_event(message)
        for message in stale:
            message.status = OutboxStatus.PENDING
            message.claimed_at = None
            message.next_attempt_at = now
            message.last_error = f"Worker {message.claimed_by} stopped mid-delivery."
            message.claimed_by = ""
            message.save(
                update_fields=[
                    "status",
                    "claimed_at",
                    "claimed_by",
                    "next_attempt_at",
                    "last_error",
                ]
            )
        for message in stale + overdue:
            message.next_attempt_at = now
            _schedule(message)
            requeued += 1
        if overdue:
            OutboxMessage.objects.filter(pk__in=[m.pk for m in overdue]).update(next_attempt_at=now)
    return requeued
