"""HTTP API: bulk actions over many orders, with a dry run; large batches run as jobs."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from colis.accounts.roles import ORDERS_WRITE
from colis.api.auth import require
from colis.api.filters import OrderFilterIn
from colis.api.jobs import job_out
from colis.api.pagination import Id
from colis.core.actor import Actor
from colis.core.errors import ValidationError
from colis.orders.bulk_actions import (
    MAX_ORDERS,
    SYNC_LIMIT,
    bulk_action_build,
    bulk_run,
    bulk_start,
    bulk_targets,
)

router = Router(tags=["bulk"])
ACCEPTED: dict[int, Any] = {200: Any, 202: Any}


class BulkIn(Schema):
    model_config = ConfigDict(populate_by_name=True)

    order_ids: list[Id] | None = Field(None, min_length=1, max_length=MAX_ORDERS)
    filter: OrderFilterIn | None = None
    dry_run: bool = False
    run_async: bool = Field(False, alias="async")


class HoldIn(BulkIn):
    reason: str = Field(max_length=40)
    notes: str = Field("", max_length=1000)
    notify_customer: bool = True


class ReleaseIn(BulkIn):
    pass


class SetStatusIn(BulkIn):
    status: str | int
    note: str = Field("", max_length=1000)


class CancelIn(BulkIn):
    reason: str = Field("", max_length=200)


class PrintIn(BulkIn):
    document: str = Field("packing_slip", max_length=40)
    mark_awaiting_shipment: bool = False


class ShipmentFieldsIn(Schema):
    carrier: str | None = Field(None, max_length=100)
    carrier_name: str | None = Field(None, max_length=100)
    service: str | None = Field(None, max_length=100)
    notes: str | None = Field(None, max_length=5000)
    ship_date: date | None = None
    notify_customer: bool | None = None
    force: bool | None = None

    def fields(self) -> dict[str, Any]:
        out = self.model_dump(exclude_none=True, exclude={"order_id"})
        if self.ship_date is not None:
            out["ship_date"] = self.ship_date.isoformat()
        return out


class FulfillOrderIn(ShipmentFieldsIn):
    order_id: Id
    fulfillment_order_id: int | None = Field(None, ge=1, le=2**63 - 1)
    tracking_numbers: list[str] | None = Field(None, max_length=20)
    tracking_urls: list[str] | None = Field(None, max_length=20)


class FulfillIn(BulkIn, ShipmentFieldsIn):
    orders: list[FulfillOrderIn] | None = Field(None, min_length=1, max_length=MAX_ORDERS)

    def fields(self) -> dict[str, Any]:
        return ShipmentFieldsIn.model_validate(
            self.model_dump(include=set(ShipmentFieldsIn.model_fields))
        ).fields()


def _run(
    who: Actor,
    name: str,
    body: BulkIn,
    options: dict[str, Any],
    order_ids: list[int] | None = None,
    shipments: dict[int, dict[str, Any]] | None = None,
) -> Any:
    action = bulk_action_build(
        name=name, options=options, shipments=shipments, dry_run=body.dry_run
    )
    if order_ids is None:
        order_ids = bulk_targets(
            order_ids=body.order_ids,
            filters=body.filter.to_filters() if body.filter is not None else None,
        )
    if body.run_async or len(order_ids) > SYNC_LIMIT:
        job = bulk_start(action=action, order_ids=order_ids, actor=who)
        return Status(202, {"job": job_out(job)})
    return bulk_run(action=action, order_ids=order_ids, actor=who).as_json()


@router.post("/fulfill", response=ACCEPTED, summary="Ship many orders, each with its tracking")
def bulk_fulfill(request: HttpRequest, body: FulfillIn) -> Any:
    who = require(request, ORDERS_WRITE)
    if body.orders is None:
        return _run(who, "fulfill", body, body.fields())
    if body.order_ids is not None or body.filter is not None:
        raise ValidationError(
            "Give orders, order_ids or a filter: one of them.",
            code="invalid_targets",
            fields={"orders": "Not with order_ids or filter."},
        )
    shipments: dict[int, dict[str, Any]] = {}
    for i, entry in enumerate(body.orders):
        if entry.order_id in shipments:
            raise ValidationError(
                "An order appears twice.",
                code="invalid_targets",
                fields={f"orders[{i}].order_id": "Already listed."},
            )
        shipments[entry.order_id] = entry.fields()
    return _run(who, "fulfill", body, body.fields(), list(shipments), shipments)


@router.post("/hold", response=ACCEPTED, summary="Hold many orders")
def bulk_hold(request: HttpRequest, body: HoldIn) -> Any:
    who = require(request, ORDERS_WRITE)
    options = {"reason": body.reason, "notes": body.notes, "notify_customer": body.notify_customer}
    return _run(who, "hold", body, options)


@router.post("/release", response=ACCEPTED, summary="Release the holds of many orders")
def bulk_release(request: HttpRequest, body: ReleaseIn) -> Any:
    who = require(request, ORDERS_WRITE)
    return _run(who, "release", body, {})


@router.post("/set-status", response=ACCEPTED, summary="Set the status of many orders")
def bulk_set_status(request: HttpRequest, body: SetStatusIn) -> Any:
    who = require(request, ORDERS_WRITE)
    return _run(who, "set-status", body, {"status": body.status, "note": body.note})


@router.post("/cancel", response=ACCEPTED, summary="Cancel many orders")
def bulk_cancel(request: HttpRequest, body: CancelIn) -> Any:
    who = require(request, ORDERS_WRITE)
    return _run(who, "cancel", body, {"reason": body.reason})


@router.post("/print", response=ACCEPTED, summary="Mark many orders as printed")
def bulk_print(request: HttpRequest, body: PrintIn) -> Any:
    who = require(request, ORDERS_WRITE)
    options = {"document": body.document, "mark_awaiting_shipment": body.mark_awaiting_shipment}
    return _run(who, "print", body, options)
