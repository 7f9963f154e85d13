"""The eBay connector: orders from getOrders/getOrder, one createShippingFulfillment per
package, and getShippingFulfillments to find what an interrupted push already made."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from colis.channels.connectors.base import (
    ChannelError,
    ChannelOrder,
    Connector,
    OrdersPage,
    PermanentError,
    PushPackage,
    PushResult,
    RefundPackage,
)
from colis.channels.connectors.ebay import mapping
from colis.channels.connectors.ebay.client import (
    DAILY_CALLS,
    FULFILLMENT_EXISTS,
    QUOTA,
    REFUND_IN_PROGRESS,
    TOKEN_DAILY_CALLS,
    TOKEN_QUOTA,
    EbayClient,
    daily_quota,
    error_ids,
)

PAGE_SIZE = 200  # getOrders' largest page
# getOrders serves orders up to two years old and refuses a start date before that.
OLDEST = timedelta(days=730) - timedelta(hours=1)


class EbayConnector(Connector):
    """One eBay seller account (Sell Fulfillment API v1).

    eBay has no cancellation in this API (cancellations live in the Post-Order API) and no
    webhooks here; a repeated push is not dropped by eBay unless it repeats a tracking number,
    so the push service looks with `shipment_find` before it retries."""

    kind: ClassVar[str] = "ebay"
    credential_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "refresh_token")
    setting_fields: ClassVar[dict[str, Any]] = {
        "api_base_url": "https://api.ebay.com",
        "token_url": "https://api.ebay.com/identity/v1/oauth2/token",
    }
    carrier_key: ClassVar[str] = "ebay"
    other_carrier_code: ClassVar[str] = mapping.OTHER_CARRIER
    supports_webhooks: ClassVar[bool] = False
    supports_cancellation_push: ClassVar[bool] = False
    idempotent_push: ClassVar[bool] = False
    # issueRefund (with a token of the sell.finances scope).
    supports_refunds: ClassVar[bool] = True
    cancellation_sync_default: ClassVar[bool] = True
    # eBay limits calls per API and per day, not per operation: every Sell Fulfillment
    # operation takes from the QUOTA bucket, token refreshes from TOKEN_QUOTA.
    rate_limits: ClassVar[dict[str, tuple[float, int]]] = {
        QUOTA: daily_quota(DAILY_CALLS),
        TOKEN_QUOTA: daily_quota(TOKEN_DAILY_CALLS),
    }

    def client_build(self) -> EbayClient:
        return EbayClient(
            credentials=self.credentials,
            settings=self.settings,
            limiter=self.limiter,
            tokens=self.tokens,
        )

    # -- orders ----------------------------------------------------------------------------

    def orders_list(self, *, updated_after: datetime, cursor: str | None) -> OrdersPage:
        """Orders modified since `updated_after`, oldest change first, PAGE_SIZE a page.

        Every order is asked for, whatever its fulfillment status: the import needs to hear
        about orders shipped on eBay and orders cancelled there too. The first page fixes the
        window's end, so paging walks a set that can only shrink (an order modified meanwhile
        leaves it, for the next run to see); when the set shrank since the last page, the
        offset steps back by as much, so no order slips past between two pages (at worst
        one comes twice)."""
        window: dict[str, Any]
        if cursor:
            window = _decode(cursor)
        else:
            now = datetime.now(UTC)
            start = max(_aware(updated_after), now - OLDEST)
            window = {
                "start": mapping.ebay_timestamp(min(start, now)),
                "end": mapping.ebay_timestamp(now),
                "offset": 0,
                "total": None,
            }
        offset = int(window["offset"])
        page = self._orders_page(window, offset)
        seen_total = window.get("total")
        total = int(page.get("total") or 0)
        if seen_total is not None and total < int(seen_total) and offset:
            offset = max(0, offset - (int(seen_total) - total))
            page = self._orders_page(window, offset)
            total = int(page.get("total") or 0)
        orders = tuple(self._channel_order(order) for order in page.get("orders") or ())
        next_offset = offset + len(orders)
        next_cursor = None
        if orders and next_offset < total:
            next_cursor = _encode({**window, "offset": next_offset, "total": total})
        return OrdersPage(orders=orders, next_cursor=next_cursor)

    def _orders_page(self, window: Mapping[str, Any], offset: int) -> dict[str, Any]:
        return self.client.get_orders(
            filter=f"lastmodifieddate:[{window['start']}..{window['end']}]",
            limit=PAGE_SIZE,
            offset=offset,
        )

    def order_get(self, external_id: str) -> ChannelOrder | None:
        """One order as eBay has it now, with its fulfillments (None if eBay has none)."""
        order = self.client.get_order(external_id)
        return None if order is None else self._channel_order(order)

    def _channel_order(self, order: Mapping[str, Any]) -> ChannelOrder:
        # getOrders/getOrder only link to an order's fulfillments: fetch them when there
        # are some, so shipments made on eBay arrive with their lines and tracking numbers.
        fulfillments = (
            self.client.get_fulfillments(str(order["orderId"]))
            if order.get("fulfillmentHrefs")
            else []
        )
        return mapping.order_from_ebay(order, fulfillments)

    # -- shipments -------------------------------------------------------------------------

    def shipment_push(self, package: PushPackage) -> PushResult:
        """One createShippingFulfillment for the package; the result's vendor_id is eBay's
        fulfillment id (the tracking number, when there is one). A push eBay refuses because
        that tracking number already has a fulfillment on the order answers with that one."""
        order_id = _order_id(package)
        body = mapping.fulfillment_body(package)
        try:
            answer = self.client.create_fulfillment(order_id, body)
        except PermanentError as exc:
            if FULFILLMENT_EXISTS in error_ids(exc.body):
                found = self.shipment_find(package)
                if found is not None:
                    return found
            raise
        location = answer.headers.get("Location", "")
        fulfillment_id = mapping.fulfillment_id_from_location(location)
        if not fulfillment_id:
            raise ChannelError("createShippingFulfillment answered without a Location.", status=201)
        return PushResult(
            vendor_id=fulfillment_id,
            request=body,
            response={"status": answer.status, "location": location},
        )

    def shipment_find(self, package: PushPackage) -> PushResult | None:
        """The fulfillment this package already made on eBay (same tracking number, or the
        same lines without one), or None."""
        order_id = _order_id(package)
        found = mapping.matching_fulfillment(self.client.get_fulfillments(order_id), package)
        if found is None:
            return None
        return PushResult(
            vendor_id=str(found.get("fulfillmentId") or ""),
            request=mapping.fulfillment_body(package),
            response=dict(found),
        )

    # -- refunds ---------------------------------------------------------------------------

    def refund_push(self, refund: RefundPackage) -> PushResult:
        """One issueRefund; the result's vendor_id is eBay's refund id. eBay refunds one at a
        time per order: a refund refused because another is still processing is retried."""
        order_id = _refund_order_id(refund)
        body = mapping.refund_body(refund)
        try:
            answer = self.client.issue_refund(order_id, body)
        except PermanentError as exc:
            if REFUND_IN_PROGRESS in error_ids(exc.body):
                raise ChannelError(str(exc), status=exc.status, body=exc.body) from exc
            raise
        if answer.get("refundStatus") == "FAILED" or not answer.get("refundId"):
            raise PermanentError(
                "eBay did not take the refund (refundStatus FAILED).",
                status=200,
                body=json.dumps(answer),
            )
        return PushResult(vendor_id=str(answer["refundId"]), request=body, response=answer)

    def refund_find(self, refund: RefundPackage) -> PushResult | None:
        """The refund an earlier attempt made, from getOrder's refunds (see
        `mapping.matching_refund`), or None."""
        order = self.client.get_order(_refund_order_id(refund))
        if order is None:
            return None
        found = mapping.matching_refund(order, refund)
        if found is None:
            return None
        refund_id, total = found
        return PushResult(
            vendor_id=refund_id,
            request=mapping.refund_body(refund),
            response={"refundId": refund_id, "amount": str(total)},
        )


def _refund_order_id(refund: RefundPackage) -> str:
    return refund.order_external_id or str(refund.order_refs.get("order_id") or "")


def _order_id(package: PushPackage) -> str:
    return package.order_external_id or str(package.order_refs.get("order_id") or "")


def _aware(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _encode(window: Mapping[str, Any]) -> str:
    raw = json.dumps(window, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        window = json.loads(raw)
        if not isinstance(window, dict) or not {"start", "end", "offset"} <= window.keys():
            raise ValueError(cursor)
    except ValueError as exc:
        raise PermanentError(f"Not an eBay orders cursor: {cursor[:40]!r}.") from exc
    return window
