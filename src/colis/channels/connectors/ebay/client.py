"""HTTP to eBay as eBay documents it: a user access token minted from the seller's refresh token
(OAuth refresh-token grant, HTTP Basic with the app's client id and secret) and sent as
`Authorization: Bearer`; the Sell Fulfillment v1 operations under `/sell/fulfillment/v1`.

eBay's quota is per API and per day (the Sell Fulfillment API: 100,000 calls a day by
default, shared by all its methods; the token endpoint: 50,000 refresh-token grants a day), so
every call here takes from one bucket per quota, not one per operation."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from colis.channels.connectors.base import (
    AuthExpired,
    ChannelError,
    Limiter,
    PermanentError,
    TokenCache,
)
from colis.channels.connectors.http import TIMEOUT, Response, VendorHttp

API_PATH = "/sell/fulfillment/v1"
SCOPE = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
# issueRefund takes a token of this scope only. It is minted on its own, so a seller who never
# consented to it still imports and ships; only refunds are refused.
FINANCES_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.finances"

# Limiter keys: one per eBay quota.
QUOTA = "sell.fulfillment"
TOKEN_QUOTA = "identity.oauth2.token"
TOKEN_OPERATION = "refreshToken"
# eBay's default call limits (developer.ebay.com, "API Call Limits"), reset once a day.
DAILY_CALLS = 100_000
TOKEN_DAILY_CALLS = 50_000
DAY_SECONDS = 86_400.0

# Sell Fulfillment errorIds the connector reacts to.
INVALID_ORDER_ID = 32100
FULFILLMENT_EXISTS = 34500  # "Please use PUT operation for updating shipping fulfillment"
REFUND_IN_PROGRESS = 34922  # "Refund can't be issued while previous refund is processing."


def daily_quota(calls_per_day: int, day_seconds: float = DAY_SECONDS) -> tuple[float, int]:
    """A daily call limit as a token bucket: the whole day's calls may go at once (eBay's
    counter allows that), and they come back at the day's average rate."""
    return calls_per_day / day_seconds, calls_per_day


class SharedQuota:
    """Hands every call to the limiter under its quota's key, so the operations that share a
    vendor quota share one bucket."""

    def __init__(self, limiter: Limiter, key_of: Callable[[str], str]) -> None:
        self.limiter = limiter
        self.key_of = key_of

    def acquire(self, operation: str) -> None:
        self.limiter.acquire(self.key_of(operation))

    def observe(self, operation: str, headers: Mapping[str, str]) -> None:
        self.limiter.observe(self.key_of(operation), headers)


def _quota_of(operation: str) -> str:
    return TOKEN_QUOTA if operation == TOKEN_OPERATION else QUOTA


def error_ids(body: str) -> set[int]:
    """The errorIds of an eBay error body ({"errors": [{"errorId": ...}]}); empty if none."""
    try:
        data = json.loads(body)
    except ValueError:
        return set()
    errors = data.get("errors") if isinstance(data, dict) else None
    return {
        int(error["errorId"])
        for error in errors or ()
        if isinstance(error, dict)
        and str(error.get("errorId", "")).isascii()
        and str(error.get("errorId", "")).isdigit()
    }


