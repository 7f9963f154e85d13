"""Order statuses (BigCommerce's fifteen, with their ids), transitions, and the derived
fulfillment status. One table, one function to check a move."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models

from colis.core.errors import Conflict


class OrderStatus(models.IntegerChoices):
    INCOMPLETE = 0, "Incomplete"
    PENDING = 1, "Pending"
    SHIPPED = 2, "Shipped"
    PARTIALLY_SHIPPED = 3, "Partially Shipped"
    REFUNDED = 4, "Refunded"
    CANCELLED = 5, "Cancelled"
    DECLINED = 6, "Declined"
    AWAITING_PAYMENT = 7, "Awaiting Payment"
    AWAITING_PICKUP = 8, "Awaiting Pickup"
    AWAITING_SHIPMENT = 9, "Awaiting Shipment"
    COMPLETED = 10, "Completed"
    AWAITING_FULFILLMENT = 11, "Awaiting Fulfillment"
    MANUAL_VERIFICATION_REQUIRED = 12, "Manual Verification Required"
    DISPUTED = 13, "Disputed"
    PARTIALLY_REFUNDED = 14, "Partially Refunded"


S = OrderStatus
STATUS_NAMES: dict[int, str] = {s.value: s.name.lower() for s in OrderStatus}
STATUS_BY_NAME: dict[str, OrderStatus] = {s.name.lower(): s for s in OrderStatus}
TERMINAL = frozenset({S.CANCELLED, S.DECLINED})

_AFTER_SALE = {S.DISPUTED, S.REFUNDED, S.PARTIALLY_REFUNDED}
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.INCOMPLETE: frozenset(
        {
            S.PENDING,
            S.AWAITING_PAYMENT,
            S.AWAITING_FULFILLMENT,
            S.MANUAL_VERIFICATION_REQUIRED,
            S.CANCELLED,
            S.DECLINED,
        }
    ),
    S.PENDING: frozenset(
        {
            S.AWAITING_PAYMENT,
            S.AWAITING_FULFILLMENT,
            S.MANUAL_VERIFICATION_REQUIRED,
            S.CANCELLED,
            S.DECLINED,
        }
    ),
    S.AWAITING_PAYMENT: frozenset(
        {S.PENDING, S.AWAITING_FULFILLMENT, S.MANUAL_VERIFICATION_REQUIRED, S.CANCELLED, S.DECLINED}
    ),
    S.MANUAL_VERIFICATION_REQUIRED: frozenset(
        {S.PENDING, S.AWAITING_PAYMENT, S.AWAITING_FULFILLMENT, S.CANCELLED, S.DECLINED}
    ),
    S.AWAITING_FULFILLMENT: frozenset(
        {
            S.AWAITING_SHIPMENT,
            S.AWAITING_PICKUP,
            S.PARTIALLY_SHIPPED,
            S.SHIPPED,
            S.MANUAL_VERIFICATION_REQUIRED,
            S.CANCELLED,
            *_AFTER_SALE,
        }
    ),
    S.AWAITING_SHIPMENT: frozenset(
        {
            S.AWAITING_FULFILLMENT,
            S.AWAITING_PICKUP,
            S.PARTIALLY_SHIPPED,
            S.SHIPPED,
            S.CANCELLED,
            *_AFTER_SALE,
        }
    ),
    S.AWAITING_PICKUP: frozenset(
        {
            S.AWAITING_FULFILLMENT,
            S.AWAITING_SHIPMENT,
            S.SHIPPED,
            S.COMPLETED,
            S.CANCELLED,
            *_AFTER_SALE,
        }
    ),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED, S.COMPLETED, S.AWAITING_SHIPMENT, *_AFTER_SALE}),
    S.SHIPPED: frozenset({S.COMPLETED, S.PARTIALLY_SHIPPED, *_AFTER_SALE}),
    S.COMPLETED: frozenset(_AFTER_SALE),
    S.DISPUTED: frozenset(
        {
            S.AWAITING_FULFILLMENT,
            S.SHIPPED,
            S.COMPLETED,
            S.REFUNDED,
            S.PARTIALLY_REFUNDED,
            S.CANCELLED,
        }
    ),
    S.PARTIALLY_REFUNDED: frozenset(
        {S.REFUNDED, S.COMPLETED, S.DISPUTED, S.SHIPPED, S.AWAITING_FULFILLMENT, S.CANCELLED}
    ),
    S.REFUNDED: frozenset({S.DISPUTED}),
    S.CANCELLED: frozenset(),
    S.DECLINED: frozenset(),
}


def status_transition_check(current: int, target: int) -> None:
    """Raise Conflict(`invalid_status_transition`) unless `current` may move to `target`."""
    if target not in TRANSITIONS[OrderStatus(current)]:
        raise Conflict(
            f"An order that is {STATUS_NAMES[current]} cannot become {STATUS_NAMES[target]}.",
            code="invalid_status_transition",
            fields={
                "status": {
                    "from": STATUS_NAMES[current],
                    "to": STATUS_NAMES[target],
                    "allowed": sorted(STATUS_NAMES[s] for s in TRANSITIONS[OrderStatus(current)]),
                }
            },
        )


class FinancialStatus(models.TextChoices):
    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    VOIDED = "voided"


INITIAL_STATUS: dict[str, OrderStatus] = {
    FinancialStatus.PENDING: S.AWAITING_PAYMENT,
    FinancialStatus.PARTIALLY_PAID: S.AWAITING_PAYMENT,
    FinancialStatus.PAID: S.AWAITING_FULFILLMENT,
    FinancialStatus.PARTIALLY_REFUNDED: S.AWAITING_FULFILLMENT,
    FinancialStatus.REFUNDED: S.REFUNDED,
    FinancialStatus.VOIDED: S.CANCELLED,
}


class FulfillmentStatus(models.TextChoices):
    UNFULFILLED = "unfulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"
    ON_HOLD = "on_hold"
    IN_PROGRESS = "in_progress"
    SCHEDULED = "scheduled"
    REQUEST_DECLINED = "request_declined"
    RESTOCKED = "restocked"


@dataclass(frozen=True, kw_only=True, slots=True)
class LineQuantities:
    ordered: int
    fulfilled: int
    cancelled: int
    restocked: int = 0


def fulfillment_status_derive(
    lines: Iterable[LineQuantities], fo_states: Iterable[str] = (), fo_requests: Iterable[str] = ()
) -> FulfillmentStatus:
    """The order's fulfillment status from its line quantities and its open FOs' states.

    Quantities decide first (fulfilled, partially fulfilled, restocked); an order with nothing
    shipped yet reports the state of its open fulfillment orders: a rejected request, then a
    hold, then work in progress, then a scheduled date.
    """
    lines = list(lines)
    live = [ln for ln in lines if ln.ordered - ln.cancelled > 0]
    fulfilled = sum(ln.fulfilled for ln in live)
    wanted = sum(ln.ordered - ln.cancelled for ln in live)
    if lines and not live and any(ln.restocked for ln in lines):
        return FulfillmentStatus.RESTOCKED
    if wanted and fulfilled >= wanted:
        return FulfillmentStatus.FULFILLED
    if fulfilled:
        return FulfillmentStatus.PARTIALLY_FULFILLED
    states, requests = set(fo_states), set(fo_requests)
    if "rejected" in requests:
        return FulfillmentStatus.REQUEST_DECLINED
    if "on_hold" in states:
        return FulfillmentStatus.ON_HOLD
    if "in_progress" in states:
        return FulfillmentStatus.IN_PROGRESS
    if "scheduled" in states:
        return FulfillmentStatus.SCHEDULED
    if lines and not live:
        return (
            FulfillmentStatus.RESTOCKED
            if any(ln.restocked for ln in lines)
            else (FulfillmentStatus.UNFULFILLED)
        )
    return FulfillmentStatus.UNFULFILLED
