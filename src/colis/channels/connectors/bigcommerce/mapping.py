"""Pure functions between BigCommerce Orders v2 JSON and the connector values.

BigCommerce spreads one order over three resources: the order itself (`GET /orders`), its
products (`GET /orders/{id}/products`) and its shipping addresses
(`GET /orders/{id}/shipping_addresses`); shipments already made live under
`GET /orders/{id}/shipments`. `order_from` takes all four. Money is a string with four decimals
("54.0000") and dates are RFC 2822 ("Tue, 05 Mar 2019 21:40:11 +0000").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from colis.channels.connectors.base import (
    ChannelLine,
    ChannelOrder,
    ChannelShipment,
    NotSupported,
    OrderState,
    PermanentError,
    PushPackage,
    RefundPackage,
    money_places,
)
from colis.orders.status import OrderStatus

# BigCommerce's fifteen order statuses are ours (orders.status), by id and with the same names.
STATUS_NAMES: dict[int, str] = {int(s.value): str(s.label) for s in OrderStatus}
CANCELLED = 5
CANCELLED_STATUSES = frozenset({5, 6})  # cancelled, declined
SHIPPED_STATUSES = frozenset({2, 10})  # shipped, completed
# Statuses that BigCommerce only reaches once the payment went through. Left out on purpose:
# 0/1/7 (checkout not finished or payment not confirmed), 12 and 13 (the payment is held for
# review or disputed: shipping now risks losing goods and money), 5/6 (cancelled, declined) and
# 4 (refunded in full: the buyer has the money back, so nothing is owed to them any more; a
# refund after delivery is a return, handled in Colis, not a reason to ship again).
PAID_STATUSES = frozenset({2, 3, 8, 9, 10, 11, 14})

# What BigCommerce's `shipping_provider` may be beside its own enum is `carrier_{id}` for
# third-party providers; "" is its documented "no integrated provider" value.
OTHER_PROVIDER = ""
# AfterShip slugs (`tracking_carrier`) of the integrated providers, so BigCommerce can build
# the tracking link itself.
TRACKING_CARRIERS: dict[str, str] = {
    "ups": "ups",
    "upsready": "ups",
    "upsonline": "ups",
    "usps": "usps",
    "endicia": "usps",
    "fedex": "fedex",
    "royalmail": "royal-mail",
    "canadapost": "canada-post",
    "auspost": "australia-post",
}
TRACKING_NUMBER_MAX = 50  # orderShipment_Post.tracking_number maxLength
TRACKING_LINK_MAX = 500
_CENT = Decimal("0.01")


def parse_date(value: Any) -> datetime | None:
    """An aware datetime from BigCommerce's RFC 2822 dates (ISO 8601 also accepted); None for
    the empty string BigCommerce sends for "never" (`date_shipped`)."""
    if not value:
        return None
    text = str(value).strip()
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_date(moment: datetime) -> str:
    """RFC 2822 in UTC, whole seconds (BigCommerce keeps no finer time, so the fraction is
    dropped downwards: a filter from this value still includes the second it came from)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return format_datetime(aware.astimezone(UTC).replace(microsecond=0))


def money(value: Any) -> Decimal:
    """BigCommerce's money strings as Decimal, at cents when nothing is lost by it."""
    try:
        amount = Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        return Decimal(0)
    cents = amount.quantize(_CENT)
    return cents if cents == amount else amount


def order_state(status_id: int) -> OrderState:
    if status_id in CANCELLED_STATUSES:
        return "cancelled"
    if status_id in SHIPPED_STATUSES:
        return "shipped"
    return "open"


def order_paid(status_id: int) -> bool:
    return status_id in PAID_STATUSES


def address_from(raw: Mapping[str, Any] | None) -> dict[str, str]:
    """A BigCommerce billing or shipping address in our Address keys ("" where it is blank).
    `state` is kept as BigCommerce spells it (often the full name): the address check
    normalises it to the region code."""
    raw = raw or {}

    def text(key: str) -> str:
        value = raw.get(key)
        return "" if value is None else str(value).strip()

    name = " ".join(part for part in (text("first_name"), text("last_name")) if part)
    return {
        "name": name,
        "company": text("company"),
        "line1": text("street_1"),
        "line2": text("street_2"),
        "city": text("city"),
        "region": text("state"),
        "postal_code": text("zip"),
        "country": text("country_iso2").upper(),
        "phone": text("phone"),
    }


def ships(product: Mapping[str, Any]) -> bool:
    """Whether an order product is a parcel to send: digital products and gift certificates
    are not, nor are the parts of a bundle (they travel with their parent line)."""
    if product.get("type", "physical") != "physical":
        return False
    return not product.get("is_bundled_product") and not product.get("parent_order_product_id")


