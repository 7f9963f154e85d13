"""The store as the Admin schema's objects: dicts keyed by field name, with the fields that take
arguments (connections, sized lists) as functions graphql-core calls. graphql-core then keeps
only what a query selects and checks every value against the schema. Also the REST shape that
Shopify's webhooks carry."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from colis.emulators.graphql import list_connection
from colis.emulators.shopify.store import (
    LOCATIONS,
    OPEN_STATES,
    FoLine,
    Fulfillment,
    FulfillmentOrder,
    Line,
    Order,
    Refund,
    Transaction,
    gid,
    shown,
)

Money = Callable[[Decimal], dict[str, Any]]


def money_in(currency: str) -> Money:
    """A MoneyBag maker (shop and presentment currency are one here)."""

    def money(amount: Decimal) -> dict[str, Any]:
        value = {"amount": str(amount.quantize(Decimal("0.01"))), "currencyCode": currency}
        return {"shopMoney": value, "presentmentMoney": value}

    return money


def order_view(order: Order) -> dict[str, Any]:
    money = money_in(order.currency)
    status = order.fulfillment_status()
    total = order.subtotal + order.shipping_price
    paid = order.financial in ("PAID", "PARTIALLY_REFUNDED")
    return {
        "id": gid("Order", order.number),
        "legacyResourceId": str(order.number),
        "name": order.name,
        "email": order.email,
        "phone": order.phone,
        "createdAt": shown(order.created_at),
        "processedAt": shown(order.processed_at),
        "updatedAt": shown(order.updated_at),
        "cancelledAt": shown(order.cancelled_at),
        "cancelReason": order.cancel_reason,
        "closed": order.closed_at is not None,
        "closedAt": shown(order.closed_at),
        "confirmed": True,
        "test": False,
        "note": None,
        "tags": [],
        "sourceName": "web",
        "currencyCode": order.currency,
        "presentmentCurrencyCode": order.currency,
        "displayFinancialStatus": order.financial,
        "displayFulfillmentStatus": status,
        "fullyPaid": paid,
        "unpaid": order.financial in ("PENDING", "AUTHORIZED", "EXPIRED"),
        "requiresShipping": True,
        "fulfillable": order.cancelled_at is None and status != "FULFILLED",
        "taxesIncluded": False,
        "subtotalLineItemsQuantity": sum(ln.quantity for ln in order.lines),
        "subtotalPriceSet": money(order.subtotal),
        "totalPriceSet": money(total),
        "currentTotalPriceSet": money(total),
        "totalShippingPriceSet": money(order.shipping_price),
        "totalTaxSet": money(Decimal(0)),
        "totalDiscountsSet": money(Decimal(0)),
        "totalReceivedSet": money(total if paid else Decimal(0)),
        "shippingLine": {
            "title": order.shipping_title,
            "code": order.shipping_title,
            "source": "shopify",
            "custom": False,
            "isRemoved": False,
            "originalPriceSet": money(order.shipping_price),
            "discountedPriceSet": money(order.shipping_price),
        },
        "shippingAddress": order.address,
        "billingAddress": order.address,
        "lineItems": lambda info, **a: list_connection(order.lines, a, line_view),
        "fulfillmentOrders": lambda info, **a: list_connection(
            _fo_filter(order.fulfillment_orders, a.get("query")), a, fo_view
        ),
        "fulfillments": lambda info, first=None: [
            fulfillment_view(f) for f in order.fulfillments[:first]
        ],
        "fulfillmentsCount": {"count": len(order.fulfillments), "precision": "EXACT"},
        "refundable": paid and order.refunded < total,
        "totalRefundedSet": money(order.refunded),
        "refunds": lambda info, first=None: [refund_view(r) for r in order.refunds[:first]],
        "transactions": lambda info, first=None, **_: [
            transaction_view(t, order.currency) for t in order.transactions[:first]
        ],
    }


def transaction_view(tx: Transaction, currency: str) -> dict[str, Any]:
    money = money_in(currency)
    return {
        "id": gid("OrderTransaction", tx.number),
        "kind": tx.kind,
        "status": tx.status,
        "gateway": tx.gateway,
        "formattedGateway": tx.gateway.replace("_", " ").title(),
        "amountSet": money(tx.amount),
        "amount": str(tx.amount.quantize(Decimal("0.01"))),
        "createdAt": shown(tx.created_at),
        "processedAt": shown(tx.created_at),
        "test": False,
        "manualPaymentGateway": False,
        "manuallyCapturable": False,
        "multiCapturable": False,
        "fees": [],
        "errorCode": None,
        "parentTransaction": lambda info: (
            transaction_view(tx.parent, currency) if tx.parent else None
        ),
    }


def refund_view(refund: Refund) -> dict[str, Any]:
    currency = refund.order.currency
    money = money_in(currency)

    def line(entry: tuple[int, Line, int, str]) -> dict[str, Any]:
        number, order_line, quantity, restock = entry
        return {
            "id": gid("RefundLineItem", number),
            "lineItem": line_view(order_line),
            "quantity": quantity,
            "restockType": restock,
            "restocked": restock != "NO_RESTOCK",
            "priceSet": money(order_line.price),
            "subtotalSet": money(order_line.price * quantity),
            "totalTaxSet": money(Decimal(0)),
            "location": None,
        }

    return {
        "id": gid("Refund", refund.number),
        "legacyResourceId": str(refund.number),
        "note": refund.note,
        "createdAt": shown(refund.created_at),
        "updatedAt": shown(refund.created_at),
        "totalRefundedSet": money(refund.total),
        "totalRefunded": {
            "amount": str(refund.total.quantize(Decimal("0.01"))),
            "currencyCode": currency,
        },
        "order": lambda info: order_view(refund.order),
        "refundLineItems": lambda info, **a: list_connection(refund.lines, a, line),
        "transactions": lambda info, **a: list_connection(
            refund.transactions, a, lambda t: transaction_view(t, currency)
        ),
    }


def line_view(line: Line) -> dict[str, Any]:
    money = money_in(line.currency)
    return {
        "id": gid("LineItem", line.number),
        "name": line.title,
        "title": line.title,
        "sku": line.sku,
        "variantTitle": None,
        "vendor": None,
        "quantity": line.quantity,
        "currentQuantity": line.quantity,
        "unfulfilledQuantity": line.quantity - line.fulfilled,
        "nonFulfillableQuantity": 0,
        "refundableQuantity": line.quantity,
        "requiresShipping": True,
        "isGiftCard": False,
        "taxable": True,
        "originalUnitPriceSet": money(line.price),
        "discountedUnitPriceSet": money(line.price),
        "originalTotalSet": money(line.price * line.quantity),
        "discountedTotalSet": lambda info, **_: money(line.price * line.quantity),
    }


def fo_view(fo: FulfillmentOrder) -> dict[str, Any]:
    actions = ["CREATE_FULFILLMENT", "HOLD", "MOVE"] if fo.status in OPEN_STATES else []
    return {
        "id": gid("FulfillmentOrder", fo.number),
        "status": fo.status,
        "requestStatus": "UNSUBMITTED",
        "createdAt": shown(fo.created_at),
        "updatedAt": shown(fo.updated_at),
        "orderId": gid("Order", fo.order.number),
        "orderName": fo.order.name,
        "orderProcessedAt": shown(fo.order.processed_at),
        "fulfillAt": None,
        "fulfillBy": None,
        "fulfillmentHolds": [],
        "supportedActions": [{"action": a, "externalUrl": None} for a in actions],
        "assignedLocation": {
            "name": LOCATIONS[fo.location]["name"],
            "countryCode": "US",
            "address1": "1 Warehouse Way",
            "address2": None,
            "city": "Austin",
            "province": "Texas",
            "zip": "78701",
            "phone": None,
            "location": location_view(fo.location),
        },
        "lineItems": lambda info, **a: list_connection(fo.lines, a, fo_line_view),
        "order": lambda info: order_view(fo.order),
    }


def location_view(number: int) -> dict[str, Any]:
    place = LOCATIONS[number]
    service = None
    if place["service"]:
        service = {
            "id": gid("FulfillmentService", number),
            "handle": "fulfilment-partner",
            "serviceName": place["name"],
            "type": "THIRD_PARTY",
            "inventoryManagement": True,
            "permitsSkuSharing": True,
            "trackingSupport": True,
            "callbackUrl": None,
        }
    return {
        "id": gid("Location", number),
        "legacyResourceId": str(number),
        "name": place["name"],
        "isActive": True,
        "isFulfillmentService": place["service"],
        "fulfillsOnlineOrders": True,
        "shipsInventory": True,
        "hasActiveInventory": True,
        "fulfillmentService": service,
    }


def fo_line_view(fo_line: FoLine) -> dict[str, Any]:
    return {
        "id": gid("FulfillmentOrderLineItem", fo_line.number),
        "totalQuantity": fo_line.total,
        "remainingQuantity": fo_line.remaining,
        "sku": fo_line.line.sku,
        "productTitle": fo_line.line.title,
        "variantTitle": None,
        "vendor": None,
        "requiresShipping": True,
        "warnings": [],
        "lineItem": lambda info: line_view(fo_line.line),
    }


def fulfillment_view(made: Fulfillment) -> dict[str, Any]:
    money = money_in(made.order.currency)
    tracking = [
        {"company": made.company, "number": number, "url": url}
        for number, url in zip(
            made.numbers or [None], made.urls + [None] * len(made.numbers), strict=False
        )
    ]
    if not made.numbers and not made.company:
        tracking = []

    def line(entry: tuple[int, Line, int]) -> dict[str, Any]:
        number, order_line, quantity = entry
        return {
            "id": gid("FulfillmentLineItem", number),
            "quantity": quantity,
            "lineItem": line_view(order_line),
            "originalTotalSet": money(order_line.price * quantity),
            "discountedTotalSet": money(order_line.price * quantity),
        }

    return {
        "id": gid("Fulfillment", made.number),
        "legacyResourceId": str(made.number),
        "name": made.name,
        "status": made.status,
        "displayStatus": "FULFILLED" if made.status == "SUCCESS" else "CANCELED",
        "createdAt": shown(made.created_at),
        "updatedAt": shown(made.created_at),
        "deliveredAt": None,
        "inTransitAt": None,
        "estimatedDeliveryAt": None,
        "requiresShipping": True,
        "totalQuantity": sum(q for _, _, q in made.lines),
        "trackingInfo": lambda info, first=None: tracking[:first],
        "fulfillmentLineItems": lambda info, **a: list_connection(made.lines, a, line),
        "order": lambda info: order_view(made.order),
    }


def rest_order(order: Order) -> dict[str, Any]:
    """The order as Shopify's orders/* webhooks carry it (REST field names)."""
    address = order.address
    status = order.fulfillment_status()
    return {
        "id": order.number,
        "admin_graphql_api_id": gid("Order", order.number),
        "name": order.name,
        "order_number": int(order.name.lstrip("#")),
        "email": order.email,
        "phone": order.phone,
        "created_at": order.created_at.isoformat(timespec="seconds"),
        "updated_at": order.updated_at.isoformat(timespec="seconds"),
        "processed_at": order.processed_at.isoformat(timespec="seconds"),
        "cancelled_at": order.cancelled_at.isoformat(timespec="seconds")
        if order.cancelled_at
        else None,
        "cancel_reason": (order.cancel_reason or "").lower() or None,
        "currency": order.currency,
        "financial_status": order.financial.lower(),
        "fulfillment_status": {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}.get(
            status
        ),
        "total_price": str(order.subtotal + order.shipping_price),
        "subtotal_price": str(order.subtotal),
        "line_items": [
            {
                "id": ln.number,
                "admin_graphql_api_id": gid("LineItem", ln.number),
                "sku": ln.sku,
                "title": ln.title,
                "name": ln.title,
                "quantity": ln.quantity,
                "price": str(ln.price),
                "fulfillable_quantity": ln.quantity - ln.fulfilled,
            }
            for ln in order.lines
        ],
        "shipping_address": None
        if address is None
        else {
            "first_name": address["firstName"],
            "last_name": address["lastName"],
            "name": address["name"],
            "company": address["company"],
            "address1": address["address1"],
            "address2": address["address2"],
            "city": address["city"],
            "province": address["province"],
            "province_code": address["provinceCode"],
            "zip": address["zip"],
            "country_code": address["countryCodeV2"],
            "phone": address["phone"],
        },
    }


def _fo_filter(fos: list[FulfillmentOrder], query: str | None) -> list[FulfillmentOrder]:
    """fulfillmentOrders(query: "status:open") and the like."""
    statuses = [v.upper() for v in re.findall(r"status:(\w+)", query or "")]
    return [fo for fo in fos if fo.status in statuses] if statuses else fos
