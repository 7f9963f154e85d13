"""eBay's Sell Fulfillment API v1 and its OAuth token endpoint, emulated.

What a real seller account does, as eBay documents it: orders with ids like `12-34567-89012`,
getOrders with its `filter` syntax (`creationdate:[a..b]`, `lastmodifieddate:[a..b]`,
`orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}`) and limit/offset pages, getOrder,
createShippingFulfillment (201, the new fulfillment's URI in `Location`, its id the tracking
number when there is one), getShippingFulfillments, issueRefund (with a token of the
sell.finances scope; the refund shown on the order, per line item or in its payment summary).
Calls need `Authorization: Bearer` with a user access token minted at
`/identity/v1/oauth2/token` from the seller's refresh token (HTTP Basic with the app's client
id and secret), valid two hours; a missing, unknown or expired token gets eBay's 401. With
limits on, the API's daily call quota (100,000 calls, shared by every method) is a token
bucket that refills at the day's average rate; past it, eBay's 429 (errorId 2001).

Stored orders are only ever changed by replacing a value (never by editing a nested object in
place), so an answer being serialised while another request changes the order stays whole.
createShippingFulfillment does dictionary look-ups only; list indexes are rebuilt lazily."""

from __future__ import annotations

import base64
import bisect
import math
import random
import re
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode

from colis.emulators.openapi import OpenApiSpec, spec_load
from colis.emulators.people import Person, basket, person
from colis.emulators.server import Answer, Bucket, Emulator, Refuse, Request

SPEC = "ebay/sell_fulfillment_v1_oas3.json"
PREFIX = "/sell/fulfillment/v1"
TOKEN_PATH = "/identity/v1/oauth2/token"
PUBLIC_URL = "https://api.ebay.com"

SCOPE = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
SCOPE_READONLY = SCOPE + ".readonly"
FINANCES_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.finances"
KNOWN_SCOPES = frozenset(
    {"https://api.ebay.com/oauth/api_scope", SCOPE, SCOPE_READONLY, FINANCES_SCOPE}
)
READ_OPERATIONS = frozenset(
    {"getOrders", "getOrder", "getShippingFulfillments", "getShippingFulfillment"}
)

QUOTA = "sell.fulfillment"  # one quota for every method of the API
DAILY_QUOTA = 100_000
DAY_SECONDS = 86_400.0
TOKEN_TTL = 7200

# The emulated app's keys and the seller's refresh token (what a channel is given).
CREDENTIALS = {
    "client_id": "ColisEmu-colis-PRD-5f3a9c2e1-8b7d4e60",
    "client_secret": "PRD-f3a9c2e18b7d-4e60-4c1a-9d2e-77b1",
    "refresh_token": "v^1.1#i^1#r^1#I^3#f^0#p^3#t^Ul4xMF83OkNPTElTRU1VUkVGUkVTSA==",
}
SELLER_ID = "colis_demo_store"

ORDER_ID = re.compile(r"^\d{2}-\d{5}-\d{5}$")
ALPHANUMERIC = re.compile(r"^[0-9A-Za-z]+$")
CRITERION = re.compile(r"\s*([A-Za-z_]+)\s*:\s*(\[[^\]]*\]|\{[^}]*\})\s*(?:,|$)")
FULFILLMENT_FILTERS = (
    frozenset({"NOT_STARTED", "IN_PROGRESS"}),
    frozenset({"FULFILLED", "IN_PROGRESS"}),
)
TWO_YEARS = timedelta(days=730)
# ReasonForRefundEnum.
REFUND_REASONS = frozenset(
    {
        "BUYER_CANCEL",
        "SELLER_CANCEL",
        "ITEM_NOT_RECEIVED",
        "BUYER_RETURN",
        "ITEM_NOT_AS_DESCRIBED",
        "OTHER_ADJUSTMENT",
        "SHIPPING_DISCOUNT",
    }
)
REFUNDABLE_PAYMENTS = frozenset({"PAID", "PARTIALLY_REFUNDED"})

# Country -> (marketplace, currency, carrier, shipping service).
MARKETS = {
    "US": ("EBAY_US", "USD", "USPS", "USPSPriority"),
    "CA": ("EBAY_CA", "CAD", "CanadaPost", "CA_PostExpeditedParcel"),
    "GB": ("EBAY_GB", "GBP", "RoyalMail", "UK_RoyalMailSecondClassStandard"),
    "DE": ("EBAY_DE", "EUR", "DHL", "DE_DHLPaket"),
    "FR": ("EBAY_FR", "EUR", "Colissimo", "FR_ColiposteColissimo"),
}
US_SALES_TAX = Decimal("0.0825")
FEE_RATE = Decimal("0.1325")
SHIPPING_PRICES = (Decimal("0.00"), Decimal("0.00"), Decimal("4.99"), Decimal("7.50"))
TITLES = (
    "Ceramic Pour-Over Coffee Dripper",
    "Merino Wool Hiking Socks (2 Pairs)",
    "Stainless Steel Water Bottle 750 ml",
    "Linen Tea Towel Set of 3",
    "Leather Card Holder, Tan",
    "Bamboo Cutting Board, Large",
    "Cast Iron Trivet",
    "Enamel Camping Mug 350 ml",
)
DEFAULT_SKUS = ("EB-MUG-350", "EB-SOCK-M", "EB-BOTTLE-750")


