"""HTTP API for fulfillment: order holds and shipments, fulfillment orders, shipments."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, model_validator

from colis.accounts.roles import ORDERS_WRITE, READ, SERVICE_WORK
from colis.api.auth import require
from colis.api.orders import order_out
from colis.api.orders import router as orders_router
from colis.api.pagination import CREATED, Id, check_limit, cursor_decode, page
from colis.api.shapes import fo_out, shipment_out
from colis.core.actor import Actor
from colis.fulfillment.requests import fulfillment_order_accept, fulfillment_order_reject
from colis.fulfillment.reshape import (
    fulfillment_order_move,
    fulfillment_order_split,
    fulfillment_orders_merge,
)
from colis.fulfillment.selectors import fo_get, fo_page, shipment_get
from colis.fulfillment.services import (
    LinePick,
    fulfillment_order_cancel,
    fulfillment_order_hold,
    fulfillment_order_release,
    order_hold,
    order_pay,
    order_release,
)
from colis.fulfillment.shipment_changes import (
    shipment_cancel,
    shipment_deliver,
    shipment_ship,
    shipment_tracking_update,
)
from colis.fulfillment.shipments import (
    ShipmentDraft,
    shipment_create,
)
from colis.orders.selectors import order_get, status_labels

fo_router = Router(tags=["fulfillment"])
shipment_router = Router(tags=["fulfillment"])


class PickIn(Schema):
    line_id: int | None = Field(None, ge=1)
    sku: str = Field("", max_length=100)
    quantity: int = Field(ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _named(self) -> PickIn:
        if self.line_id is None and not self.sku:
            raise ValueError("Give line_id or sku.")
        return self

    def to_pick(self) -> LinePick:
        return LinePick(line_id=self.line_id, sku=self.sku, quantity=self.quantity)


class PackageIn(Schema):
    preset: str | None = Field(None, max_length=100)
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    weight_grams: int | None = None


class ShipmentIn(Schema):
    fulfillment_order_id: int | None = Field(None, ge=1)
    lines: list[PickIn] | None = Field(None, max_length=500)
    carrier: str | None = Field(None, max_length=100)
    carrier_name: str = Field("", max_length=100)
    service: str = Field("", max_length=100)
    tracking_numbers: list[str] = Field(default_factory=list, max_length=20)
    tracking_urls: list[str] | None = Field(None, max_length=20)
    package: PackageIn | None = None
    notes: str = Field("", max_length=5000)
    ship_date: date | None = None
    notify_customer: bool = True
    force: bool = False
    status: Literal["shipped", "label_printed", "pending"] = "shipped"

    def to_draft(self) -> ShipmentDraft:
        return ShipmentDraft(
            fulfillment_order_id=self.fulfillment_order_id,
            lines=[p.to_pick() for p in self.lines] if self.lines else None,
            carrier=self.carrier,
            carrier_name=self.carrier_name,
            service=self.service,
            tracking_numbers=self.tracking_numbers,
            tracking_urls=self.tracking_urls,
            package=self.package.model_dump(exclude_none=True) if self.package else {},
            notes=self.notes,
            ship_date=self.ship_date,
            notify_customer=self.notify_customer,
            force=self.force,
            status=self.status,
        )


class HoldIn(Schema):
    reason: str = Field(max_length=40)
    notes: str = Field("", max_length=1000)
    # For incorrect_address: email the buyer to check the address.
    notify_customer: bool = True


class ReleaseIn(Schema):
    reasons: list[str] | None = Field(None, max_length=10)


class MoveIn(Schema):
    location_id: int = Field(ge=1)


class SplitIn(Schema):
    lines: list[PickIn] = Field(min_length=1, max_length=500)


class MergeIn(Schema):
    fulfillment_order_ids: list[int] = Field(min_length=2, max_length=50)


class FoCancelIn(Schema):
    reason: str = Field("", max_length=200)


class TrackingIn(Schema):
    carrier: str | None = Field(None, max_length=100)
    carrier_name: str = Field("", max_length=100)
    tracking_numbers: list[str] = Field(max_length=20)
    tracking_urls: list[str] | None = Field(None, max_length=20)
    notify_customer: bool | None = None
    force: bool = False


def _order(order_id: int) -> dict[str, Any]:
    return order_out(order_get(order_id=order_id), status_labels())


def _scope(who: Actor) -> int | None:
    """A fulfillment service sees only its own location's FOs and shipments."""
    if who.kind != "service":
        return None
    from colis.partners.selectors import service_location_id

    return service_location_id(service_id=who.id)


