"""The BigCommerce connector: orders read through Orders v2 (`getOrders` filtered on
`min_date_modified`, completed with each order's products, shipping addresses and, when some
items already left, its shipments), shipments pushed with `createOrderShipments`, cancellations
and status changes with `updateOrder`, and order webhooks checked against a shared secret.

BigCommerce's store API tokens do not expire, so a 401 means the token was revoked or is wrong:
it surfaces as AuthExpired without a refresh.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
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
from colis.channels.connectors.bigcommerce import mapping
from colis.channels.connectors.bigcommerce.client import STORE_QUOTA, BigCommerceClient

ORDERS_PAGE = 50
# BigCommerce signs nothing; the merchant registers the webhook with this custom header and
# the channel's `webhook_secret` as its value.
SECRET_HEADER = "X-Colis-Webhook-Secret"
ORDER_SCOPES = ("store/order/",)


def _order_id(external_id: str) -> int | None:
    return int(external_id) if external_id.isascii() and external_id.isdigit() else None


class BigCommerceConnector(Connector):
    kind = "bigcommerce"
    credential_fields = ("access_token",)
    # Only needed for incoming webhooks.
    optional_credential_fields = ("webhook_secret",)
    setting_fields: ClassVar[dict[str, Any]] = {
        "api_base_url": "https://api.bigcommerce.com",
        "store_hash": None,
    }
    carrier_key = "bigcommerce"
    other_carrier_code = mapping.OTHER_PROVIDER
    supports_webhooks = True
    supports_cancellation_push = True
    supports_status_push = True
    idempotent_push = False  # a repeated POST makes a second shipment
    # Orders v3 refunds, quoted first (the quote names the refund methods and the amount).
    supports_refunds = True
    cancellation_sync_default = True
    # The store's quota is shared by every operation (and every app): 150 requests per 30 s on
    # Standard and Plus plans. 30 at once, then 4/s, never passes 150 in any 30 s.
    rate_limits: ClassVar[dict[str, tuple[float, int]]] = {STORE_QUOTA: (4.0, 30)}

    def client_build(self) -> BigCommerceClient:
        return BigCommerceClient(
            api_base_url=str(self.settings["api_base_url"]),
            store_hash=str(self.settings["store_hash"]),
            access_token=self.credentials.get("access_token", ""),
            limiter=self.limiter,
        )

    # -- reading ------------------------------------------------------------------------------

    def orders_list(self, *, updated_after: datetime, cursor: str | None) -> OrdersPage:
        """Orders modified at or after `updated_after`, oldest change first. BigCommerce keeps
        whole seconds, so the boundary second is read again.

        No page numbers: a page is the first orders changed since a moment (`sort=date_modified`),
        and the last second it reaches is then read whole, by id (`min_date_modified` =
        `max_date_modified`, `min_id`). The next page starts one second later. An order that
        changes while the import pages moves past the cursor and is read again later; with page
        numbers it would shift an unread order onto a page already read."""
        state = _Cursor.load(cursor) if cursor else _Cursor(mapping.format_date(updated_after))
        rows: list[dict[str, Any]] = []
        if state.after is None:
            rows = self.client.orders(
                {
                    "min_date_modified": state.since,
                    # The contract's enum has no ":asc"; ascending is BigCommerce's default.
                    "sort": "date_modified",
                    "limit": ORDERS_PAGE,
                }
            )
            if len(rows) < ORDERS_PAGE:
                return OrdersPage(orders=tuple(self._complete(r) for r in rows))
            last = str(rows[-1].get("date_modified") or "")
            seen = tuple(int(r["id"]) for r in rows if r.get("date_modified") == last)
            state = _Cursor(last, 0, seen)
        second = self.client.orders(
            {
                "min_date_modified": state.since,
                "max_date_modified": state.since,
                "min_id": (state.after or 0) + 1,
                "sort": "id",
                "limit": ORDERS_PAGE,
            }
        )
        rows += [r for r in second if int(r["id"]) not in state.seen]
        if len(second) == ORDERS_PAGE:
            following = _Cursor(state.since, int(second[-1]["id"]), state.seen)
        else:
            following = _Cursor(_next_second(state.since))
        return OrdersPage(
            orders=tuple(self._complete(r) for r in rows), next_cursor=following.dump()
        )

    def order_get(self, external_id: str) -> ChannelOrder | None:
        order_id = _order_id(external_id)
        if order_id is None:
            return None
        raw = self.client.order(order_id)
        return self._complete(raw) if raw is not None else None

    def _complete(self, raw: Mapping[str, Any]) -> ChannelOrder:
        order_id = int(raw["id"])
        products = self.client.order_products(order_id)
        # Digital-only orders have no shipping address; nothing shipped means no shipments.
        has_addresses = int(raw.get("shipping_address_count") or 0) > 0
        addresses = self.client.order_shipping_addresses(order_id) if has_addresses else []
        shipped = float(raw.get("items_shipped") or 0) > 0
        shipments = self.client.order_shipments(order_id) if shipped else []
        return mapping.order_from(raw, products, addresses, shipments)

    # -- pushing ------------------------------------------------------------------------------

    def shipment_push(self, package: PushPackage) -> PushResult:
        """One `createOrderShipments` call for the package. Raises ChannelError
        (PermanentError when the package cannot be expressed, or BigCommerce refuses it)."""
        order_id = self._required_id(package.order_external_id)
        body = mapping.shipment_body(package)
        created = self.client.shipment_create(order_id, body)
        return PushResult(vendor_id=str(created.get("id") or ""), request=body, response=created)

    def shipment_find(self, package: PushPackage) -> PushResult | None:
        """The order's BigCommerce shipment carrying this package's reference note or tracking
        number (`getOrderShipments`), or None."""
        order_id = self._required_id(package.order_external_id)
        for raw in self.client.order_shipments(order_id):
            if mapping.shipment_matches(raw, package):
                return PushResult(vendor_id=str(raw.get("id") or ""), response=raw)
        return None

    def order_cancel_push(self, external_id: str, reason: str) -> PushResult:
        """Sets the order to BigCommerce's Cancelled status (5). BigCommerce keeps no reason
        with a status, and `staff_notes` would overwrite the merchant's own notes, so the
        reason stays in Colis."""
        return self.order_status_set(external_id, mapping.CANCELLED)

    def order_status_push(self, external_id: str, status_id: int) -> PushResult:
        return self.order_status_set(external_id, status_id)

    def order_status_set(self, external_id: str, status_id: int) -> PushResult:
        """Sets one of BigCommerce's fifteen statuses on the order (`updateOrder`)."""
        if status_id not in mapping.STATUS_NAMES:
            raise PermanentError(f"BigCommerce has no order status {status_id}.")
        body = {"status_id": status_id}
        updated = self.client.order_update(self._required_id(external_id), body)
        return PushResult(vendor_id=external_id, request=body, response=updated)

    def refund_push(self, refund: RefundPackage) -> PushResult:
        """A refund quote for the refund's items, then the refund by the quoted method.
        Raises ChannelError (NotSupported when the refund names no item)."""
        order_id = self._required_id(refund.order_external_id)
        items = mapping.refund_items(refund)
        quote = self.client.refund_quote(order_id, {"items": items})
        body = mapping.refund_body(refund, items, quote)
        created = self.client.refund_create(order_id, body)
        return PushResult(
            vendor_id=str(created.get("id") or ""),
            request={"quote": {"items": items}, "refund": body},
            response=created,
        )

    def refund_find(self, refund: RefundPackage) -> PushResult | None:
        """The order's refund whose item reasons name this one (getOrderRefunds), or None."""
        order_id = self._required_id(refund.order_external_id)
        found = mapping.matching_refund(self.client.refunds(order_id), refund)
        if found is None:
            return None
        return PushResult(vendor_id=str(found.get("id") or ""), response=dict(found))

    @staticmethod
    def _required_id(external_id: str) -> int:
        order_id = _order_id(external_id)
        if order_id is None:
            raise PermanentError(f"{external_id!r} is not a BigCommerce order id.")
        return order_id

    # -- webhooks -----------------------------------------------------------------------------

    def webhook_parse(self, headers: Mapping[str, str], body: bytes) -> WebhookNotice:
        """Accepts `store/order/*` webhooks carrying the channel's secret in
        `X-Colis-Webhook-Secret`. Raises WebhookRefused."""
        secret = self.credentials.get("webhook_secret") or ""
        wanted = SECRET_HEADER.lower()
        given = next((v for k, v in headers.items() if k.lower() == wanted), "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            raise WebhookRefused("The webhook secret header is missing or wrong.")
        try:
            payload = json.loads(body)
            scope = str(payload["scope"])
            data = payload["data"]
            order_id = int(data["id"])
            hook_id = str(payload["hash"])
        except (ValueError, TypeError, KeyError) as exc:
            raise WebhookRefused("The webhook body is not a BigCommerce order event.") from exc
        if not scope.startswith(ORDER_SCOPES) or data.get("type", "order") != "order":
            raise WebhookRefused(f"Not an order webhook: {scope}.")
        return WebhookNotice(webhook_id=hook_id, topic=scope, external_ids=(str(order_id),))


def _next_second(since: str) -> str:
    moment = mapping.parse_date(since)
    if moment is None:
        raise PermanentError(f"Not a BigCommerce date: {since!r}.")
    return mapping.format_date(moment + timedelta(seconds=1))


class _Cursor:
    """Where the order listing stands. Without `after`: the orders changed at or after
    `since`. With it: the orders changed exactly at `since` whose id is above `after`, less
    `seen` (those of that second the previous page already returned)."""

    def __init__(self, since: str, after: int | None = None, seen: tuple[int, ...] = ()) -> None:
        self.since, self.after, self.seen = since, after, seen

    @classmethod
    def load(cls, text: str) -> _Cursor:
        try:
            data = json.loads(text)
            after = data.get("after")
            return cls(
                str(data["since"]),
                None if after is None else int(after),
                tuple(int(i) for i in data.get("seen", ())),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise PermanentError(f"Not a BigCommerce listing cursor: {text[:100]!r}.") from exc

    def dump(self) -> str:
        data: dict[str, Any] = {"since": self.since}
        if self.after is not None:
            data.update(after=self.after, seen=list(self.seen))
        return json.dumps(data, separators=(",", ":"))
