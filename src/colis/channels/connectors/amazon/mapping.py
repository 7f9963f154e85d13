"""Pure functions between Amazon's Orders API JSON and the connector values: an Orders
2026-01-01 `Order` to a ChannelOrder, a PushPackage to a v0 `confirmShipment` body, and the
match between a pushed package and a package Amazon reports on the order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from colis.channels.connectors.base import (
    ChannelLine,
    ChannelOrder,
    ChannelShipment,
    OrderState,
    PushPackage,
)

# The includedData sets a read asks for: everything an import or a shipment check needs, so
# a page of searchOrders results is enough and no per-order getOrder follows.
INCLUDED_DATA = ("BUYER", "RECIPIENT", "PROCEEDS", "FULFILLMENT", "PACKAGES")
OTHER_CARRIER = "Other"

_PAID = frozenset({"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"})
# UNFULFILLABLE: Amazon will not fulfil the order at all, which for us is a cancellation.
_CANCELLED = frozenset({"CANCELLED", "UNFULFILLABLE"})
_NO_ADDRESS = {
    "name": "",
    "company": "",
    "line1": "",
    "line2": "",
    "city": "",
    "region": "",
    "postal_code": "",
    "country": "",
    "phone": "",
}


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time from Amazon as an aware datetime (UTC when it has no offset)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def format_time(value: datetime) -> str:
    """A time as Amazon's ISO 8601 form in UTC (`2025-01-01T00:00:00Z`)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(node: Mapping[str, Any] | None) -> Decimal | None:
    """A `Money` object's amount, or None when absent or unreadable."""
    if not node or node.get("amount") in (None, ""):
        return None
    try:
        return Decimal(str(node["amount"]))
    except InvalidOperation:
        return None


def order_state(status: str) -> OrderState:
    """Our order state for an Amazon `FulfillmentStatus`."""
    if status in _CANCELLED:
        return "cancelled"
    if status == "SHIPPED":
        return "shipped"
    return "open"


def order_paid(status: str) -> bool:
    """Amazon has taken the buyer's payment once an order leaves PENDING for a shippable
    status; PENDING and PENDING_AVAILABILITY orders are not paid yet."""
    return status in _PAID


def address(node: Mapping[str, Any] | None) -> dict[str, str]:
    """A `CustomerAddress` in our Address keys; "" where Amazon gives nothing."""
    if not node:
        return dict(_NO_ADDRESS)
    extra = [node.get("addressLine2") or "", node.get("addressLine3") or ""]
    return {
        "name": node.get("name") or "",
        "company": node.get("companyName") or "",
        "line1": node.get("addressLine1") or "",
        "line2": ", ".join(part for part in extra if part),
        "city": node.get("city") or node.get("municipality") or "",
        "region": node.get("stateOrRegion") or "",
        "postal_code": node.get("postalCode") or "",
        "country": (node.get("countryCode") or "").upper(),
        "phone": node.get("phone") or "",
    }


def _breakdown(breakdowns: Iterable[Mapping[str, Any]] | None, kind: str) -> Decimal:
    total = Decimal(0)
    for entry in breakdowns or ():
        if entry.get("type") == kind:
            total += money(entry.get("subtotal")) or Decimal(0)
    return total


def line(item: Mapping[str, Any]) -> ChannelLine:
    """One `OrderItem`; the unit price is the product's, else the item proceeds per unit."""
    product = item.get("product") or {}
    quantity = int(item.get("quantityOrdered") or 0)
    unit = money((product.get("price") or {}).get("unitPrice"))
    if unit is None:
        proceeds = _breakdown((item.get("proceeds") or {}).get("breakdowns"), "ITEM")
        unit = (proceeds / quantity).quantize(Decimal("0.01")) if quantity else proceeds
    return ChannelLine(
        external_line_id=str(item["orderItemId"]),
        sku=product.get("sellerSku") or product.get("asin") or "",
        title=product.get("title") or "",
        quantity=quantity,
        unit_price=unit,
    )


def shipment(package: Mapping[str, Any]) -> ChannelShipment:
    """An `OrderPackage` Amazon already knows about (pushed by us or made elsewhere)."""
    return ChannelShipment(
        external_id=str(package["packageReferenceId"]),
        carrier=package.get("carrier") or "",
        tracking_number=package.get("trackingNumber") or "",
        lines=tuple(
            (str(entry["orderItemId"]), int(entry["quantity"]))
            for entry in package.get("packageItems") or ()
        ),
    )