# --- on an order ----------------------------------------------------------------------


@orders_router.post("/{order_id}/shipments", response=CREATED, summary="Ship items of an order")
def orders_ship(request: HttpRequest, order_id: Id, body: ShipmentIn) -> Any:
    who = require(request, ORDERS_WRITE, SERVICE_WORK)
    shipment = shipment_create(order_id=order_id, draft=body.to_draft(), actor=who)
    return Status(201, shipment_out(shipment))


@orders_router.post("/{order_id}/hold", summary="Hold every open fulfillment order of an order")
def orders_hold(request: HttpRequest, order_id: Id, body: HoldIn) -> Any:
    who = require(request, ORDERS_WRITE)
    order_hold(
        order_id=order_id,
        reason=body.reason,
        notes=body.notes,
        notify_customer=body.notify_customer,
        actor=who,
    )
    return _order(order_id)


@orders_router.post("/{order_id}/release", summary="Release the holds placed on an order")
def orders_release(request: HttpRequest, order_id: Id) -> Any:
    who = require(request, ORDERS_WRITE)
    order_release(order_id=order_id, actor=who)
    return _order(order_id)


@orders_router.post("/{order_id}/pay", summary="Record payment; lifts awaiting-payment holds")
def orders_pay(request: HttpRequest, order_id: Id) -> Any:
    who = require(request, ORDERS_WRITE)
    order_pay(order_id=order_id, actor=who)
    return _order(order_id)


# --- fulfillment orders ---------------------------------------------------------------