def line_from(product: Mapping[str, Any], *, tax_inclusive: bool) -> ChannelLine:
    price = product.get("price_inc_tax") if tax_inclusive else product.get("price_ex_tax")
    return ChannelLine(
        external_line_id=str(product["id"]),
        sku=str(product.get("sku") or ""),
        title=str(product.get("name") or product.get("name_customer") or ""),
        quantity=int(product.get("quantity") or 0),
        unit_price=money(price if price not in (None, "") else product.get("base_price")),
    )


def shipment_from(raw: Mapping[str, Any]) -> ChannelShipment:
    """A shipment BigCommerce already has (made in its control panel or by another app)."""
    carrier = raw.get("shipping_provider") or raw.get("tracking_carrier")
    return ChannelShipment(
        external_id=str(raw["id"]),
        carrier=str(carrier or raw.get("shipping_method") or ""),
        tracking_number=str(raw.get("tracking_number") or ""),
        lines=tuple(
            (str(item["order_product_id"]), int(item.get("quantity") or 0))
            for item in raw.get("items") or ()
        ),
    )


def order_refs(
    products: Sequence[Mapping[str, Any]], addresses: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """What a shipment push needs: the order address id it ships to (the first one), and when
    the buyer split the order over several addresses, the address of each line."""
    refs: dict[str, Any] = {}
    if addresses:
        refs["order_address_id"] = int(addresses[0]["id"])
    if len(addresses) > 1:
        refs["line_address_ids"] = {
            str(p["id"]): int(p["order_address_id"]) for p in products if p.get("order_address_id")
        }
    return refs


def order_from(
    order: Mapping[str, Any],
    products: Sequence[Mapping[str, Any]],
    addresses: Sequence[Mapping[str, Any]],
    shipments: Sequence[Mapping[str, Any]] = (),
) -> ChannelOrder:
    """One BigCommerce order, normalised. Orders whose buyer chose several shipping addresses
    are represented by the first one (the refs keep each line's address for the push)."""
    status_id = int(order.get("status_id") or 0)
    inclusive = bool(order.get("is_tax_inclusive_pricing"))
    billing = dict(order.get("billing_address") or {})
    first = addresses[0] if addresses else {}
    placed = parse_date(order.get("date_created")) or datetime.now(UTC)
    shipping_cost = (
        order.get("shipping_cost_inc_tax") if inclusive else order.get("shipping_cost_ex_tax")
    )
    shipping_address = address_from(first)
    return ChannelOrder(
        external_id=str(order["id"]),
        number=str(order["id"]),
        placed_at=placed,
        updated_at=parse_date(order.get("date_modified")) or placed,
        state=order_state(status_id),
        paid=order_paid(status_id),
        merchant_fulfilled=True,  # BigCommerce has no marketplace fulfilment of its own
        email=str(billing.get("email") or first.get("email") or ""),
        currency=str(order.get("currency_code") or order.get("default_currency_code") or ""),
        lines=tuple(line_from(p, tax_inclusive=inclusive) for p in products if ships(p)),
        shipping_address=shipping_address,
        billing_address=address_from(billing) if billing else None,
        phone=shipping_address["phone"] or str(billing.get("phone") or ""),
        shipping_method=str(first.get("shipping_method") or ""),
        shipping_price=money(shipping_cost),
        tax_total=money(order.get("total_tax")),
        discount_total=money(order.get("discount_amount")) + money(order.get("coupon_discount")),
        total=money(order.get("total_inc_tax")),
        shipments=tuple(shipment_from(s) for s in shipments),
        refs=order_refs(products, addresses),
    )


def shipment_reference(shipment_id: int) -> str:
    """The note every pushed shipment carries in `comments`, so a retry can recognise the
    shipment it made even when the package has no tracking number."""
    return f"Colis shipment {shipment_id}"


def shipment_body(package: PushPackage) -> dict[str, Any]:
    """The `createOrderShipments` body for one package. With no BigCommerce provider code the
    shipment uses the documented custom form: an empty `shipping_provider`, the carrier's name
    as `shipping_method` and our tracking URL as `tracking_link`. Raises PermanentError when
    the package cannot be told to BigCommerce as it is."""
    refs = package.order_refs or {}
    per_line = refs.get("line_address_ids") or {}
    address_ids = {per_line.get(line.external_line_id) for line in package.lines} - {None}
    if len(address_ids) > 1:
        raise PermanentError("The package holds lines bound for different shipping addresses.")
    address_id = address_ids.pop() if address_ids else refs.get("order_address_id")
    if not address_id:
        raise PermanentError("The order has no BigCommerce shipping address to ship against.")
    if len(package.tracking_number) > TRACKING_NUMBER_MAX:
        raise PermanentError(
            f"BigCommerce takes tracking numbers of at most {TRACKING_NUMBER_MAX} characters."
        )
    provider = package.carrier_code or OTHER_PROVIDER
    slug = TRACKING_CARRIERS.get(provider, "")
    body: dict[str, Any] = {
        "order_address_id": int(address_id),
        "tracking_number": package.tracking_number,
        "shipping_provider": provider,
        "tracking_carrier": slug,
        "comments": shipment_reference(package.shipment_id),
        "items": [
            {"order_product_id": int(line.external_line_id), "quantity": line.quantity}
            for line in package.lines
        ],
    }
    if provider == OTHER_PROVIDER:
        body["shipping_method"] = " ".join(
            part for part in (package.carrier_name, package.service) if part
        )
    elif package.service:
        body["shipping_method"] = package.service
    # Without a slug BigCommerce cannot build a link, so it gets ours.
    if not slug and package.tracking_url and len(package.tracking_url) <= TRACKING_LINK_MAX:
        body["tracking_link"] = package.tracking_url
    return body


def shipment_matches(raw: Mapping[str, Any], package: PushPackage) -> bool:
    """Whether a BigCommerce shipment is the one this package made: it carries the package's
    reference note, or the same (non-empty) tracking number."""
    if str(raw.get("comments") or "") == shipment_reference(package.shipment_id):
        return True
    tracking = str(raw.get("tracking_number") or "")
    return bool(package.tracking_number) and tracking == package.tracking_number


# -- refunds (Orders v3 payment actions) ------------------------------------------------------

REASON_MAX = 1000  # an item's `reason`, at most


def refund_reason(refund: RefundPackage) -> str:
    """Each refunded item's reason: Colis's refund (`marker`, how an earlier attempt is found
    again) and the reason written in Colis."""
    reason = " ".join(refund.reason.split())
    return (f"{refund.marker}: {reason}" if reason else refund.marker)[:REASON_MAX]


def _number(amount: Decimal, currency: str) -> float:
    # The v3 contract types money as a JSON number.
    return float(money_places(amount, currency))


def refund_items(refund: RefundPackage) -> list[dict[str, Any]]:
    """The items of a refund quote and of the refund: each line as a PRODUCT by quantity (its
    order product id), the shipping as an amount on the order's shipping address. Raises
    NotSupported for a refund that names neither (BigCommerce refunds name their items)."""
    reason = refund_reason(refund)
    items: list[dict[str, Any]] = [
        {
            "item_type": "PRODUCT",
            "item_id": int(line.external_line_id),
            "quantity": line.quantity,
            "reason": reason,
        }
        for line in refund.lines
        if line.quantity > 0 and line.external_line_id.isascii() and line.external_line_id.isdigit()
    ]
    if refund.shipping_amount > 0:
        address_id = (refund.order_refs or {}).get("order_address_id")
        if not address_id:
            raise PermanentError("The order has no BigCommerce shipping address to refund.")
        items.append(
            {
                "item_type": "SHIPPING",
                "item_id": int(address_id),
                "amount": _number(refund.shipping_amount, refund.currency),
                "reason": reason,
            }
        )
    if not items:
        raise NotSupported(
            "Not sent: BigCommerce refunds name the items they are for, and this refund names "
            "no line and no shipping; refund it in BigCommerce's control panel."
        )
    return items


def refund_body(
    refund: RefundPackage, items: list[dict[str, Any]], quote: Mapping[str, Any]
) -> dict[str, Any]:
    """The refund request from its items and their quote: the money goes back by the first
    refund method the quote offers. When Colis's amount is not the quote's (a partial amount
    for a line), it is given as the merchant's own total, on a method with a single payment."""
    methods = [m for m in quote.get("refund_methods") or () if isinstance(m, list) and m]
    if not methods:
        raise PermanentError("BigCommerce offers no way to refund this order.")
    method = methods[0]
    amount = money_places(refund.amount, refund.currency)
    quoted = money_places(money(quote.get("total_refund_amount")), refund.currency)
    payments = [
        {
            "provider_id": str(option.get("provider_id") or ""),
            "amount": option.get("amount"),
            "offline": bool(option.get("offline")),
        }
        for option in method
    ]
    body: dict[str, Any] = {"items": items, "payments": payments}
    if amount != quoted:
        if len(payments) != 1:
            raise PermanentError(
                f"BigCommerce quotes {quoted} {refund.currency} for these items and splits it "
                f"over several payments; Colis refunds {amount}."
            )
        payments[0]["amount"] = float(amount)
        tax = money(quote.get("total_refund_tax_amount"))
        body["merchant_calculated_override"] = {
            "total_amount": float(amount),
            "total_tax": _number(min(tax, amount), refund.currency),
        }
    return body


def matching_refund(
    refunds: Sequence[Mapping[str, Any]], refund: RefundPackage
) -> Mapping[str, Any] | None:
    """The order's refund whose reason names this Colis refund (an earlier attempt), or
    None."""
    for found in refunds:
        reasons = [str(found.get("reason") or "")]
        reasons += [str(item.get("reason") or "") for item in found.get("items") or ()]
        if any(r == refund.marker or r.startswith(refund.marker + ":") for r in reasons):
            return found
    return None