def _currency(order: Mapping[str, Any]) -> str:
    total = (order.get("proceeds") or {}).get("grandTotal") or {}
    if total.get("currencyCode"):
        return str(total["currencyCode"])
    for item in order.get("orderItems") or ():
        price = ((item.get("product") or {}).get("price") or {}).get("unitPrice") or {}
        proceeds = (item.get("proceeds") or {}).get("proceedsTotal") or {}
        for node in (price, proceeds):
            if node.get("currencyCode"):
                return str(node["currencyCode"])
    return ""


def channel_order(order: Mapping[str, Any]) -> ChannelOrder:
    """An Orders 2026-01-01 `Order` (read with INCLUDED_DATA) as a ChannelOrder. FBA orders
    (fulfilledBy AMAZON) are not merchant-fulfilled; PENDING orders are not paid. Raises
    KeyError or ValueError when a field the contract requires is missing or unreadable."""
    fulfillment = order.get("fulfillment") or {}
    status = fulfillment.get("fulfillmentStatus") or "PENDING"
    fulfilled_by = fulfillment.get("fulfilledBy") or "MERCHANT"
    proceeds = order.get("proceeds") or {}
    breakdowns = proceeds.get("breakdowns")
    delivery = (order.get("recipient") or {}).get("deliveryAddress")
    created = parse_time(order["createdTime"])
    updated = parse_time(order["lastUpdatedTime"])
    if created is None or updated is None:
        raise ValueError(f"Order {order.get('orderId')} has no createdTime or lastUpdatedTime.")
    sales = order.get("salesChannel") or {}
    shipping_address = address(delivery)
    return ChannelOrder(
        external_id=str(order["orderId"]),
        number=str(order["orderId"]),
        placed_at=created,
        updated_at=updated,
        state=order_state(status),
        paid=order_paid(status),
        merchant_fulfilled=fulfilled_by != "AMAZON",
        email=(order.get("buyer") or {}).get("buyerEmail") or "",
        currency=_currency(order),
        lines=tuple(line(item) for item in order.get("orderItems") or ()),
        shipping_address=shipping_address,
        phone=shipping_address["phone"],
        shipping_method=fulfillment.get("fulfillmentServiceLevel") or "",
        shipping_price=_breakdown(breakdowns, "SHIPPING"),
        tax_total=_breakdown(breakdowns, "TAX"),
        discount_total=abs(_breakdown(breakdowns, "DISCOUNT")),
        total=money(proceeds.get("grandTotal")),
        ship_by=parse_time((fulfillment.get("shipByWindow") or {}).get("latestDateTime")),
        shipments=tuple(shipment(p) for p in order.get("packages") or ()),
        refs={
            "marketplace_id": sales.get("marketplaceId") or "",
            "fulfilled_by": fulfilled_by,
            "fulfillment_status": status,
        },
    )


def confirm_shipment_body(package: PushPackage, *, marketplace_id: str) -> dict[str, Any]:
    """The v0 `ConfirmShipmentRequest` for one package: our shipment id is the
    packageReferenceId (Amazon takes positive numbers only), and a carrier without an Amazon
    code goes as "Other" with its name."""
    carrier_code = package.carrier_code or OTHER_CARRIER
    detail: dict[str, Any] = {
        "packageReferenceId": str(package.shipment_id),
        "carrierCode": carrier_code,
        "trackingNumber": package.tracking_number,
        "shipDate": format_time(package.ship_date),
        "orderItems": [
            {"orderItemId": ln.external_line_id, "quantity": ln.quantity} for ln in package.lines
        ],
    }
    if package.carrier_name or carrier_code == OTHER_CARRIER:
        detail["carrierName"] = package.carrier_name or carrier_code
    if package.service:
        detail["shippingMethod"] = package.service
    return {"marketplaceId": marketplace_id, "packageDetail": detail}


def package_for(
    packages: Iterable[Mapping[str, Any]], package: PushPackage
) -> Mapping[str, Any] | None:
    """The package on an Amazon order that a push of `package` created: same
    packageReferenceId first, else the same tracking number."""
    listed = list(packages)
    reference = str(package.shipment_id)
    for found in listed:
        if str(found.get("packageReferenceId")) == reference:
            return found
    if package.tracking_number:
        for found in listed:
            if found.get("trackingNumber") == package.tracking_number:
                return found
    return None
