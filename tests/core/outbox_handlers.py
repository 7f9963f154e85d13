"""An outbox handler with a visible effect outside the database: a line appended to a file.

Loaded by worker subprocesses in tests through COLIS_OUTBOX_HANDLER_MODULES.
"""

from __future__ import annotations

import time

from colis.core.models import OutboxMessage
from colis.core.outbox import PermanentFailure, TemporaryFailure, outbox_handler


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
