"""Pure functions between Shopify Admin GraphQL JSON and Colis's channel values.

Nothing here talks to the network: an `Order` node (as the connector's queries select it, its
line and fulfillment pages already gathered) goes in, a `ChannelOrder` comes out; a
`PushPackage` and the order's fulfillment orders go in, a `FulfillmentInput` comes out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from colis.channels.connectors.base import (
    ChannelLine,
    ChannelOrder,
    ChannelShipment,
    OrderState,
    PermanentError,
    PushPackage,
    RefundPackage,
    money_places,
)

# Payment states in which the order may ship. AUTHORIZED counts: Shopify shops that capture on
# fulfilment ship authorised orders, and the capture follows the shipment.
PAID_STATUSES = frozenset({"PAID", "PARTIALLY_REFUNDED", "AUTHORIZED"})
# Fulfillment states that shipped nothing (or no longer count).
VOID_FULFILLMENTS = frozenset({"CANCELLED", "ERROR", "FAILURE"})
# Fulfillment order states a fulfillment can be created from.
FULFILLABLE = frozenset({"OPEN", "IN_PROGRESS"})
CANCEL_REASONS = ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "STAFF", "OTHER")
_GID = re.compile(r"^gid://shopify/(\w+)/(\d+)$")


def order_gid(external_id: str) -> str:
    """An order's GraphQL id from our external id (a bare legacy number is taken too)."""
    text = str(external_id).strip()
    return f"gid://shopify/Order/{text}" if text.isascii() and text.isdigit() else text


def shopify_time(moment: datetime) -> str:
    """A datetime as Shopify's search syntax takes it: UTC, to the second."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime | None:
    """A Shopify DateTime as an aware UTC datetime (None when absent or unreadable)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def money(bag: Mapping[str, Any] | None) -> Decimal:
    """A MoneyBag's shop amount as a Decimal (0 if absent)."""
    shop = (bag or {}).get("shopMoney") or {}
    try:
        return Decimal(str(shop.get("amount") or 0))
    except InvalidOperation:
        return Decimal(0)


def address_from(node: Mapping[str, Any] | None) -> dict[str, str]:
    """A MailingAddress in our Address keys ("" where Shopify has nothing)."""
    node = node or {}

    def text(key: str) -> str:
        return str(node.get(key) or "").strip()

    name = text("name") or f"{text('firstName')} {text('lastName')}".strip()
    return {
        "name": name,
        "company": text("company"),
        "line1": text("address1"),
        "line2": text("address2"),
        "city": text("city"),
        "region": text("provinceCode") or text("province"),
        "postal_code": text("zip"),
        "country": text("countryCodeV2").upper(),
        "phone": text("phone"),
    }


def order_state(node: Mapping[str, Any]) -> OrderState:
    if node.get("cancelledAt"):
        return "cancelled"
    if node.get("displayFulfillmentStatus") == "FULFILLED":
        return "shipped"
    return "open"


def merchant_fulfilled(node: Mapping[str, Any]) -> bool:
    """False when nothing is to be shipped by the merchant: the order needs no shipping, or
    every fulfillment order sits at a fulfillment service's location (a 3PL app ships it)."""
    if node.get("requiresShipping") is False:
        return False
    fos = _nodes(node.get("fulfillmentOrders"))
    at_services = [
        ((fo.get("assignedLocation") or {}).get("location") or {}).get("isFulfillmentService")
        for fo in fos
    ]
    return not (at_services and all(at_services))


def lines_from(nodes: Iterable[Mapping[str, Any]]) -> tuple[ChannelLine, ...]:
    """Order lines with what is left of them after edits (a removed line has 0 and is left
    out); prices are the original unit prices in the shop's currency."""
    lines = []
    for node in nodes:
        quantity = node.get("currentQuantity")
        quantity = int(node.get("quantity") or 0) if quantity is None else int(quantity)
        if quantity <= 0:
            continue
        lines.append(
            ChannelLine(
                external_line_id=str(node["id"]),
                sku=str(node.get("sku") or ""),
                title=str(node.get("title") or ""),
                quantity=quantity,
                unit_price=money(node.get("originalUnitPriceSet")),
            )
        )
    return tuple(lines)