class MemoryTokens:
    """A token kept in this process only (the finances token: one per process and two hours
    costs a few of the 50,000 daily refresh grants)."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._until = 0.0
        self._lock = threading.Lock()

    def get(self) -> str | None:
        with self._lock:
            return self._token if self._token and time.monotonic() < self._until else None

    def put(self, token: str, expires_in: float) -> None:
        with self._lock:
            # A minute early: a token about to expire is not sent.
            self._token, self._until = token, time.monotonic() + max(0.0, expires_in - 60)


class EbayClient:
    """One seller's eBay account. Thread-safe. Calls raise the ChannelError kinds; an access
    token eBay refuses (401) is replaced once and the call made once more."""

    def __init__(
        self,
        *,
        credentials: Mapping[str, str],
        settings: Mapping[str, Any],
        limiter: Limiter,
        tokens: TokenCache,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.client_id = credentials.get("client_id", "")
        self.client_secret = credentials.get("client_secret", "")
        self.refresh_token = credentials.get("refresh_token", "")
        self.token_url = str(settings["token_url"])
        self.tokens = tokens
        self.http = VendorHttp(
            base_url=str(settings["api_base_url"]).rstrip("/") + API_PATH,
            limiter=SharedQuota(limiter, _quota_of),
            timeout=timeout,
        )
        self.finance_tokens = MemoryTokens()
        self._refreshing = threading.Lock()

    # -- access token ----------------------------------------------------------------------

    def _cache(self, scope: str) -> TokenCache:
        return self.finance_tokens if scope == FINANCES_SCOPE else self.tokens

    def access_token(self, scope: str = SCOPE) -> str:
        """The cached user access token for `scope`, or a new one."""
        return self._cache(scope).get() or self.refresh(scope=scope)

    def refresh(self, *, stale: str | None = None, scope: str = SCOPE) -> str:
        """A new access token from the refresh token, cached until it expires. With `stale`
        (the token eBay just refused), a token another thread fetched meanwhile is reused.
        Raises PermanentError when eBay refuses the app's credentials, the refresh token or
        the scope."""
        tokens = self._cache(scope)
        with self._refreshing:
            cached = tokens.get()
            if cached and stale is not None and cached != stale:
                return cached
            basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            form = {
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
                "scope": scope,
            }
            try:
                answer = self.http.call(
                    TOKEN_OPERATION,
                    "POST",
                    "",
                    url=self.token_url,
                    headers={
                        "Authorization": f"Basic {basic}",
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Accept": "application/json",
                    },
                    data=urlencode(form),
                    ok=(200,),
                )
            except AuthExpired as exc:
                # A 401 from the token endpoint is the app's id/secret, not an expired token:
                # asking again cannot help.
                raise PermanentError(
                    "eBay refused the client id and secret.", status=exc.status, body=exc.body
                ) from exc
            payload = answer.json() or {}
            token = payload.get("access_token") if isinstance(payload, dict) else None
            if not token:
                raise ChannelError("eBay's token answer has no access_token.", status=200)
            tokens.put(str(token), float(payload.get("expires_in") or 7200))
            return str(token)

    # -- Sell Fulfillment ------------------------------------------------------------------

    def call(
        self, operation: str, method: str, path: str, *, scope: str = SCOPE, **kwargs: Any
    ) -> Response:
        """One Sell Fulfillment call with the bearer token of `scope` (refreshed once on a
        401)."""
        token = self.access_token(scope)
        extra = kwargs.pop("headers", None) or {}
        try:
            return self.http.call(
                operation, method, path, headers=self._headers(token, extra), **kwargs
            )
        except AuthExpired:
            token = self.refresh(stale=token, scope=scope)
            return self.http.call(
                operation, method, path, headers=self._headers(token, extra), **kwargs
            )

    @staticmethod
    def _headers(token: str, extra: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Accept": "application/json", **extra}

    def get_orders(self, *, filter: str, limit: int, offset: int) -> dict[str, Any]:  # noqa: A002
        """getOrders: one page of an OrderSearchPagedCollection."""
        params = {"filter": filter, "limit": str(limit), "offset": str(offset)}
        return self.call("getOrders", "GET", "/order", params=params).json() or {}

    def get_order(self, order_id: str) -> dict[str, Any] | None:
        """getOrder (None when eBay has no such order)."""
        try:
            answer = self.call("getOrder", "GET", f"/order/{_segment(order_id)}", ok=(200, 404))
        except PermanentError as exc:
            if INVALID_ORDER_ID in error_ids(exc.body):
                return None
            raise
        return None if answer.status == 404 else answer.json()

    def get_fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        """getShippingFulfillments: every fulfillment of one order."""
        path = f"/order/{_segment(order_id)}/shipping_fulfillment"
        data = self.call("getShippingFulfillments", "GET", path).json() or {}
        return list(data.get("fulfillments") or [])

    def create_fulfillment(self, order_id: str, body: dict[str, Any]) -> Response:
        """createShippingFulfillment; the answer's Location header names the new one."""
        path = f"/order/{_segment(order_id)}/shipping_fulfillment"
        return self.call("createShippingFulfillment", "POST", path, json_body=body, ok=(201,))

    def issue_refund(self, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """issueRefund: the answer's `Refund` ({"refundId", "refundStatus"})."""
        path = f"/order/{_segment(order_id)}/issue_refund"
        answer = self.call(
            "issueRefund", "POST", path, scope=FINANCES_SCOPE, json_body=body, ok=(200,)
        )
        data = answer.json()
        return data if isinstance(data, dict) else {}


def _segment(value: str) -> str:
    return quote(value, safe="")
