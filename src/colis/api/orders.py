from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
import pydantic
from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import BaseModel, Field, field_validator

from colis.accounts.roles import ORDERS_WRITE, READ, SETTINGS_WRITE
from colis.api.auth import require
from colis.api.errors import validation_fields
from colis.api.filters import order_filters
from colis.api.locations import AddressIn
from colis.api.pagination import (
    CREATED,
    MAX_ID,
    Id,
    check_limit,
    cursor_decode,
    datetime_in_range,
    page,
)
from colis.api.shapes import fo_out, redaction_out, shipment_out
from colis.core.errors import ValidationError
from colis.core.models import Event
from colis.orders.drafts import LineDraft, OrderDraft, OrderResult
from colis.orders.models import Order
from colis.orders.selectors import (
    order_events,
    order_get,
    order_page,
    status_labels,
)
from colis.orders.services import (
    MAX_BATCH,
    order_cancel,
    order_create,
    order_note_add,
    order_status_set,
    orders_create,
    status_label_set,
)
from colis.orders.status import STATUS_BY_NAME, STATUS_NAMES, FinancialStatus

router = Router(tags=["orders"])
status_router = Router(tags=["orders"])
MONEY = {"ge": 0, "max_digits": 18, "decimal_places": 4}


class LineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=1_000_000)
    unit_price: Decimal = Field(**MONEY)
    title: str = Field("", max_length=255)
    external_line_id: str | None = Field(None, max_length=128)


class OrderIn(BaseModel):
    number: str | None = Field(None, max_length=64)
    channel: str | None = Field(None, max_length=64)
    external_id: str | None = Field(None, max_length=128)
    email: str = Field(max_length=254)
    phone: str | None = Field(None, max_length=40)
    locale: str | None = Field(None, max_length=10)
    shipping_address: AddressIn
    billing_address: AddressIn | None = None
    currency: str = Field(min_length=3, max_length=3)
    financial_status: Literal[tuple(FinancialStatus.values)] = "pending"  # type: ignore[valid-type]
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    shipping_method: str | None = Field(None, max_length=200)
    shipping_price: Decimal = Field(Decimal(0), **MONEY)
    tax_total: Decimal = Field(Decimal(0), **MONEY)
    discount_total: Decimal = Field(Decimal(0), **MONEY)
    total: Decimal | None = Field(None, **MONEY)
    ship_by: datetime | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    note: str | None = Field(None, max_length=5000)
    notify_customer: bool = False

    @field_validator("ship_by")
    @classmethod
    def _ship_by_in_range(cls, value: datetime | None) -> datetime | None:
        try:
            return datetime_in_range(value, "ship_by")
        except ValidationError as exc:
            raise ValueError(exc.message) from None

    def to_draft(self) -> OrderDraft:
        return OrderDraft(
            number=self.number,
            channel=self.channel,
            external_id=self.external_id,
            email=self.email,
            phone=self.phone or "",
            locale=self.locale or "",
            # A validated model's __dict__ holds its fields as they are: a cheap model_dump.
            shipping_address=self.shipping_address.__dict__,
            billing_address=self.billing_address.__dict__ if self.billing_address else None,
            currency=self.currency.upper() if self.currency.isalpha() else self.currency,
            financial_status=self.financial_status,
            lines=tuple(
                LineDraft(
                    sku=ln.sku,
                    quantity=ln.quantity,
                    unit_price=ln.unit_price,
                    title=ln.title,
                    external_line_id=ln.external_line_id or "",
                )
                for ln in self.lines
            ),
            shipping_method=self.shipping_method or "",
            shipping_price=self.shipping_price,
            tax_total=self.tax_total,
            discount_total=self.discount_total,
            total=self.total,
            ship_by=self.ship_by,
            tags=tuple(t[:64] for t in self.tags),
            note=self.note or "",
            notify_customer=self.notify_customer,
        )


class CancelIn(Schema):
    reason: str = Field("", max_length=200)


class StatusIn(Schema):
    status: str | int
    note: str = Field("", max_length=1000)


