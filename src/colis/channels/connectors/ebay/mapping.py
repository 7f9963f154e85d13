"""Pure functions between eBay Sell Fulfillment v1 JSON and Colis's channel values.

Nothing here talks to the network: an `Order` (as getOrder/getOrders return it) and the
order's `ShippingFulfillment` objects go in, a `ChannelOrder` comes out; a `PushPackage` goes in,
a `ShippingFulfillmentDetails` body comes out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from colis.channels.connectors.base import (
    ChannelLine,
    ChannelOrder,
    ChannelShipment,
    OrderState,
    PushPackage,
    RefundPackage,
    money_places,
)

# eBay's name for "a carrier that is not in GeteBayDetails' list".
OTHER_CARRIER = "Other"

# orderPaymentStatus values meaning the buyer's money reached eBay (a refund comes after a
# payment); PENDING and FAILED are the unpaid ones.
PAID_STATUSES = frozenset({"PAID", "PARTIALLY_REFUNDED", "FULLY_REFUNDED"})

_NOT_ALPHANUMERIC = re.compile(r"[^0-9A-Za-z]")


def ebay_timestamp(moment: datetime) -> str:
    """A datetime in eBay's format, `2015-08-04T19:09:02.768Z` (UTC, milliseconds)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(value: str | None) -> datetime | None:
    """An eBay ISO 8601 timestamp as an aware UTC datetime (None when absent or unreadable)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def amount(node: Mapping[str, Any] | None) -> Decimal:
    """An eBay `Amount` ({"value": "12.30", "currency": "USD"}) as a Decimal (0 if absent)."""
    if not node or node.get("value") in (None, ""):
        return Decimal(0)
    try:
        return Decimal(str(node["value"]))
    except InvalidOperation:
        return Decimal(0)


def clean_tracking_number(value: str) -> str:
    """The tracking number as eBay accepts it: letters and digits only (eBay refuses spaces,
    hyphens and every other character, even when the label prints them)."""
    return _NOT_ALPHANUMERIC.sub("", value or "")


def carrier_code(package: PushPackage) -> str:
    """The `shippingCarrierCode` for a package: the carrier's eBay code when the registry has
    one; else the carrier's own name, which eBay stores and shows to the buyer as given (its
    code list is a list of recommended values); `Other` when there is not even a name."""
    return package.carrier_code or package.carrier_name.strip() or OTHER_CARRIER


def fulfillment_body(package: PushPackage) -> dict[str, Any]:
    """The createShippingFulfillment body for one package. Carrier and tracking number go
    together or not at all: eBay documents them as mutually dependent."""
    body: dict[str, Any] = {
        "lineItems": [
            {"lineItemId": line.external_line_id, "quantity": line.quantity}
            for line in package.lines
        ],
        "shippedDate": ebay_timestamp(package.ship_date),
    }
    tracking = clean_tracking_number(package.tracking_number)
    if tracking:
        body["shippingCarrierCode"] = carrier_code(package)
        body["trackingNumber"] = tracking
    return body


def fulfillment_id_from_location(location: str) -> str:
    """The fulfillment id at the end of a createShippingFulfillment `Location` header
    (`.../order/{orderId}/shipping_fulfillment/{fulfillmentId}`)."""
    return location.rstrip("/").rsplit("/", 1)[-1] if location else ""


def _line_key(lines: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(line_id), int(qty)) for line_id, qty in lines))


def matching_fulfillment(
    fulfillments: Sequence[Mapping[str, Any]], package: PushPackage
) -> Mapping[str, Any] | None:
    """The fulfillment on eBay that this package already made: the same tracking number when
    the package has one (eBay even uses it as the fulfillment id), else an untracked
    fulfillment of exactly the same lines and quantities."""
    tracking = clean_tracking_number(package.tracking_number).upper()
    wanted = _line_key((line.external_line_id, line.quantity) for line in package.lines)
    for fulfillment in fulfillments:
        theirs = clean_tracking_number(fulfillment.get("shipmentTrackingNumber") or "").upper()
        if tracking:
            if theirs == tracking:
                return fulfillment
            continue
        lines = (
            (item.get("lineItemId", ""), item.get("quantity", 1))
            for item in fulfillment.get("lineItems") or ()
        )
        if not theirs and _line_key(lines) == wanted:
            return fulfillment
    return None


def shipment_from_fulfillment(fulfillment: Mapping[str, Any]) -> ChannelShipment:
    """A ShippingFulfillment as a shipment the channel already has."""
    return ChannelShipment(
        external_id=str(fulfillment.get("fulfillmentId") or ""),
        carrier=fulfillment.get("shippingCarrierCode") or "",
        tracking_number=fulfillment.get("shipmentTrackingNumber") or "",
        lines=tuple(
            (str(item.get("lineItemId") or ""), int(item.get("quantity") or 1))
            for item in fulfillment.get("lineItems") or ()
        ),
    )


def _first_instruction(order: Mapping[str, Any]) -> Mapping[str, Any]:
    instructions = order.get("fulfillmentStartInstructions") or ()
    return instructions[0] if instructions else {}


def _ship_to(order: Mapping[str, Any]) -> Mapping[str, Any]:
    return (_first_instruction(order).get("shippingStep") or {}).get("shipTo") or {}


def address_from_contact(contact: Mapping[str, Any]) -> dict[str, str]:
    """An eBay `ExtendedContact` as our Address keys ("" where eBay gives nothing)."""
    place = contact.get("contactAddress") or {}
    return {
        "name": contact.get("fullName") or "",
        "company": contact.get("companyName") or "",
        "line1": place.get("addressLine1") or "",
        "line2": place.get("addressLine2") or "",
        "city": place.get("city") or "",
        "region": place.get("stateOrProvince") or "",
        "postal_code": place.get("postalCode") or "",
        "country": (place.get("countryCode") or "").upper(),
        "phone": (contact.get("primaryPhone") or {}).get("phoneNumber") or "",
    }


def order_state(order: Mapping[str, Any]) -> OrderState:
    """cancelled when eBay cancelled it (or refunded it in full before it shipped), shipped
    when every line is fulfilled, else open. A buyer's pending cancel request leaves the
    order open: the seller may still refuse it."""
    if (order.get("cancelStatus") or {}).get("cancelState") == "CANCELED":
        return "cancelled"
    if order.get("orderFulfillmentStatus") == "FULFILLED":
        return "shipped"
    if order.get("orderPaymentStatus") == "FULLY_REFUNDED":
        return "cancelled"
    return "open"


def merchant_fulfilled(order: Mapping[str, Any]) -> bool:
    """False when eBay (or its fulfillment partner) ships the order itself. Global Shipping
    Program and eBay International Shipping orders stay the seller's: the seller still ships
    them, to eBay's hub."""
    if ((order.get("program") or {}).get("fulfillmentProgram") or {}).get("fulfilledBy") == "EBAY":
        return False
    return not any(
        item.get("fulfillmentInstructionsType") == "FULFILLED_BY_EBAY"
        for item in order.get("fulfillmentStartInstructions") or ()
    )


