"""Words people read for the codes of orders, fulfillment, shipments and returns."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy, pgettext_lazy

from colis.core.models import Event
from colis.orders.status import STATUS_BY_NAME

HOLDS = {
    "awaiting_payment": gettext_lazy("Awaiting payment"),
    "inventory_out_of_stock": gettext_lazy("Out of stock"),
    "incorrect_address": gettext_lazy("Incorrect address"),
    "high_risk_of_fraud": gettext_lazy("High risk of fraud"),
    "awaiting_return_items": gettext_lazy("Awaiting return items"),
    "unknown_delivery_date": gettext_lazy("Unknown delivery date"),
    "other": gettext_lazy("Other"),
}
FO_STATES = {
    "open": pgettext_lazy("fulfillment order", "Open"),
    "in_progress": pgettext_lazy("fulfillment order", "In progress"),
    "on_hold": pgettext_lazy("fulfillment order", "On hold"),
    "scheduled": pgettext_lazy("fulfillment order", "Scheduled"),
    "closed": pgettext_lazy("fulfillment order", "Closed"),
    "cancelled": pgettext_lazy("fulfillment order", "Cancelled"),
}
FULFILLMENT_STATES = {
    "unfulfilled": gettext_lazy("Unfulfilled"),
    "partially_fulfilled": gettext_lazy("Partially fulfilled"),
    "fulfilled": gettext_lazy("Fulfilled"),
    "on_hold": gettext_lazy("On hold"),
    "in_progress": gettext_lazy("In progress"),
    "scheduled": gettext_lazy("Scheduled"),
    "request_declined": gettext_lazy("Request declined"),
    "restocked": gettext_lazy("Restocked"),
}
PAYMENT_STATES = {
    "pending": gettext_lazy("Payment pending"),
    "paid": gettext_lazy("Paid"),
    "partially_paid": gettext_lazy("Partially paid"),
    "refunded": gettext_lazy("Refunded"),
    "partially_refunded": gettext_lazy("Partially refunded"),
    "voided": gettext_lazy("Voided"),
}
SHIPMENT_STATES = {
    "pending": pgettext_lazy("shipment", "Pending"),
    "label_printed": pgettext_lazy("shipment", "Label printed"),
    "shipped": pgettext_lazy("shipment", "Shipped"),
    "in_transit": pgettext_lazy("shipment", "In transit"),
    "delivered": pgettext_lazy("shipment", "Delivered"),
    "failed": pgettext_lazy("shipment", "Delivery failed"),
    "cancelled": pgettext_lazy("shipment", "Cancelled"),
}
RETURN_STATES = {
    "requested": pgettext_lazy("return", "Requested"),
    "approved": pgettext_lazy("return", "Approved"),
    "rejected": pgettext_lazy("return", "Rejected"),
    "in_transit": pgettext_lazy("return", "In transit"),
    "received": pgettext_lazy("return", "Received"),
    "inspected": pgettext_lazy("return", "Inspected"),
    "closed": pgettext_lazy("return", "Closed"),
    "cancelled": pgettext_lazy("return", "Cancelled"),
}
REASONS = {
    "damaged": gettext_lazy("Damaged"),
    "defective": gettext_lazy("Defective"),
    "wrong_item": gettext_lazy("Wrong item"),
    "not_as_described": gettext_lazy("Not as described"),
    "size_or_fit": gettext_lazy("Size or fit"),
    "no_longer_needed": gettext_lazy("No longer needed"),
    "other": gettext_lazy("Other"),
}
SOURCES = {
    "staff": gettext_lazy("Opened by staff"),
    "api": gettext_lazy("Opened through the API"),
    "service": gettext_lazy("Opened by the fulfillment service"),
    "buyer": gettext_lazy("Asked by the buyer"),
    "channel": gettext_lazy("From the sales channel"),
}
CONDITIONS = {
    "resellable": pgettext_lazy("unit", "Resellable"),
    "damaged": pgettext_lazy("unit", "Damaged"),
    "defective": pgettext_lazy("unit", "Defective"),
}
DISPOSITIONS = {
    "restock": gettext_lazy("Restock"),
    "unsellable": gettext_lazy("Keep aside (unsellable)"),
    "write_off": gettext_lazy("Write off"),
}
EVENTS = {
    "order_created": gettext_lazy("Order created"),
    "order_status_changed": gettext_lazy("Status changed"),
    "order_note_added": gettext_lazy("Note"),
    "order_address_changed": gettext_lazy("Shipping address changed"),
    "order_cancelled": gettext_lazy("Order cancelled"),
    "order_paid": gettext_lazy("Order paid"),
    "order_routed": gettext_lazy("Order routed"),
    "order_rerouted": gettext_lazy("Order routed again"),
    "order_refunded": gettext_lazy("Refunded"),
    "order_redacted": gettext_lazy("Buyer data removed"),
    "fulfillment_order_held": gettext_lazy("Fulfillment order held"),
    "fulfillment_order_released": gettext_lazy("Fulfillment order released"),
    "fulfillment_order_moved": gettext_lazy("Fulfillment order moved"),
    "fulfillment_order_split": gettext_lazy("Fulfillment order split"),
    "fulfillment_order_cancelled": gettext_lazy("Fulfillment order cancelled"),
    "shipment_created": gettext_lazy("Shipment created"),
    "shipment_cancelled": gettext_lazy("Shipment cancelled"),
    "shipment_delivered": gettext_lazy("Shipment delivered"),
    "shipment_tracking_updated": gettext_lazy("Tracking updated"),
    "documents_printed": gettext_lazy("Documents printed"),
    "return_requested": gettext_lazy("Return requested"),
    "return_approved": gettext_lazy("Return approved"),
    "return_rejected": gettext_lazy("Return rejected"),
    "return_received": gettext_lazy("Return received"),
    "return_inspected": gettext_lazy("Return inspected"),
    "return_restocked": gettext_lazy("Return restocked"),
    "return_closed": gettext_lazy("Return closed"),
    "return_cancelled": gettext_lazy("Return cancelled"),
    "outbox_retried": gettext_lazy("Sent again"),
}


def hold_label(code: str) -> str:
    return str(HOLDS.get(code, code))


def fo_state_label(code: str) -> str:
    return str(FO_STATES.get(code, code))


def fulfillment_label(code: str) -> str:
    return str(FULFILLMENT_STATES.get(code, code))


def payment_label(code: str) -> str:
    return str(PAYMENT_STATES.get(code, code))


def shipment_status_label(code: str) -> str:
    return str(SHIPMENT_STATES.get(code, code))


def return_state_label(code: str) -> str:
    return str(RETURN_STATES.get(code, code))


def reason_label(code: str) -> str:
    return str(REASONS.get(code, code))


def condition_label(code: str) -> str:
    return str(CONDITIONS.get(code, code))


def event_text(event: Event, labels: dict[int, str]) -> dict[str, Any]:
    """A title and a detail line for one timeline event."""
    data = event.data if isinstance(event.data, dict) else {}
    title = str(EVENTS.get(event.kind, event.kind.replace("_", " ").capitalize()))
    detail = ""
    if event.kind == "order_note_added":
        detail = str(data.get("text", ""))
    elif event.kind == "order_status_changed":
        names = [data.get("from"), data.get("to")]
        shown = [labels[STATUS_BY_NAME[n].value] if n in STATUS_BY_NAME else str(n or "")
                 for n in names]  # fmt: skip
        detail = " → ".join(shown)
        if data.get("note"):
            detail += f" · {data['note']}"
    elif event.kind == "fulfillment_order_held" and data.get("reason"):
        detail = hold_label(str(data["reason"]))
        if data.get("notes"):
            detail += f" · {data['notes']}"
    elif data.get("reason") and isinstance(data["reason"], str):
        detail = data["reason"]
    elif data.get("tracking_numbers"):
        detail = ", ".join(str(n) for n in data["tracking_numbers"])
    return {"title": title, "detail": detail}
