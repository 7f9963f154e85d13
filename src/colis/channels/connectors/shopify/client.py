"""Shopify's Admin GraphQL endpoint as the connector calls it: one POST per operation with the
shop's access token, and Shopify's cost-based rate limit kept on the client side.

Shopify limits a shop's app by calculated query cost, not by requests: every answer reports
`extensions.cost.throttleStatus` (points available, bucket size, restore rate per second), and a
query whose requested cost does not fit is refused as THROTTLED. `CostBucket` remembers the last
status and what each operation asked for, and waits before a call until the bucket holds enough.
The request-based `Limiter` still runs under it (through VendorHttp) for callers that set one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from colis.channels.connectors.base import ChannelError, Limiter, PermanentError, RateLimited
from colis.channels.connectors.http import TIMEOUT, VendorHttp

# GraphQL error codes that a later retry can get past.
TEMPORARY_CODES = frozenset({"THROTTLED", "INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"})


class CostBucket:
    """The shop's cost bucket as Shopify last reported it. Thread-safe: each call takes its
    points when it is let through, so callers in several threads wait in turn."""

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self.available: float | None = None  # unknown until the first answer
        self.maximum = 0.0
        self.rate = 0.0
        self.at = 0.0
        self.needs: dict[str, float] = {}  # operation -> the requested cost it last reported
        self.waited = 0.0

    def reserve(self, operation: str) -> float:
        """Take this operation's points; the seconds to wait before sending it."""
        with self._lock:
            if self.available is None or self.rate <= 0:
                return 0.0
            need = self.needs.get(operation, max(self.needs.values(), default=0.0))
            now = self._clock()
            level = min(self.maximum, self.available + (now - self.at) * self.rate)
            self.available, self.at = level - need, now
            return max(0.0, (need - level) / self.rate)

    def wait(self, operation: str) -> None:
        delay = self.reserve(operation)
        if delay > 0:
            self.waited += delay
            self._sleep(delay)

    def observe(self, operation: str, cost: Any) -> None:
        """Take in an answer's `extensions.cost`."""
        if not isinstance(cost, Mapping):
            return
        status = cost.get("throttleStatus") or {}
        with self._lock:
            if isinstance(cost.get("requestedQueryCost"), int | float):
                self.needs[operation] = float(cost["requestedQueryCost"])
            if isinstance(status.get("currentlyAvailable"), int | float):
                self.available = float(status["currentlyAvailable"])
                self.maximum = float(status.get("maximumAvailable") or self.available)
                self.rate = float(status.get("restoreRate") or 0.0)
                self.at = self._clock()

    def retry_after(self, cost: Any) -> float | None:
        """When a THROTTLED query would fit, from the answer's cost."""
        if not isinstance(cost, Mapping):
            return None
        status = cost.get("throttleStatus") or {}
        try:
            short = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
            return max(0.0, short / float(status["restoreRate"]))
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return None


class ShopifyClient:
    """One shop's Admin GraphQL API (`{base_url}/admin/api/{api_version}/graphql.json`)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        access_token: str,
        limiter: Limiter,
        timeout: tuple[float, float] = TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = VendorHttp(base_url=base_url, limiter=limiter, timeout=timeout)
        self.path = f"/admin/api/{api_version}/graphql.json"
        self.access_token = access_token
        self.bucket = CostBucket(sleep=sleep)

    def execute(self, operation: str, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Run one GraphQL operation; its `data`. Raises RateLimited (HTTP 429 or THROTTLED),
        AuthExpired (401: Shopify's tokens are not refreshed, so the channel needs a new one),
        PermanentError (a query or input Shopify refuses), ChannelError (the rest)."""
        self.bucket.wait(operation)
        answer = self.http.call(
            operation,
            "POST",
            self.path,
            headers={"X-Shopify-Access-Token": self.access_token, "Accept": "application/json"},
            json_body={"query": query, "variables": dict(variables)},
        )
        payload = answer.json()
        if not isinstance(payload, dict):
            raise ChannelError(f"{operation}: not a GraphQL answer.", status=answer.status)
        cost = (payload.get("extensions") or {}).get("cost")
        self.bucket.observe(operation, cost)
        if payload.get("errors"):
            raise self._error(operation, payload["errors"], cost, answer.body)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ChannelError(f"{operation}: the answer has no data.", status=answer.status)
        return data

    def _error(self, operation: str, errors: Any, cost: Any, body: bytes) -> ChannelError:
        text = body.decode("utf-8", "replace")
        if not isinstance(errors, list):  # Shopify's REST-style {"errors": "..."}
            return PermanentError(f"{operation}: {errors}", status=200, body=text)
        codes = {str(((e or {}).get("extensions") or {}).get("code") or "") for e in errors}
        message = f"{operation}: " + "; ".join(str((e or {}).get("message")) for e in errors)
        if "THROTTLED" in codes:
            return RateLimited(
                message, status=200, body=text, retry_after=self.bucket.retry_after(cost)
            )
        if codes & TEMPORARY_CODES:
            return ChannelError(message, status=200, body=text)
        return PermanentError(message, status=200, body=text)