class NoteIn(Schema):
    text: str = Field(max_length=5000)


class LabelIn(Schema):
    label: str = Field(max_length=100)


def _money(value: Decimal) -> str:
    return format(
        value.quantize(Decimal("0.01"))
        if value == value.quantize(Decimal("0.01"))
        else value.normalize(),
        "f",
    )


def order_out(order: Order, labels: dict[int, str]) -> dict[str, Any]:
    out = {
        "id": order.pk,
        "number": order.number,
        "channel": order.channel,
        "channel_id": order.channel_record_id,
        "external_id": order.external_id,
        "email": order.email,
        "phone": order.phone,
        "locale": order.locale,
        "buyer_name": order.buyer_name,
        "shipping_address": order.shipping_address,
        "billing_address": order.billing_address,
        "currency": order.currency,
        "subtotal": _money(order.subtotal),
        "shipping_price": _money(order.shipping_price),
        "tax_total": _money(order.tax_total),
        "discount_total": _money(order.discount_total),
        "total": _money(order.total),
        "financial_status": order.financial_status,
        "status": STATUS_NAMES[order.status],
        "status_id": order.status,
        "status_label": labels[order.status],
        "fulfillment_status": order.fulfillment_status,
        "shipping_method": order.shipping_method,
        "ship_by": order.ship_by,
        "tags": order.tags,
        "note": order.note,
        "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "lines": [
            {
                "id": ln.pk,
                "sku": ln.sku,
                "title": ln.title,
                "quantity": ln.quantity,
                "unit_price": _money(ln.unit_price),
                "quantity_fulfilled": ln.quantity_fulfilled,
                "quantity_cancelled": ln.quantity_cancelled,
                "external_line_id": ln.external_line_id,
            }
            for ln in order.lines.all()
        ],
        "fulfillment_orders": [fo_out(fo) for fo in order.fulfillment_orders.all()],
        "shipments": [shipment_out(sh) for sh in order.shipments.all()],
    }
    out.update(redaction_out(order))
    return out


def event_out(event: Event) -> dict[str, Any]:
    return {
        "id": event.pk,
        "kind": event.kind,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "actor": {"kind": event.actor_kind, "id": event.actor_id, "label": event.actor_label},
        "data": event.data,
        "created_at": event.created_at,
    }


def _result_out(result: OrderResult) -> dict[str, Any]:
    out: dict[str, Any] = {"index": result.index, "ok": result.ok}
    if result.ok:
        out["order"] = {"id": result.order_id, "number": result.number}
        out["created"] = result.created
    else:
        out["errors"] = result.errors
    return out


@router.get("", summary="List orders, newest first, with filters and a cursor")
def orders_list(
    request: HttpRequest,
    status: str = "",
    fulfillment_status: str = "",
    channel: str = "",
    q: str = "",
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    location: int | None = None,
    location_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    filters = order_filters(
        status=status,
        fulfillment_status=fulfillment_status,
        channel=channel,
        q=q,
        created_after=created_after,
        created_before=created_before,
        location_id=location_id if location_id is not None else location,
    )
    rows = order_page(filters=filters, after_id=cursor_decode(cursor), limit=limit)
    labels = status_labels()
    return page(rows, limit, lambda o: order_out(o, labels))


@router.post("", response=CREATED, summary="Create one order")
def orders_create_one(request: HttpRequest, body: OrderIn) -> Any:
    who = require(request, ORDERS_WRITE)
    result = order_create(draft=body.to_draft(), actor=who)
    assert result.order_id is not None
    if result.created and result.order is not None:
        found = result.order
    else:
        found = order_get(order_id=result.order_id)
    order = order_out(found, status_labels())
    return Status(201 if result.created else 200, order)


@router.post(
    "/bulk",
    summary="Create up to 1,000 orders; one result per order",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["orders"],
                        "properties": {
                            "orders": {
                                "type": "array",
                                "maxItems": MAX_BATCH,
                                "items": {"$ref": "#/components/schemas/OrderIn"},
                            }
                        },
                    }
                }
            },
        }
    },
)
def orders_create_bulk(request: HttpRequest) -> Any:
    who = require(request, ORDERS_WRITE)
    try:
        payload = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        raise ValidationError(
            "The body is not JSON.", code="invalid_json", fields={"body": "Not JSON."}
        ) from None
    raw = payload.get("orders") if isinstance(payload, dict) else None
    if not isinstance(raw, list):
        raise ValidationError(
            "A list of orders is required.",
            code="invalid",
            fields={"orders": "A list of orders is required."},
        )
    if len(raw) > MAX_BATCH:
        raise ValidationError(
            f"At most {MAX_BATCH} orders per call.",
            code="batch_too_large",
            fields={"orders": f"At most {MAX_BATCH} orders, got {len(raw)}."},
        )
    drafts: list[OrderDraft] = []
    errors: dict[int, dict[str, Any]] = {}
    for i, item in enumerate(raw):
        try:
            drafts.append(OrderIn.model_validate(item).to_draft())
        except pydantic.ValidationError as exc:
            errors[i] = validation_fields(exc)
    results = orders_create(drafts=drafts, actor=who, pre_errors=errors)
    return {"results": [_result_out(r) for r in results]}


