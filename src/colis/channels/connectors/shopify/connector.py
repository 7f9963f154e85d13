"""The Shopify connector: orders from the `orders` query (newest changes last), one
`fulfillmentCreate` per package against the order's open fulfillment orders, the order's
fulfillments read back to find what an interrupted push made, `orderCancel`, and orders/*
webhooks checked by their HMAC.

Every query is sized so its requested cost stays under Shopify's 1,000-point limit per query:
a page holds 10 orders with their first 20 lines; an order with more lines, or with
fulfillments, is completed by further queries (lines in pages of 100; up to 20 fulfillments
with their first 20 lines each, then the rest in pages of 100)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from colis.channels.connectors.base import (
    ChannelOrder,
    Connector,
    OrdersPage,
    PermanentError,
    PushPackage,
    PushResult,
    RefundPackage,
    WebhookNotice,
    WebhookRefused,
)
from colis.channels.connectors.shopify import mapping
from colis.channels.connectors.shopify.client import ShopifyClient

PAGE_SIZE = 10

ADDRESS = """
fragment ColisAddress on MailingAddress {
  name firstName lastName company address1 address2 city province provinceCode zip
  countryCodeV2 phone
}
"""
LINE = """
fragment ColisLine on LineItem {
  id sku title quantity currentQuantity originalUnitPriceSet { shopMoney { amount } }
}
"""
ORDER = (
    """
fragment ColisOrder on Order {
  id legacyResourceId name email phone createdAt processedAt updatedAt cancelledAt
  displayFinancialStatus displayFulfillmentStatus currencyCode requiresShipping
  totalPriceSet { shopMoney { amount } }
  totalTaxSet { shopMoney { amount } }
  totalDiscountsSet { shopMoney { amount } }
  totalShippingPriceSet { shopMoney { amount } }
  shippingLine { title }
  shippingAddress { ...ColisAddress }
  billingAddress { ...ColisAddress }
  fulfillmentsCount { count }
  fulfillmentOrders(first: 2) {
    nodes { assignedLocation { location { isFulfillmentService } } }
  }
  lineItems(first: 20) { pageInfo { hasNextPage endCursor } nodes { ...ColisLine } }
}
"""
    + ADDRESS
    + LINE
)
ORDERS_QUERY = (
    """
query ColisOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...ColisOrder }
  }
}
"""
    + ORDER
)
ORDER_QUERY = "query ColisOrder($id: ID!) { order(id: $id) { ...ColisOrder } }" + ORDER
ORDER_LINES_QUERY = (
    """
query ColisOrderLines($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...ColisLine }
    }
  }
}
"""
    + LINE
)
FULFILLMENT_LINES = """
fragment ColisFulfillmentLines on FulfillmentLineItemConnection {
  pageInfo { hasNextPage endCursor }
  nodes { quantity lineItem { id } }
}
"""
FULFILLMENTS_QUERY = (
    """
query ColisFulfillments($id: ID!) {
  order(id: $id) {
    fulfillments(first: 20) {
      id name status createdAt
      trackingInfo(first: 3) { company number url }
      fulfillmentLineItems(first: 20) { ...ColisFulfillmentLines }
    }
  }
}
"""
    + FULFILLMENT_LINES
)
FULFILLMENT_LINES_QUERY = (
    """
query ColisFulfillmentLines($id: ID!, $after: String) {
  fulfillment(id: $id) {
    fulfillmentLineItems(first: 100, after: $after) { ...ColisFulfillmentLines }
  }
}
"""
    + FULFILLMENT_LINES
)
FO_LINES = """
fragment ColisFulfillmentOrderLines on FulfillmentOrderLineItemConnection {
  pageInfo { hasNextPage endCursor }
  nodes { id remainingQuantity lineItem { id } }
}
"""
FULFILLMENT_ORDERS_QUERY = (
    """
query ColisFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 8, displayable: true) {
      nodes { id status lineItems(first: 50) { ...ColisFulfillmentOrderLines } }
    }
  }
}
"""
    + FO_LINES
)
FULFILLMENT_ORDER_LINES_QUERY = (
    """
