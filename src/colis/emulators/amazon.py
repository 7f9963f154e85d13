"""An emulator of Amazon's Selling Partner API for orders: Orders 2026-01-01 `searchOrders` and
`getOrder`, Orders v0 `confirmShipment`, and the Login with Amazon token endpoint
(`POST /auth/o2/token`) that hands out short-lived access tokens for the `x-amz-access-token`
header. Rate limits are the usage plans printed in the contract's operation descriptions.

Orders are held in memory with two sorted indexes (by last update and by creation), so a page
of 100 costs a bisect and a short walk, and each order keeps its JSON, already serialised, per
set of includedData until it changes."""

from __future__ import annotations

import base64
import json
import random
import re
import secrets
import threading
import time
import uuid
import zlib
from bisect import bisect_left, bisect_right, insort
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import parse_qs

from colis.core.specs import spec_path
from colis.emulators.openapi import OpenApiSpec, spec_load
from colis.emulators.people import Person, basket, person
from colis.emulators.server import Answer, Emulator, Fault, Refuse, Request

ORDERS_SPEC = "amazon-sp-api/orders_2026-01-01.json"
V0_SPEC = "amazon-sp-api/ordersV0.json"
# The operations served, and the contract whose usage plan applies to each.
SERVED = {"searchOrders": ORDERS_SPEC, "getOrder": ORDERS_SPEC, "confirmShipment": V0_SPEC}
TOKEN_PATH = "/auth/o2/token"
MARKETPLACE_ID = "ATVPDKIKX0DER"
CREDENTIALS = {
    "client_id": "amzn1.application-oa2-client.colisemulator",
    "client_secret": "amzn1.oa2-cs.v1.colis-emulator-secret",
    "refresh_token": "Atzr|colis-emulator-refresh-token",
}
# Marketplace -> (currency, name, sales tax rate Amazon collects on top of the price).
MARKETPLACES = {
    "ATVPDKIKX0DER": ("USD", "Amazon.com", Decimal("0.0825")),
    "A2EUQ1WTGCTBG2": ("CAD", "Amazon.ca", Decimal("0.13")),
    "A1F83G8C2ARO7P": ("GBP", "Amazon.co.uk", Decimal(0)),
    "A1PA6795UKMFR9": ("EUR", "Amazon.de", Decimal(0)),
    "A13V1IB3VIYZZH": ("EUR", "Amazon.fr", Decimal(0)),
}
TITLES = (
    "Organic Cotton Crew T-Shirt",
    "Ceramic Pour-Over Coffee Dripper",
    "Stainless Steel Water Bottle, 750 ml",
    "Merino Wool Hiking Socks (2 pairs)",
    "Bamboo Cutting Board Set",
    "LED Desk Lamp with USB-C Charging",
    "Cast Iron Skillet, 26 cm",
    "Recycled Canvas Tote Bag",
)
SERVICE_LEVELS = ("STANDARD", "STANDARD", "STANDARD", "EXPEDITED", "SECOND_DAY", "NEXT_DAY")
DEFAULT_SKUS = ("SKU-1001", "SKU-1002", "SKU-1003")
DAY = 86400.0
_NOT_READY = frozenset({"PENDING", "PENDING_AVAILABILITY"})
_USAGE_PLAN = re.compile(
    r"\*\*Usage Plan:\*\*.*?\|\s*-+\s*\|\s*-+\s*\|\s*\n\s*\|\s*([0-9.]+)\s*\|\s*([0-9]+)\s*\|",
    re.S,
)
_DENIED = "Access to requested resource is denied."
_QUOTA = "You exceeded your quota for the requested resource."
# Our Address keys -> Amazon's CustomerAddress keys.
_ADDRESS_KEYS = {
    "name": "name",
    "company": "companyName",
    "line1": "addressLine1",
    "line2": "addressLine2",
    "city": "city",
    "region": "stateOrRegion",
    "postal_code": "postalCode",
    "country": "countryCode",
    "phone": "phone",
}


