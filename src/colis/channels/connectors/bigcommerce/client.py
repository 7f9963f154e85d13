"""HTTP to BigCommerce's Orders v2 API, as its contract documents it: `X-Auth-Token`
authentication, `Accept`/`Content-Type` JSON, page/limit paging, and the store's request quota.

BigCommerce meters a store, not an operation: every app calling the store draws from one quota
per window (150 requests per 30 s on Standard and Plus plans, 450 on Pro), and each answer says
what is left in `X-Rate-Limit-Requests-Left` and when the window turns over in
`X-Rate-Limit-Time-Reset-Ms`. `StoreQuota` puts every call through the limiter under one name
and, when the store says nothing is left, waits for the new window before the next call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from colis.channels.connectors.base import Limiter, RateLimited
from colis.channels.connectors.http import TIMEOUT, Response, VendorHttp, retry_after_seconds

# The limiter key every BigCommerce call takes from (the store's single quota).
STORE_QUOTA = "store"
PAGE_LIMIT = 250  # the largest page BigCommerce v2 serves

REQUESTS_LEFT = "X-Rate-Limit-Requests-Left"
REQUESTS_QUOTA = "X-Rate-Limit-Requests-Quota"
TIME_RESET_MS = "X-Rate-Limit-Time-Reset-Ms"
TIME_WINDOW_MS = "X-Rate-Limit-Time-Window-Ms"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def reset_seconds(headers: Mapping[str, str]) -> float | None:
    """`X-Rate-Limit-Time-Reset-Ms` in seconds (None when absent or unreadable)."""
    raw = _header(headers, TIME_RESET_MS)
    try:
        return max(0.0, float(raw) / 1000) if raw is not None else None
    except ValueError:
        return None


class StoreQuota:
    """A Limiter in front of another: every operation takes from the `STORE_QUOTA` bucket, and
    once BigCommerce reports the window's quota spent, `acquire` sleeps until it resets."""

    def __init__(
        self,
        inner: Limiter,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._resume_at = 0.0

    def acquire(self, operation: str) -> None:
        with self._lock:
            wait = self._resume_at - self._clock()
        if wait > 0:
            self._sleep(wait)
        self.inner.acquire(STORE_QUOTA)

    def observe(self, operation: str, headers: Mapping[str, str]) -> None:
        self.inner.observe(STORE_QUOTA, headers)
        left = _header(headers, REQUESTS_LEFT)
        reset = reset_seconds(headers)
        if left is None or reset is None:
            return
        try:
            spent = int(float(left)) <= 0
        except ValueError:
            return
        if spent:
            with self._lock:
                self._resume_at = max(self._resume_at, self._clock() + reset)


class BigCommerceClient:
    """One store's Orders v2 API. Raises the ChannelError kinds of `VendorHttp`; a 429 becomes
    RateLimited with `retry_after` taken from `X-Rate-Limit-Time-Reset-Ms`."""

    def __init__(
        self,
        *,
        api_base_url: str,
        store_hash: str,
        access_token: str,
        limiter: Limiter,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.quota = StoreQuota(limiter)
        store = f"{api_base_url.rstrip('/')}/stores/{store_hash}"
        self.http = VendorHttp(base_url=f"{store}/v2", limiter=self.quota, timeout=timeout)
        # Refunds live in Orders v3 (payment actions), under the same quota.
        self.http_v3 = VendorHttp(base_url=f"{store}/v3", limiter=self.quota, timeout=timeout)
        # getOrderProducts documents Content-Type as a required header even on a GET.
        self.headers = {
            "X-Auth-Token": access_token,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        ok: tuple[int, ...] = (200, 201, 204),
        v3: bool = False,
    ) -> Response:
        answer = (self.http_v3 if v3 else self.http).call(
            operation,
            method,
            path,
            headers=self.headers,
            params=params,
            json_body=json_body,
            ok=(*ok, 429),
        )
        if answer.status == 429:
            wait = reset_seconds(answer.headers)
            if wait is None:
                wait = retry_after_seconds(_header(answer.headers, "Retry-After"))
            raise RateLimited(
                f"{operation}: HTTP 429",
                status=429,
                body=answer.body.decode("utf-8", "replace"),
                retry_after=wait,
            )
        return answer

    def _list(self, answer: Response) -> list[dict[str, Any]]:
        # BigCommerce answers 204 (no body) where a list would be empty.
        if answer.status == 204:
            return []
        data = answer.json()
        return list(data) if isinstance(data, list) else []

    def _all_pages(self, operation: str, path: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self._list(
                self.call(operation, "GET", path, params={"page": page, "limit": PAGE_LIMIT})
            )
            rows += batch
            if len(batch) < PAGE_LIMIT:
                return rows
            page += 1

    def orders(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One page of `GET /orders` with the given filters (an empty list past the end)."""
        return self._list(self.call("getOrders", "GET", "/orders", params=params))

    def order(self, order_id: int) -> dict[str, Any] | None:
        answer = self.call("getOrder", "GET", f"/orders/{order_id}", ok=(200, 404))
        if answer.status == 404:
            return None
        data = answer.json()
        return data if isinstance(data, dict) else None

    def order_products(self, order_id: int) -> list[dict[str, Any]]:
        return self._all_pages("getOrderProducts", f"/orders/{order_id}/products")

    def order_shipping_addresses(self, order_id: int) -> list[dict[str, Any]]:
        return self._all_pages(
            "getOrderShippingAddresses", f"/orders/{order_id}/shipping_addresses"
        )

    def order_shipments(self, order_id: int) -> list[dict[str, Any]]:
        return self._all_pages("getOrderShipments", f"/orders/{order_id}/shipments")

    def shipment_create(self, order_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        answer = self.call(
            "createOrderShipments",
            "POST",
            f"/orders/{order_id}/shipments",
            json_body=dict(body),
            ok=(200, 201),
        )
        data = answer.json()
        return data if isinstance(data, dict) else {}

    def order_update(self, order_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        answer = self.call(
            "updateOrder", "PUT", f"/orders/{order_id}", json_body=dict(body), ok=(200,)
        )
        data = answer.json()
        return data if isinstance(data, dict) else {}

    # -- Orders v3: refunds -------------------------------------------------------------------

    def _data(self, answer: Response) -> Any:
        payload = answer.json()
        return payload.get("data") if isinstance(payload, dict) else None

    def refund_quote(self, order_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """createOrderRefundQuotes: what these items refund and by which methods."""
        path = f"/orders/{order_id}/payment_actions/refund_quotes"
        answer = self.call(
            "createOrderRefundQuotes", "POST", path, json_body=dict(body), ok=(201,), v3=True
        )
        data = self._data(answer)
        return data if isinstance(data, dict) else {}

    def refund_create(self, order_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """createOrderRefund: the new refund."""
        path = f"/orders/{order_id}/payment_actions/refunds"
        answer = self.call(
            "createOrderRefund", "POST", path, json_body=dict(body), ok=(201,), v3=True
        )
        data = self._data(answer)
        return data if isinstance(data, dict) else {}

    def refunds(self, order_id: int) -> list[dict[str, Any]]:
        """getOrderRefunds: every refund of the order, oldest first."""
        path = f"/orders/{order_id}/payment_actions/refunds"
        data = self._data(self.call("getOrderRefunds", "GET", path, ok=(200,), v3=True))
        return list(data) if isinstance(data, list) else []
