"""The data a buyer email template sees: plain values only, built from the order (and the
shipment), never the models themselves."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from colis.core.models import Shop
from colis.core.money import money_format, parse_amount
from colis.fulfillment.models import Shipment
from colis.orders.models import Order

# The words a buyer reads for a return reason, per language (codes as in returns.status).
REASON_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "damaged": "Damaged",
        "defective": "Defective",
        "wrong_item": "Wrong item",
        "not_as_described": "Not as described",
        "size_or_fit": "Size or fit",
        "no_longer_needed": "No longer needed",
        "other": "Other",
    },
    "fr": {
        "damaged": "Endommagé",
        "defective": "Défectueux",
        "wrong_item": "Mauvais article",
        "not_as_described": "Non conforme à la description",
        "size_or_fit": "Taille ou coupe",
        "no_longer_needed": "Plus nécessaire",
        "other": "Autre",
    },
}
_ADDRESS_KEYS = (
    "name",
    "company",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
)


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, dict | list) else str(value)


def _count(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def return_context(payload: Any, locale: str) -> dict[str, Any]:
    """The `return` a template sees, from the queued message's `return` ({number, state,
    rejection_reason, instructions, lines, address}): strings and numbers only, every key
    present (empty when the message does not say)."""
    data = payload if isinstance(payload, dict) else {}
    labels = REASON_LABELS.get(locale, REASON_LABELS["en"])
    lines = []
    for raw in data.get("lines") or []:
        if not isinstance(raw, dict):
            continue
        reason = _text(raw.get("reason"))
        quantity = _count(raw.get("quantity"))
        lines.append(
            {
                "sku": _text(raw.get("sku")),
                "title": _text(raw.get("title")) or _text(raw.get("sku")),
                "quantity": quantity,
                "quantity_received": _count(raw.get("quantity_received", quantity)),
                "reason": reason,
                "reason_label": labels.get(reason, reason),
                "note": _text(raw.get("note")),
            }
        )
    address = data.get("address") if isinstance(data.get("address"), dict) else {}
    return {
        "number": _text(data.get("number")),
        "state": _text(data.get("state")),
        "rejection_reason": _text(data.get("rejection_reason")),
        "instructions": _text(data.get("instructions")),
        "lines": lines,
        "address": {k: _text(address.get(k)) for k in _ADDRESS_KEYS},
    }


def email_context(
    *,
    order: Order,
    shipment: Shipment | None,
    shop: Shop,
    locale: str = "en",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`extra` is what the queued message carries: `hold` ({reason}) for a hold email, `refund`
    ({amount, reason}) for a refund, `return` (see `return_context`) for a return email."""
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
                k: str(address.get(k, "") or "") for k in _ADDRESS_KEYS if k != "phone"
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
        "return": return_context(extra.get("return"), locale),
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