@lru_cache(maxsize=1)
def usage_plans() -> dict[str, tuple[float, int]]:
    """Operation id -> (requests per second, burst), read from the "Usage Plan" table in each
    served operation's description in the contract files."""
    plans: dict[str, tuple[float, int]] = {}
    for relative in sorted(set(SERVED.values())):
        doc = json.loads(spec_path(relative).read_text(encoding="utf-8"))
        for item in doc["paths"].values():
            for op in item.values():
                if not isinstance(op, dict) or SERVED.get(str(op.get("operationId"))) != relative:
                    continue
                found = _USAGE_PLAN.search(op.get("description", ""))
                if found:
                    plans[op["operationId"]] = (float(found[1]), int(found[2]))
    return plans


def iso(ts: float) -> str:
    """Epoch seconds as Amazon's ISO 8601 UTC form, to the millisecond."""
    whole = int(ts)
    millis = int((ts - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def parse_iso(value: str) -> float:
    """An ISO 8601 time as epoch seconds (UTC when it has no offset). Raises ValueError."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": f"{amount:.2f}", "currencyCode": currency}


def _errors(code: str, message: str, details: str = "") -> dict[str, Any]:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"errors": [error]}


def _lwa_error(status: int, error: str, description: str) -> Answer:
    return Answer(status, {"error": error, "error_description": description})


@dataclass(slots=True)
class _Item:
    item_id: str
    sku: str
    asin: str
    title: str
    quantity: int
    unit_price: Decimal
    shipping: Decimal
    tax: Decimal
    shipped: int = 0


@dataclass(slots=True)
class _Order:
    order_id: str
    created: float
    updated: float
    marketplace_id: str
    currency: str
    status: str
    fulfilled_by: str
    service_level: str
    programs: list[str]
    buyer: dict[str, str]
    address: dict[str, str]
    items: list[_Item]
    packages: list[dict[str, Any]] = field(default_factory=list)
    cancellation: dict[str, str] | None = None
    # includedData set -> the order's JSON, serialised; emptied on every change.
    cache: dict[frozenset[str], bytes] = field(default_factory=dict)


def item_json(order: _Order, item: _Item, included: frozenset[str]) -> dict[str, Any]:
    """One 2026-01-01 `OrderItem` with the requested datasets."""
    currency = order.currency
    node: dict[str, Any] = {
        "orderItemId": item.item_id,
        "quantityOrdered": item.quantity,
        "product": {
            "asin": item.asin,
            "title": item.title,
            "sellerSku": item.sku,
            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
            "price": {"unitPrice": _money(item.unit_price, currency)},
        },
    }
    if "PROCEEDS" in included:
        amount = item.unit_price * item.quantity
        breakdowns = [{"type": "ITEM", "subtotal": _money(amount, currency)}]
        for kind, value in (("SHIPPING", item.shipping), ("TAX", item.tax)):
            if value:
                breakdowns.append({"type": kind, "subtotal": _money(value, currency)})
        node["proceeds"] = {
            "proceedsTotal": _money(amount + item.shipping + item.tax, currency),
            "breakdowns": breakdowns,
        }
    if "FULFILLMENT" in included:
        node["fulfillment"] = {
            "quantityFulfilled": item.shipped,
            "quantityUnfulfilled": item.quantity - item.shipped,
        }
    if "CANCELLATION" in included and order.cancellation:
        node["cancellation"] = {"cancellationExecution": order.cancellation}
    return node


def order_json(order: _Order, included: frozenset[str]) -> dict[str, Any]:
    """The 2026-01-01 `Order` with the requested datasets (the others left out, as Amazon
    does)."""
    doc: dict[str, Any] = {
        "orderId": order.order_id,
        "createdTime": iso(order.created),
        "lastUpdatedTime": iso(order.updated),
        "programs": order.programs,
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": order.marketplace_id,
            "marketplaceName": MARKETPLACES.get(order.marketplace_id, ("", "Amazon", 0))[1],
        },
    }
    if "BUYER" in included:
        doc["buyer"] = order.buyer
    if "RECIPIENT" in included:
        doc["recipient"] = {"deliveryAddress": order.address}
    if "PROCEEDS" in included:
        totals = {
            "ITEM": sum((i.unit_price * i.quantity for i in order.items), Decimal(0)),
            "SHIPPING": sum((i.shipping for i in order.items), Decimal(0)),
            "TAX": sum((i.tax for i in order.items), Decimal(0)),
        }
        doc["proceeds"] = {
            "grandTotal": _money(sum(totals.values(), Decimal(0)), order.currency),
            "breakdowns": [
                {"type": kind, "subtotal": _money(value, order.currency)}
                for kind, value in totals.items()
                if value or kind == "ITEM"
            ],
        }
    if "FULFILLMENT" in included:
        doc["fulfillment"] = {
            "fulfillmentStatus": order.status,
            "fulfilledBy": order.fulfilled_by,
            "fulfillmentServiceLevel": order.service_level,
            "shipByWindow": {
                "earliestDateTime": iso(order.created),
                "latestDateTime": iso(order.created + 2 * DAY),
            },
            "deliverByWindow": {
                "earliestDateTime": iso(order.created + 3 * DAY),
                "latestDateTime": iso(order.created + 7 * DAY),
            },
        }
    doc["orderItems"] = [item_json(order, item, included) for item in order.items]
    # Amazon lists packages of merchant-fulfilled orders only.
    if "PACKAGES" in included and order.fulfilled_by == "MERCHANT":
        doc["packages"] = order.packages
    return doc


def _address(buyer: Person, *, phone: bool) -> dict[str, str]:
    address = {
        "name": buyer.name,
        "addressLine1": buyer.line1,
        "addressLine2": buyer.line2,
        "city": buyer.city,
        "stateOrRegion": buyer.region,
        "postalCode": buyer.postal_code,
        "countryCode": buyer.country,
        # Amazon suppresses the buyer's phone on FBA orders.
        "phone": buyer.phone if phone else "",
        "addressType": "RESIDENTIAL",
    }
    return {key: value for key, value in address.items() if value}


@dataclass(frozen=True, kw_only=True)
class _Search:
    """A searchOrders query, read and checked."""

    by_created: bool
    after: float
    before: float | None
    size: int
    statuses: frozenset[str]
    markets: frozenset[str]
    fulfilled_by: frozenset[str]
    included: frozenset[str]
    token: str | None
    fingerprint: int

    def wants(self, order: _Order) -> bool:
        return (
            (not self.statuses or order.status in self.statuses)
            and (not self.markets or order.marketplace_id in self.markets)
            and (not self.fulfilled_by or order.fulfilled_by in self.fulfilled_by)
        )


def _listed(query: Mapping[str, list[str]], name: str) -> frozenset[str]:
    # Amazon's arrays travel comma-separated (Swagger's csv).
    return frozenset(part for value in query.get(name, ()) for part in value.split(",") if part)


def search_read(query: Mapping[str, list[str]]) -> _Search | tuple[str, bool]:
    """The query, or (why Amazon refuses it, whether the contract's words forbid it)."""

    def one(name: str) -> str | None:
        values = query.get(name)
        return values[-1] if values else None

    created_after, created_before = one("createdAfter"), one("createdBefore")
    updated_after, updated_before = one("lastUpdatedAfter"), one("lastUpdatedBefore")
    if (created_after is None) == (updated_after is None):
        return "Exactly one of createdAfter and lastUpdatedAfter is required.", True
    if (created_after and updated_before) or (updated_after and created_before):
        return "createdAfter/createdBefore and lastUpdated filters cannot be combined.", True
    try:
        after = parse_iso(created_after or updated_after or "")
        before_text = created_before or updated_before
        before = parse_iso(before_text) if before_text else None
        size = int(one("maxResultsPerPage") or 100)
    except ValueError as exc:
        return f"Invalid parameter: {exc}.", False
    if not 1 <= size <= 100:
        return "maxResultsPerPage must be between 1 and 100.", True
    statuses = _listed(query, "fulfillmentStatuses")
    markets = _listed(query, "marketplaceIds")
    fulfilled_by = _listed(query, "fulfilledBy")
    # A paginationToken is good for the filters it was made for only.
    filters = [created_after, created_before, updated_after, updated_before]
    filters += [",".join(sorted(values)) for values in (statuses, markets, fulfilled_by)]
    return _Search(
        by_created=created_after is not None,
        after=after,
        before=before,
        size=size,
        statuses=statuses,
        markets=markets,
        fulfilled_by=fulfilled_by,
        included=_listed(query, "includedData"),
        token=one("paginationToken"),
        fingerprint=zlib.crc32(repr(filters).encode()),
    )


class AmazonEmulator(Emulator):
    """Amazon's Orders APIs and LWA token endpoint for one seller. Control payloads beyond
    the shared ones: seed `{"count", "skus", "placed_at", "unpaid", "fulfilled_by_vendor",
    "missing_address", "marketplace_id"}`; actions `cancel {"reason"?, "by"?}`, `ship
    {"carrier"?, "tracking_number"?, "service"?}`, `pay`, `edit_address {"address"?: our
    Address keys}`."""

    name: ClassVar[str] = "amazon"

    def __init__(
        self,
        *,
        limits: bool = True,
        seed: int = 1,
        credentials: dict[str, str] | None = None,
        token_ttl: float = 3600.0,
    ) -> None:
        super().__init__(limits=limits, seed=seed)
        # The base reads the plans from here; they come from the contract, read once.
        self.rate_limits = usage_plans()  # type: ignore[misc]
        self.credentials = dict(credentials or CREDENTIALS)
        self.token_ttl = token_ttl
        self.rng = random.Random(seed)
        self.orders: dict[str, _Order] = {}
        self.by_updated: list[tuple[float, str]] = []
        self.by_created: list[tuple[float, str]] = []
        self.item_ids: set[str] = set()
        self.tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self.tokens_issued = 0
        self.fulfillments: dict[str, list[dict[str, Any]]] = {}
        # Packages made outside the API get reference ids far from ours.
        self.elsewhere_packages = 0
        self._specs = [spec_load(ORDERS_SPEC), spec_load(V0_SPEC)]
        self._local = threading.local()

    def connection(self, base_url: str) -> dict[str, dict[str, str]]:
        """The channel credentials and settings that reach this emulator at `base_url`."""
        return {
            "credentials": dict(self.credentials),
            "settings": {
                "api_base_url": base_url,
                "token_url": base_url + TOKEN_PATH,
                "marketplace_id": MARKETPLACE_ID,
            },
        }

    def specs(self) -> list[OpenApiSpec]:
        return self._specs

    # -- Login with Amazon and the access token --------------------------------------------

    def handle_other(self, request: Request) -> Answer | None:
        if request.path != TOKEN_PATH or request.method != "POST":
            return None
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "refresh_token":
            return _lwa_error(400, "unsupported_grant_type", "The grant type is not supported.")
        client = (form.get("client_id"), form.get("client_secret"))
        if client != (self.credentials["client_id"], self.credentials["client_secret"]):
            return _lwa_error(401, "invalid_client", "Client authentication failed")
        if form.get("refresh_token") != self.credentials["refresh_token"]:
            return _lwa_error(
                400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
            )
        token = "Atza|" + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_ttl
            self.tokens_issued += 1
        return Answer(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(self.token_ttl),
                "refresh_token": self.credentials["refresh_token"],
            },
        )

    def authenticate(self, request: Request, operation_id: str) -> None:
        token = next(
            (v for k, v in request.headers.items() if k.lower() == "x-amz-access-token"), ""
        )
        if not token:
            raise Refuse(Answer(403, _errors("MissingAuthenticationToken", _DENIED)))
        with self.lock:
            expiry = self.tokens.get(token)
            if expiry is None:
                details = "The access token you provided is revoked, malformed or invalid."
                raise Refuse(Answer(403, _errors("Unauthorized", _DENIED, details)))
            if self._expiry_fault(operation_id):
                self.tokens[token] = expiry = 0.0
        if expiry <= time.monotonic():
            raise Refuse(self.fault_answer("expired_token", 0))

    def _expiry_fault(self, operation_id: str) -> bool:
        """Take a queued expired_token fault for this operation: it expires the very token the
        request carries, so the client must fetch a new one (called with the lock held)."""
        for key in (operation_id, "*"):
            queue = self.faults.get(key)
            if queue:
                if queue[0].fault != "expired_token":
                    return False
                self.take_fault(operation_id)
                return True
        return False

    # -- faults and throttling in Amazon's shapes --------------------------------------------

    def take_fault(self, operation_id: str) -> Fault | None:
        # fault_answer is not told the operation, and its rate header needs it.
        self._local.operation = operation_id
        return super().take_fault(operation_id)

    def _headers(self, operation_id: str | None) -> dict[str, str]:
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        plan = self.rate_limits.get(operation_id or "")
        if plan:
            headers["x-amzn-RateLimit-Limit"] = f"{plan[0]:g}"
        return headers

    def fault_answer(self, fault: str, retry_after: float) -> Answer:
        headers = self._headers(getattr(self._local, "operation", None))
        if fault == "429":
            headers["Retry-After"] = f"{retry_after:g}"
            return Answer(429, _errors("QuotaExceeded", _QUOTA), headers)
        if fault == "expired_token":
            details = "The access token you provided has expired."
            return Answer(403, _errors("Unauthorized", _DENIED, details))
        message = "We encountered an internal error. Please try again."
        return Answer(500, _errors("InternalFailure", message), headers)

    def throttled_answer(self, operation_id: str, wait: float) -> Answer:
        # Amazon sends no Retry-After; the rate header says how fast calls may go.
        return Answer(429, _errors("QuotaExceeded", _QUOTA), self._headers(operation_id))

    # -- operations --------------------------------------------------------------------------

    def handle(self, operation_id: str, params: dict[str, str], request: Request) -> Answer:
        if operation_id == "searchOrders":
            return self._search(request)
        if operation_id == "getOrder" and request.path.startswith("/orders/2026-01-01/"):
            return self._get(params["orderId"], request)
        if operation_id == "confirmShipment":
            return self._confirm(params["orderId"], request)
        return Answer(404, _errors("NotFound", "This emulator does not serve this operation."))

    def _invalid(self, operation_id: str, message: str, *, contract: bool = False) -> Answer:
        """A 400 in Amazon's shape; `contract`: the request broke a rule the contract states
        in words (not in its schema), which is a connector bug worth a violation."""
        if contract:
            self.violations.append(f"request {operation_id}: {message}")
        return Answer(400, _errors("InvalidInput", message), self._headers(operation_id))

    def _not_found(self, operation_id: str, order_id: str) -> Answer:
        message = f"Order {order_id} was not found."
        return Answer(404, _errors("NotFound", message), self._headers(operation_id))

    def _search(self, request: Request) -> Answer:
        search = search_read(request.query)
        if isinstance(search, tuple):
            return self._invalid("searchOrders", search[0], contract=search[1])
        index = self.by_created if search.by_created else self.by_updated
        with self.lock:
            if search.token:
                try:
                    last_ts, last_id, bound, printed = json.loads(
                        base64.urlsafe_b64decode(search.token)
                    )
                except (ValueError, TypeError):
                    return self._invalid("searchOrders", "Invalid paginationToken.")
                if printed != search.fingerprint:
                    message = "The paginationToken was made for other filters."
                    return self._invalid("searchOrders", message, contract=True)
                position = bisect_right(index, (last_ts, last_id))
            else:
                # The first page fixes the upper bound, so paging ends.
                bound = search.before if search.before is not None else time.time()
                position = bisect_left(index, (search.after, ""))
            found: list[_Order] = []
            more = False
            while position < len(index) and index[position][0] <= bound:
                order = self.orders[index[position][1]]
                position += 1
                if not search.wants(order):
                    continue
                if len(found) == search.size:
                    more = True
                    break
                found.append(order)
            parts = [self._order_bytes(order, search.included) for order in found]
        tail: dict[str, Any] = {
            ("createdBefore" if search.by_created else "lastUpdatedBefore"): iso(bound)
        }
        if more:
            last = found[-1]
            key = [last.created if search.by_created else last.updated, last.order_id]
            token = json.dumps([*key, bound, search.fingerprint]).encode()
            tail["pagination"] = {"nextToken": base64.urlsafe_b64encode(token).decode()}
        body = b'{"orders":[' + b",".join(parts) + b"]," + json.dumps(tail)[1:].encode()
        return Answer(200, body, self._headers("searchOrders"))

    def _get(self, order_id: str, request: Request) -> Answer:
        included = _listed(request.query, "includedData")
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return self._not_found("getOrder", order_id)
            body = b'{"order":' + self._order_bytes(order, included) + b"}"
        return Answer(200, body, self._headers("getOrder"))

    def _order_bytes(self, order: _Order, included: frozenset[str]) -> bytes:
        cached = order.cache.get(included)
        if cached is None:
            doc = order_json(order, included)
            cached = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
            order.cache[included] = cached
        return cached

    def _confirm(self, order_id: str, request: Request) -> Answer:
        op = "confirmShipment"
        payload = request.json()
        detail = payload["packageDetail"]
        reference = str(detail["packageReferenceId"])
        if not reference.isdigit() or int(reference) <= 0:
            return self._invalid(op, "packageReferenceId must be a positive number.", contract=True)
        if detail["carrierCode"] == "Other" and not detail.get("carrierName"):
            message = "carrierName is required when carrierCode is Other."
            return self._invalid(op, message, contract=True)
        try:
            ship_ts = parse_iso(detail["shipDate"])
        except ValueError:
            return self._invalid(op, "shipDate is not an ISO 8601 date-time.", contract=True)
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return self._not_found(op, order_id)
            problem = self._confirm_problem(order, payload, reference)
            if problem:
                return self._invalid(op, problem)
            items = {item.item_id: item for item in order.items}
            for entry in detail["orderItems"]:
                items[entry["orderItemId"]].shipped += int(entry["quantity"])
            carrier = detail["carrierCode"]
            order.packages.append(
                {
                    "packageReferenceId": reference,
                    "createdTime": iso(time.time()),
                    "packageStatus": {"status": "SHIPPED"},
                    "carrier": detail["carrierName"] if carrier == "Other" else carrier,
                    "shipTime": iso(ship_ts),
                    "shippingService": detail.get("shippingMethod", ""),
                    "trackingNumber": detail["trackingNumber"],
                    "packageItems": [
                        {"orderItemId": e["orderItemId"], "quantity": int(e["quantity"])}
                        for e in detail["orderItems"]
                    ],
                }
            )
            done = all(item.shipped >= item.quantity for item in order.items)
            order.status = "SHIPPED" if done else "PARTIALLY_SHIPPED"
            self.fulfillments.setdefault(order_id, []).append(detail)
            self._touch(order)
        return Answer(204, None, self._headers(op))

    def _confirm_problem(self, order: _Order, payload: dict[str, Any], reference: str) -> str:
        """Why Amazon would refuse this confirmation ("" when it would take it)."""
        detail = payload["packageDetail"]
        if payload["marketplaceId"] != order.marketplace_id:
            return f"The order is not in marketplace {payload['marketplaceId']}."
        if order.fulfilled_by == "AMAZON":
            return "Shipments of orders fulfilled by Amazon cannot be confirmed."
        if order.status in _NOT_READY:
            return "The order is pending and cannot be shipped yet."
        if order.status == "CANCELLED":
            return "The order is cancelled."
        if any(p["packageReferenceId"] == reference for p in order.packages):
            return f"packageReferenceId {reference} is already confirmed for this order."
        if not detail["orderItems"]:
            return "orderItems must not be empty."
        items = {item.item_id: item for item in order.items}
        wanted: dict[str, int] = {}
        for entry in detail["orderItems"]:
            item_id, quantity = entry["orderItemId"], int(entry["quantity"])
            if item_id not in items:
                return f"orderItemId {item_id} is not in this order."
            if quantity < 1:
                return "quantity must be at least 1."
            wanted[item_id] = wanted.get(item_id, 0) + quantity
        for item_id, quantity in wanted.items():
            left = items[item_id].quantity - items[item_id].shipped
            if quantity > left:
                return f"orderItemId {item_id} has only {left} left to ship."
        return ""

    # -- seeding and actions -----------------------------------------------------------------

    def _touch(self, order: _Order) -> None:
        """Record a change: a later lastUpdatedTime (re-indexed) and fresh JSON."""
        key = (order.updated, order.order_id)
        position = bisect_left(self.by_updated, key)
        if position < len(self.by_updated) and self.by_updated[position] == key:
            del self.by_updated[position]
        order.updated = max(time.time(), order.updated + 0.001)
        insort(self.by_updated, (order.updated, order.order_id))
        order.cache.clear()

    def _order_id(self) -> str:
        rng = self.rng
        while True:
            found = (
                f"{rng.choice((111, 112, 113, 114))}-"
                f"{rng.randrange(10**6, 10**7):07d}-{rng.randrange(10**6, 10**7):07d}"
            )
            if found not in self.orders:
                return found

    def _item(self, sku: str, quantity: int, price: Decimal, tax_rate: Decimal) -> _Item:
        while True:
            item_id = str(self.rng.randrange(10**13, 10**14))
            if item_id not in self.item_ids:
                self.item_ids.add(item_id)
                break
        crc = zlib.crc32(sku.encode())
        return _Item(
            item_id=item_id,
            sku=sku,
            asin=f"B0{crc:08X}",
            title=TITLES[crc % len(TITLES)],
            quantity=quantity,
            unit_price=price,
            shipping=Decimal(0),
            tax=(price * quantity * tax_rate).quantize(Decimal("0.01")),
        )

    def seed_orders(self, spec: dict[str, Any]) -> list[str]:
        count = int(spec.get("count", 1))
        skus = [str(s) for s in spec.get("skus") or DEFAULT_SKUS]
        placed = parse_iso(spec["placed_at"]) if spec.get("placed_at") else None
        marketplace = str(spec.get("marketplace_id") or MARKETPLACE_ID)
        currency, _, tax_rate = MARKETPLACES.get(marketplace, ("USD", "Amazon", Decimal(0)))
        fba = bool(spec.get("fulfilled_by_vendor"))
        ids = []
        with self.lock:
            for _ in range(count):
                rng = self.rng
                buyer = person(rng, len(self.orders))
                items = [self._item(*line, tax_rate) for line in basket(rng, skus)]
                items[0].shipping = Decimal(rng.choice(("0", "0", "4.99", "5.99")))
                address = _address(buyer, phone=not fba)
                if spec.get("missing_address"):
                    address = {"name": buyer.name, "countryCode": buyer.country}
                email = f"{secrets.token_hex(8)}@marketplace.amazon.com"
                created = placed if placed is not None else time.time()
                order = _Order(
                    order_id=self._order_id(),
                    created=created,
                    # A seeded past order has not changed since it was placed.
                    updated=created,
                    marketplace_id=marketplace,
                    currency=currency,
                    status="PENDING" if spec.get("unpaid") else "UNSHIPPED",
                    fulfilled_by="AMAZON" if fba else "MERCHANT",
                    service_level=rng.choice(SERVICE_LEVELS),
                    programs=["PRIME"] if rng.random() < 0.3 else [],
                    # Amazon gives the (anonymised) email of FBM buyers only.
                    buyer={"buyerName": buyer.name, **({} if fba else {"buyerEmail": email})},
                    address=address,
                    items=items,
                )
                self.orders[order.order_id] = order
                insort(self.by_updated, (order.updated, order.order_id))
                insort(self.by_created, (order.created, order.order_id))
                ids.append(order.order_id)
        return ids

    def order_action(self, order_id: str, spec: dict[str, Any]) -> Any:
        action = spec.get("action")
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return {"ok": False, "error": f"no order {order_id}"}
            if action == "cancel":
                if order.status in {"SHIPPED", "PARTIALLY_SHIPPED"}:
                    return {"ok": False, "error": "the order has shipped"}
                order.status = "CANCELLED"
                order.cancellation = {
                    "cancelledBy": str(spec.get("by", "BUYER")),
                    "cancelReason": str(spec.get("reason", "Buyer cancelled")),
                }
            elif action == "pay":
                if order.status in _NOT_READY:
                    order.status = "UNSHIPPED"
            elif action == "ship":
                if order.status == "CANCELLED":
                    return {"ok": False, "error": "the order is cancelled"}
                self._ship_elsewhere(order, spec)
            elif action == "edit_address":
                self._readdress(order, spec.get("address"))
            else:
                return {"ok": False, "error": f"unknown action {action!r}"}
            self._touch(order)
            return {"ok": True, "order_id": order_id, "status": order.status}

    def _ship_elsewhere(self, order: _Order, spec: dict[str, Any]) -> None:
        """Shipped outside the API (by Amazon for FBA, or by hand in Seller Central)."""
        left = [(item, item.quantity - item.shipped) for item in order.items]
        for item, _ in left:
            item.shipped = item.quantity
        order.status = "SHIPPED"
        if order.fulfilled_by == "AMAZON":
            return
        self.elsewhere_packages += 1
        tracking = spec.get("tracking_number") or f"1Z{secrets.token_hex(8).upper()}"
        order.packages.append(
            {
                "packageReferenceId": str(900000 + self.elsewhere_packages),
                "createdTime": iso(time.time()),
                "packageStatus": {"status": "SHIPPED"},
                "carrier": str(spec.get("carrier", "UPS")),
                "shipTime": iso(time.time()),
                "shippingService": str(spec.get("service", "UPS Ground")),
                "trackingNumber": str(tracking),
                "packageItems": [
                    {"orderItemId": item.item_id, "quantity": n} for item, n in left if n
                ],
            }
        )

    def _readdress(self, order: _Order, ours: dict[str, str] | None) -> None:
        """The buyer changed the delivery address (our Address keys; none: a new one)."""
        if not ours:
            moved = _address(person(self.rng, self.rng.randrange(1000)), phone=True)
            order.address = {**moved, "name": order.address.get("name", moved["name"])}
            return
        for key, value in ours.items():
            if key not in _ADDRESS_KEYS:
                continue
            if value:
                order.address[_ADDRESS_KEYS[key]] = str(value)
            else:
                order.address.pop(_ADDRESS_KEYS[key], None)

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "orders": len(self.orders),
                "fulfillments": {k: list(v) for k, v in self.fulfillments.items()},
                "tokens_issued": self.tokens_issued,
            }