def stamp(moment: datetime) -> str:
    """eBay's timestamp format: `2015-08-04T19:09:02.768Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _moment(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _money(value: Decimal, currency: str) -> dict[str, str]:
    return {"value": f"{value:.2f}", "currency": currency}


def _error(
    error_id: int,
    message: str,
    *,
    domain: str = "API_FULFILLMENT",
    category: str = "REQUEST",
    long_message: str = "",
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "errorId": error_id,
        "domain": domain,
        "category": category,
        "message": message,
    }
    if long_message:
        error["longMessage"] = long_message
    return {"errors": [error]}


def _refuse(status: int, error_id: int, message: str, long_message: str = "") -> Refuse:
    return Refuse(Answer(status, _error(error_id, message, long_message=long_message)))


def _header(request: Request, name: str) -> str:
    name = name.lower()
    return next((v for k, v in request.headers.items() if k.lower() == name), "")


def _one(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    return values[-1] if values else None


class EbayEmulator(Emulator):
    """One eBay seller with one developer app. `daily_quota` and `day_seconds` scale the call
    quota (tests shrink the day); `token_ttl` is an access token's life in seconds."""

    name: ClassVar[str] = "ebay"
    rate_limits: ClassVar[dict[str, tuple[float, int]]] = {
        QUOTA: (DAILY_QUOTA / DAY_SECONDS, DAILY_QUOTA)
    }

    def __init__(
        self,
        *,
        limits: bool = True,
        seed: int = 1,
        daily_quota: int = DAILY_QUOTA,
        day_seconds: float = DAY_SECONDS,
        token_ttl: float = TOKEN_TTL,
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(limits=limits, seed=seed)
        # The class declares eBay's quota; an instance may run on a shorter day.
        self.quota = (daily_quota / day_seconds, daily_quota)
        self.token_ttl = token_ttl
        self.credentials = dict(credentials or CREDENTIALS)
        self.rng = random.Random(seed)
        self.orders: dict[str, dict[str, Any]] = {}
        self.cancel_requests: dict[str, list[dict[str, Any]]] = {}
        self.fulfillments: dict[str, list[dict[str, Any]]] = {}
        self.shipped: dict[str, dict[str, int]] = {}  # order -> line item -> quantity shipped
        self.refunds: dict[str, list[dict[str, Any]]] = {}  # order -> issueRefund calls taken
        self._refund_serial = 5_000_000_000 + self.rng.randrange(10**8)
        self.access_tokens: dict[str, tuple[float, frozenset[str]]] = {}
        self.tokens_issued = 0
        self._indexes: dict[str, list[tuple[str, str]]] = {}  # date field -> sorted (date, id)
        self._order_serial = 10_000_000_000 + self.rng.randrange(10**9)
        self._line_serial = 10_000_000_000_000 + self.rng.randrange(10**11)
        self._listing_ids: dict[str, str] = {}
        self._fulfillment_serial = 999
        self._seeded = 0
        self._specs = [spec_load(SPEC, PREFIX)]
        self._handlers: dict[str, Callable[[dict[str, str], Request], Answer]] = {
            "getOrders": self._get_orders,
            "getOrder": self._get_order,
            "getShippingFulfillments": self._get_fulfillments,
            "getShippingFulfillment": self._get_fulfillment,
            "createShippingFulfillment": self._create_fulfillment,
            "issueRefund": self._issue_refund,
        }

    # -- contract, credentials, limits -----------------------------------------------------

    def connection(self, base_url: str) -> dict[str, dict[str, str]]:
        """The channel credentials and settings that reach this emulator at `base_url`."""
        return {
            "credentials": dict(self.credentials),
            "settings": {"api_base_url": base_url, "token_url": base_url + TOKEN_PATH},
        }

    def specs(self) -> list[OpenApiSpec]:
        return self._specs

    def authenticate(self, request: Request, operation_id: str) -> None:
        """eBay's OAuth checks: a bearer token it minted, not expired, with a scope that
        covers the operation (the read-only scope covers reads only)."""
        value = _header(request, "Authorization")
        if not value.startswith("Bearer "):
            raise Refuse(
                Answer(
                    401,
                    _error(
                        1002,
                        "Missing access token",
                        domain="OAuth",
                        long_message="Access token is missing in the Authorization HTTP "
                        "request header.",
                    ),
                )
            )
        entry = self.access_tokens.get(value[7:].strip())
        if entry is None or entry[0] < time.monotonic():
            raise Refuse(Answer(401, self._invalid_token()))
        allowed = {SCOPE, SCOPE_READONLY} if operation_id in READ_OPERATIONS else {SCOPE}
        if operation_id == "issueRefund":
            allowed = {FINANCES_SCOPE}  # refunds move money: the finances scope only
        if not allowed & entry[1]:
            raise Refuse(
                Answer(
                    403,
                    _error(
                        1100,
                        "Access denied",
                        domain="OAuth",
                        long_message="Insufficient permissions to fulfill the request.",
                    ),
                )
            )

    @staticmethod
    def _invalid_token() -> dict[str, Any]:
        return _error(
            1001,
            "Invalid access token",
            domain="OAuth",
            long_message="Invalid access token. Check the value of the Authorization HTTP "
            "request header.",
        )

    def throttle(self, operation_id: str) -> float:
        # eBay counts calls per API, so every operation takes from the one bucket.
        if not self.limits:
            return 0.0
        with self.lock:
            bucket = self.buckets.get(QUOTA)
            if bucket is None:
                bucket = self.buckets[QUOTA] = Bucket(*self.quota)
            return bucket.take()

    def fault_answer(self, fault: str, retry_after: float) -> Answer:
        if fault == "429":
            return Answer(
                429,
                _error(
                    2001,
                    "Too many requests.",
                    domain="ACCESS",
                    long_message="The request limit has been reached for the resource.",
                ),
                {"Retry-After": str(max(1, math.ceil(retry_after)))},
            )
        if fault == "expired_token":
            return Answer(401, self._invalid_token())
        return Answer(500, _error(30500, "System error", category="APPLICATION"))

    # -- the token endpoint ----------------------------------------------------------------

    def handle_other(self, request: Request) -> Answer | None:
        if request.path == TOKEN_PATH and request.method == "POST":
            return self._mint_token(request)
        return None

    def _mint_token(self, request: Request) -> Answer:
        """The refresh-token grant: HTTP Basic with the app's id and secret, a form body with
        grant_type, refresh_token and (optionally) scope."""
        with self.lock:
            self.calls["identity.oauth2.token"] += 1
        if "application/x-www-form-urlencoded" not in _header(request, "Content-Type"):
            return _oauth_error(400, "invalid_request", "request is missing a required parameter")
        given = _header(request, "Authorization")
        app = f"{self.credentials['client_id']}:{self.credentials['client_secret']}"
        expected = base64.b64encode(app.encode()).decode()
        if not secrets.compare_digest(given.encode(), f"Basic {expected}".encode()):
            return _oauth_error(401, "invalid_client", "client authentication failed")
        form = parse_qs(request.body.decode("utf-8", "replace"))
        if form.get("grant_type", [""])[0] != "refresh_token":
            return _oauth_error(
                400,
                "unsupported_grant_type",
                "grant type in request is not supported by the authorization server",
            )
        if not secrets.compare_digest(
            form.get("refresh_token", [""])[0].encode(), self.credentials["refresh_token"].encode()
        ):
            return _oauth_error(
                400,
                "invalid_grant",
                "the provided authorization refresh token is invalid or was issued to "
                "another client",
            )
        scopes = frozenset(form.get("scope", [f"{SCOPE} {SCOPE_READONLY}"])[0].split())
        if not scopes or not scopes <= KNOWN_SCOPES:
            return _oauth_error(
                400,
                "invalid_scope",
                "The requested scope is invalid, unknown, malformed, or exceeds the scope "
                "granted to the client",
            )
        token = "v^1.1#i^1#p^3#r^0#I^3#f^0#t^" + secrets.token_urlsafe(48)
        with self.lock:
            self.access_tokens[token] = (time.monotonic() + self.token_ttl, scopes)
            self.tokens_issued += 1
        return Answer(
            200,
            {
                "access_token": token,
                "expires_in": int(self.token_ttl),
                "token_type": "User Access Token",
            },
        )

    # -- documented operations -------------------------------------------------------------

    def handle(self, operation_id: str, params: dict[str, str], request: Request) -> Answer:
        handler = self._handlers.get(operation_id)
        if handler is None:
            # A documented operation Colis has no business calling: flag it.
            self.violations.append(f"{operation_id}: not emulated")
            return Answer(500, _error(30500, "System error", category="APPLICATION"))
        return handler(params, request)

    def _get_orders(self, params: dict[str, str], request: Request) -> Answer:
        _check_field_groups(request)
        limit = _number(_one(request, "limit"), 50, 31100, "limit")
        if not 1 <= limit <= 200:
            raise _refuse(400, 31100, f"Invalid limit: {limit}")
        offset = _number(_one(request, "offset"), 0, 31000, "offset")
        if offset < 0:
            raise _refuse(400, 31000, f"Invalid offset: {offset}")
        wanted = _one(request, "orderIds")
        with self.lock:
            if wanted is not None:
                # orderIds overrides everything else, paging included.
                ids = [x.strip() for x in wanted.split(",") if x.strip()]
                if len(ids) > 50:
                    raise _refuse(400, 30900, "Exceeded maximum number of order IDs")
                chosen = [self.orders[x] for x in ids if x in self.orders]
                total, offset, limit = len(chosen), 0, max(len(chosen), 1)
            else:
                matches = self._matching(_parse_filter(_one(request, "filter") or ""))
                total = len(matches)
                chosen = [self.orders[x] for x in matches[offset : offset + limit]]
        base = self._base(request)
        query = {k: v[-1] for k, v in request.query.items() if k not in ("limit", "offset")}

        def page_url(at: int) -> str:
            return f"{base}{PREFIX}/order?" + urlencode({**query, "limit": limit, "offset": at})

        body: dict[str, Any] = {
            "href": page_url(offset),
            "total": total,
            "limit": limit,
            "offset": offset,
            "orders": chosen,
        }
        if offset + limit < total:
            body["next"] = page_url(offset + limit)
        if offset > 0:
            body["prev"] = page_url(max(0, offset - limit))
        return Answer(200, body)

    def _matching(self, criteria: dict[str, Any]) -> list[str]:
        """The ids the filter selects, in eBay's order: by the date the filter ranges over,
        oldest first (by creation when there is none; then only the last 90 days)."""
        if "creationdate" in criteria:
            field, (start, end) = "creationDate", criteria["creationdate"]
        elif "lastmodifieddate" in criteria:
            field, (start, end) = "lastModifiedDate", criteria["lastmodifieddate"]
        else:
            field, start, end = "creationDate", stamp(datetime.now(UTC) - timedelta(90)), None
        index = self._index(field)
        low = bisect.bisect_left(index, (start,))
        high = bisect.bisect_right(index, (end, "\uffff")) if end else len(index)
        ids = [order_id for _, order_id in index[low:high]]
        statuses = criteria.get("orderfulfillmentstatus")
        if statuses:
            ids = [x for x in ids if self.orders[x]["orderFulfillmentStatus"] in statuses]
        return ids

    def _index(self, field: str) -> list[tuple[str, str]]:
        index = self._indexes.get(field)
        if index is None:
            index = self._indexes[field] = sorted(
                (order[field], order_id) for order_id, order in self.orders.items()
            )
        return index

    def _get_order(self, params: dict[str, str], request: Request) -> Answer:
        _check_field_groups(request)
        order_id = params["orderId"]
        order = self.orders.get(order_id)
        if order is None:
            if not ORDER_ID.match(order_id):
                raise _refuse(400, 32100, f"Invalid order ID: {order_id}")
            return Answer(404, _error(32100, f"Invalid order ID: {order_id}"))
        requests_made = self.cancel_requests.get(order_id)
        if requests_made:
            # Only getOrder fills in cancelRequests (getOrders always returns it empty).
            cancel = {**order["cancelStatus"], "cancelRequests": requests_made}
            order = {**order, "cancelStatus": cancel}
        return Answer(200, order)

    def _get_fulfillments(self, params: dict[str, str], request: Request) -> Answer:
        order_id = params["orderId"]
        if order_id not in self.orders:
            raise _refuse(400, 32100, f"Invalid order ID: {order_id}")
        found = list(self.fulfillments.get(order_id, ()))
        return Answer(200, {"fulfillments": found, "total": len(found)})

    def _get_fulfillment(self, params: dict[str, str], request: Request) -> Answer:
        order_id, wanted = params["orderId"], params["fulfillmentId"]
        if order_id not in self.orders:
            raise _refuse(400, 32100, f"Invalid order ID: {order_id}")
        for fulfillment in self.fulfillments.get(order_id, ()):
            if fulfillment["fulfillmentId"] == wanted:
                return Answer(200, fulfillment)
        return Answer(404, _error(32100, f"Invalid fulfillment ID: {wanted}"))

    def _create_fulfillment(self, params: dict[str, str], request: Request) -> Answer:
        order_id = params["orderId"]
        body = request.json() or {}
        items = body.get("lineItems") or []
        tracking = body.get("trackingNumber") or ""
        carrier = body.get("shippingCarrierCode") or ""
        if bool(tracking) != bool(carrier) or (tracking and not ALPHANUMERIC.match(tracking)):
            raise _refuse(400, 32300, "Invalid shipment tracking number or carrier")
        shipped_at = datetime.now(UTC)
        if body.get("shippedDate"):
            parsed = _moment(str(body["shippedDate"]))
            if parsed is None:
                raise _refuse(400, 32500, "Invalid shipped date")
            shipped_at = parsed
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise _refuse(400, 32100, f"Invalid Order Id: {order_id}")
            # A fulfillment is named by its tracking number: one already there is to be
            # changed (with PUT), not made again.
            existing = (f["fulfillmentId"] for f in self.fulfillments.get(order_id, ()))
            if tracking and tracking in existing:
                raise _refuse(
                    400, 34500, "Please use PUT operation for updating shipping fulfillment"
                )
            self._check_shippable(order, items)
            if not tracking:
                self._fulfillment_serial += 1
            fulfillment_id = tracking or str(self._fulfillment_serial)
            record: dict[str, Any] = {
                "fulfillmentId": fulfillment_id,
                "lineItems": [
                    {"lineItemId": item["lineItemId"], "quantity": int(item.get("quantity", 1))}
                    for item in items
                ],
                "shippedDate": stamp(shipped_at),
            }
            if tracking:
                record["shipmentTrackingNumber"] = tracking
                record["shippingCarrierCode"] = carrier
            location = self._record(order, record, self._base(request))
        return Answer(201, {}, {"Location": location})

    def _issue_refund(self, params: dict[str, str], request: Request) -> Answer:
        """issueRefund as eBay checks it: a reason from ReasonForRefundEnum, either one
        order-level amount or amounts per line item, positive with at most two decimals in
        the order's currency, never more than the buyer paid (per line, and in all); eBay
        answers with the new refund's id, PENDING, and shows it on the order."""
        order_id = params["order_id"]
        body = request.json() or {}
        if not body:
            raise _refuse(400, 34902, "Request can't be empty.")
        reason = body.get("reasonForRefund")
        if not reason:
            raise _refuse(400, 34903, "The refund reason must be specified.")
        if reason not in REFUND_REASONS:
            raise _refuse(400, 34903, f"Invalid reasonForRefund: {reason}")
        if len(str(body.get("comment") or "")) > 1000:
            raise _refuse(
                400, 34921, "The comment exceeds the length limit, please make sure it doesn't "
                "exceed 1000 characters.",
            )  # fmt: skip
        items = body.get("refundItems") or []
        whole = body.get("orderLevelRefundAmount")
        if bool(items) == bool(whole):
            raise _refuse(
                400, 34905, "Either orderLevelRefundAmount or refundItems must be specified."
            )
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise _refuse(404, 34913, "Can not find the order.")
            if order["orderPaymentStatus"] == "FULLY_REFUNDED":
                raise _refuse(400, 34917, "This order was already refunded.")
            if order["orderPaymentStatus"] not in REFUNDABLE_PAYMENTS:
                raise _refuse(
                    409, 34929, "You cannot refund this order yet since the buyer payment has "
                    "not been processed. Please try again later.",
                )  # fmt: skip
            currency = order["pricingSummary"]["total"]["currency"]
            per_line = self._refund_lines(order, items, currency) if items else {}
            total = sum(per_line.values(), Decimal(0)) if items else _refund_value(whole, currency)
            due = Decimal(order["paymentSummary"]["totalDueSeller"]["value"])
            before = self._refunded(order)
            if before + total > due:
                raise _refuse(400, 34915, "The refund amount exceeds order amount.")
            self._refund_serial += self.rng.randint(1, 97)
            refund_id = str(self._refund_serial)
            self._record_refund(order, refund_id, per_line, total, currency)
            order["orderPaymentStatus"] = (
                "FULLY_REFUNDED" if before + total >= due else "PARTIALLY_REFUNDED"
            )
            self._touch(order)
            self.refunds.setdefault(order_id, []).append(
                {
                    "refundId": refund_id,
                    "reasonForRefund": reason,
                    "comment": body.get("comment") or "",
                    "amount": f"{total:.2f}",
                    "lineItems": {k: f"{v:.2f}" for k, v in per_line.items()},
                }
            )
        return Answer(200, {"refundId": refund_id, "refundStatus": "PENDING"})

    def _refund_lines(
        self, order: dict[str, Any], items: list[dict[str, Any]], currency: str
    ) -> dict[str, Decimal]:
        """Line item id -> amount of an issueRefund's refundItems. Raises Refuse."""
        lines = {line["lineItemId"]: line for line in order["lineItems"]}
        wanted: dict[str, Decimal] = {}
        for item in items:
            line_id = str(item.get("lineItemId") or "")
            if not line_id:
                raise _refuse(
                    400, 34910,
                    "Either legacyReference or lineItemId must be specified for item level "
                    "refund.",
                )  # fmt: skip
            line = lines.get(line_id)
            if line is None:
                raise _refuse(400, 34914, "Can't find the item in the order.")
            value = _refund_value(item.get("refundAmount"), currency)
            wanted[line_id] = wanted.get(line_id, Decimal(0)) + value
            paid = Decimal(line["total"]["value"])
            done = sum((Decimal(r["amount"]["value"]) for r in line.get("refunds") or ()),
                       Decimal(0))  # fmt: skip
            if done + wanted[line_id] > paid:
                raise _refuse(
                    409, 34924, "The item refund amount exceeds the item remaining amount."
                )
        return wanted

    @staticmethod
    def _refunded(order: dict[str, Any]) -> Decimal:
        total = sum(
            (Decimal(r["amount"]["value"]) for r in order["paymentSummary"].get("refunds") or ()),
            Decimal(0),
        )
        for line in order["lineItems"]:
            total += sum(
                (Decimal(r["amount"]["value"]) for r in line.get("refunds") or ()), Decimal(0)
            )
        return total

    def _record_refund(
        self,
        order: dict[str, Any],
        refund_id: str,
        per_line: dict[str, Decimal],
        total: Decimal,
        currency: str,
    ) -> None:
        """The refund on the order: per line item, or in the payment summary (each value is
        replaced, never edited in place)."""
        now = stamp(datetime.now(UTC))
        if per_line:
            order["lineItems"] = [
                {
                    **line,
                    "refunds": [
                        *(line.get("refunds") or []),
                        {
                            "refundId": refund_id,
                            "amount": _money(per_line[line["lineItemId"]], currency),
                            "refundDate": now,
                        },
                    ],
                }
                if line["lineItemId"] in per_line
                else line
                for line in order["lineItems"]
            ]
            return
        summary = order["paymentSummary"]
        entry = {
            "refundId": refund_id,
            "amount": _money(total, currency),
            "refundDate": now,
            "refundStatus": "PENDING",
        }
        order["paymentSummary"] = {**summary, "refunds": [*summary["refunds"], entry]}

    def _check_shippable(self, order: dict[str, Any], items: list[dict[str, Any]]) -> None:
        if order["cancelStatus"]["cancelState"] == "CANCELED":
            raise _refuse(400, 32600, "Invalid input data", "The order has been cancelled.")
        if order["fulfillmentStartInstructions"][0]["fulfillmentInstructionsType"] != "SHIP_TO":
            raise _refuse(400, 32600, "Invalid input data", "eBay fulfills this order.")
        if not items:
            raise _refuse(400, 32600, "Invalid input data", "lineItems is required.")
        ordered = {line["lineItemId"]: line["quantity"] for line in order["lineItems"]}
        shipped = self.shipped.get(order["orderId"], {})
        seen: set[str] = set()
        for item in items:
            line_id = str(item.get("lineItemId") or "")
            if line_id not in ordered:
                raise _refuse(400, 32200, f"Invalid line item id: {line_id}")
            if line_id in seen:
                raise _refuse(400, 32210, "Duplicate line item in the request")
            seen.add(line_id)
            quantity = item.get("quantity", 1)
            if quantity < 1 or shipped.get(line_id, 0) + quantity > ordered[line_id]:
                raise _refuse(
                    400, 32600, "Invalid input data", f"Too many units of line item {line_id}."
                )

    def _record(self, order: dict[str, Any], record: dict[str, Any], base: str) -> str:
        """Store a fulfillment and move the order's statuses on; its URI."""
        order_id = order["orderId"]
        self.fulfillments.setdefault(order_id, []).append(record)
        shipped = self.shipped.setdefault(order_id, {})
        for item in record["lineItems"]:
            shipped[item["lineItemId"]] = shipped.get(item["lineItemId"], 0) + item["quantity"]
        lines = []
        for line in order["lineItems"]:
            done = shipped.get(line["lineItemId"], 0)
            status = "FULFILLED" if done >= line["quantity"] else "IN_PROGRESS"
            lines.append({**line, "lineItemFulfillmentStatus": status if done else "NOT_STARTED"})
        order["lineItems"] = lines
        complete = all(line["lineItemFulfillmentStatus"] == "FULFILLED" for line in lines)
        order["orderFulfillmentStatus"] = "FULFILLED" if complete else "IN_PROGRESS"
        uri = f"{base}{PREFIX}/order/{order_id}/shipping_fulfillment/{record['fulfillmentId']}"
        order["fulfillmentHrefs"] = [*order["fulfillmentHrefs"], uri]
        self._touch(order)
        return uri

    def _touch(self, order: dict[str, Any]) -> None:
        order["lastModifiedDate"] = stamp(datetime.now(UTC))
        self._indexes.pop("lastModifiedDate", None)

    @staticmethod
    def _base(request: Request) -> str:
        host = _header(request, "Host")
        return f"http://{host}" if host else PUBLIC_URL

    # -- seeding and steering --------------------------------------------------------------

    def seed_orders(self, spec: dict[str, Any]) -> list[str]:
        """New orders: `count`, `skus`, and optionally `placed_at` (ISO time), `unpaid`,
        `fulfilled_by_vendor` (eBay ships them), `missing_address` (a ship-to with only its
        country), `without_sku` (listings made without SKUs)."""
        count = int(spec.get("count", 1))
        skus = list(spec.get("skus") or DEFAULT_SKUS)
        placed = _moment(str(spec["placed_at"])) if spec.get("placed_at") else None
        now = datetime.now(UTC)
        ids = []
        with self.lock:
            for i in range(count):
                if placed is not None:
                    created = placed + timedelta(milliseconds=i)
                    modified = max(created, min(created + timedelta(minutes=2), now))
                else:
                    # Equal dates sort by order id, which grows: seeding order is kept.
                    created, modified = now - timedelta(minutes=2), now
                order = self._new_order(
                    person(self.rng, self._seeded), skus, created, modified, spec
                )
                self._seeded += 1
                self.orders[order["orderId"]] = order
                ids.append(order["orderId"])
            self._indexes.clear()
        return ids

    def _new_order(
        self,
        buyer: Person,
        skus: list[str],
        created: datetime,
        modified: datetime,
        spec: dict[str, Any],
    ) -> dict[str, Any]:
        rng = self.rng
        self._order_serial += rng.randint(1, 97)
        digits = f"{self._order_serial:012d}"
        order_id = f"{digits[:2]}-{digits[2:7]}-{digits[7:]}"
        marketplace, currency, carrier, service = MARKETS[buyer.country]
        shipping = rng.choice(SHIPPING_PRICES)
        ship_by = stamp(created + timedelta(days=2))
        earliest, latest = stamp(created + timedelta(days=4)), stamp(created + timedelta(days=8))
        lines, subtotal, tax = [], Decimal(0), Decimal(0)
        for position, (sku, quantity, unit) in enumerate(basket(rng, skus)):
            cost = unit * quantity
            line_shipping = shipping if position == 0 else Decimal(0)
            line_tax = Decimal(0)
            if buyer.country == "US":
                line_tax = ((cost + line_shipping) * US_SALES_TAX).quantize(Decimal("0.01"))
            subtotal, tax = subtotal + cost, tax + line_tax
            lines.append(
                self._new_line(
                    sku, quantity, cost, line_shipping, line_tax, currency, marketplace, spec
                )
                | {
                    "lineItemFulfillmentInstructions": {
                        "minEstimatedDeliveryDate": earliest,
                        "maxEstimatedDeliveryDate": latest,
                        "shipByDate": ship_by,
                        "guaranteedDelivery": False,
                    }
                }
            )
        total = subtotal + shipping + tax
        due_seller = subtotal + shipping  # eBay keeps the tax it collects and remits
        contact = _contact(buyer)
        ship_to = dict(contact)
        if spec.get("missing_address"):
            ship_to["contactAddress"] = {"countryCode": buyer.country}
        by_ebay = bool(spec.get("fulfilled_by_vendor"))
        instruction: dict[str, Any] = {
            "fulfillmentInstructionsType": "FULFILLED_BY_EBAY" if by_ebay else "SHIP_TO",
            "minEstimatedDeliveryDate": earliest,
            "maxEstimatedDeliveryDate": latest,
        }
        if not by_ebay:
            instruction["shippingStep"] = {
                "shipTo": ship_to,
                "shippingCarrierCode": carrier,
                "shippingServiceCode": service,
            }
        unpaid = bool(spec.get("unpaid"))
        payment: dict[str, Any] = {
            "paymentMethod": "EBAY",
            "amount": _money(due_seller, currency),
            "paymentStatus": "PENDING" if unpaid else "PAID",
        }
        if not unpaid:
            payment["paymentDate"] = stamp(created + timedelta(seconds=40))
            payment["paymentReferenceId"] = f"{rng.getrandbits(48):012X}"
        pricing = {
            "priceSubtotal": _money(subtotal, currency),
            "deliveryCost": _money(shipping, currency),
            "total": _money(total, currency),
        }
        if tax:
            pricing["tax"] = _money(tax, currency)
        order: dict[str, Any] = {
            "orderId": order_id,
            "creationDate": stamp(created),
            "lastModifiedDate": stamp(modified),
            "orderFulfillmentStatus": "NOT_STARTED",
            "orderPaymentStatus": "PENDING" if unpaid else "PAID",
            "sellerId": SELLER_ID,
            "buyer": {
                "username": _username(buyer, self._seeded),
                "taxAddress": {
                    "city": buyer.city,
                    "stateOrProvince": buyer.region,
                    "postalCode": buyer.postal_code,
                    "countryCode": buyer.country,
                },
                "buyerRegistrationAddress": contact,
            },
            "pricingSummary": pricing,
            "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
            "paymentSummary": {
                "totalDueSeller": _money(due_seller, currency),
                "refunds": [],
                "payments": [payment],
            },
            "fulfillmentStartInstructions": [instruction],
            "fulfillmentHrefs": [],
            "lineItems": lines,
            "salesRecordReference": str(1000 + self._seeded),
            "totalFeeBasisAmount": _money(total, currency),
            "totalMarketplaceFee": _money((total * FEE_RATE).quantize(Decimal("0.01")), currency),
        }
        # Both are only returned when they apply.
        if tax:
            order["ebayCollectAndRemitTax"] = True
        if by_ebay:
            order["program"] = {"fulfillmentProgram": {"fulfilledBy": "EBAY"}}
        return order

    def _new_line(
        self,
        sku: str,
        quantity: int,
        cost: Decimal,
        shipping: Decimal,
        tax: Decimal,
        currency: str,
        marketplace: str,
        spec: dict[str, Any],
    ) -> dict[str, Any]:
        self._line_serial += self.rng.randint(1, 9)
        listing = self._listing_ids.get(sku)
        if listing is None:
            listing = self._listing_ids[sku] = str(110_000_000_000 + 7919 * len(self._listing_ids))
        line: dict[str, Any] = {
            "lineItemId": str(self._line_serial),
            "legacyItemId": listing,
            "title": TITLES[sum(sku.encode()) % len(TITLES)],
            "lineItemCost": _money(cost, currency),
            "quantity": quantity,
            "soldFormat": "FIXED_PRICE",
            "listingMarketplaceId": marketplace,
            "purchaseMarketplaceId": marketplace,
            "lineItemFulfillmentStatus": "NOT_STARTED",
            "total": _money(cost + shipping + tax, currency),
            "deliveryCost": {"shippingCost": _money(shipping, currency)},
            "appliedPromotions": [],
            "taxes": [],
            "properties": {"buyerProtection": True},
            "refunds": [],
        }
        if not spec.get("without_sku"):
            line["sku"] = sku
        if tax:
            line["ebayCollectAndRemitTaxes"] = [
                {
                    "taxType": "STATE_SALES_TAX",
                    "amount": _money(tax, currency),
                    "collectionMethod": "NET",
                }
            ]
        return line

    def order_action(self, order_id: str, spec: dict[str, Any]) -> Any:
        """Change an order as eBay would: `cancel` (the buyer's request accepted, the payment
        refunded), `request_cancel` (pending), `ship` (a fulfillment made on eBay's site:
        `tracking_number`, `carrier`, `lines` [{"line_id", "quantity"}], default everything
        left), `edit_address` (`address` in Colis's keys), `pay`."""
        action = spec.get("action")
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return {"error": f"no order {order_id}"}
            actions = {
                "cancel": self._cancel,
                "request_cancel": self._cancel,
                "ship": self._ship,
                "edit_address": self._edit_address,
                "pay": self._pay,
            }
            if action not in actions:
                return {"error": f"unknown action {action!r}"}
            result = actions[action](order, spec)
            if "error" not in result:
                self._touch(order)
            return result

    def _cancel(self, order: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        if order["orderFulfillmentStatus"] == "FULFILLED":
            return {"error": "a shipped order cannot be cancelled"}
        now = stamp(datetime.now(UTC))
        final = spec.get("action") == "cancel"
        request: dict[str, Any] = {
            "cancelInitiator": spec.get("initiator", "Buyer"),
            "cancelReason": spec.get("reason", "BUYER_ASKED_CANCEL"),
            "cancelRequestedDate": now,
            "cancelRequestId": str(5_000_000_000 + self.rng.randrange(10**9)),
            "cancelRequestState": "COMPLETED" if final else "REQUESTED",
        }
        if final:
            request["cancelCompletedDate"] = now
        self.cancel_requests[order["orderId"]] = [request]
        cancel: dict[str, Any] = {
            "cancelState": "CANCELED" if final else "IN_PROGRESS",
            "cancelRequests": [],
        }
        if final:
            cancel["cancelledDate"] = now
            if order["orderPaymentStatus"] == "PAID":
                summary = order["paymentSummary"]
                refund = {
                    "refundDate": now,
                    "amount": summary["totalDueSeller"],
                    "refundStatus": "REFUNDED",
                    "refundReferenceId": f"{self.rng.getrandbits(40):010X}",
                }
                order["paymentSummary"] = {**summary, "refunds": [refund]}
                order["orderPaymentStatus"] = "FULLY_REFUNDED"
        order["cancelStatus"] = cancel
        return {"cancelState": cancel["cancelState"]}

    def _ship(self, order: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        shipped = self.shipped.get(order["orderId"], {})
        if spec.get("lines"):
            items = [
                {"lineItemId": str(x["line_id"]), "quantity": int(x.get("quantity", 1))}
                for x in spec["lines"]
            ]
        else:
            items = [
                {"lineItemId": line["lineItemId"], "quantity": left}
                for line in order["lineItems"]
                if (left := line["quantity"] - shipped.get(line["lineItemId"], 0)) > 0
            ]
        try:
            self._check_shippable(order, items)
        except Refuse as refused:
            return {"error": refused.answer.body["errors"][0]}
        tracking = str(spec.get("tracking_number") or f"9400{self.rng.randrange(10**18):018d}")
        instruction = order["fulfillmentStartInstructions"][0]
        carrier = spec.get("carrier") or instruction["shippingStep"]["shippingCarrierCode"]
        record = {
            "fulfillmentId": tracking,
            "lineItems": items,
            "shipmentTrackingNumber": tracking,
            "shippingCarrierCode": carrier,
            "shippedDate": stamp(datetime.now(UTC)),
        }
        self._record(order, record, PUBLIC_URL)
        return {"fulfillmentId": tracking}

    def _edit_address(self, order: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        instruction = order["fulfillmentStartInstructions"][0]
        step = instruction.get("shippingStep")
        if step is None:
            return {"error": "eBay fulfills this order: it has no ship-to address"}
        given = spec.get("address") or {"line1": "1 Changed Address Rd"}
        ship_to = step["shipTo"]
        place = dict(ship_to.get("contactAddress") or {})
        keys = {
            "line1": "addressLine1",
            "line2": "addressLine2",
            "city": "city",
            "region": "stateOrProvince",
            "postal_code": "postalCode",
            "country": "countryCode",
        }
        place.update({theirs: given[ours] for ours, theirs in keys.items() if ours in given})
        contact = {**ship_to, "contactAddress": place}
        if "name" in given:
            contact["fullName"] = given["name"]
        if "phone" in given:
            contact["primaryPhone"] = {"phoneNumber": given["phone"]}
        new_step = {**step, "shipTo": contact}
        order["fulfillmentStartInstructions"] = [
            {**instruction, "shippingStep": new_step},
            *order["fulfillmentStartInstructions"][1:],
        ]
        return {"shipTo": contact}

    def _pay(self, order: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        if order["orderPaymentStatus"] != "PENDING":
            return {"error": f"payment is {order['orderPaymentStatus']}"}
        summary = order["paymentSummary"]
        paid = {
            **summary["payments"][0],
            "paymentStatus": "PAID",
            "paymentDate": stamp(datetime.now(UTC)),
            "paymentReferenceId": f"{self.rng.getrandbits(48):012X}",
        }
        order["paymentSummary"] = {**summary, "payments": [paid]}
        order["orderPaymentStatus"] = "PAID"
        return {"orderPaymentStatus": "PAID"}

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "orders": len(self.orders),
                "fulfillments": {k: list(v) for k, v in self.fulfillments.items()},
                "refunds": {k: list(v) for k, v in self.refunds.items()},
                "tokens_issued": self.tokens_issued,
            }


def _refund_value(node: Any, currency: str) -> Decimal:
    """A SimpleAmount of an issueRefund body as eBay checks it. Raises Refuse."""
    node = node if isinstance(node, dict) else {}
    raw = node.get("value")
    if raw in (None, ""):
        raise _refuse(400, 34906, "The amount value must be specified.")
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        value = Decimal(-1)
    if not value.is_finite() or value <= 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise _refuse(400, 34907, "The amount value must be positive and within two decimals.")
    if not node.get("currency"):
        raise _refuse(400, 34908, "The amount currency must be specified.")
    if node["currency"] != currency:
        raise _refuse(400, 34909, "The amount currency isn't correct.")
    return value


def _contact(buyer: Person) -> dict[str, Any]:
    place = {
        "addressLine1": buyer.line1,
        "city": buyer.city,
        "stateOrProvince": buyer.region,
        "postalCode": buyer.postal_code,
        "countryCode": buyer.country,
    }
    if buyer.line2:
        place["addressLine2"] = buyer.line2
    if not buyer.region:
        del place["stateOrProvince"]
    return {
        "fullName": buyer.name,
        "contactAddress": place,
        "primaryPhone": {"phoneNumber": buyer.phone},
        "email": buyer.email,
    }


def _username(buyer: Person, index: int) -> str:
    name = f"{buyer.first}{buyer.last}".lower()
    letters = "".join(c for c in name if c.isascii() and c.isalpha())
    return f"{letters[:12]}_{index % 997}"


def _oauth_error(status: int, error: str, description: str) -> Answer:
    return Answer(status, {"error": error, "error_description": description})


def _number(raw: str | None, default: int, error_id: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _refuse(400, error_id, f"Invalid {name}: {raw}") from None


def _check_field_groups(request: Request) -> None:
    group = _one(request, "fieldGroups")
    if group not in (None, "TAX_BREAKDOWN"):
        raise _refuse(400, 32800, f"Invalid field group: {group}")


def _parse_filter(text: str) -> dict[str, Any]:
    """getOrders' `filter` as {criterion: value}; a date range becomes (start, end or None)
    in eBay's timestamp format. Raises Refuse with eBay's error for a bad one."""
    criteria: dict[str, Any] = {}
    position, text = 0, text.strip()
    now = datetime.now(UTC)
    while position < len(text):
        found = CRITERION.match(text, position)
        if found is None:
            raise _refuse(400, 30700, f"Invalid filter name: {text[position:][:40]}")
        name, value = found.group(1), found.group(2)
        position = found.end()
        if name in ("creationdate", "lastmodifieddate"):
            criteria[name] = _date_range(name, value, now)
        elif name == "orderfulfillmentstatus":
            statuses = frozenset(part.strip() for part in value.strip("{}").split("|"))
            if not value.startswith("{") or statuses not in FULFILLMENT_FILTERS:
                raise _refuse(400, 30800, f"Invalid filter value {value} for filter {name}")
            criteria[name] = statuses
        else:
            raise _refuse(400, 30700, f"Invalid filter name: {name}")
    return criteria


def _date_range(name: str, value: str, now: datetime) -> tuple[str, str | None]:
    if not value.startswith("["):
        raise _refuse(400, 30800, f"Invalid filter value {value} for filter {name}")
    start_raw, separator, end_raw = value[1:-1].partition("..")
    if not separator:
        raise _refuse(400, 30800, f"Invalid filter value {value} for filter {name}")
    if not start_raw.strip():
        raise _refuse(400, 30820, "Start date is missing")
    start = _moment(start_raw)
    end = _moment(end_raw) if end_raw.strip() else None
    if start is None or (end_raw.strip() and end is None):
        raise _refuse(400, 30810, "Invalid date format")
    if start > now or (end is not None and end > now):
        raise _refuse(400, 30850, "Start and end dates can't be in the future")
    if end is not None and start > end:
        raise _refuse(400, 30840, "Start date should be before end date")
    if (end or now) - start > TWO_YEARS:
        raise _refuse(
            400, 30830, "Time range between start date and end date must be within '2' years."
        )
    return stamp(start), (stamp(end) if end is not None else None)