def line_sku(item: Mapping[str, Any]) -> str:
    """The seller's SKU; listings made without one (Trading API listings) fall back to the
    listing's item id, with the variation id when the buyer chose a variation."""
    if item.get("sku"):
        return str(item["sku"])
    legacy = str(item.get("legacyItemId") or "")
    variation = item.get("legacyVariationId")
    return f"{legacy}-{variation}" if legacy and variation else legacy


def _unit_price(cost: Decimal, quantity: int) -> Decimal:
    # lineItemCost is the price of every unit together.
    if quantity <= 1:
        return cost
    exponent = Decimal(1).scaleb(min(int(cost.as_tuple().exponent), -2))
    return (cost / quantity).quantize(exponent, rounding=ROUND_HALF_UP)


def channel_line(item: Mapping[str, Any]) -> ChannelLine:
    quantity = int(item.get("quantity") or 1)
    return ChannelLine(
        external_line_id=str(item.get("lineItemId") or ""),
        sku=line_sku(item),
        title=item.get("title") or "",
        quantity=quantity,
        unit_price=_unit_price(amount(item.get("lineItemCost")), quantity),
    )


def _ship_by(order: Mapping[str, Any]) -> datetime | None:
    dates = [
        parse_timestamp((item.get("lineItemFulfillmentInstructions") or {}).get("shipByDate"))
        for item in order.get("lineItems") or ()
    ]
    known = [d for d in dates if d is not None]
    return min(known) if known else None