def shipments_from(fulfillments: Iterable[Mapping[str, Any]]) -> tuple[ChannelShipment, ...]:
    """The fulfillments Shopify already has (made in its admin, or pushed by us before)."""
    shipments = []
    for made in fulfillments:
        if made.get("status") in VOID_FULFILLMENTS:
            continue
        tracking = (made.get("trackingInfo") or [{}])[0] or {}
        lines = tuple(
            (str(item["lineItem"]["id"]), int(item.get("quantity") or 0))
            for item in _nodes(made.get("fulfillmentLineItems"))
            if item.get("lineItem")
        )
        shipments.append(
            ChannelShipment(
                external_id=str(made["id"]),
                carrier=str(tracking.get("company") or ""),
                tracking_number=str(tracking.get("number") or ""),
                lines=lines,
            )
        )
    return tuple(shipments)


def order_from_node(node: Mapping[str, Any]) -> ChannelOrder:
    """One Order node as a ChannelOrder. `refs` keeps the GraphQL id, the legacy number and the
    name: a push finds the order's fulfillment orders by its GraphQL id."""
    shipping = node.get("shippingAddress")
    billing = node.get("billingAddress")
    address = address_from(shipping)
    placed = parse_time(node.get("processedAt")) or parse_time(node.get("createdAt"))
    updated = parse_time(node.get("updatedAt")) or placed
    if placed is None or updated is None:
        raise ValueError(f"Shopify order {node.get('id')} has no dates.")
    total = node.get("totalPriceSet")
    return ChannelOrder(
        external_id=str(node["id"]),
        number=str(node.get("name") or ""),
        placed_at=placed,
        updated_at=updated,
        state=order_state(node),
        paid=node.get("displayFinancialStatus") in PAID_STATUSES,
        merchant_fulfilled=merchant_fulfilled(node),
        email=str(node.get("email") or ""),
        currency=str(node.get("currencyCode") or ""),
        lines=lines_from(_nodes(node.get("lineItems"))),
        shipping_address=address,
        billing_address=address_from(billing) if billing else None,
        phone=str(node.get("phone") or "") or address["phone"],
        shipping_method=str((node.get("shippingLine") or {}).get("title") or ""),
        shipping_price=money(node.get("totalShippingPriceSet")),
        tax_total=money(node.get("totalTaxSet")),
        discount_total=money(node.get("totalDiscountsSet")),
        total=money(total) if total else None,
        shipments=shipments_from(node.get("fulfillments") or []),
        refs={
            "order_gid": str(node["id"]),
            "legacy_id": str(node.get("legacyResourceId") or ""),
            "name": str(node.get("name") or ""),
        },
    )