query ColisFulfillmentOrderLines($id: ID!, $after: String) {
  fulfillmentOrder(id: $id) {
    lineItems(first: 100, after: $after) { ...ColisFulfillmentOrderLines }
  }
}
"""
    + FO_LINES
)
FULFILLMENT_CREATE = """
mutation ColisFulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id name status createdAt trackingInfo(first: 3) { company number url } }
    userErrors { field message }
  }
}
"""
# Colis keeps the stock, so Shopify restocks its own count; money goes back through Shopify's
# admin, where the merchant decides on the refund.
ORDER_CANCEL = """
mutation ColisOrderCancel($orderId: ID!, $reason: OrderCancelReason!, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, staffNote: $staffNote, refund: false,
              restock: true, notifyCustomer: false) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""
REFUND_FIELDS = "id note createdAt totalRefundedSet { shopMoney { amount currencyCode } }"
REFUND_CONTEXT_QUERY = (
    """
query ColisRefundContext($id: ID!) {
  order(id: $id) {
    id
    transactions(first: 50) {
      id kind status gateway amountSet { shopMoney { amount } } parentTransaction { id }
    }
    refunds(first: 100) { """
    + REFUND_FIELDS
    + """ }
  }
}
"""
)
REFUND_CREATE = (
    """
mutation ColisRefundCreate($input: RefundInput!) {
  refundCreate(input: $input) {
    refund { """
    + REFUND_FIELDS
    + """ }
    userErrors { field message }
  }
}
"""
)


