"""A BigCommerce store's Orders v2 API, served on loopback for tests and demos.

It answers the operations a fulfilment app uses (orders, their products, shipping addresses and
shipments, order updates) in the shapes of BigCommerce's published contract, with:

- authentication by `X-Auth-Token` on `/stores/{store_hash}/v2` (401 with BigCommerce's error
  list when the token is missing or wrong, or names another store);
- the store's request quota (150 per 30-second window by default, Standard plan), reported on
  every answer in `X-Rate-Limit-*` headers and enforced with a 429 when spent;
- `getOrders` filters (`min_id`/`max_id`, `status_id`, `email`, `min/max_date_created`,
  `min/max_date_modified`), `sort` and page/limit paging; whole-second dates, as BigCommerce keeps;
- shipments that check their items against what is left to ship and move the order to
  Partially Shipped / Shipped;
- Orders v3 refunds (`/stores/{store_hash}/v3`): refund quotes for products by quantity and
  shipping by amount, with the methods the money can go back by, and refunds that must match
  the quote (or the merchant's own total), kept on the order and listed by `getOrderRefunds`.

Control endpoints beyond the shared ones: `POST /_emulator/webhooks {"url", "topic",
"order_id", "secret"?}` posts a BigCommerce order webhook to `url` with the custom header
`X-Colis-Webhook-Secret` (the store's `webhook_secret`, or `secret` when given).
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import requests

from colis.channels.connectors.bigcommerce.mapping import STATUS_NAMES
from colis.emulators.openapi import OpenApiSpec, spec_load
from colis.emulators.people import basket, person
from colis.emulators.server import Answer, Emulator, Refuse, Request

SPEC = "bigcommerce/orders.v2.oas2.yml"
PREFIX = "/stores/{store_hash}/v2"
SPEC_V3 = "bigcommerce/orders.v3.yml"  # refunds (payment actions)
PREFIX_V3 = "/stores/{store_hash}/v3"
# The store's card gateway: where an online refund goes back.
PAYMENT_PROVIDER = ("braintree", "Braintree")
STORE_HASH = "e1x2m3p4"
ACCESS_TOKEN = "emulator-bigcommerce-token"
WEBHOOK_SECRET = "emulator-bigcommerce-webhook-secret"
SECRET_HEADER = "X-Colis-Webhook-Secret"
QUOTA = 150  # requests per window on Standard and Plus plans
WINDOW_MS = 30_000
MAX_LIMIT = 250

COUNTRIES = {
    "US": "United States",
    "CA": "Canada",
    "FR": "France",
    "DE": "Germany",
    "GB": "United Kingdom",
}
# BigCommerce spells states out in full.
STATES = {
    ("US", "CA"): "California",
    ("US", "NY"): "New York",
    ("US", "WA"): "Washington",
    ("US", "TX"): "Texas",
    ("CA", "ON"): "Ontario",
}
PROVIDER_NAMES = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FedEx",
    "royalmail": "Royal Mail",
    "canadapost": "Canada Post",
    "auspost": "Australia Post",
    "endicia": "Endicia",
}
ZERO = "0.0000"
# Money fields the emulated store leaves at zero (no handling, wrapping, tax or discounts).
ORDER_ZEROS = (
    "subtotal_tax",
    "shipping_cost_tax",
    "base_handling_cost",
    "handling_cost_ex_tax",
    "handling_cost_inc_tax",
    "handling_cost_tax",
    "base_wrapping_cost",
    "wrapping_cost_ex_tax",
    "wrapping_cost_inc_tax",
    "wrapping_cost_tax",
    "total_tax",
    "refunded_amount",
    "store_credit_amount",
    "gift_certificate_amount",
    "discount_amount",
    "coupon_discount",
)
ADDRESS_ZEROS = (
    "cost_tax",
    "base_handling_cost",
    "handling_cost_ex_tax",
    "handling_cost_inc_tax",
    "handling_cost_tax",
)
PRODUCT_ZEROS = (
    "price_tax",
    "total_tax",
    "base_cost_price",
    "cost_price_inc_tax",
    "cost_price_ex_tax",
    "cost_price_tax",
    "refund_amount",
    "base_wrapping_cost",
    "wrapping_cost_ex_tax",
    "wrapping_cost_inc_tax",
    "wrapping_cost_tax",
    "fixed_shipping_cost",
)


def _money(amount: Decimal) -> str:
    return f"{amount:.4f}"


def _rfc(moment: float) -> str:
    return format_datetime(datetime.fromtimestamp(int(moment), UTC))


def _when(value: str) -> float | None:
    """RFC 2822 or ISO 8601 (as BigCommerce's date filters accept) as a timestamp."""
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _errors(status: int, message: str) -> list[dict[str, Any]]:
    """BigCommerce v2's error body: a list of {status, message}."""
    return [{"status": status, "message": message}]


def _resource(path: str, base: str) -> dict[str, str]:
    return {"url": f"https://api.bigcommerce.com{base}{path}", "resource": path}


class BigCommerceEmulator(Emulator):
    name = "bigcommerce"

    def __init__(
        self,
        *,
        limits: bool = True,
        seed: int = 1,
        store_hash: str = STORE_HASH,
        access_token: str = ACCESS_TOKEN,
        webhook_secret: str = WEBHOOK_SECRET,
        quota: int = QUOTA,
        window_ms: int = WINDOW_MS,
    ) -> None:
        super().__init__(limits=limits, seed=seed)
        self.store_hash = store_hash
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.quota, self.window_ms = quota, window_ms
        self.rng = random.Random(seed)
        self.base = f"/stores/{store_hash}/v2"
        self.orders: dict[int, dict[str, Any]] = {}
        self.products: dict[int, list[dict[str, Any]]] = {}
        self.addresses: dict[int, list[dict[str, Any]]] = {}
        self.shipments: dict[int, list[dict[str, Any]]] = {}
        self.refunds: dict[int, list[dict[str, Any]]] = {}
        self.shipping_refunded: dict[int, Decimal] = {}  # order address id -> amount
        # (date_modified timestamp, order id), kept sorted: the modified-since listing.
        self.by_modified: list[tuple[int, int]] = []
        self._order_ids = itertools.count(100)
        self._ids = itertools.count(1)  # products, addresses and shipments
        self._window_start = 0.0
        self._window_used = 0

    # -- contract, auth, limits ---------------------------------------------------------------

    def specs(self) -> list[OpenApiSpec]:
        return [spec_load(SPEC, PREFIX), spec_load(SPEC_V3, PREFIX_V3)]

    def authenticate(self, request: Request, operation_id: str) -> None:
        token = next((v for k, v in request.headers.items() if k.lower() == "x-auth-token"), "")
        store = request.path.split("/")[2] if request.path.count("/") >= 2 else ""
        if token != self.access_token or store != self.store_hash:
            raise Refuse(
                Answer(
                    401,
                    _errors(
                        401,
                        "You are not authorized to access this resource: check the store hash "
                        "and the X-Auth-Token header.",
                    ),
                )
            )

    def _window(self, now: float) -> None:
        if now - self._window_start >= self.window_ms / 1000:
            self._window_start, self._window_used = now, 0

    def throttle(self, operation_id: str) -> float:
        """One store-wide quota per window for every operation (BigCommerce meters the store)."""
        if not self.limits:
            return 0.0
        with self.lock:
            now = time.monotonic()
            self._window(now)
            if self._window_used >= self.quota:
                return self._window_start + self.window_ms / 1000 - now
            self._window_used += 1
            return 0.0

    def quota_headers(self) -> dict[str, str]:
        with self.lock:
            now = time.monotonic()
            self._window(now)
            reset = max(0, int((self._window_start + self.window_ms / 1000 - now) * 1000))
            return {
                "X-Rate-Limit-Requests-Left": str(max(0, self.quota - self._window_used)),
                "X-Rate-Limit-Requests-Quota": str(self.quota),
                "X-Rate-Limit-Time-Reset-Ms": str(reset),
                "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
            }

    def fault_answer(self, fault: str, retry_after: float) -> Answer:
        if fault == "429":
            return Answer(
                429,
                _errors(429, "Too many requests: the store's API quota is spent for now."),
                {
                    "X-Rate-Limit-Requests-Left": "0",
                    "X-Rate-Limit-Requests-Quota": str(self.quota),
                    "X-Rate-Limit-Time-Reset-Ms": str(int(retry_after * 1000)),
                    "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
                },
            )
        if fault == "expired_token":
            return Answer(401, _errors(401, "The access token is not valid for this store."))
        return Answer(500, _errors(500, "Internal Server Error"))

    def throttled_answer(self, operation_id: str, wait: float) -> Answer:
        return self.fault_answer("429", max(wait, 0.001))

    def dispatch(self, request: Request) -> Answer:
        answer = super().dispatch(request)
        vendor = not request.path.startswith("/_emulator/")
        if vendor and self.limits and answer.status != 401:
            for name, value in self.quota_headers().items():
                answer.headers.setdefault(name, value)
        return answer

    # -- the API ------------------------------------------------------------------------------

    def handle(self, operation_id: str, params: dict[str, str], request: Request) -> Answer:
        handler = getattr(self, f"_op_{operation_id}", None)
        if handler is None:
            return Answer(501, _errors(501, f"{operation_id} is not emulated."))
        with self.lock:
            return handler(params, request)

    def _order(self, params: dict[str, str]) -> dict[str, Any]:
        raw = params.get("order_id", "")
        order = self.orders.get(int(raw)) if raw.isdigit() else None
        if order is None:
            raise Refuse(Answer(404, _errors(404, "The requested resource was not found.")))
        return order

    @staticmethod
    def _int(request: Request, name: str, default: int) -> int:
        values = request.query.get(name)
        try:
            return int(float(values[-1])) if values else default
        except ValueError:
            return default

    def _page(self, rows: list[Any], request: Request, default: int = 50) -> list[Any]:
        limit = max(1, min(MAX_LIMIT, self._int(request, "limit", default)))
        page = max(1, self._int(request, "page", 1))
        return rows[(page - 1) * limit : page * limit]

    def _op_getOrders(self, params: dict[str, str], request: Request) -> Answer:
        query = {k: v[-1] for k, v in request.query.items() if v}
        field, _, direction = query.get("sort", "id").partition(":")
        # The date index narrows a modified-since (or modified-in-a-second) listing to the
        # orders in range, so an incremental import never scans the whole store.
        low, high = query.get("min_date_modified"), query.get("max_date_modified")
        if low is None and high is None:
            candidates: list[int] = list(self.orders)
        else:
            start = bisect.bisect_left(self.by_modified, (int(_when(low) or 0), -1)) if low else 0
            stop = len(self.by_modified)
            if high:
                stop = bisect.bisect_right(self.by_modified, (int(_when(high) or 0), sys.maxsize))
            candidates = [order_id for _, order_id in self.by_modified[start:stop]]
            if field != "date_modified":
                candidates.sort()
        limit = max(1, min(MAX_LIMIT, self._int(request, "limit", 50)))
        page = max(1, self._int(request, "page", 1))
        matching = (self.orders[i] for i in candidates if self._matches(self.orders[i], query))
        if (
            field in ("id", "date_modified")
            and direction != "desc"
            and (field == "id" or low is not None or high is not None)
        ):
            # Already in order: stop as soon as the page is full.
            rows = list(itertools.islice(matching, (page - 1) * limit, page * limit))
        else:
            key = {
                "date_created": lambda o: (o["_created"], o["id"]),
                "date_modified": lambda o: (o["_modified"], o["id"]),
                "status_id": lambda o: (o["status_id"], o["id"]),
            }.get(field, lambda o: o["id"])
            ordered = sorted(matching, key=key, reverse=direction == "desc")
            rows = ordered[(page - 1) * limit : page * limit]
        # BigCommerce answers 204 past the last order; this contract documents only 200, so
        # the emulator keeps to the contract with an empty list.
        return Answer(200, [self._order_json(o) for o in rows])

    @staticmethod
    def _matches(order: dict[str, Any], query: dict[str, str]) -> bool:
        if order["status_id"] == 0 and query.get("status_id") != "0":
            return False  # incomplete checkouts are listed only when asked for
        checks = (
            ("min_id", lambda v: order["id"] >= int(v)),
            ("max_id", lambda v: order["id"] <= int(v)),
            ("status_id", lambda v: order["status_id"] == int(v)),
            ("email", lambda v: order["billing_address"]["email"] == v),
            ("min_date_created", lambda v: order["_created"] >= (_when(v) or 0)),
            ("max_date_created", lambda v: order["_created"] <= (_when(v) or 0)),
            ("min_date_modified", lambda v: order["_modified"] >= (_when(v) or 0)),
            ("max_date_modified", lambda v: order["_modified"] <= (_when(v) or 0)),
        )
        return all(test(query[name]) for name, test in checks if name in query)

    def _op_getOrder(self, params: dict[str, str], request: Request) -> Answer:
        return Answer(200, self._order_json(self._order(params)))

    def _op_getOrderProducts(self, params: dict[str, str], request: Request) -> Answer:
        order = self._order(params)
        return Answer(200, self._page(self.products[order["id"]], request))

    def _op_getOrderShippingAddresses(self, params: dict[str, str], request: Request) -> Answer:
        order = self._order(params)
        return Answer(200, self._page(self.addresses[order["id"]], request))

    def _op_getOrderShipments(self, params: dict[str, str], request: Request) -> Answer:
        order = self._order(params)
        rows = self._page(self.shipments[order["id"]], request)
        return Answer(200, rows) if rows else Answer(204)

    def _op_updateOrder(self, params: dict[str, str], request: Request) -> Answer:
        order = self._order(params)
        body = request.json() or {}
        if "status_id" in body:
            status = body["status_id"]
            if status not in STATUS_NAMES:
                return Answer(400, _errors(400, "The field 'status_id' is invalid."))
            self._set_status(order, status)
        if "staff_notes" in body:
            order["staff_notes"] = str(body["staff_notes"])
            self._touch(order)
        return Answer(200, self._order_json(order))

    def _op_createOrderShipments(self, params: dict[str, str], request: Request) -> Answer:
        order = self._order(params)
        body = request.json() or {}
        problem = self._shipment_problem(order, body)
        if problem:
            return Answer(400, _errors(400, problem))
        return Answer(201, self._ship(order, body))

    def _shipment_problem(self, order: dict[str, Any], body: dict[str, Any]) -> str:
        """BigCommerce's checks on a new shipment ('' when it may be made)."""
        addresses = {a["id"] for a in self.addresses[order["id"]]}
        if body.get("order_address_id") not in addresses:
            return "The field 'order_address_id' is invalid."
        items = body.get("items")
        if not items:
            return "The field 'items' is required."
        products = {p["id"]: p for p in self.products[order["id"]]}
        wanted: dict[int, int] = {}
        for item in items:
            product = products.get(item.get("order_product_id"))
            quantity = item.get("quantity")
            if product is None or not isinstance(quantity, int) or quantity < 1:
                return "The field 'items' is invalid."
            if product["order_address_id"] != body["order_address_id"]:
                return "The items do not belong to this shipping address."
            wanted[product["id"]] = wanted.get(product["id"], 0) + quantity
        for product_id, quantity in wanted.items():
            product = products[product_id]
            if quantity > product["quantity"] - int(product["quantity_shipped"]):
                return f"Order product {product_id} has fewer items left to ship."
        return ""

    # -- Orders v3: refunds ---------------------------------------------------------------------

    def _refund_order(self, params: dict[str, str]) -> dict[str, Any]:
        """The order of a payment action; an unknown one is refused as the v3 contract
        documents refusals (422)."""
        raw = params.get("order_id", "")
        order = self.orders.get(int(raw)) if raw.isdigit() else None
        if order is None:
            raise Refuse(Answer(422, _problem(f"Order {raw} does not exist.")))
        return order

    def _op_createOrderRefundQuotes(self, params: dict[str, str], request: Request) -> Answer:
        order = self._refund_order(params)
        body = request.json() or {}
        return Answer(201, {"data": self._quote(order, body.get("items") or []), "meta": {}})

    def _op_createOrderRefund(self, params: dict[str, str], request: Request) -> Answer:
        """A refund as BigCommerce takes it: items it can quote, payments adding up to the
        quote (or to the merchant's own total), by a method the quote offered."""
        try:
            order = self._refund_order(params)
            body = request.json() or {}
            items = body.get("items") or []
            quote = self._quote(order, items)
        except Refuse as refused:  # this operation documents its 422 as a list
            return Answer(422, {"data": [refused.answer.body]})
        override = body.get("merchant_calculated_override")
        total = Decimal(str(quote["total_refund_amount"]))
        if override:
            total = Decimal(str(override["total_amount"])).quantize(Decimal("0.01"))
            if total <= 0 or total > self._refundable(order):
                return Answer(422, {"data": [_problem("The refund exceeds what is left.")]})
        payments = body.get("payments") or []
        paid = sum((Decimal(str(p.get("amount") or 0)) for p in payments), Decimal(0))
        offered = {o["provider_id"] for m in quote["refund_methods"] for o in m}
        if abs(paid - total) > Decimal("0.005") or not payments:
            return Answer(422, {"data": [_problem("The payments do not add up to the refund.")]})
        if any(p.get("provider_id") not in offered for p in payments):
            return Answer(422, {"data": [_problem("The refund method is not available.")]})
        return Answer(
            201, {"data": self._refund(order, items, payments, total, override), "meta": {}}
        )

    def _op_getOrderRefunds(self, params: dict[str, str], request: Request) -> Answer:
        raw = params.get("order_id", "")
        rows = self.refunds.get(int(raw), []) if raw.isdigit() else []
        return Answer(200, {"data": list(rows), "meta": {}})

    def _refundable(self, order: dict[str, Any]) -> Decimal:
        return Decimal(order["total_inc_tax"]) - Decimal(order["refunded_amount"])

    def _quote(self, order: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
        """What `items` refund (products by quantity at their price, shipping by amount), and
        the methods the money can go back by. Raises Refuse (422)."""
        if order["payment_status"] not in ("captured", "partially refunded"):
            raise Refuse(Answer(422, _problem("The order has no payment to refund.")))
        products = {p["id"]: p for p in self.products[order["id"]]}
        addresses = {a["id"]: a for a in self.addresses[order["id"]]}
        total, seen = Decimal(0), set()
        for item in items:
            kind, item_id = item.get("item_type"), item.get("item_id")
            if (kind, item_id) in seen:
                raise Refuse(Answer(422, _problem(f"{kind} {item_id} is named twice.")))
            seen.add((kind, item_id))
            if kind == "PRODUCT" and item_id in products:
                product = products[item_id]
                left = product["quantity"] - product["quantity_refunded"]
                if not isinstance(item.get("quantity"), int) or not 1 <= item["quantity"] <= left:
                    raise Refuse(Answer(422, _problem(f"Order product {item_id} has {left} "
                                                      "items left to refund.")))  # fmt: skip
                total += Decimal(product["price_inc_tax"]) * item["quantity"]
            elif kind == "SHIPPING" and item_id in addresses:
                address = addresses[item_id]
                done = self.shipping_refunded.get(item_id, Decimal(0))
                left = Decimal(address["cost_inc_tax"]) - done
                amount = Decimal(str(item.get("amount") or 0))
                if amount <= 0 or amount > left:
                    raise Refuse(Answer(422, _problem(f"Shipping {item_id} has {left} left.")))
                total += amount
            else:
                raise Refuse(Answer(422, _problem(f"Cannot refund {kind} {item_id}.")))
        if not items or total > self._refundable(order):
            raise Refuse(Answer(422, _problem("The refund exceeds what is left.")))
        amount = float(total.quantize(Decimal("0.01")))
        online, description = PAYMENT_PROVIDER
        return {
            "order_id": order["id"],
            "total_refund_amount": amount,
            "total_refund_tax_amount": 0.0,
            "rounding": 0.0,
            "adjustment": 0.0,
            "tax_inclusive": False,
            "refund_methods": [
                [{"provider_id": online, "provider_description": description, "amount": amount,
                  "offline": False, "offline_provider": False, "offline_reason": ""}],
                [{"provider_id": "custom", "provider_description": "Custom", "amount": amount,
                  "offline": True, "offline_provider": True, "offline_reason": ""}],
            ],
        }  # fmt: skip

    def _refund(
        self,
        order: dict[str, Any],
        items: list[dict[str, Any]],
        payments: list[dict[str, Any]],
        total: Decimal,
        override: Any,
    ) -> dict[str, Any]:
        """Record a checked refund and move the order to (Partially) Refunded."""
        products = {p["id"]: p for p in self.products[order["id"]]}
        refund_items = []
        for item in items:
            entry: dict[str, Any] = {"item_type": item["item_type"], "item_id": item["item_id"],
                                     "reason": str(item.get("reason") or "")}  # fmt: skip
            if item["item_type"] == "PRODUCT":
                product = products[item["item_id"]]
                product["quantity_refunded"] += item["quantity"]
                product["is_refunded"] = product["quantity_refunded"] >= product["quantity"]
                entry["quantity"] = item["quantity"]
            else:
                done = self.shipping_refunded.get(item["item_id"], Decimal(0))
                self.shipping_refunded[item["item_id"]] = done + Decimal(str(item["amount"]))
                entry["requested_amount"] = item["amount"]
            refund_items.append(entry)
        refunded = Decimal(order["refunded_amount"]) + total
        order["refunded_amount"] = _money(refunded)
        refund = {
            "id": next(self._ids),
            "order_id": order["id"],
            "user_id": 0,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "reason": refund_items[0]["reason"] if refund_items else "",
            "total_amount": float(total),
            "total_tax": 0.0,
            "uses_merchant_override_values": bool(override),
            "items": refund_items,
            "payments": [
                {"id": next(self._ids), "provider_id": p["provider_id"],
                 "amount": float(p["amount"]), "offline": bool(p.get("offline")),
                 "is_declined": False, "declined_message": ""}
                for p in payments
            ],
        }  # fmt: skip
        self.refunds.setdefault(order["id"], []).append(refund)
        full = refunded >= Decimal(order["total_inc_tax"])
        self._set_status(order, 4 if full else 14)
        return refund

    # -- state changes ------------------------------------------------------------------------

    def _touch(self, order: dict[str, Any]) -> None:
        old = (int(order["_modified"]), order["id"])
        index = bisect.bisect_left(self.by_modified, old)
        if index < len(self.by_modified) and self.by_modified[index] == old:
            del self.by_modified[index]
        # Whole seconds, as BigCommerce keeps them.
        order["_modified"] = max(float(int(time.time())), order["_modified"])
        order["date_modified"] = _rfc(order["_modified"])
        bisect.insort(self.by_modified, (int(order["_modified"]), order["id"]))

    def _set_status(self, order: dict[str, Any], status: int) -> None:
        order["status_id"], order["status"] = status, STATUS_NAMES[status]
        order["payment_status"] = {
            0: "",
            1: "pending",
            5: "void",
            6: "declined",
            7: "pending",
            4: "refunded",
            14: "partially refunded",
        }.get(status, "captured")
        self._touch(order)

    def _ship(self, order: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        products = {p["id"]: p for p in self.products[order["id"]]}
        for item in body["items"]:
            product = products[item["order_product_id"]]
            product["quantity_shipped"] = int(product["quantity_shipped"]) + item["quantity"]
        wanted = body["order_address_id"]
        address = next(a for a in self.addresses[order["id"]] if a["id"] == wanted)
        shipped = sum(int(p["quantity_shipped"]) for p in products.values())
        address["items_shipped"] = sum(
            int(p["quantity_shipped"])
            for p in products.values()
            if p["order_address_id"] == address["id"]
        )
        order["items_shipped"] = shipped
        now = time.time()
        order["date_shipped"] = _rfc(now)
        provider = str(body.get("shipping_provider") or "")
        tracking = str(body.get("tracking_number") or "")
        shipment = {
            "id": next(self._ids),
            "order_id": order["id"],
            "customer_id": order["customer_id"],
            "order_address_id": address["id"],
            "date_created": _rfc(now),
            "tracking_number": tracking,
            "merchant_shipping_cost": str(body.get("merchant_shipping_cost") or ZERO),
            "shipping_method": str(body.get("shipping_method") or ""),
            "shipping_provider": provider,
            "tracking_carrier": str(body.get("tracking_carrier") or ""),
            "tracking_link": str(body.get("tracking_link") or ""),
            "comments": str(body.get("comments") or ""),
            "billing_address": _base_address(order["billing_address"]),
            "shipping_address": _base_address(address),
            "items": [
                {
                    "order_product_id": item["order_product_id"],
                    "product_id": products[item["order_product_id"]]["product_id"],
                    "quantity": item["quantity"],
                }
                for item in body["items"]
            ],
            "shipping_provider_display_name": PROVIDER_NAMES.get(provider, provider or "Custom"),
            "generated_tracking_link": (
                f"https://www.aftership.com/track/{tracking}"
                if tracking and not body.get("tracking_link")
                else ""
            ),
        }
        self.shipments[order["id"]].append(shipment)
        self._set_status(order, 2 if shipped >= order["items_total"] else 3)
        return shipment

    # -- seeding and control ------------------------------------------------------------------

    def seed_orders(self, spec: dict[str, Any]) -> list[str]:
        """`{"count", "skus", "placed_at"?, "unpaid"?, "missing_address"?}`; BigCommerce has no
        marketplace fulfilment, so `fulfilled_by_vendor` changes nothing."""
        skus = list(spec.get("skus") or ["SKU-1", "SKU-2", "SKU-3"])
        placed = _when(str(spec["placed_at"])) if spec.get("placed_at") else None
        ids = []
        with self.lock:
            for _ in range(int(spec.get("count", 1))):
                ids.append(
                    str(
                        self._new_order(
                            skus,
                            placed=placed,
                            unpaid=bool(spec.get("unpaid")),
                            missing_address=bool(spec.get("missing_address")),
                        )
                    )
                )
        return ids

    def _new_order(
        self, skus: list[str], *, placed: float | None, unpaid: bool, missing_address: bool
    ) -> int:
        order_id = next(self._order_ids)
        buyer = person(self.rng, order_id)
        lines = basket(self.rng, skus)
        created = float(int(placed if placed is not None else time.time()))
        shipping = Decimal(self.rng.choice(("0", "4.99", "9.99")))
        subtotal = sum((price * qty for _, qty, price in lines), Decimal(0))
        total = subtotal + shipping
        items = sum(qty for _, qty, _ in lines)
        address_id = next(self._ids)
        billing = {
            "first_name": buyer.first,
            "last_name": buyer.last,
            "company": "",
            "street_1": buyer.line1,
            "street_2": buyer.line2,
            "city": buyer.city,
            "state": STATES.get((buyer.country, buyer.region), buyer.region),
            "zip": buyer.postal_code,
            "country": COUNTRIES[buyer.country],
            "country_iso2": buyer.country,
            "phone": buyer.phone,
            "email": buyer.email,
        }
        blank = ("street_1", "street_2", "city", "zip") if missing_address else ()
        self.addresses[order_id] = [
            {
                "id": address_id,
                "order_id": order_id,
                **{k: ("" if k in blank else v) for k, v in billing.items()},
                "items_total": items,
                "items_shipped": 0,
                "shipping_method": "Flat Rate",
                "base_cost": _money(shipping),
                "cost_ex_tax": _money(shipping),
                "cost_inc_tax": _money(shipping),
                **dict.fromkeys(ADDRESS_ZEROS, ZERO),
                "cost_tax_class_id": 2,
                "handling_cost_tax_class_id": 2,
                "shipping_zone_id": 1,
                "shipping_zone_name": COUNTRIES[buyer.country],
                "form_fields": [],
                "shipping_quotes": _resource(
                    f"/orders/{order_id}/shipping_addresses/{address_id}/shipping_quotes",
                    self.base,
                ),
            }
        ]
        self.products[order_id] = [
            _product(next(self._ids), order_id, address_id, sku, qty, price, index)
            for index, (sku, qty, price) in enumerate(lines)
        ]
        self.shipments[order_id] = []
        status = 7 if unpaid else 11
        order = {
            "id": order_id,
            "customer_id": 0 if order_id % 3 == 0 else 1000 + order_id,
            "date_created": _rfc(created),
            "date_modified": _rfc(created),
            "date_shipped": "",
            "status_id": status,
            "status": STATUS_NAMES[status],
            "subtotal_ex_tax": _money(subtotal),
            "subtotal_inc_tax": _money(subtotal),
            "base_shipping_cost": _money(shipping),
            "shipping_cost_ex_tax": _money(shipping),
            "shipping_cost_inc_tax": _money(shipping),
            **dict.fromkeys(ORDER_ZEROS, ZERO),
            "shipping_cost_tax_class_id": 2,
            "handling_cost_tax_class_id": 2,
            "wrapping_cost_tax_class_id": 3,
            "total_ex_tax": _money(total),
            "total_inc_tax": _money(total),
            "is_tax_inclusive_pricing": False,
            "items_total": items,
            "items_shipped": 0,
            "payment_method": "Credit Card",
            "payment_provider_id": "",
            "payment_status": "pending" if unpaid else "captured",
            "order_is_digital": False,
            "ip_address": f"203.0.113.{order_id % 250}",
            "ip_address_v6": "",
            "geoip_country": COUNTRIES[buyer.country],
            "geoip_country_iso2": buyer.country,
            "currency_id": 1,
            "currency_code": "USD",
            "currency_exchange_rate": "1.0000000000",
            "default_currency_id": 1,
            "default_currency_code": "USD",
            "store_default_currency_code": "USD",
            "store_default_to_transactional_exchange_rate": "1.0000000000",
            "staff_notes": "",
            "customer_message": "",
            "shipping_address_count": 1,
            "is_deleted": False,
            "is_email_opt_in": False,
            "ebay_order_id": "0",
            "cart_id": str(uuid.UUID(int=self.rng.getrandbits(128))),
            "billing_address": {**billing, "form_fields": []},
            "order_source": "www",
            "channel_id": 1,
            "external_source": None,
            "external_id": None,
            "external_merchant_id": None,
            "tax_provider_id": "BasicTaxProvider",
            "customer_locale": "en",
            "_created": created,
            "_modified": created,
        }
        self.orders[order_id] = order
        bisect.insort(self.by_modified, (int(created), order_id))
        return order_id

    def _order_json(self, order: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in order.items() if not k.startswith("_")}
        oid = order["id"]
        out["products"] = _resource(f"/orders/{oid}/products", self.base)
        out["shipping_addresses"] = _resource(f"/orders/{oid}/shipping_addresses", self.base)
        out["coupons"] = _resource(f"/orders/{oid}/coupons", self.base)
        return out

    def order_action(self, order_id: str, spec: dict[str, Any]) -> Any:
        """`cancel`; `ship` (`tracking_number`?, `provider`?: everything left, as the merchant
        would in the control panel); `edit_address` (`address` in Colis' Address keys);
        `status` (`status_id`)."""
        with self.lock:
            order = self._order({"order_id": str(order_id)})
            action = spec.get("action")
            if action == "cancel":
                self._set_status(order, 5)
                return order["status_id"]
            if action == "status":
                self._set_status(order, int(spec["status_id"]))
                return order["status_id"]
            if action == "ship":
                address = self.addresses[order["id"]][0]
                items = [
                    {"order_product_id": p["id"], "quantity": p["quantity"] - p["quantity_shipped"]}
                    for p in self.products[order["id"]]
                    if p["quantity"] > p["quantity_shipped"]
                ]
                body = {
                    "order_address_id": address["id"],
                    "tracking_number": spec.get("tracking_number") or f"1Z{order['id']:016d}",
                    "shipping_provider": spec.get("provider", "ups"),
                    "items": items,
                }
                return self._ship(order, body)["id"] if items else None
            if action == "edit_address":
                keys = {
                    "name": None,
                    "company": "company",
                    "line1": "street_1",
                    "line2": "street_2",
                    "city": "city",
                    "region": "state",
                    "postal_code": "zip",
                    "country": "country_iso2",
                    "phone": "phone",
                }
                address = self.addresses[order["id"]][0]
                for ours, value in (spec.get("address") or {}).items():
                    if ours == "name":
                        first, _, last = str(value).partition(" ")
                        address["first_name"], address["last_name"] = first, last
                    elif keys.get(ours):
                        address[keys[ours]] = str(value)
                if "country" in (spec.get("address") or {}):
                    code = address["country_iso2"]
                    address["country"] = COUNTRIES.get(code, code)
                self._touch(order)
                return address["id"]
            raise Refuse(Answer(400, {"errors": [{"message": f"unknown action {action!r}"}]}))

    def _control(self, request: Request) -> Answer:
        if request.path == "/_emulator/webhooks" and request.method == "POST":
            data = request.json() or {}
            return Answer(200, self.webhook_send(**data))
        try:
            return super()._control(request)
        except Refuse as refused:
            return refused.answer

    def webhook_send(
        self, *, url: str, topic: str, order_id: int | str, secret: str | None = None
    ) -> dict[str, Any]:
        """POSTs one order webhook as BigCommerce would, with the custom secret header."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "scope": topic,
            "store_id": str(1_000_000 + self.seed),
            "data": {"type": "order", "id": int(order_id)},
            "hash": hashlib.sha1(f"{topic}:{order_id}:{now}:{uuid.uuid4()}".encode()).hexdigest(),
            "created_at": now,
            "producer": f"stores/{self.store_hash}",
        }
        if topic == "store/order/statusUpdated":
            with self.lock:
                status = self.orders.get(int(order_id), {}).get("status_id", 0)
            payload["data"]["status"] = {"previous_status_id": 0, "new_status_id": status}
        answer = requests.post(
            url,
            data=json.dumps(payload),
            headers={
                "Content-Type": "application/json",
                SECRET_HEADER: self.webhook_secret if secret is None else secret,
            },
            timeout=10,
        )
        return {"status": answer.status_code, "payload": payload}

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "orders": len(self.orders),
                "fulfillments": {
                    str(order_id): list(rows) for order_id, rows in self.shipments.items() if rows
                },
                "statuses": {str(i): o["status_id"] for i, o in self.orders.items()},
                "refunds": {str(i): list(rows) for i, rows in self.refunds.items() if rows},
            }


def _problem(title: str) -> dict[str, Any]:
    """Orders v3's error body (`ErrorResponse`)."""
    return {
        "status": 422,
        "title": title,
        "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
        "errors": {},
    }


def _base_address(raw: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "first_name",
        "last_name",
        "company",
        "street_1",
        "street_2",
        "city",
        "state",
        "zip",
        "country",
        "country_iso2",
        "phone",
        "email",
    )
    return {k: raw.get(k, "") for k in keys}


def _product(
    product_id: int,
    order_id: int,
    address_id: int,
    sku: str,
    quantity: int,
    price: Decimal,
    index: int,
) -> dict[str, Any]:
    """One order product as `getOrderProducts` lists it."""
    return {
        "id": product_id,
        "order_id": order_id,
        "product_id": 70 + index + len(sku),
        "variant_id": 200 + index,
        "order_pickup_method_id": 0,
        "order_address_id": address_id,
        "name": f"Article {sku}",
        "name_customer": f"Article {sku}",
        "name_merchant": f"Article {sku}",
        "sku": sku,
        "upc": "",
        "type": "physical",
        "base_price": _money(price),
        "price_ex_tax": _money(price),
        "price_inc_tax": _money(price),
        "base_total": _money(price * quantity),
        "total_ex_tax": _money(price * quantity),
        "total_inc_tax": _money(price * quantity),
        "weight": 1,
        "width": "0.0000",
        "height": "0.0000",
        "depth": "0.0000",
        "quantity": quantity,
        **dict.fromkeys(PRODUCT_ZEROS, ZERO),
        "is_refunded": False,
        "quantity_refunded": 0,
        "return_id": 0,
        "wrapping_id": 0,
        "wrapping_name": None,
        "wrapping_message": "",
        "quantity_shipped": 0,
        "event_name": None,
        "event_date": None,
        "ebay_item_id": "",
        "ebay_transaction_id": "",
        "option_set_id": None,
        "parent_order_product_id": None,
        "is_bundled_product": False,
        "bin_picking_number": "",
        "external_id": None,
        "brand": "",
        "applied_discounts": [],
        "product_options": [],
        "configurable_fields": [],
        "gift_certificate_id": None,
        "discounted_total_inc_tax": _money(price * quantity),
    }