def fulfillment_input(
    package: PushPackage, fulfillment_orders: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The FulfillmentInput for one package. Fulfillment order line items are not order line
    items: each package line (a LineItem id) is spread over the open fulfillment order lines
    of that LineItem with quantity left. Raises PermanentError when Shopify has less left to
    fulfil than the package holds."""
    if not package.lines:
        raise PermanentError("The package has no lines to fulfil.")
    slots = [
        [
            str(fo["id"]),
            str(item["id"]),
            str(item["lineItem"]["id"]),
            int(item["remainingQuantity"]),
        ]
        for fo in fulfillment_orders
        if fo.get("status") in FULFILLABLE
        for item in _nodes(fo.get("lineItems"))
    ]
    chosen: dict[str, dict[str, int]] = {}
    for line in package.lines:
        need = line.quantity
        for slot in slots:
            if need == 0:
                break
            if slot[2] != line.external_line_id or slot[3] <= 0:
                continue
            take = min(need, slot[3])
            slot[3] -= take
            need -= take
            items = chosen.setdefault(slot[0], {})
            items[slot[1]] = items.get(slot[1], 0) + take
        if need:
            raise PermanentError(
                f"Shopify has {line.quantity - need} of line {line.external_line_id} left to "
                f"fulfil; the package holds {line.quantity}."
            )
    tracking: dict[str, Any] = {}
    company = package.carrier_code or package.carrier_name.strip()
    if company:
        tracking["company"] = company
    if package.tracking_number:
        tracking["number"] = package.tracking_number
        if package.tracking_url:
            tracking["url"] = package.tracking_url
    body: dict[str, Any] = {
        "lineItemsByFulfillmentOrder": [
            {
                "fulfillmentOrderId": fo_id,
                "fulfillmentOrderLineItems": [{"id": k, "quantity": q} for k, q in items.items()],
            }
            for fo_id, items in chosen.items()
        ],
        "notifyCustomer": package.notify_buyer,
    }
    if tracking:
        body["trackingInfo"] = tracking
    return body


def same_tracking(fulfillment: Mapping[str, Any], number: str) -> bool:
    """Whether a fulfillment carries this tracking number (case and spaces aside)."""
    wanted = _squash(number)
    return bool(wanted) and any(
        _squash(str(info.get("number") or "")) == wanted
        for info in fulfillment.get("trackingInfo") or []
    )


def cancel_reason(text: str) -> str:
    """Our cancellation reason as Shopify's OrderCancelReason (OTHER unless it names one)."""
    word = (text or "").strip().upper()
    return word if word in CANCEL_REASONS else "OTHER"


def webhook_order_ids(topic: str, payload: Any) -> tuple[str, ...]:
    """The orders an orders/* webhook names (its REST payload carries the GraphQL id)."""
    if not topic.startswith("orders/") or not isinstance(payload, Mapping):
        return ()
    found = payload.get("admin_graphql_api_id")
    if isinstance(found, str) and _GID.match(found):
        return (found,)
    if isinstance(payload.get("id"), int):
        return (order_gid(str(payload["id"])),)
    return ()


# -- refunds ---------------------------------------------------------------------------------

# Payments a refund goes back through: money taken in one step (SALE) or captured.
REFUNDABLE_KINDS = frozenset({"SALE", "CAPTURE"})
NOTE_LENGTH = 255


def refund_note(refund: RefundPackage) -> str:
    """The refund's note on Shopify: Colis's refund (`marker`, how an earlier attempt is found
    again) and its reason."""
    reason = " ".join(refund.reason.split())
    return (f"{refund.marker}: {reason}" if reason else refund.marker)[:NOTE_LENGTH]


def _amount(node: Mapping[str, Any] | None) -> Decimal:
    return money(node)


def refund_transactions(
    order_id: str, transactions: Sequence[Mapping[str, Any]], refund: RefundPackage
) -> list[dict[str, Any]]:
    """REFUND transactions for the refund's money, taken from the order's successful payments
    (sales and captures) in turn, each up to what is left of it after earlier refunds. Raises
    PermanentError when the payments hold less than the refund."""
    refunded: dict[str, Decimal] = {}
    for tx in transactions:
        parent = (tx.get("parentTransaction") or {}).get("id")
        if tx.get("kind") == "REFUND" and tx.get("status") == "SUCCESS" and parent:
            refunded[str(parent)] = refunded.get(str(parent), Decimal(0)) + _amount(
                tx.get("amountSet")
            )
    need = money_places(refund.amount, refund.currency)
    chosen: list[dict[str, Any]] = []
    for tx in transactions:
        if need <= 0:
            break
        if tx.get("kind") not in REFUNDABLE_KINDS or tx.get("status") != "SUCCESS":
            continue
        left = _amount(tx.get("amountSet")) - refunded.get(str(tx["id"]), Decimal(0))
        take = min(need, left)
        if take <= 0:
            continue
        chosen.append(
            {
                "orderId": order_id,
                "parentId": str(tx["id"]),
                "amount": str(money_places(take, refund.currency)),
                "gateway": str(tx.get("gateway") or ""),
                "kind": "REFUND",
            }
        )
        need -= take
    if need > 0:
        raise PermanentError(
            f"Shopify's payments on this order leave less than {refund.amount} {refund.currency} "
            "to refund."
        )
    return chosen


def refund_input(
    refund: RefundPackage, order_id: str, transactions: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The RefundInput of `refundCreate`. Lines are refunded without restocking: stock is
    Colis's, and a return restocks it here, by its inspection; the money goes back through the
    order's payments (without transactions Shopify would record a refund that pays nothing)."""
    body: dict[str, Any] = {
        "orderId": order_id,
        "note": refund_note(refund),
        "notify": refund.notify_buyer,
        "refundLineItems": [
            {
                "lineItemId": line.external_line_id,
                "quantity": line.quantity,
                "restockType": "NO_RESTOCK",
            }
            for line in refund.lines
            if line.quantity > 0
        ],
        "transactions": refund_transactions(order_id, transactions, refund),
    }
    if refund.shipping_amount > 0:
        body["shipping"] = {"amount": str(money_places(refund.shipping_amount, refund.currency))}
    return body


def matching_refund(
    refunds: Iterable[Mapping[str, Any]], refund: RefundPackage
) -> Mapping[str, Any] | None:
    """The order's refund whose note names this Colis refund (an earlier attempt), or None."""
    for found in refunds:
        note = str(found.get("note") or "")
        if note == refund.marker or note.startswith(refund.marker + ":"):
            return found
    return None


def _nodes(connection: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return list((connection or {}).get("nodes") or [])


def _squash(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()
