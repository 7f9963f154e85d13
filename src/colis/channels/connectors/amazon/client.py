"""HTTP to the Selling Partner API as Amazon documents it: a Login with Amazon (LWA) access
token, refreshed from the channel's refresh token, goes in the `x-amz-access-token` header of
every call; the usage plan of each operation is taken from the limiter before the call.

Amazon refuses a stale or wrong token with 403 (`Unauthorized`), not 401, so the client reads
the error list to tell a token problem from a missing permission."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from colis.channels.connectors.base import (
    AuthExpired,
    ChannelError,
    Limiter,
    PermanentError,
    RateLimited,
    TokenCache,
)
from colis.channels.connectors.http import TIMEOUT, Response, VendorHttp
from colis.channels.limits import NoLimiter

SEARCH_PATH = "/orders/2026-01-01/orders"
ORDER_PATH = "/orders/2026-01-01/orders/{order_id}"
CONFIRM_PATH = "/orders/v0/orders/{order_id}/shipmentConfirmation"
TOKEN_HEADER = "x-amz-access-token"
# Error codes Amazon gives when the access token itself is the problem.
_TOKEN_CODES = frozenset({"Unauthorized", "MissingAuthenticationToken", "InvalidAccessToken"})


def _errors(body: str) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return []
    errors = parsed.get("errors") if isinstance(parsed, dict) else None
    return [e for e in errors or [] if isinstance(e, dict)]


def token_refusal(exc: ChannelError) -> str | None:
    """ "expired" or "invalid" when the call was refused because of its access token, else
    None (a 403 for a missing role or a wrong marketplace is not a token problem)."""
    if exc.status == 401:
        return "expired"
    if exc.status != 403:
        return None
    for error in _errors(exc.body):
        if error.get("code") in _TOKEN_CODES:
            text = f"{error.get('message', '')} {error.get('details', '')}".lower()
            return "expired" if "expired" in text else "invalid"
    return None


class AmazonClient:
    """One seller account in one region. Thread-safe (VendorHttp keeps a session per
    thread; the token cache is shared). Every method raises the ChannelError kinds."""

    def __init__(
        self,
        *,
        api_base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        limiter: Limiter,
        tokens: TokenCache,
        rates: Mapping[str, tuple[float, int]],
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.http = VendorHttp(base_url=api_base_url, limiter=limiter, timeout=timeout)
        # LWA publishes no usage plan of its own; the SP-API buckets must not pay for it.
        self.lwa = VendorHttp(base_url=token_url, limiter=NoLimiter(), timeout=timeout)
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.tokens = tokens
        self.rates = dict(rates)

    # -- token -----------------------------------------------------------------------------

    def access_token(self, *, fresh: bool = False) -> str:
        """The cached LWA access token, or a new one from the refresh token. Raises
        PermanentError when LWA refuses the credentials."""
        if not fresh:
            cached = self.tokens.get()
            if cached:
                return cached
        form = urlencode(
            {
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        )
        try:
            answer = self.lwa.call(
                "lwaToken",
                "POST",
                "",
                url=self.token_url,
                data=form,
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
            )
        except (AuthExpired, PermanentError) as exc:
            raise PermanentError(
                f"Login with Amazon refused the channel's credentials: {exc.body[:300]}",
                status=exc.status,
                body=exc.body,
            ) from exc
        data = answer.json()
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token:
            raise ChannelError("Login with Amazon answered without an access token.")
        self.tokens.put(str(token), float(data.get("expires_in") or 3600))
        return str(token)

    # -- calls -----------------------------------------------------------------------------

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        token: str,
        params: Mapping[str, str] | None,
        json_body: Any,
    ) -> Response:
        try:
            return self.http.call(
                operation,
                method,
                path,
                headers={TOKEN_HEADER: token, "Accept": "application/json"},
                params=params,
                json_body=json_body,
            )
        except RateLimited as exc:
            # Amazon's throttling answer carries no Retry-After: one token of the usage
            # plan is the earliest a retry can pass.
            if exc.retry_after is None and operation in self.rates:
                exc.retry_after = 1 / self.rates[operation][0]
            raise

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Response:
        """One SP-API call; a refused token is refreshed once and the call sent once more.
        Raises AuthExpired when the fresh token is refused as expired too."""
        token = self.access_token()
        try:
            return self._send(operation, method, path, token, params, json_body)
        except ChannelError as exc:
            if token_refusal(exc) is None:
                raise
        token = self.access_token(fresh=True)
        try:
            return self._send(operation, method, path, token, params, json_body)
        except ChannelError as exc:
            if token_refusal(exc) == "expired" and not isinstance(exc, AuthExpired):
                raise AuthExpired(str(exc), status=exc.status, body=exc.body) from exc
            raise

    def search_orders(self, params: Mapping[str, str]) -> dict[str, Any]:
        """One page of `searchOrders` (the caller builds the documented query)."""
        data = self.call("searchOrders", "GET", SEARCH_PATH, params=params).json()
        if not isinstance(data, dict) or not isinstance(data.get("orders"), list):
            raise ChannelError("searchOrders answered without an orders list.")
        return data

    def get_order(self, order_id: str, included: Sequence[str]) -> dict[str, Any] | None:
        """`getOrder` with these includedData sets; None when Amazon has no such order."""
        path = ORDER_PATH.format(order_id=quote(order_id, safe=""))
        params = {"includedData": ",".join(included)} if included else None
        try:
            data = self.call("getOrder", "GET", path, params=params).json()
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(data, dict) or not isinstance(data.get("order"), dict):
            raise ChannelError("getOrder answered without an order.")
        return data["order"]

    def confirm_shipment(self, order_id: str, body: Mapping[str, Any]) -> Response:
        """v0 `confirmShipment` for one package (Amazon answers 204 with no body)."""
        path = CONFIRM_PATH.format(order_id=quote(order_id, safe=""))
        answer = self.call("confirmShipment", "POST", path, json_body=dict(body))
        if answer.status != 204:
            # Not the documented answer: whether it took is unknown, so the push service
            # retries, asking Amazon first what it has.
            raise ChannelError(
                f"confirmShipment: undocumented answer HTTP {answer.status}.",
                status=answer.status,
                body=answer.body.decode("utf-8", "replace"),
            )
        return answer