@router.get("/{order_id}", summary="Read an order with its lines, FOs and shipments")
def orders_read(request: HttpRequest, order_id: Id) -> Any:
    require(request, READ)
    return order_out(order_get(order_id=order_id), status_labels())


@router.get("/{order_id}/events", summary="The order's timeline, oldest first")
def orders_events(
    request: HttpRequest, order_id: Id, cursor: str | None = None, limit: int = 100
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    rows = order_events(order_id=order_id, after_id=cursor_decode(cursor), limit=limit)
    return page(rows, limit, event_out)


@router.post("/{order_id}/cancel", summary="Cancel an order that has not shipped")
def orders_cancel(request: HttpRequest, order_id: Id, body: CancelIn | None = None) -> Any:
    who = require(request, ORDERS_WRITE)
    order_cancel(order_id=order_id, reason=body.reason if body else "", actor=who)
    return order_out(order_get(order_id=order_id), status_labels())


@router.post("/{order_id}/status", summary="Set the status by hand (transition rules apply)")
def orders_status(request: HttpRequest, order_id: Id, body: StatusIn) -> Any:
    who = require(request, ORDERS_WRITE)
    raw = body.status
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isascii() and raw.isdigit()):
        target = int(raw)
    else:
        target = STATUS_BY_NAME[raw].value if raw in STATUS_BY_NAME else -1
    if target not in STATUS_NAMES:
        raise ValidationError(
            f"Unknown status {raw!r}.", code="invalid_status", fields={"status": "Unknown status."}
        )
    order_status_set(order_id=order_id, status=target, note=body.note, actor=who)
    return order_out(order_get(order_id=order_id), status_labels())


@router.post("/{order_id}/notes", response=CREATED, summary="Add a staff note to the timeline")
def orders_note(request: HttpRequest, order_id: Id, body: NoteIn) -> Any:
    who = require(request, ORDERS_WRITE)
    order_note_add(order_id=order_id, text=body.text, actor=who)
    return Status(201, {"ok": True})


@status_router.get("", summary="The fifteen order statuses with the shop's labels")
def statuses_list(request: HttpRequest) -> Any:
    require(request, READ)
    labels = status_labels()
    return {
        "items": [
            {"id": sid, "name": name, "label": labels[sid]}
            for sid, name in sorted(STATUS_NAMES.items())
        ],
        "next_cursor": None,
    }


@status_router.patch("/{status_id}", summary="Rename a status label")
def statuses_rename(
    request: HttpRequest, status_id: Annotated[int, Field(ge=0, le=MAX_ID)], body: LabelIn
) -> Any:
    who = require(request, SETTINGS_WRITE)
    status_label_set(status=status_id, label=body.label, actor=who)
    labels = status_labels()
    return {"id": status_id, "name": STATUS_NAMES[status_id], "label": labels[status_id]}