def _currency(order: Mapping[str, Any]) -> str:
    pricing = order.get("pricingSummary") or {}
    for key in ("total", "priceSubtotal"):
        if (pricing.get(key) or {}).get("currency"):
            return str(pricing[key]["currency"])
    for item in order.get("lineItems") or ():
        if (item.get("lineItemCost") or {}).get("currency"):
            return str(item["lineItemCost"]["currency"])
    return ""


def order_refs(
    order: Mapping[str, Any], fulfillments: Sequence[Mapping[str, Any]] | None
) -> dict[str, Any]:
    """The eBay ids a push and a later look-up need."""
    items = order.get("lineItems") or ()
    return {
        "order_id": order.get("orderId", ""),
        "marketplace_id": next(
            (item["listingMarketplaceId"] for item in items if item.get("listingMarketplaceId")),
            "",
        ),
        "buyer_username": (order.get("buyer") or {}).get("username", ""),
        "sales_record_reference": order.get("salesRecordReference", ""),
        "cancel_state": (order.get("cancelStatus") or {}).get("cancelState", ""),
        "payment_status": order.get("orderPaymentStatus", ""),
        "fulfillment_status": order.get("orderFulfillmentStatus", ""),
        "line_items": {
            str(item.get("lineItemId")): {
                "legacy_item_id": item.get("legacyItemId", ""),
                "legacy_variation_id": item.get("legacyVariationId", ""),
                "quantity": int(item.get("quantity") or 1),
            }
            for item in items
        },
        "fulfillment_ids": (
            [str(f.get("fulfillmentId")) for f in fulfillments]
            if fulfillments is not None
            else [
                href.rstrip("/").rsplit("/", 1)[-1] for href in order.get("fulfillmentHrefs") or ()
            ]
        ),
    }


def order_from_ebay(
    order: Mapping[str, Any], fulfillments: Sequence[Mapping[str, Any]] | None = None
) -> ChannelOrder:
    """One eBay `Order` as a ChannelOrder. `fulfillments` are the order's ShippingFulfillments
    (getOrders does not return them, only their URIs); without them the order carries no
    shipments."""
    ship_to = _ship_to(order)
    buyer_contact = (order.get("buyer") or {}).get("buyerRegistrationAddress") or {}
    pricing = order.get("pricingSummary") or {}
    placed_at = parse_timestamp(order.get("creationDate")) or datetime.now(UTC)
    instruction = _first_instruction(order)
    shipping = amount(pricing.get("deliveryCost")) + amount(pricing.get("deliveryDiscount"))
    billing = address_from_contact(buyer_contact) if buyer_contact.get("contactAddress") else None
    return ChannelOrder(
        external_id=str(order.get("orderId") or ""),
        number=str(order.get("orderId") or ""),
        placed_at=placed_at,
        updated_at=parse_timestamp(order.get("lastModifiedDate")) or placed_at,
        state=order_state(order),
        paid=order.get("orderPaymentStatus") in PAID_STATUSES,
        merchant_fulfilled=merchant_fulfilled(order),
        email=buyer_contact.get("email") or ship_to.get("email") or "",
        currency=_currency(order),
        lines=tuple(channel_line(item) for item in order.get("lineItems") or ()),
        shipping_address=address_from_contact(ship_to),
        billing_address=billing,
        phone=(ship_to.get("primaryPhone") or buyer_contact.get("primaryPhone") or {}).get(
            "phoneNumber"
        )
        or "",
        shipping_method=(instruction.get("shippingStep") or {}).get("shippingServiceCode") or "",
        shipping_price=shipping,
        tax_total=amount(pricing.get("tax")),
        # eBay gives discounts as negative amounts.
        discount_total=abs(amount(pricing.get("priceDiscount"))),
        total=amount(pricing["total"]) if pricing.get("total") else None,
        ship_by=_ship_by(order),
        shipments=tuple(shipment_from_fulfillment(f) for f in fulfillments or ()),
        refs=order_refs(order, fulfillments),
    )


# -- refunds ---------------------------------------------------------------------------------