@fo_router.get("", summary="List fulfillment orders, oldest first")
def fos_list(
    request: HttpRequest,
    location_id: int | None = None,
    status: str = "",
    request_status: str = "",
    order_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Any:
    who = require(request, READ, SERVICE_WORK)
    scope = _scope(who)
    if scope is not None:
        location_id = scope
    limit = check_limit(limit)
    rows = fo_page(
        after_id=cursor_decode(cursor),
        limit=limit,
        location_id=location_id,
        status=status,
        request_status=request_status,
        order_id=order_id,
    )
    return page(rows, limit, fo_out)


@fo_router.post("/merge", summary="Merge fulfillment orders of one order and location")
def fos_merge(request: HttpRequest, body: MergeIn) -> Any:
    who = require(request, ORDERS_WRITE)
    fo = fulfillment_orders_merge(fo_ids=body.fulfillment_order_ids, actor=who)
    return fo_out(fo_get(fo_id=fo.pk))


@fo_router.get("/{fo_id}", summary="Read a fulfillment order")
def fos_read(request: HttpRequest, fo_id: Id) -> Any:
    who = require(request, READ, SERVICE_WORK)
    return fo_out(fo_get(fo_id=fo_id, location_id=_scope(who)))


@fo_router.post("/{fo_id}/hold", summary="Hold a fulfillment order")
def fos_hold(request: HttpRequest, fo_id: Id, body: HoldIn) -> Any:
    who = require(request, ORDERS_WRITE)
    fulfillment_order_hold(
        fo_id=fo_id,
        reason=body.reason,
        notes=body.notes,
        notify_customer=body.notify_customer,
        actor=who,
    )
    return fo_out(fo_get(fo_id=fo_id))


@fo_router.post("/{fo_id}/release", summary="Release a fulfillment order's holds")
def fos_release(request: HttpRequest, fo_id: Id, body: ReleaseIn | None = None) -> Any:
    who = require(request, ORDERS_WRITE)
    fulfillment_order_release(fo_id=fo_id, reasons=body.reasons if body else None, actor=who)
    return fo_out(fo_get(fo_id=fo_id))


@fo_router.post("/{fo_id}/move", summary="Move what is left to another location")
def fos_move(request: HttpRequest, fo_id: Id, body: MoveIn) -> Any:
    who = require(request, ORDERS_WRITE)
    fo = fulfillment_order_move(fo_id=fo_id, location_id=body.location_id, actor=who)
    return fo_out(fo_get(fo_id=fo.pk))


@fo_router.post("/{fo_id}/split", response=CREATED, summary="Split quantities into a new FO")
def fos_split(request: HttpRequest, fo_id: Id, body: SplitIn) -> Any:
    who = require(request, ORDERS_WRITE)
    new = fulfillment_order_split(fo_id=fo_id, lines=[p.to_pick() for p in body.lines], actor=who)
    return Status(201, fo_out(fo_get(fo_id=new.pk)))


@fo_router.post("/{fo_id}/cancel", summary="Cancel a fulfillment order; releases its stock")
def fos_cancel(request: HttpRequest, fo_id: Id, body: FoCancelIn | None = None) -> Any:
    who = require(request, ORDERS_WRITE)
    fulfillment_order_cancel(fo_id=fo_id, reason=body.reason if body else "", actor=who)
    return fo_out(fo_get(fo_id=fo_id))


class RejectIn(Schema):
    reason: str = Field(max_length=500)


@fo_router.post("/{fo_id}/accept", summary="A fulfillment service accepts the request")
def fos_accept(request: HttpRequest, fo_id: Id) -> Any:
    who = require(request, ORDERS_WRITE, SERVICE_WORK)
    fulfillment_order_accept(fo_id=fo_id, actor=who)
    return fo_out(fo_get(fo_id=fo_id))


@fo_router.post("/{fo_id}/reject", summary="A fulfillment service rejects the request")
def fos_reject(request: HttpRequest, fo_id: Id, body: RejectIn) -> Any:
    who = require(request, ORDERS_WRITE, SERVICE_WORK)
    fulfillment_order_reject(fo_id=fo_id, reason=body.reason, actor=who)
    return fo_out(fo_get(fo_id=fo_id))


# --- shipments -----------------------------------------------------------------------


@shipment_router.get("/{shipment_id}", summary="Read a shipment")
def shipments_read(request: HttpRequest, shipment_id: Id) -> Any:
    who = require(request, READ, SERVICE_WORK)
    return shipment_out(shipment_get(shipment_id=shipment_id, location_id=_scope(who)))


@shipment_router.post("/{shipment_id}/tracking", summary="Replace carrier and tracking numbers")
def shipments_tracking(request: HttpRequest, shipment_id: Id, body: TrackingIn) -> Any:
    who = require(request, ORDERS_WRITE, SERVICE_WORK)
    shipment_get(shipment_id=shipment_id, location_id=_scope(who))
    shipment_tracking_update(
        shipment_id=shipment_id,
        carrier=body.carrier,
        carrier_name=body.carrier_name,
        tracking_numbers=body.tracking_numbers,
        tracking_urls=body.tracking_urls,
        force=body.force,
        notify_customer=body.notify_customer,
        actor=who,
    )
    return shipment_out(shipment_get(shipment_id=shipment_id))


@shipment_router.post("/{shipment_id}/shipped", summary="A packed shipment leaves")
def shipments_shipped(request: HttpRequest, shipment_id: Id) -> Any:
    who = require(request, ORDERS_WRITE, SERVICE_WORK)
    shipment_get(shipment_id=shipment_id, location_id=_scope(who))
    shipment_ship(shipment_id=shipment_id, actor=who)
    return shipment_out(shipment_get(shipment_id=shipment_id))


@shipment_router.post("/{shipment_id}/delivered", summary="Mark a shipment delivered")
def shipments_delivered(request: HttpRequest, shipment_id: Id) -> Any:
    who = require(request, ORDERS_WRITE)
    shipment_deliver(shipment_id=shipment_id, actor=who)
    return shipment_out(shipment_get(shipment_id=shipment_id))


@shipment_router.post("/{shipment_id}/cancel", summary="Cancel a shipment; puts its stock back")
def shipments_cancel(request: HttpRequest, shipment_id: Id, body: FoCancelIn | None = None) -> Any:
    who = require(request, ORDERS_WRITE)
    shipment_cancel(shipment_id=shipment_id, reason=body.reason if body else "", actor=who)
    return shipment_out(shipment_get(shipment_id=shipment_id))
