"""What an order's life tells the outside world: `order.created` and `order.updated` webhook
events, and the order confirmation to the buyer when asked for."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from colis.core.outbox import Effect, outbox_enqueue_new
from colis.orders.status import STATUS_NAMES


@dataclass(frozen=True, kw_only=True, slots=True)
class Created:
    order_id: int
    number: str
    email: str
    notify_customer: bool


def orders_created_queue(created: Sequence[Created]) -> None:
    """In the creating transaction: one `order.created` event per order, and an order
    confirmation for each order created with notify_customer."""
    effects = []
    for c in created:
        key = f"order:{c.order_id}:created"
        payload = {"order_id": c.order_id, "number": c.number, "event": "order.created"}
        effects.append(
            Effect(kind="webhook_event", idempotency_key=f"{key}:webhook", payload=payload,
                   order_id=c.order_id)
        )  # fmt: skip
        if c.notify_customer and c.email:
            effects.append(
                Effect(
                    kind="customer_email",
                    idempotency_key=f"{key}:email",
                    payload={**payload, "template": "order_confirmation", "to": c.email},
                    order_id=c.order_id,
                )
            )
    outbox_enqueue_new(effects)


@dataclass(frozen=True, kw_only=True, slots=True)
class Updated:
    order_id: int
    status: int
    fulfillment_status: str
    previous_status: int
    previous_fulfillment_status: str


def orders_updated_queue(updated: Sequence[Updated], at: datetime) -> None:
    """In the changing transaction: one `order.updated` event per order whose status or
    fulfillment status changed (keys are new by construction: the bulk path)."""
    outbox_enqueue_new(
        [
            Effect(
                kind="webhook_event",
                idempotency_key=f"order:{u.order_id}:updated:{at.isoformat()}:{uuid.uuid4().hex}",
                payload={
                    "order_id": u.order_id,
                    "event": "order.updated",
                    "status": STATUS_NAMES[u.status],
                    "fulfillment_status": u.fulfillment_status,
                    "previous": {
                        "status": STATUS_NAMES[u.previous_status],
                        "fulfillment_status": u.previous_fulfillment_status,
                    },
                },
                order_id=u.order_id,
            )
            for u in updated
        ]
    )
