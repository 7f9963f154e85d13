"""HTTP API for returns (RMAs) and refunds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, model_validator

from colis.accounts.roles import ORDERS_WRITE, READ, REFUNDS_WRITE, SERVICE_WORK
from colis.api.auth import require
from colis.api.orders import _money, event_out
from colis.api.orders import router as order_router
from colis.api.pagination import (
    CREATED,
    Id,
    check_limit,
    cursor_decode,
    datetime_in_range,
    page,
)
from colis.core.actor import Actor
from colis.returns.exchanges import return_exchange_create
from colis.returns.models import Refund, Return
from colis.returns.receiving import ReceivedUnits, return_inspect, return_receive, return_restock
from colis.returns.refunds import RefundLine, refund_create
from colis.returns.selectors import (
    refunds_for_order,
    return_event_page,
    return_get,
    return_page,
    returnable_lines,
)
from colis.returns.services import (
    ReturnLineDraft,
    return_approve,
    return_cancel,
    return_close,
    return_create,
    return_reject,
    return_tracking_set,
)
from colis.returns.status import Condition, Disposition, ReturnReason, ReturnState

router = Router(tags=["returns"])


def _scope(who: Actor) -> int | None:
    """A fulfillment service sees and handles only returns of orders it fulfilled."""
    if who.kind != "service":
        return None
    from colis.partners.selectors import service_location_id

    return service_location_id(service_id=who.id)


# --- shapes ---------------------------------------------------------------------------


def refund_out(r: Refund) -> dict[str, Any]:
    return {
        "id": r.pk,
        "order_id": r.order_id,
        "return_id": r.rma_id,
        "amount": _money(r.amount),
        "shipping_amount": _money(r.shipping_amount),
        "currency": r.currency,
        "reason": r.reason,
        "lines": r.lines,
        "channel_push": r.channel_push,
        "created_at": r.created_at,
    }


def return_out(rma: Return) -> dict[str, Any]:
    return {
        "id": rma.pk,
        "number": rma.number,
        "order_id": rma.order_id,
        "order_number": rma.order.number,
        "state": rma.state,
        "source": rma.source,
        "location_id": rma.location_id,
        "note": rma.note,
        "rejection_reason": rma.rejection_reason,
        "cancel_reason": rma.cancel_reason,
        "return_tracking": {
            "carrier": rma.return_carrier,
            "number": rma.return_tracking_number,
            "url": rma.return_tracking_url,
        },
        "exchange_order_id": rma.exchange_order_id,
        "exchange_waits_for_items": rma.exchange_waits_for_items,
        "lines": [
            {
                "id": ln.pk,
                "line_id": ln.order_line_id,
                "sku": ln.sku,
                "quantity": ln.quantity,
                "reason": ln.reason,
                "note": ln.note,
                "received": ln.quantity_received,
                "resellable": ln.quantity_resellable,
                "damaged": ln.quantity_damaged,
                "defective": ln.quantity_defective,
                "restocked": ln.quantity_restocked,
                "unsellable": ln.quantity_unsellable,
                "written_off": ln.quantity_written_off,
            }
            for ln in rma.lines.all()
        ],
        "receipts": [
            {
                "id": r.pk,
                "line_id": r.line.order_line_id,
                "sku": r.line.sku,
                "location_id": r.location_id,
                "quantity": r.quantity,
                "condition": r.condition or None,
                "disposition": r.disposition or None,
                "applied": r.applied_at is not None,
                "created_at": r.created_at,
            }
            for r in rma.receipts.all()
        ],
        "refunds": [refund_out(r) for r in rma.refunds.all()],
        "created_at": rma.created_at,
        "updated_at": rma.updated_at,
        "approved_at": rma.approved_at,
        "received_at": rma.received_at,
        "closed_at": rma.closed_at,
    }


def _read(return_id: int, who: Actor) -> dict[str, Any]:
    return return_out(return_get(return_id=return_id, location_id=_scope(who)))


# --- inputs ---------------------------------------------------------------------------


class _Named(Schema):
    line_id: int | None = Field(None, ge=1, le=2**63 - 1)
    sku: str = Field("", max_length=100)

    @model_validator(mode="after")
    def _named(self) -> _Named:
        if self.line_id is None and not self.sku:
            raise ValueError("Give line_id or sku.")
        return self


class ReturnLineIn(_Named):
    quantity: int = Field(ge=1, le=1_000_000)
    reason: ReturnReason
    note: str = Field("", max_length=1000)


class ReturnIn(Schema):
    order_id: int = Field(ge=1, le=2**63 - 1)
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=500)
    note: str = Field("", max_length=1000)
    location_id: int | None = Field(None, ge=1, le=2**63 - 1)
    notify_customer: bool = True


class ApproveIn(Schema):
    location_id: int | None = Field(None, ge=1, le=2**63 - 1)
    notify_customer: bool = True


class RejectIn(Schema):
    reason: str = Field(min_length=1, max_length=500)
    notify_customer: bool = True


class CancelIn(Schema):
    reason: str = Field("", max_length=500)


class TrackingIn(Schema):
    tracking_number: str = Field(min_length=1, max_length=100)
    carrier: str = Field("", max_length=40)
    tracking_url: str = Field("", max_length=500)


class UnitsIn(_Named):
    quantity: int = Field(ge=1, le=1_000_000)
    condition: Condition | None = None
    disposition: Disposition | None = None

    def to_units(self) -> ReceivedUnits:
        return ReceivedUnits(
            quantity=self.quantity,
            line_id=self.line_id,
            sku=self.sku,
            condition=self.condition.value if self.condition else "",
            disposition=self.disposition.value if self.disposition else "",
        )


class ReceiveIn(Schema):
    location_id: int | None = Field(None, ge=1, le=2**63 - 1)
    lines: list[UnitsIn] = Field(min_length=1, max_length=500)
    notify_customer: bool = True


class InspectIn(Schema):
    lines: list[UnitsIn] = Field(min_length=1, max_length=500)


class RefundLineIn(_Named):
    quantity: int = Field(ge=1, le=1_000_000)
    amount: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=4)


class RefundIn(Schema):
    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=4)
    currency: str = Field(min_length=3, max_length=3)
    shipping_amount: Decimal = Field(Decimal(0), ge=0, max_digits=18, decimal_places=4)
    lines: list[RefundLineIn] = Field(default_factory=list, max_length=500)
    reason: str = Field("", max_length=500)
    notify_customer: bool = True

    def to_lines(self) -> list[RefundLine]:
        return [
            RefundLine(quantity=x.quantity, amount=x.amount, line_id=x.line_id, sku=x.sku)
            for x in self.lines
        ]


class ExchangeLineIn(Schema):
    sku: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=1_000_000)


class ExchangeIn(Schema):
    lines: list[ExchangeLineIn] = Field(min_length=1, max_length=500)
    wait_for_items: bool = True


# --- endpoints ------------------------------------------------------------------------


@router.get("", summary="List returns, newest first")
def returns_list(
    request: HttpRequest,
    state: ReturnState | None = None,
    reason: ReturnReason | None = None,
    location_id: Id | None = None,
    order_id: Id | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    q: str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> Any:
    who = require(request, READ, SERVICE_WORK)
    limit = check_limit(limit)
    rows = return_page(
        after_id=cursor_decode(cursor),
        limit=limit,
        state=state.value if state else "",
        reason=reason.value if reason else "",
        location_id=location_id,
        order_id=order_id,
        created_after=datetime_in_range(created_after, "created_after"),
        created_before=datetime_in_range(created_before, "created_before"),
        q=q.strip()[:100],
        scope_location_id=_scope(who),
    )
    return page(rows, limit, return_out)


@router.post("", response=CREATED, summary="Open a return for shipped lines of an order")
def returns_create(request: HttpRequest, body: ReturnIn) -> Any:
    who = require(request, ORDERS_WRITE, SERVICE_WORK)
    scope = _scope(who)
    if scope is not None:
        from colis.core.errors import NotFound
        from colis.fulfillment.models import FulfillmentOrder

        if not FulfillmentOrder.objects.filter(order_id=body.order_id, location_id=scope).exists():
            raise NotFound("No such order.", code="order_not_found")
    rma = return_create(
        order_id=body.order_id,
        lines=[
            ReturnLineDraft(
                quantity=x.quantity,
                reason=x.reason.value,
                line_id=x.line_id,
                sku=x.sku,
                note=x.note,
            )
            for x in body.lines
        ],
        source="service" if scope is not None else ("staff" if who.kind == "user" else "api"),
        note=body.note,
        location_id=scope or body.location_id,
        notify_customer=body.notify_customer,
        actor=who,
    )
    return Status(201, _read(rma.pk, who))


@router.get("/{return_id}", summary="Read a return with its lines, receipts and refunds")
def returns_read(request: HttpRequest, return_id: Id) -> Any:
    who = require(request, READ, SERVICE_WORK)
    return _read(return_id, who)


@router.get("/{return_id}/events", summary="The return's timeline, oldest first")
def returns_events(
    request: HttpRequest, return_id: Id, cursor: str | None = None, limit: int = 100
) -> Any:
    who = require(request, READ, SERVICE_WORK)
    limit = check_limit(limit)
    rma = return_get(return_id=return_id, location_id=_scope(who))
    rows = return_event_page(rma=rma, after_id=cursor_decode(cursor), limit=limit)
    return page(rows, limit, event_out)


@router.post("/{return_id}/approve", summary="Approve a requested return")
def returns_approve(request: HttpRequest, return_id: Id, body: ApproveIn | None = None) -> Any:
    who = require(request, ORDERS_WRITE)
    body = body or ApproveIn()
    return_approve(
        return_id=return_id,
        location_id=body.location_id,
        notify_customer=body.notify_customer,
        actor=who,
    )
    return _read(return_id, who)


@router.post("/{return_id}/reject", summary="Reject a requested return, saying why")
def returns_reject(request: HttpRequest, return_id: Id, body: RejectIn) -> Any:
    who = require(request, ORDERS_WRITE)
    return_reject(
        return_id=return_id, reason=body.reason, notify_customer=body.notify_customer, actor=who
    )
    return _read(return_id, who)


@router.post("/{return_id}/cancel", summary="Cancel a return before anything arrived")
def returns_cancel(request: HttpRequest, return_id: Id, body: CancelIn | None = None) -> Any:
    who = require(request, ORDERS_WRITE)
    return_cancel(return_id=return_id, reason=(body or CancelIn()).reason, actor=who)
    return _read(return_id, who)


@router.post("/{return_id}/tracking", summary="The parcel is on its way back: its tracking")
def returns_tracking(request: HttpRequest, return_id: Id, body: TrackingIn) -> Any:
    who = require(request, ORDERS_WRITE, SERVICE_WORK)
    return_tracking_set(
        return_id=return_id,
        tracking_number=body.tracking_number,
        carrier=body.carrier,
        tracking_url=body.tracking_url,
        location_id=_scope(who),
        actor=who,
    )
    return _read(return_id, who)


@router.post("/{return_id}/receive", summary="Units arrived (with their condition if inspected)")
def returns_receive(request: HttpRequest, return_id: Id, body: ReceiveIn) -> Any:
    who = require(request, ORDERS_WRITE, SERVICE_WORK)
    return_receive(
        return_id=return_id,
        location_id=body.location_id,
        lines=[x.to_units() for x in body.lines],
        notify_customer=body.notify_customer,
        scope_location_id=_scope(who),
        actor=who,
    )
    return _read(return_id, who)


@router.post("/{return_id}/inspect", summary="Give received units their condition")
def returns_inspect(request: HttpRequest, return_id: Id, body: InspectIn) -> Any:
    who = require(request, ORDERS_WRITE)
    return_inspect(return_id=return_id, lines=[x.to_units() for x in body.lines], actor=who)
    return _read(return_id, who)


@router.post("/{return_id}/restock", summary="Apply the dispositions of inspected units")
def returns_restock(request: HttpRequest, return_id: Id) -> Any:
    who = require(request, ORDERS_WRITE)
    return_restock(return_id=return_id, actor=who)
    return _read(return_id, who)


@router.post("/{return_id}/close", summary="Close a return (what has not arrived will not)")
def returns_close(request: HttpRequest, return_id: Id) -> Any:
    who = require(request, ORDERS_WRITE)
    return_close(return_id=return_id, actor=who)
    return _read(return_id, who)


def _refund(order_id: int, return_id: int | None, body: RefundIn, who: Actor) -> Any:
    refund = refund_create(
        order_id=order_id,
        return_id=return_id,
        amount=body.amount,
        currency=body.currency,
        shipping_amount=body.shipping_amount,
        lines=body.to_lines(),
        reason=body.reason,
        notify_customer=body.notify_customer,
        actor=who,
    )
    return Status(201, refund_out(refund))


@router.post("/{return_id}/refund", response=CREATED, summary="Refund the buyer for a return")
def returns_refund(request: HttpRequest, return_id: Id, body: RefundIn) -> Any:
    who = require(request, REFUNDS_WRITE)
    rma = return_get(return_id=return_id)
    return _refund(rma.order_id, rma.pk, body, who)


@router.post("/{return_id}/exchange", response=CREATED, summary="Create the replacement order")
def returns_exchange(request: HttpRequest, return_id: Id, body: ExchangeIn) -> Any:
    who = require(request, ORDERS_WRITE)
    order = return_exchange_create(
        return_id=return_id,
        lines=[(x.sku, x.quantity) for x in body.lines],
        wait_for_items=body.wait_for_items,
        actor=who,
    )
    return Status(201, {"return": _read(return_id, who), "order_id": order.pk,
                        "order_number": order.number})  # fmt: skip


# --- on an order ----------------------------------------------------------------------


@order_router.get("/{order_id}/returnable", summary="What of an order may still come back")
def orders_returnable(request: HttpRequest, order_id: Id) -> Any:
    require(request, READ)
    from colis.orders.selectors import order_get

    order = order_get(order_id=order_id)
    return {
        "items": [
            {"line_id": r.line_id, "sku": r.sku, "title": r.title, "quantity": r.quantity}
            for r in returnable_lines(order=order)
        ]
    }


@order_router.get("/{order_id}/refunds", summary="The order's refunds, oldest first")
def orders_refunds(request: HttpRequest, order_id: Id) -> Any:
    require(request, READ)
    from colis.orders.selectors import order_get

    order_get(order_id=order_id)
    return {"items": [refund_out(r) for r in refunds_for_order(order_id)]}


@order_router.post("/{order_id}/refunds", response=CREATED, summary="Refund an order")
def orders_refund(request: HttpRequest, order_id: Id, body: RefundIn) -> Any:
    who = require(request, REFUNDS_WRITE)
    return _refund(order_id, None, body, who)