class ShopifyConnector(Connector):
    """One Shopify shop through a custom app's Admin API access token.

    Shopify drops no repeated fulfillmentCreate, so the push service looks with
    `shipment_find` (by tracking number) before it retries. Carriers go by Shopify's tracking
    company names; a carrier without one is sent under its own name, which Shopify keeps as
    text. Limits are by query cost (see client.py), so there are no request rates here."""

    kind: ClassVar[str] = "shopify"
    credential_fields: ClassVar[tuple[str, ...]] = ("access_token", "webhook_secret")
    setting_fields: ClassVar[dict[str, Any]] = {"api_base_url": None, "api_version": "2025-01"}
    carrier_key: ClassVar[str] = "shopify"
    other_carrier_code: ClassVar[str] = ""
    supports_webhooks: ClassVar[bool] = True
    supports_cancellation_push: ClassVar[bool] = True
    idempotent_push: ClassVar[bool] = False
    # refundCreate, the money going back through the order's own payments.
    supports_refunds: ClassVar[bool] = True
    cancellation_sync_default: ClassVar[bool] = True
    rate_limits: ClassVar[dict[str, tuple[float, int]]] = {}

    def client_build(self) -> ShopifyClient:
        return ShopifyClient(
            base_url=str(self.settings["api_base_url"]),
            api_version=str(self.settings["api_version"]),
            access_token=self.credentials.get("access_token", ""),
            limiter=self.limiter,
        )

    # -- orders -----------------------------------------------------------------------------------

    def orders_list(self, *, updated_after: datetime, cursor: str | None) -> OrdersPage:
        """Orders changed at or after `updated_after` (to the second: Shopify's precision),
        oldest change first."""
        data = self.client.execute(
            "orders",
            ORDERS_QUERY,
            {
                "first": PAGE_SIZE,
                "after": cursor,
                "query": f"updated_at:>='{mapping.shopify_time(updated_after)}'",
            },
        )
        found = data["orders"]
        orders = tuple(self._order(node) for node in found["nodes"])
        info = found["pageInfo"]
        return OrdersPage(
            orders=orders, next_cursor=info["endCursor"] if info["hasNextPage"] else None
        )

    def order_get(self, external_id: str) -> ChannelOrder | None:
        data = self.client.execute("order", ORDER_QUERY, {"id": mapping.order_gid(external_id)})
        return None if data["order"] is None else self._order(data["order"])

    def _order(self, node: dict[str, Any]) -> ChannelOrder:
        """Map one order node once the lines and fulfillments past the first page are in."""
        node = dict(node)
        lines = node.get("lineItems") or {}
        if (lines.get("pageInfo") or {}).get("hasNextPage"):
            node["lineItems"] = {"nodes": lines["nodes"] + self._more_lines(node["id"], lines)}
        if ((node.get("fulfillmentsCount") or {}).get("count") or 0) > 0:
            node["fulfillments"] = self._fulfillments(node["id"])
        try:
            return mapping.order_from_node(node)
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentError(
                f"Shopify order {node.get('id')}: unexpected shape ({exc!r})."
            ) from exc

    def _more_lines(self, order_id: str, first: dict[str, Any]) -> list[dict[str, Any]]:
        more: list[dict[str, Any]] = []
        info = first["pageInfo"]
        while info.get("hasNextPage"):
            data = self.client.execute(
                "order_lines", ORDER_LINES_QUERY, {"id": order_id, "after": info["endCursor"]}
            )
            page = data["order"]["lineItems"]
            more += page["nodes"]
            info = page["pageInfo"]
        return more

    def _fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        """The order's fulfillments, each with all its lines."""
        data = self.client.execute("fulfillments", FULFILLMENTS_QUERY, {"id": order_id})
        fulfillments = [dict(f) for f in (data["order"] or {}).get("fulfillments") or []]
        for made in fulfillments:
            lines = made.get("fulfillmentLineItems") or {}
            info = lines.get("pageInfo") or {}
            nodes = list(lines.get("nodes") or [])
            while info.get("hasNextPage"):
                page = self.client.execute(
                    "fulfillment_lines",
                    FULFILLMENT_LINES_QUERY,
                    {"id": made["id"], "after": info["endCursor"]},
                )["fulfillment"]["fulfillmentLineItems"]
                nodes += page["nodes"]
                info = page["pageInfo"]
            made["fulfillmentLineItems"] = {"nodes": nodes}
        return fulfillments

    # -- shipments --------------------------------------------------------------------------------

    def shipment_push(self, package: PushPackage) -> PushResult:
        """One fulfillment for the package, from the order's open fulfillment orders as they
        are now (they split and move, so they are read at push time). Raises PermanentError
        with Shopify's userErrors."""
        order_id = mapping.order_gid(package.order_external_id)
        fulfillment_orders = self._fulfillment_orders(order_id)
        variables = {"fulfillment": mapping.fulfillment_input(package, fulfillment_orders)}
        data = self.client.execute("fulfillmentCreate", FULFILLMENT_CREATE, variables)
        answer = data["fulfillmentCreate"] or {}
        problems = [str(e.get("message")) for e in answer.get("userErrors") or []]
        if problems or not answer.get("fulfillment"):
            raise PermanentError(
                "Shopify refused the fulfillment: " + ("; ".join(problems) or "no fulfillment"),
                body=json.dumps(answer),
            )
        return PushResult(
            vendor_id=str(answer["fulfillment"]["id"]), request=variables, response=answer
        )

    def _fulfillment_orders(self, order_id: str) -> list[dict[str, Any]]:
        data = self.client.execute("fulfillment_orders", FULFILLMENT_ORDERS_QUERY, {"id": order_id})
        if data["order"] is None:
            raise PermanentError(f"Shopify has no order {order_id}.")
        fulfillment_orders = [dict(fo) for fo in data["order"]["fulfillmentOrders"]["nodes"]]
        for fo in fulfillment_orders:
            lines = fo["lineItems"]
            nodes, info = list(lines["nodes"]), lines["pageInfo"]
            while info.get("hasNextPage") and fo.get("status") in mapping.FULFILLABLE:
                page = self.client.execute(
                    "fulfillment_order_lines",
                    FULFILLMENT_ORDER_LINES_QUERY,
                    {"id": fo["id"], "after": info["endCursor"]},
                )["fulfillmentOrder"]["lineItems"]
                nodes += page["nodes"]
                info = page["pageInfo"]
            fo["lineItems"] = {"nodes": nodes}
        return fulfillment_orders

    def shipment_find(self, package: PushPackage) -> PushResult | None:
        """The fulfillment an earlier push of this package made, found by its tracking number.
        A package without a tracking number cannot be told apart from another one with the
        same lines, so it is never found (Shopify refuses to fulfil more than is left)."""
        if not package.tracking_number:
            return None
        order_id = mapping.order_gid(package.order_external_id)
        for made in self._fulfillments(order_id):
            if made.get("status") in mapping.VOID_FULFILLMENTS:
                continue
            if mapping.same_tracking(made, package.tracking_number):
                return PushResult(vendor_id=str(made["id"]), response={"fulfillment": made})
        return None

    def order_cancel_push(self, external_id: str, reason: str) -> PushResult:
        """Cancel the order on Shopify (restocked there, not refunded). Raises PermanentError
        with Shopify's orderCancelUserErrors."""
        variables = {
            "orderId": mapping.order_gid(external_id),
            "reason": mapping.cancel_reason(reason),
            "staffNote": (reason or "Cancelled in Colis.")[:255],
        }
        answer = self.client.execute("orderCancel", ORDER_CANCEL, variables)["orderCancel"] or {}
        problems = [str(e.get("message")) for e in answer.get("orderCancelUserErrors") or []]
        if problems:
            raise PermanentError(
                "Shopify refused to cancel: " + "; ".join(problems), body=json.dumps(answer)
            )
        return PushResult(
            vendor_id=str((answer.get("job") or {}).get("id") or ""),
            request=variables,
            response=answer,
        )

    # -- refunds ----------------------------------------------------------------------------------

    def _refund_context(self, refund: RefundPackage) -> dict[str, Any]:
        order_id = mapping.order_gid(refund.order_external_id)
        data = self.client.execute("refund_context", REFUND_CONTEXT_QUERY, {"id": order_id})
        if data["order"] is None:
            raise PermanentError(f"Shopify has no order {order_id}.")
        return dict(data["order"])

    def refund_push(self, refund: RefundPackage) -> PushResult:
        """One refundCreate: the lines and shipping refunded, the money through the order's
        payments as they stand now. Raises PermanentError with Shopify's userErrors."""
        order = self._refund_context(refund)
        variables = {"input": mapping.refund_input(refund, str(order["id"]), order["transactions"])}
        answer = self.client.execute("refundCreate", REFUND_CREATE, variables)["refundCreate"]
        answer = answer or {}
        problems = [str(e.get("message")) for e in answer.get("userErrors") or []]
        if problems or not answer.get("refund"):
            raise PermanentError(
                "Shopify refused the refund: " + ("; ".join(problems) or "no refund"),
                body=json.dumps(answer),
            )
        return PushResult(vendor_id=str(answer["refund"]["id"]), request=variables, response=answer)

    def refund_find(self, refund: RefundPackage) -> PushResult | None:
        """The order's refund whose note names this one (an earlier attempt), or None."""
        order = self._refund_context(refund)
        found = mapping.matching_refund(order.get("refunds") or [], refund)
        if found is None:
            return None
        return PushResult(vendor_id=str(found["id"]), response={"refund": dict(found)})

    # -- webhooks ---------------------------------------------------------------------------------

    def webhook_parse(self, headers: Mapping[str, str], body: bytes) -> WebhookNotice:
        """Check X-Shopify-Hmac-SHA256 (base64 HMAC-SHA256 of the raw body with the webhook
        secret) and name the order an orders/* webhook is about. Raises WebhookRefused."""
        given = {k.lower(): v for k, v in headers.items()}
        secret = self.credentials.get("webhook_secret", "")
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        expected = base64.b64encode(digest)
        signature = given.get("x-shopify-hmac-sha256", "").strip().encode()
        if not secret or not hmac.compare_digest(signature, expected):
            raise WebhookRefused("The Shopify webhook's signature does not match.")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise WebhookRefused("The Shopify webhook's body is not JSON.") from exc
        topic = given.get("x-shopify-topic", "")
        return WebhookNotice(
            webhook_id=given.get("x-shopify-webhook-id", ""),
            topic=topic,
            external_ids=mapping.webhook_order_ids(topic, payload),
        )
