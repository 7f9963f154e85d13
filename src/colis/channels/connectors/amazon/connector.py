"""The Amazon connector: orders from Orders API 2026-01-01 `searchOrders` (everything the
import needs comes in the search results), shipments to Orders v0 `confirmShipment`, one call
per package with our shipment id as Amazon's packageReferenceId."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from colis.channels.connectors.amazon import mapping
from colis.channels.connectors.amazon.client import AmazonClient
from colis.channels.connectors.base import (
    ChannelError,
    ChannelOrder,
    Connector,
    OrdersPage,
    PermanentError,
    PushPackage,
    PushResult,
)
from colis.channels.connectors.http import TIMEOUT

PAGE_SIZE = 100  # the most searchOrders allows per page
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"


class AmazonConnector(Connector):
    """One seller account on one marketplace. Cancellations are not pushed (the Orders API
    has no such operation) and Amazon sends no HTTP webhooks (its notifications go through
    SQS or EventBridge), so orders are polled."""

    kind = "amazon"
    credential_fields = ("client_id", "client_secret", "refresh_token")
    setting_fields: ClassVar[dict[str, Any]] = {
        "api_base_url": None,
        "token_url": LWA_TOKEN_URL,
        "marketplace_id": None,
    }
    carrier_key = "amazon"
    other_carrier_code = mapping.OTHER_CARRIER
    supports_webhooks = False
    supports_cancellation_push = False
    # Amazon refuses a packageReferenceId it already has: the push service looks first.
    idempotent_push = False
    # Amazon takes no cancellation of a merchant-fulfilled order through this API: off.
    cancellation_sync_default = False
    # Refunds of Amazon orders go through Amazon's own flows (Seller Central, its returns).
    supports_refunds = False
    # The usage plans in the Orders API descriptions (requests per second, burst).
    rate_limits: ClassVar[dict[str, tuple[float, int]]] = {
        "searchOrders": (0.0056, 20),
        "getOrder": (0.5, 30),
        "confirmShipment": (2.0, 10),
    }

    def __init__(self, *, timeout: tuple[float, float] = TIMEOUT, **kwargs: Any) -> None:
        self.timeout = timeout
        super().__init__(**kwargs)

    def refunds_unsupported(self) -> str:
        return (
            "Not sent: refunds are not supported by amazon through this connector; refund the "
            "buyer through Amazon's own flows (Seller Central or the buyer's return there)."
        )

    def client_build(self) -> AmazonClient:
        return AmazonClient(
            api_base_url=str(self.settings.get("api_base_url") or ""),
            token_url=str(self.settings.get("token_url") or LWA_TOKEN_URL),
            client_id=self.credentials.get("client_id", ""),
            client_secret=self.credentials.get("client_secret", ""),
            refresh_token=self.credentials.get("refresh_token", ""),
            limiter=self.limiter,
            tokens=self.tokens,
            rates=self.rate_limits,
            timeout=self.timeout,
        )

    @property
    def marketplace_id(self) -> str:
        return str(self.settings.get("marketplace_id") or "")

    def orders_list(self, *, updated_after: datetime, cursor: str | None) -> OrdersPage:
        """Orders of the channel's marketplace updated at or after `updated_after`, 100 a
        page. The cursor carries Amazon's paginationToken with the lastUpdatedAfter it was
        made for (Amazon wants the same filters on every page), so a cursor wins over a
        different `updated_after`."""
        after = mapping.format_time(updated_after)
        token = None
        if cursor:
            try:
                saved = json.loads(cursor)
                after, token = str(saved["after"]), str(saved["token"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ChannelError(f"Not an Amazon orders cursor: {cursor[:100]!r}.") from exc
        params = {
            "lastUpdatedAfter": after,
            "includedData": ",".join(mapping.INCLUDED_DATA),
            "maxResultsPerPage": str(PAGE_SIZE),
        }
        if self.marketplace_id:
            params["marketplaceIds"] = self.marketplace_id
        if token:
            params["paginationToken"] = token
        data = self.client.search_orders(params)
        next_token = (data.get("pagination") or {}).get("nextToken")
        return OrdersPage(
            orders=tuple(_mapped(order) for order in data["orders"]),
            next_cursor=json.dumps({"after": after, "token": next_token}) if next_token else None,
        )

    def order_get(self, external_id: str) -> ChannelOrder | None:
        """The order as Amazon has it now, or None when Amazon has no such order id."""
        order = self.client.get_order(external_id, mapping.INCLUDED_DATA)
        return _mapped(order) if order is not None else None

    def shipment_push(self, package: PushPackage) -> PushResult:
        """One `confirmShipment`. The vendor id is the packageReferenceId (Amazon answers 204
        with nothing of its own). Raises PermanentError when Amazon refuses the package (an
        already confirmed packageReferenceId among others)."""
        marketplace = str(package.order_refs.get("marketplace_id") or self.marketplace_id)
        body = mapping.confirm_shipment_body(package, marketplace_id=marketplace)
        answer = self.client.confirm_shipment(package.order_external_id, body)
        request_id = answer.headers.get("x-amzn-RequestId", "")
        return PushResult(
            vendor_id=body["packageDetail"]["packageReferenceId"],
            request=body,
            response={"status": answer.status, "request_id": request_id},
        )

    def shipment_find(self, package: PushPackage) -> PushResult | None:
        """The package Amazon lists on the order with this package's reference id (or
        tracking number), or None. Costs one getOrder."""
        order = self.client.get_order(package.order_external_id, ("PACKAGES",))
        if order is None:
            return None
        found = mapping.package_for(order.get("packages") or (), package)
        if found is None:
            return None
        return PushResult(vendor_id=str(found["packageReferenceId"]), response=dict(found))


def _mapped(order: Mapping[str, Any]) -> ChannelOrder:
    """The mapped order; an order Amazon sends without what its contract requires cannot
    become readable by retrying, hence PermanentError."""
    try:
        return mapping.channel_order(order)
    except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
        raise PermanentError(
            f"Amazon order {order.get('orderId', '?')} is not readable: {exc!r}.",
            body=json.dumps(order, default=str)[:2000],
        ) from exc
