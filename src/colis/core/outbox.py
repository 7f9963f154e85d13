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
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound
from colis.core.models import OutboxMessage, OutboxStatus, WorkerHeartbeat
from colis.core.sql import fetch_all, in_list
from colis.core.timeline import event_record

logger = logging.getLogger(__name__)

# A handler delivers one row. It may return a function of database writes that record what it
# did (a delivery log, say): they run in one transaction with the row's delivered mark.
Handler = Callable[[OutboxMessage], Callable[[], None] | None]
ManyHandler = Callable[[Sequence[OutboxMessage]], None]
Preparer = Callable[[Sequence[OutboxMessage]], None]


@dataclass(frozen=True, slots=True)
class _Registered:
    deliver: Handler | None = None
    deliver_many: ManyHandler | None = None
    prepare: Preparer | None = None
    parallel: bool = False


_HANDLERS: dict[str, _Registered] = {}

BACKOFF_BASE_SECONDS = 10.0
DEAD_WORKER_SECONDS = 30.0  # six missed heartbeats
BACKOFF_CAP_SECONDS = 6 * 3600.0


class TemporaryFailure(Exception):
    """The effect may succeed later: retry with backoff.

    `transport_down` says the way out itself failed (the mail server is unreachable): the rest
    of the batch of the same kind is put back untried instead of failing one by one."""

    def __init__(
        self, *args: object, transport_down: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(*args)
        self.transport_down = transport_down
        # The far side said when to come back (Retry-After): not before then.
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """The effect will never succeed as it is: stop and show it as failed."""


def outbox_handler(
    kind: str, *, prepare: Preparer | None = None, parallel: bool = False
) -> Callable[[Handler], Handler]:
    """Register the function that delivers outbox rows of `kind`.

    `prepare(messages)` runs once per claimed batch of this kind, before any of them is
    delivered, and may set `message.prepared` on each (say, everything they need loaded in a
    few queries); the handler must still work when `prepared` is None.

    Rows of a kind go out one at a time per worker, so a crash can repeat at most the one in
    flight; a `parallel` kind, whose far side recognises a repeat by its key anyway (webhooks
    with their event id), is shared among the worker's lanes."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = _Registered(deliver=fn, prepare=prepare, parallel=parallel)
        return fn

    return register


def outbox_handler_many(kind: str) -> Callable[[ManyHandler], ManyHandler]:
    """Register a handler for rows of `kind` whose effect only writes to the database: it takes
    a lane's rows of this kind at once and runs in one transaction with their delivered marks,
    so each effect happens exactly once. Should that transaction fail, the rows are retried one
    by one, so one bad row does not hold back the others."""

    def register(fn: ManyHandler) -> ManyHandler:
        _HANDLERS[kind] = _Registered(deliver_many=fn)
        return fn

    return register


def outbox_handler_for(kind: str) -> Handler | None:
    entry = _HANDLERS.get(kind)
    return entry.deliver if entry else None


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
    return list(outbox_enqueue_keyed(effects).values())


def outbox_enqueue_new(effects: Sequence[Effect]) -> None:
    """Queue effects whose keys cannot exist yet (they name rows created in this transaction),
    on the bulk path: no conflict check, hundreds of rows a statement."""
    if not effects:
        return
    from colis.core.bulk import bulk_insert

    bulk_insert(OutboxMessage, OUTBOX_COLUMNS, _outbox_rows(effects))


def _outbox_rows(effects: Sequence[Effect]) -> list[tuple[Any, ...]]:
    now = timezone.now()
    return [
        (e.kind, e.idempotency_key, e.payload, e.order_id, OutboxStatus.PENDING, 0,
         e.max_attempts, now, "", "", now)
        for e in effects
    ]  # fmt: skip


def outbox_enqueue_keyed(effects: Sequence[Effect]) -> dict[str, int]:
    """`outbox_enqueue_many`, returning the new rows' ids by idempotency key."""
    if not effects:
        return {}
    from colis.core.bulk import bulk_insert

    inserted = bulk_insert(
        OutboxMessage, OUTBOX_COLUMNS, _outbox_rows(effects), returning=("id", "idempotency_key"),
        on_conflict_skip=True,
    )  # fmt: skip
    return {key: pk for pk, key in inserted}


def outbox_pump(
    *,
    worker_id: str,
    limit: int = 200,
    stop: threading.Event | None = None,
    lanes: int = 1,
) -> int:
    """Claim up to `limit` due rows, oldest first, in one statement, and deliver them, recording
    each outcome as soon as it is known; returns how many were claimed.

    With `lanes` > 1 the rows of `parallel` kinds are shared among that many threads, each with
    its own database and network connections, so one slow receiver does not hold up the rest;
    the rows of one order share a lane, so they go out in the order they were queued. The other
    rows go out one after the other on one more thread. (Lanes need committed rows: the worker,
    not a test transaction.)

    A batch never outlives half the claim's lease: rows still untried by then (or when `stop`
    is set, or when the way out for their kind is down) are put back untouched, so no other
    worker can take over a row this one may still send. A row that also has a task is
    delivered once all the same (every claim and outcome is fenced).
    """
    batch = _claim(worker_id, limit=limit)
    if not batch:
        return 0
    deadline = time.monotonic() + settings.COLIS_OUTBOX_LEASE_SECONDS / 2
    _prepare(batch)
    if lanes <= 1 or len(batch) == 1:
        _lane(batch, worker_id, deadline, stop)
        return len(batch)
    done = 0
    while batch:
        futures = _dispatch(batch, worker_id, deadline, stop, lanes)
        done += len(batch)
        # While the lanes deliver this batch, the next one is claimed and prepared.
        following: list[OutboxMessage] = []
        if len(batch) == limit and not (stop is not None and stop.is_set()):
            following = _claim(worker_id, limit=limit)
            if following:
                next_deadline = time.monotonic() + settings.COLIS_OUTBOX_LEASE_SECONDS / 2
                _prepare(following)
        for future in futures:
            future.result()
        if following:
            deadline = next_deadline
        batch = following
    return done


def _dispatch(
    batch: Sequence[OutboxMessage],
    worker_id: str,
    deadline: float,
    stop: threading.Event | None,
    lanes: int,
) -> list[Future[None]]:
    """Hand a batch to the lanes: parallel kinds by order, the rest to the serial lane."""
    groups: list[list[OutboxMessage]] = [[] for _ in range(lanes + 1)]
    for message in batch:
        entry = _HANDLERS.get(message.kind)
        lane = (message.order_id or message.pk) % lanes if entry and entry.parallel else lanes
        groups[lane].append(message)
    pool = _lane_pool(lanes + 1)
    return [pool.submit(_lane, g, worker_id, deadline, stop, True) for g in groups if g]


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _lane_pool(lanes: int) -> ThreadPoolExecutor:
    pool = _POOLS.get(lanes)
    if pool is None:
        pool = _POOLS[lanes] = ThreadPoolExecutor(lanes, thread_name_prefix="outbox-lane")
    return pool


def _lane(
    messages: Sequence[OutboxMessage],
    worker_id: str,
    deadline: float,
    stop: threading.Event | None,
    pooled: bool = False,
) -> None:
    """Deliver these claimed rows one after the other (see `outbox_pump`)."""
    if pooled:
        close_old_connections()
    many: dict[str, list[OutboxMessage]] = {}
    for message in messages:
        entry = _HANDLERS.get(message.kind)
        if entry is not None and entry.deliver_many is not None:
            many.setdefault(message.kind, []).append(message)
    for kind, rows in many.items():
        if _run_many(rows):
            messages = [m for m in messages if m.kind != kind]
    down: set[str] = set()
    for i, message in enumerate(messages):
        if time.monotonic() > deadline or (stop is not None and stop.is_set()):
            _unclaim(messages[i:], worker_id)
            return
        if message.kind in down:
            _unclaim([message], worker_id, delay=BACKOFF_BASE_SECONDS)
            continue
        try:
            if _run(message) == "transport_down":
                down.add(message.kind)
        except Exception:
            # Recording the outcome failed (the database went away): the claim stays and the
            # lease hands the row to a worker again.
            logger.exception("outbox: recording the outcome of %s failed", message.pk)


def outbox_deliver(*, message_id: int, worker_id: str = "worker") -> str:
    """Deliver one due row. Returns delivered, retry, failed, parked (no handler for its kind
    yet) or skipped (not due or taken)."""
    batch = _claim(worker_id, ids=[message_id])
    if not batch:
        return "skipped"
    _prepare(batch)
    outcome = _run(batch[0])
    return "retry" if outcome == "transport_down" else outcome


# The due ids are picked once: PostgreSQL computes `ARRAY(SELECT …)` a single time, where an
# `IN (SELECT … LIMIT n)` may be run again per row and claim past the limit.
_CLAIM_SQL = """
UPDATE core_outboxmessage SET status = %s, claimed_at = %s, claimed_by = %s,
    attempts = attempts + 1
WHERE status = %s AND id {pick} (
    SELECT id FROM core_outboxmessage WHERE status = %s AND next_attempt_at <= %s {ids}
    ORDER BY id LIMIT %s {lock}){close}
RETURNING id
"""


def _claim(
    worker_id: str, *, limit: int = 1, ids: Sequence[int] | None = None
) -> list[OutboxMessage]:
    """Mark due rows in flight for this worker in one statement (concurrent claimers skip
    each other's rows) and load them."""
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    pg = connection.vendor == "postgresql"
    lock = "FOR UPDATE SKIP LOCKED" if pg else ""
    id_filter = f"AND id IN ({in_list(ids)})" if ids else ""
    params: list[Any] = [OutboxStatus.IN_FLIGHT, stamp, worker_id, OutboxStatus.PENDING,
                         OutboxStatus.PENDING, stamp, *(ids or ()),
                         len(ids) if ids else limit]  # fmt: skip
    with transaction.atomic():
        sql = _CLAIM_SQL.format(
            ids=id_filter, lock=lock, pick="= ANY(ARRAY" if pg else "IN", close=")" if pg else ""
        )
        claimed = [r[0] for r in fetch_all(sql, params)]
    if not claimed:
        return []
    return list(OutboxMessage.objects.filter(pk__in=claimed).order_by("pk"))


def _unclaim(messages: Sequence[OutboxMessage], worker_id: str, *, delay: float = 0.0) -> None:
    """Put claimed rows back untried (the attempt is not counted)."""
    OutboxMessage.objects.filter(
        pk__in=[m.pk for m in messages], status=OutboxStatus.IN_FLIGHT, claimed_by=worker_id
    ).update(
        status=OutboxStatus.PENDING,
        attempts=F("attempts") - 1,
        claimed_at=None,
        claimed_by="",
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )


def _prepare(batch: Sequence[OutboxMessage]) -> None:
    kinds: dict[str, list[OutboxMessage]] = {}
    for message in batch:
        kinds.setdefault(message.kind, []).append(message)
    for kind, messages in kinds.items():
        entry = _HANDLERS.get(kind)
        if entry is None or entry.prepare is None:
            continue
        try:
            entry.prepare(messages)
        except Exception:
            # Each handler loads what it needs itself when nothing was prepared.
            logger.exception("outbox: preparing a batch of %s failed", kind)
            for message in messages:
                message.prepared = None


class _ClaimLost(Exception):
    pass


def _run_many(messages: Sequence[OutboxMessage]) -> bool:
    """Deliver rows of one database-only kind in one transaction with their delivered marks.
    Returns False (nothing written) when they are to be tried one by one instead."""
    deliver_many = _HANDLERS[messages[0].kind].deliver_many
    assert deliver_many is not None
    try:
        with transaction.atomic():
            deliver_many(messages)
            if _record_delivered_many(messages) != len(messages):
                raise _ClaimLost
    except Exception as exc:
        logger.info("outbox: %s rows of %s go one by one: %s", len(messages), messages[0].kind, exc)
        return False
    return True


def _run(message: OutboxMessage) -> str:
    """Deliver one claimed row and record the outcome: delivered, retry, failed, parked,
    skipped (the claim was taken over meanwhile) or transport_down (retry; the way out for
    this kind is down)."""
    entry = _HANDLERS.get(message.kind)
    if entry is None:
        _park(message)
        return "parked"
    try:
        if entry.deliver_many is not None:
            with transaction.atomic():
                entry.deliver_many([message])
                if not _record_delivered(message):
                    raise _ClaimLost
            return "delivered"
        assert entry.deliver is not None
        after = entry.deliver(message)
    except _ClaimLost:
        return "skipped"
    except PermanentFailure as exc:
        _record_failure(message, f"{type(exc).__name__}: {exc}", permanent=True)
        return "failed"
    except Exception as exc:
        logger.warning(
            "outbox %s (%s) attempt %s failed: %s", message.pk, message.kind, message.attempts, exc
        )
        _record_failure(
            message,
            f"{type(exc).__name__}: {exc}",
            permanent=False,
            not_before=getattr(exc, "retry_after", None),
        )
        if message.status == OutboxStatus.FAILED:
            return "failed"
        return "transport_down" if getattr(exc, "transport_down", False) else "retry"
    if after is None:
        _record_delivered(message)
    else:
        with transaction.atomic():
            if _record_delivered(message):
                try:
                    with transaction.atomic():
                        after()
                except Exception:
                    # The effect happened: it stays delivered even if its log could not be written.
                    logger.exception("outbox %s: recording what was delivered failed", message.pk)
    return "delivered"


_DELIVERED_SQL = (
    "UPDATE core_outboxmessage SET status = %s, delivered_at = %s, claimed_at = NULL, "
    "last_error = '' WHERE id IN ({ids}) AND status = %s AND claimed_by = %s"
)


def _record_delivered(message: OutboxMessage) -> bool:
    """Mark the row delivered, if the claim is still ours (fenced). One plain statement: it
    runs once per message sent."""
    return _record_delivered_many([message]) == 1


def _record_delivered_many(messages: Sequence[OutboxMessage]) -> int:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    ids = [m.pk for m in messages]
    with connection.cursor() as cursor:
        cursor.execute(
            _DELIVERED_SQL.format(ids=in_list(ids)),
            [OutboxStatus.DELIVERED, now, *ids, OutboxStatus.IN_FLIGHT, messages[0].claimed_by],
        )
        return cursor.rowcount


def _record_failure(
    message: OutboxMessage, error: str, *, permanent: bool, not_before: float | None = None
) -> None:
    claimed_by = message.claimed_by
    message.last_error = error[:2000]
    if permanent or message.attempts >= message.max_attempts:
        message.status = OutboxStatus.FAILED
    else:
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = timezone.now() + timedelta(
            seconds=max(backoff_delay(message.attempts), not_before or 0.0)
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


LAST_ATTEMPT_CUT = "its last attempt was cut short."


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
        # A worker that died held a whole batch, of which one row at most was being sent: a
        # row claimed on its last attempt gets one more, and fails only when its delivery was
        # already cut short that way before (a message that keeps killing its worker).
        again = f"{LAST_ATTEMPT_CUT}"
        exhausted = [
            m for m in stale if m.attempts >= m.max_attempts and m.last_error.endswith(again)
        ]
        for m in stale:
            if m.attempts >= m.max_attempts and m not in exhausted:
                m.attempts = m.max_attempts - 1
                m.last_error = f"Worker {m.claimed_by} stopped mid-batch; {LAST_ATTEMPT_CUT}"
                m.save(update_fields=["attempts", "last_error"])
        stale = [m for m in stale if m not in exhausted]
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
            if not message.last_error.endswith(LAST_ATTEMPT_CUT):
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
