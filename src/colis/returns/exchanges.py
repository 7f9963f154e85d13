"""Exchanges: a replacement order for a return, routed like any order, held until the returned
items are back when the merchant asks for that."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from decimal import Decimal

from django.db import transaction

from colis.core.actor import Actor
from colis.core.errors import Conflict, ValidationError
from colis.fulfillment.status import HoldReason
from colis.orders.drafts import LineDraft, OrderDraft
from colis.orders.models import Order
from colis.orders.services import order_create
from colis.returns.services import return_event, return_lock
from colis.returns.status import ReturnState

EXCHANGEABLE = frozenset(
    {
        ReturnState.REQUESTED,
        ReturnState.APPROVED,
        ReturnState.IN_TRANSIT,
        ReturnState.RECEIVED,
        ReturnState.INSPECTED,
        ReturnState.CLOSED,
    }
)


def _exchange_number(return_number: str) -> str | None:
    """`<return>-X`; None (a generated number) when that would not fit an order number."""
    number = f"{return_number}-X"
    return number if len(number) <= Order._meta.get_field("number").max_length else None


def return_exchange_create(
    *,
    return_id: int,
    lines: Sequence[tuple[str, int]],
    wait_for_items: bool = True,
    actor: Actor,
) -> Order:
    """Create the replacement order for a return: (sku, quantity) pairs, at no charge, to the
    buyer's address. With `wait_for_items`, its fulfillment orders hold for
    awaiting_return_items until every returned unit has arrived. Raises ValidationError,
    Conflict (`exchange_exists`, `invalid_return_transition`)."""
    if not lines:
        raise ValidationError(
            "Name what the buyer receives instead.",
            code="invalid_exchange",
            fields={"lines": "At least one line."},
        )
    with transaction.atomic():
        original, rma = return_lock(return_id)
        if rma.state not in EXCHANGEABLE:
            raise Conflict(
                f"A return that is {rma.state} cannot get an exchange.",
                code="invalid_return_transition",
            )
        if rma.exchange_order_id:
            raise Conflict(
                "This return has its exchange order already.",
                code="exchange_exists",
                fields={"exchange_order_id": rma.exchange_order_id},
            )
        result = order_create(
            draft=OrderDraft(
                email=original.email,
                phone=original.phone,
                locale=original.locale,
                shipping_address=dict(original.shipping_address),
                billing_address=original.billing_address,
                currency=original.currency,
                financial_status="paid",
                lines=tuple(
                    LineDraft(sku=sku, quantity=quantity, unit_price=Decimal(0))
                    for sku, quantity in lines
                ),
                number=_exchange_number(rma.number),
                shipping_method=original.shipping_method,
                tags=("exchange",),
                note=f"Exchange for return {rma.number} of order {original.number}.",
            ),
            actor=actor,
        )
        assert result.order_id is not None
        # A closed return waits for nothing more: what had not arrived will not.
        back = rma.state == ReturnState.CLOSED or all(
            ln.quantity_received >= ln.quantity for ln in rma.lines.all()
        )
        rma.exchange_order_id = result.order_id
        rma.exchange_waits_for_items = wait_for_items and not back
        rma.save(update_fields=["exchange_order", "exchange_waits_for_items"])
        if rma.exchange_waits_for_items:
            from colis.fulfillment.services import order_hold

            # Conflict: nothing to hold (no open fulfillment order: it waits for stock).
            with suppress(Conflict):
                order_hold(
                    order_id=result.order_id,
                    reason=HoldReason.AWAITING_RETURN_ITEMS,
                    notes=f"Ships when the items of return {rma.number} are back.",
                    notify_customer=False,
                    actor=actor,
                )
        return_event(
            rma,
            "return_exchange_created",
            actor,
            {"order_id": result.order_id, "number": result.number, "waits": wait_for_items},
        )
    return Order.objects.get(pk=result.order_id)
