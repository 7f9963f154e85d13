"""JSON shapes of fulfillment orders and shipments, shared by the order and FO endpoints, and
how an order's redacted buyer data shows."""

from __future__ import annotations

from typing import Any

from colis.fulfillment.models import FulfillmentOrder, Shipment
from colis.orders.models import Order
from colis.orders.redaction import ADDRESS_KEYS, KEPT_ADDRESS_KEYS

REDACTED = "[redacted]"


def _address_shown(address: Any) -> dict[str, Any] | None:
    if not isinstance(address, dict):
        return None
    return {key: address.get(key, "") if key in KEPT_ADDRESS_KEYS else REDACTED
            for key in ADDRESS_KEYS}  # fmt: skip


def redaction_out(order: Order) -> dict[str, Any]:
    """`redacted` and `redacted_at`, and for a redacted order its buyer fields as "[redacted]"
    (addresses keep their country and region)."""
    if order.redacted_at is None:
        return {"redacted": False, "redacted_at": None}
    return {
        "email": REDACTED,
        "phone": REDACTED,
        "buyer_name": REDACTED,
        "note": REDACTED,
        "shipping_address": _address_shown(order.shipping_address),
        "billing_address": _address_shown(order.billing_address),
        "redacted": True,
        "redacted_at": order.redacted_at,
    }


def fo_out(fo: FulfillmentOrder) -> dict[str, Any]:
    return {
        "id": fo.pk,
        "order_id": fo.order_id,
        "location_id": fo.location_id,
        "status": fo.status,
        "request_status": fo.request_status,
        "commits_stock": fo.commits_stock,
        "reject_reason": fo.reject_reason,
        "holds": [
            {
                "reason": h.reason,
                "notes": h.notes,
                "by": {"kind": h.actor_kind, "id": h.actor_id, "label": h.actor_label},
                "created_at": h.created_at,
            }
            for h in fo.holds.all()
        ],
        "lines": [
            {
                "id": ln.pk,
                "line_id": ln.order_line_id,
                "sku": ln.sku,
                "quantity": ln.quantity,
                "quantity_fulfilled": ln.quantity_fulfilled,
                "remaining": ln.remaining,
            }
            for ln in fo.lines.all()
        ],
        "created_at": fo.created_at,
        "updated_at": fo.updated_at,
    }


def shipment_out(sh: Shipment) -> dict[str, Any]:
    return {
        "id": sh.pk,
        "order_id": sh.order_id,
        "fulfillment_order_id": sh.fulfillment_order_id,
        "location_id": sh.location_id,
        "status": sh.status,
        "carrier": sh.carrier,
        "carrier_name": sh.carrier_name,
        "service": sh.service,
        "tracking_numbers": sh.tracking_numbers,
        "tracking_urls": sh.tracking_urls,
        "package": sh.package,
        "notes": sh.notes,
        "ship_date": sh.ship_date,
        "notify_customer": sh.notify_customer,
        "lines": [
            {"line_id": ln.order_line_id, "sku": ln.sku, "quantity": ln.quantity}
            for ln in sh.lines.all()
        ],
        "shipped_at": sh.shipped_at,
        "delivered_at": sh.delivered_at,
        "cancelled_at": sh.cancelled_at,
        "created_at": sh.created_at,
        "updated_at": sh.updated_at,
    }
