"""The data a buyer email template sees: plain values only, built from the order (and the
shipment), never the models themselves."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from colis.core.models import Shop
from colis.core.money import money_format, parse_amount
from colis.fulfillment.models import Shipment
from colis.orders.models import Order


def email_context(
    *,
    order: Order,
    shipment: Shipment | None,
    shop: Shop,
    locale: str = "en",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`extra` is what the queued message carries: `hold` ({reason}) for a hold email, `refund`
    ({amount, reason}) for a refund."""
    lines = {ln.pk: ln for ln in order.lines.all()}

    def money(amount: Decimal | None) -> str:
        return money_format(amount, order.currency, locale)

    items = []
    if shipment is not None:
        for sl in shipment.lines.all():
            line = lines.get(sl.order_line_id)
            items.append(
                {"sku": sl.sku, "title": line.title if line else sl.sku, "quantity": sl.quantity}
            )
    else:
        items = [
            {
                "sku": ln.sku,
                "title": ln.title,
                "quantity": ln.quantity,
                "price": money(ln.unit_price),
                "line_total": money(ln.unit_price * ln.quantity),
            }
            for ln in lines.values()
        ]
    address = order.shipping_address or {}
    extra = extra or {}
    context: dict[str, Any] = {
        "shop": {"name": shop.name},
        "order": {
            "number": order.number,
            "buyer_name": order.buyer_name or address.get("name", ""),
            "email": order.email,
            "shipping_method": order.shipping_method,
            "cancel_reason": order.cancel_reason,
            "currency": order.currency,
            "subtotal": money(order.subtotal),
            "shipping_price": money(order.shipping_price),
            "tax_total": money(order.tax_total),
            "discount_total": money(order.discount_total),
            "total": money(order.total),
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
        "hold": {"reason": str((extra.get("hold") or {}).get("reason", ""))},
        "refund": {
            "amount": money(parse_amount((extra.get("refund") or {}).get("amount"))),
            "reason": str((extra.get("refund") or {}).get("reason", "")),
        },
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
