"""The data a buyer email template sees: plain values only, built from the order (and the
shipment), never the models themselves."""

from __future__ import annotations

from typing import Any

from colis.core.models import Shop
from colis.fulfillment.models import Shipment
from colis.orders.models import Order


def email_context(*, order: Order, shipment: Shipment | None, shop: Shop) -> dict[str, Any]:
    lines = {ln.pk: ln for ln in order.lines.all()}
    items = []
    if shipment is not None:
        for sl in shipment.lines.all():
            line = lines.get(sl.order_line_id)
            items.append(
                {"sku": sl.sku, "title": line.title if line else sl.sku, "quantity": sl.quantity}
            )
    else:
        items = [
            {"sku": ln.sku, "title": ln.title, "quantity": ln.quantity} for ln in lines.values()
        ]
    address = order.shipping_address or {}
    context: dict[str, Any] = {
        "shop": {"name": shop.name},
        "order": {
            "number": order.number,
            "buyer_name": order.buyer_name or address.get("name", ""),
            "email": order.email,
            "shipping_method": order.shipping_method,
            "cancel_reason": order.cancel_reason,
            "shipping_address": {
                k: str(address.get(k, "") or "")
                for k in (
                    "name",
                    "company",
                    "line1",
                    "line2",
                    "city",
                    "region",
                    "postal_code",
                    "country",
                )
            },
        },
        "items": items,
        "shipment": None,
        "tracking": [],
    }
    if shipment is not None:
        urls = list(shipment.tracking_urls)
        context["shipment"] = {
            "carrier": shipment.carrier,
            "carrier_name": shipment.carrier_name or shipment.carrier,
            "service": shipment.service,
            "ship_date": str(shipment.ship_date or ""),
        }
        context["tracking"] = [
            {"number": n, "url": urls[i] if i < len(urls) else ""}
            for i, n in enumerate(shipment.tracking_numbers)
        ]
    return context
