"""An outbox handler with a visible effect outside the database: a line appended to a file.

Loaded by worker subprocesses in tests through COLIS_OUTBOX_HANDLER_MODULES.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from colis.core.actor import Actor
from colis.core.models import OutboxMessage
from colis.core.outbox import (
    PermanentFailure,
    TemporaryFailure,
    outbox_handler,
    outbox_handler_many,
)
from colis.core.timeline import event_record


@outbox_handler("test_append")
def append_line(message: OutboxMessage) -> None:
    payload = message.payload
    if payload.get("fail") == "temporary":
        raise TemporaryFailure("the far side is down")
    if payload.get("fail") == "permanent":
        raise PermanentFailure("the far side refused it")
    time.sleep(float(payload.get("sleep", 0)))
    with open(payload["path"], "a") as f:
        f.write(message.idempotency_key + "\n")


@outbox_handler("test_append_parallel", parallel=True)
def append_line_in_a_lane(message: OutboxMessage) -> None:
    """Like test_append, for a kind shared among lanes: the line says which order, which row
    and which thread."""
    time.sleep(float(message.payload.get("sleep", 0)))
    line = f"{message.order_id} {message.pk} {threading.current_thread().name}\n"
    with open(message.payload["path"], "a") as f:
        f.write(line)


@outbox_handler("test_transport")
def append_line_unless_the_way_out_is_down(message: OutboxMessage) -> None:
    if message.payload.get("down"):
        raise TemporaryFailure("the way out is down", transport_down=True)
    with open(message.payload["path"], "a") as f:
        f.write(message.idempotency_key + "\n")


# The rows each call of the many-handler was given, in order.
MANY_CALLS: list[list[int]] = []


@outbox_handler_many("test_record_many")
def record_many(messages: Sequence[OutboxMessage]) -> None:
    """A database-only effect: one timeline row per message, written in the caller's
    transaction."""
    MANY_CALLS.append([m.pk for m in messages])
    for message in messages:
        fail = message.payload.get("fail")
        if fail == "permanent":
            raise PermanentFailure("this row can never be recorded")
        if fail:
            raise ValueError("this row cannot be recorded now")
        event_record(
            subject_type="outbox",
            subject_id=message.pk,
            order_id=message.order_id,
            kind="test_recorded",
            actor=Actor.system("tests"),
            data={"key": message.idempotency_key},
        )
