"""Reads of fulfillment orders and shipments."""

from __future__ import annotations

from django.db.models import Prefetch

from colis.core.errors import NotFound, ValidationError
from colis.fulfillment.models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    Shipment,
    ShipmentLine,
)
from colis.fulfillment.status import FOStatus, RequestStatus


def _fo_qs():  # type: ignore[no-untyped-def]
    return FulfillmentOrder.objects.prefetch_related(
        Prefetch("lines", queryset=FulfillmentOrderLine.objects.order_by("pk")), "holds"
    )


def fo_get(*, fo_id: int, location_id: int | None = None) -> FulfillmentOrder:
    """One FO with its lines and holds; with `location_id`, only an FO at that location."""
    qs = _fo_qs().filter(pk=fo_id)
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    fo = qs.first()
    if fo is None:
        raise NotFound("No such fulfillment order.", code="fulfillment_order_not_found")
    return fo


def fo_page(
    *,
    after_id: int | None,
    limit: int,
    location_id: int | None = None,
    status: str = "",
    request_status: str = "",
    order_id: int | None = None,
) -> list[FulfillmentOrder]:
    """Oldest first (the order work is done in); three queries."""
    qs = _fo_qs().order_by("pk")
    if status:
        if status not in FOStatus.values:
            raise ValidationError(
                f"Unknown status {status!r}.", code="invalid_filter", fields={"status": status}
            )
        qs = qs.filter(status=status)
    if request_status:
        if request_status not in RequestStatus.values:
            raise ValidationError(
                f"Unknown request status {request_status!r}.",
                code="invalid_filter",
                fields={"request_status": request_status},
            )
        qs = qs.filter(request_status=request_status)
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id)
    return list(qs[: limit + 1])


def shipment_get(*, shipment_id: int, location_id: int | None = None) -> Shipment:
    qs = Shipment.objects.prefetch_related(
        Prefetch("lines", queryset=ShipmentLine.objects.order_by("pk"))
    ).filter(pk=shipment_id)
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    shipment = qs.first()
    if shipment is None:
        raise NotFound("No such shipment.", code="shipment_not_found")
    return shipment