# Return reasons that say the item was not what was sold: eBay's "not as described" family.
NOT_AS_DESCRIBED = frozenset({"damaged", "defective", "wrong_item", "not_as_described"})
COMMENT_LENGTH = 100  # issueRefund's `comment`, at most
# Refund states that gave nothing back (an attempt that failed is no refund to find).
FAILED_REFUNDS = frozenset({"FAILED"})


def refund_reason(refund: RefundPackage) -> str:
    """The ReasonForRefundEnum value for a refund: the item was not as described (damaged,
    defective, wrong item) whether or not it came back; a return for another reason is the
    buyer's return; a refund of shipping alone passes on a shipping discount; words saying
    the parcel never came are an item not received; anything else an adjustment."""
    stated = refund.reason.strip().lower()
    if NOT_AS_DESCRIBED & {*refund.return_reasons, stated}:
        return "ITEM_NOT_AS_DESCRIBED"
    if refund.return_reasons:
        return "BUYER_RETURN"
    if "not received" in stated or "not_received" in stated or "never arrived" in stated:
        return "ITEM_NOT_RECEIVED"
    if not refund.lines and refund.shipping_amount and refund.shipping_amount >= refund.amount:
        return "SHIPPING_DISCOUNT"
    return "OTHER_ADJUSTMENT"


def _simple_amount(value: Decimal, currency: str) -> dict[str, str]:
    return {"value": str(money_places(value, currency)), "currency": currency}


def refund_body(refund: RefundPackage) -> dict[str, Any]:
    """The issueRefund body. Per line item (`refundItems`) when the refund names each line's
    money and nothing else (eBay takes shipping only in an order-level amount); else one
    `orderLevelRefundAmount` for the whole refund."""
    body: dict[str, Any] = {
        "reasonForRefund": refund_reason(refund),
        "comment": refund_comment(refund),
    }
    lines_total = sum((line.amount for line in refund.lines), Decimal(0))
    per_line = (
        bool(refund.lines)
        and all(line.amount > 0 for line in refund.lines)
        and not refund.shipping_amount
        and money_places(lines_total, refund.currency)
        == money_places(refund.amount, refund.currency)
    )
    if per_line:
        body["refundItems"] = [
            {
                "lineItemId": line.external_line_id,
                "refundAmount": _simple_amount(line.amount, refund.currency),
            }
            for line in refund.lines
        ]
    else:
        body["orderLevelRefundAmount"] = _simple_amount(refund.amount, refund.currency)
    return body


def refund_comment(refund: RefundPackage) -> str:
    """What the buyer and the seller see with the refund: Colis's refund and its reason."""
    reason = " ".join(refund.reason.split())
    text = f"{refund.marker}: {reason}" if reason else refund.marker
    return text[:COMMENT_LENGTH]


def refunds_on_order(order: Mapping[str, Any]) -> dict[str, Decimal]:
    """The refunds an eBay order shows (order-level in `paymentSummary.refunds`, per line in
    `lineItems[].refunds`), by refund id, each with its whole amount; failed ones left out."""
    found: dict[str, Decimal] = {}
    for refund in (order.get("paymentSummary") or {}).get("refunds") or ():
        if refund.get("refundStatus") in FAILED_REFUNDS:
            continue
        key = str(refund.get("refundId") or refund.get("refundReferenceId") or "")
        if key:
            found[key] = found.get(key, Decimal(0)) + amount(refund.get("amount"))
    for item in order.get("lineItems") or ():
        for refund in item.get("refunds") or ():
            key = str(refund.get("refundId") or refund.get("refundReferenceId") or "")
            if key:
                found[key] = found.get(key, Decimal(0)) + amount(refund.get("amount"))
    return found


def matching_refund(order: Mapping[str, Any], refund: RefundPackage) -> tuple[str, Decimal] | None:
    """The refund on the eBay order that an earlier attempt of `refund` made: eBay keeps no
    comment to recognise it by, so it is one of the same amount that no other Colis refund of
    the order accounts for (oldest first)."""
    wanted = money_places(refund.amount, refund.currency)
    for key, total in refunds_on_order(order).items():
        if key not in refund.claimed and money_places(total, refund.currency) == wanted:
            return key, total
    return None
