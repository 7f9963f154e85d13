from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from colis.accounts.roles import OUTBOX_MANAGE, READ
from colis.api.auth import require
from colis.api.pagination import Id, check_limit, cursor_decode, page
from colis.core.models import OutboxMessage
from colis.core.outbox import outbox_retry
from colis.core.selectors import outbox_list

router = Router(tags=["outbox"])


def message_out(m: OutboxMessage) -> dict[str, Any]:
    return {
        "id": m.pk,
        "kind": m.kind,
        "idempotency_key": m.idempotency_key,
        "status": m.status,
        "order_id": m.order_id,
        "attempts": m.attempts,
        "max_attempts": m.max_attempts,
        "next_attempt_at": m.next_attempt_at,
        "last_error": m.last_error,
        "created_at": m.created_at,
        "delivered_at": m.delivered_at,
    }


@router.get("", summary="Outgoing effects (emails, webhooks, pushes) and their delivery state")
def outbox_messages(
    request: HttpRequest,
    status: str = "",
    kind: str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    qs = outbox_list(status=status, kind=kind)
    if (after := cursor_decode(cursor)) is not None:
        qs = qs.filter(pk__lt=after)
    return page(list(qs[: limit + 1]), limit, message_out)


@router.post("/{message_id}/retry", summary="Deliver a failed message again")
def outbox_retry_one(request: HttpRequest, message_id: Id) -> Any:
    who = require(request, OUTBOX_MANAGE)
    return message_out(outbox_retry(message_id=message_id, actor=who))
