"""Refunds: money given back on an order (for a return or not). The order's financial status
and status follow (partially_refunded, then refunded when the whole total is back); the buyer is
told and the channel the order came from gets the refund when its refund sync is on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.outbox import Effect, outbox_enqueue_many
from colis.core.timeline import event_record
from colis.orders.effects import Updated, orders_updated_queue
from colis.orders.models import Order, OrderLine
from colis.orders.services import order_lock
from colis.orders.status import (
    STATUS_NAMES,
    TRANSITIONS,
    FinancialStatus,
    OrderStatus,
)
from colis.returns.models import Refund, Return

REFUNDABLE = frozenset(
    {FinancialStatus.PAID, FinancialStatus.PARTIALLY_PAID, FinancialStatus.PARTIALLY_REFUNDED}
)
MAX_AMOUNT = Decimal("1e13")


@dataclass(frozen=True, kw_only=True, slots=True)
class RefundLine:
    """What part of a refund is for one order line (by id or SKU)."""

    quantity: int
    amount: Decimal | None = None
    line_id: int | None = None
    sku: str = ""


def _amount(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        amount = Decimal("NaN")
    if (
        not amount.is_finite()
        or amount < 0
        or amount >= MAX_AMOUNT
        or amount.as_tuple().exponent < -4
    ):  # type: ignore[operator]
        raise ValidationError(
            f"{field} is not a valid amount.",
            code="invalid_refund",
            fields={field: "A positive amount with at most 4 decimals."},
        )
    return amount


def _lines_resolve(order: Order, lines: Sequence[RefundLine]) -> list[dict[str, Any]]:
    order_lines = list(OrderLine.objects.filter(order_id=order.pk).order_by("position", "pk"))
    errors: dict[str, str] = {}
    out = []
    for i, rl in enumerate(lines):
        key = f"lines.{i}"
        if rl.line_id is not None:
            line = next((ln for ln in order_lines if ln.pk == rl.line_id), None)
        else:
            line = next((ln for ln in order_lines if ln.sku == rl.sku), None)
        if line is None:
            errors[f"{key}.line_id"] = "Not a line of this order."
            continue
        if not 1 <= rl.quantity <= line.quantity:
            errors[f"{key}.quantity"] = f"Between 1 and {line.quantity}."
            continue
        amount = None if rl.amount is None else _amount(rl.amount, f"{key}.amount")
        out.append(
            {
                "line_id": line.pk,
                "sku": line.sku,
                "external_line_id": line.external_line_id,
                "quantity": rl.quantity,
                "amount": None if amount is None else str(amount),
            }
        )
    if errors:
        raise ValidationError("The refund is not valid.", code="invalid_refund", fields=errors)
    return out


def refunded_total(order_id: int) -> Decimal:
    return Refund.objects.filter(order_id=order_id).aggregate(t=Sum("amount"))["t"] or Decimal(0)


def _status_after(order: Order, fully: bool) -> int | None:
    """The status a refund moves the order to, when the transition table allows it."""
    target = OrderStatus.REFUNDED if fully else OrderStatus.PARTIALLY_REFUNDED
    if order.status == target or target not in TRANSITIONS[OrderStatus(order.status)]:
        return None
    return target


def refund_create(
    *,
    order_id: int,
    amount: Any,
    currency: str,
    return_id: int | None = None,
    shipping_amount: Any = 0,
    lines: Sequence[RefundLine] = (),
    reason: str = "",
    notify_customer: bool = True,
    actor: Actor,
) -> Refund:
    """Record a refund. The amount is the total given back (lines and shipping included); it
    may not exceed what the order was paid minus earlier refunds. Raises ValidationError
    (fields), NotFound, Conflict (`order_not_paid`, `refund_above_paid`)."""
    amount = _amount(amount, "amount")
    shipping = _amount(shipping_amount or 0, "shipping_amount")
    if amount <= 0:
        raise ValidationError(
            "A refund gives back more than nothing.",
            code="invalid_refund",
            fields={"amount": "Must be above zero."},
        )
    if len(reason) > 500:
        raise ValidationError(
            "reason is too long.", code="invalid_refund", fields={"reason": "At most 500."}
        )
    with transaction.atomic():
        order = order_lock(order_id)
        if currency.upper() != order.currency:
            raise ValidationError(
                f"The order is in {order.currency}.",
                code="invalid_refund",
                fields={"currency": f"Must be {order.currency}."},
            )
        if (
            return_id is not None
            and not Return.objects.filter(pk=return_id, order_id=order.pk).exists()
        ):
            raise NotFound("No such return on this order.", code="return_not_found")
        if order.financial_status not in REFUNDABLE:
            raise Conflict(
                f"An order that is {order.financial_status} has nothing to refund.",
                code="order_not_paid",
                fields={"financial_status": order.financial_status},
            )
        resolved = _lines_resolve(order, lines)
        detailed = [Decimal(x["amount"]) for x in resolved if x["amount"] is not None]
        if resolved and len(detailed) == len(resolved) and sum(detailed) + shipping != amount:
            raise ValidationError(
                "The line amounts and shipping do not add up to the amount.",
                code="invalid_refund",
                fields={"amount": f"Lines and shipping add up to {sum(detailed) + shipping}."},
            )
        if shipping > amount:
            raise ValidationError(
                "The shipping part is above the amount.",
                code="invalid_refund",
                fields={"shipping_amount": "At most the amount."},
            )
        before = refunded_total(order.pk)
        left = order.total - before
        if amount > left:
            raise Conflict(
                f"At most {left} is left to refund on this order.",
                code="refund_above_paid",
                fields={"amount": {"refundable": str(left), "refunded": str(before)}},
            )
        now = timezone.now()
        refund = Refund.objects.create(
            order=order,
            rma_id=return_id,
            amount=amount,
            shipping_amount=shipping,
            currency=order.currency,
            reason=reason,
            lines=resolved,
            notify_customer=notify_customer,
            channel_push=order.channel_record_id is not None,
            created_at=now,
        )
        _order_refunded(order, refund, before + amount >= order.total, actor, now)
    return refund


def _order_refunded(order: Order, refund: Refund, fully: bool, actor: Actor, now: Any) -> None:
    previous_status, previous_financial = order.status, order.financial_status
    order.financial_status = (
        FinancialStatus.REFUNDED if fully else FinancialStatus.PARTIALLY_REFUNDED
    )
    target = _status_after(order, fully)
    if target is not None:
        order.status = target
    order.updated_at = now
    order.save(update_fields=["financial_status", "status", "updated_at"])
    event_record(
        subject_type="refund",
        subject_id=refund.pk,
        order_id=order.pk,
        kind="order_refunded",
        actor=actor,
        data={
            "amount": str(refund.amount),
            "shipping_amount": str(refund.shipping_amount),
            "currency": refund.currency,
            "reason": refund.reason,
            "return_id": refund.rma_id,
            "financial_status": {"from": previous_financial, "to": order.financial_status},
        },
    )
    if target is not None:
        event_record(
            subject_type="order",
            subject_id=order.pk,
            order_id=order.pk,
            kind="order_status_changed",
            actor=actor,
            data={"from": STATUS_NAMES[previous_status], "to": STATUS_NAMES[target],
                  "manual": False},
        )  # fmt: skip
        orders_updated_queue(
            [
                Updated(
                    order_id=order.pk,
                    status=order.status,
                    fulfillment_status=order.fulfillment_status,
                    previous_status=previous_status,
                    previous_fulfillment_status=order.fulfillment_status,
                )
            ],
            now,
        )
    effects = [
        Effect(
            kind="webhook_event",
            idempotency_key=f"refund:{refund.pk}:webhook",
            payload={"refund_id": refund.pk, "order_id": order.pk, "return_id": refund.rma_id,
                     "amount": str(refund.amount), "currency": refund.currency,
                     "event": "refund.created"},
            order_id=order.pk,
        )
    ]  # fmt: skip
    if refund.notify_customer and order.email:
        effects.append(
            Effect(
                kind="customer_email",
                idempotency_key=f"refund:{refund.pk}:email",
                payload={
                    "order_id": order.pk,
                    "template": "refund",
                    "to": order.email,
                    "event": "order.refunded",
                    "refund": {"amount": str(refund.amount), "reason": refund.reason},
                },
                order_id=order.pk,
            )
        )
    if refund.channel_push:
        effects.append(
            Effect(
                kind="channel_refund",
                idempotency_key=f"refund:{refund.pk}:channel",
                payload={"refund_id": refund.pk},
                order_id=order.pk,
            )
        )
    outbox_enqueue_many(effects)
