"""The Shopify emulator's HTTP side: `POST /admin/api/{version}/graphql.json` with
`X-Shopify-Access-Token`, answered as Shopify answers it.

Every query is parsed and validated against Shopify's published schema (an invalid one is a
contract violation, answered with Shopify's `{"errors": [...]}`) and then executed by graphql-core
over the store, so every answer has the schema's shape by construction; an execution error that
is not one Shopify itself would give is a violation too. Each answer carries Shopify's
`extensions.cost`. The cost-based leaky bucket of Shopify's Standard plan (2,000 points, 100
restored per second, at most 1,000 per query) is enforced when limits are on: a query whose
requested cost does not fit gets Shopify's THROTTLED answer, and after a query the bucket gets
back the difference between the requested and the actual cost.

Besides orders and fulfillments the store takes `refundCreate` as Shopify checks it (lines no
more than were bought, shipping no more than was paid, REFUND transactions against the order's
sales for no more than is left of them) and shows the refunds and transactions on the order."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests
from graphql import DocumentNode, OperationDefinitionNode, execute_sync

from colis.emulators.graphql import (
    ApiError,
    QueryCost,
    admin_schema,
    connection,
    cursor_decode,
    cursor_encode,
    document_check,
    operation_of,
    root_fields,
    window,
)
from colis.emulators.server import Answer, Emulator, Request
from colis.emulators.shopify import views
from colis.emulators.shopify.store import Store, gid, gid_number, shown

API_VERSION = "2025-01"
SHOP_DOMAIN = "colis-emulator.myshopify.com"
ACCESS_TOKEN = "shpat_emulator"
WEBHOOK_SECRET = "emulator-webhook-secret"
BUCKET_POINTS = 2000.0
RESTORE_RATE = 100.0
MAX_QUERY_COST = 1000
RATE_DOCS = "https://shopify.dev/api/usage/rate-limits"
PATH = re.compile(r"^/admin/api/(?:\d{4}-\d{2}|unstable)/graphql\.json$")
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


class ShopifyEmulator(Emulator):
    """One Shopify store. `access_token` and `webhook_secret` are what a channel is set up
    with; `bucket_points` and `restore_rate` change the plan (tests use a small bucket)."""

    name: ClassVar[str] = "shopify"

    def __init__(
        self,
        *,
        limits: bool = True,
        seed: int = 1,
        access_token: str = ACCESS_TOKEN,
        webhook_secret: str = WEBHOOK_SECRET,
        bucket_points: float = BUCKET_POINTS,
        restore_rate: float = RESTORE_RATE,
    ) -> None:
        super().__init__(limits=limits, seed=seed)
        admin_schema()  # built now, so that the first request is not the slow one
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.bucket_points = bucket_points
        self.restore_rate = restore_rate
        self.available = bucket_points
        self.available_at = time.monotonic()
        self.throttled = 0
        self.webhooks_sent = 0
        self.store = Store(random.Random(seed))
        self.root = {
            "orders": self._orders,
            "order": lambda info, id: self._find(self.store.orders, id, "Order", views.order_view),
            "fulfillmentOrder": lambda info, id: self._find(
                self.store.fulfillment_orders, id, "FulfillmentOrder", views.fo_view
            ),
            "fulfillment": lambda info, id: self._find(
                self.store.fulfillments, id, "Fulfillment", views.fulfillment_view
            ),
            "fulfillmentCreate": self._fulfillment_create,
            "orderCancel": self._order_cancel,
            "refundCreate": self._refund_create,
        }

    # -- the endpoint -------------------------------------------------------------------------

    def specs(self) -> list:
        return []

    def dispatch(self, request: Request) -> Answer:
        if request.path == "/_emulator/webhooks" and request.method == "POST":
            return self._webhook_send(request.json() or {})
        return super().dispatch(request)

    def fault_answer(self, fault: str, retry_after: float) -> Answer:
        if fault == "429":
            return Answer(429, {"errors": "Exceeded 2 calls per second for api client. Reduce "
                                          "request rates to resume uninterrupted service."},
                          {"Retry-After": str(retry_after)})  # fmt: skip
        if fault == "expired_token":
            return Answer(401, {"errors": INVALID_TOKEN})
        return Answer(500, {"errors": "Internal Server Error"})

    def handle_other(self, request: Request) -> Answer | None:
        if not PATH.match(request.path):
            return None
        if request.method != "POST":
            self.violations.append(f"{request.method} {request.path}: Admin GraphQL takes POST")
            return Answer(405, {"errors": "Method Not Allowed"})
        headers = {k.lower(): v for k, v in request.headers.items()}
        token = headers.get("x-shopify-access-token", "")
        if not hmac.compare_digest(token.encode(), self.access_token.encode()):
            return Answer(401, {"errors": INVALID_TOKEN})
        query, variables, name = _body(request, headers)
        if query is None:
            self.violations.append(f"POST {request.path}: no GraphQL query in the body")
            return Answer(400, {"errors": {"query": "Required parameter missing or invalid"}})
        checked = document_check(query)
        operation = operation_of(checked.document, name) if checked.document else None
        if checked.document is None or operation is None:
            errors = [e.formatted for e in checked.errors] or [
                {"message": "An operation name is required when sending multiple operations."}
            ]
            messages = "; ".join(str(e["message"]) for e in errors)
            self.violations.append(f"GraphQL request refused: {messages}")
            return Answer(200, {"errors": errors})
        fields = root_fields(operation)
        op_id = fields[0] if fields else "graphql"
        with self.lock:
            self.calls[op_id] += 1
            self.call_times[op_id].append(time.time())
        return self._run(checked.document, operation, op_id, variables)

    def _run(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        op_id: str,
        variables: dict[str, Any],
    ) -> Answer:
        cost = QueryCost(document, operation, variables)
        requested = cost.requested()
        if requested > MAX_QUERY_COST:
            self.violations.append(f"{op_id}: query cost {requested} is over {MAX_QUERY_COST}")
            return Answer(200, {"errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max cost "
                           f"limit ({MAX_QUERY_COST}).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                               "maxCost": MAX_QUERY_COST, "documentation": RATE_DOCS},
            }]})  # fmt: skip
        with self.lock:
            if self.limits:
                if requested > self._refill():
                    self.throttled += 1
                    return Answer(200, {
                        "errors": [{"message": "Throttled", "extensions": {
                            "code": "THROTTLED", "documentation": RATE_DOCS}}],
                        "extensions": {"cost": self._cost(requested, None)},
                    })  # fmt: skip
                self.available -= requested  # taken now: a concurrent query sees it gone
        fault = self.take_fault(op_id)
        if fault is not None and fault.fault != "timeout":
            with self.lock:
                self.available = min(self.bucket_points, self.available + requested)
            if fault.fault == "bad_json":
                return Answer(200, b'{"data": {"orders": ', {"Content-Type": "application/json"})
            return self.fault_answer(fault.fault, fault.retry_after)
        if fault is not None:
            time.sleep(fault.retry_after)  # and then answer: the client has given up
        with self.lock:
            name = operation.name.value if operation.name else None
            result = execute_sync(
                admin_schema(), document, self.root, variable_values=variables, operation_name=name
            )
            actual = cost.actual(result.data)
            if self.limits:
                self.available = min(self.bucket_points, self.available + requested - actual)
            body: dict[str, Any] = dict(result.formatted)
            body["extensions"] = {"cost": self._cost(requested, actual)}
        for error in result.errors or []:
            if not isinstance(error.original_error, ApiError):
                self.violations.append(f"{op_id}: {error.message} (at {error.path})")
        return Answer(200, body, {"X-Shopify-API-Version": API_VERSION})

    def _refill(self) -> float:
        now = time.monotonic()
        restored = (now - self.available_at) * self.restore_rate
        self.available = min(self.bucket_points, self.available + restored)
        self.available_at = now
        return self.available

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.bucket_points,
                "currentlyAvailable": int(self.available if self.limits else self.bucket_points),
                "restoreRate": self.restore_rate,
            },
        }

    # -- resolvers -------------------------------------------------------------------------------

    def _find(self, table: dict[int, Any], value: Any, kind: str, view: Any) -> Any:
        found = table.get(gid_number(value, kind) or -1)
        return view(found) if found is not None else None

    def _orders(self, info: Any, **args: Any) -> dict[str, Any]:
        keys, lo, hi, match = self.store.keys_for(
            args.get("sortKey") or "ID", args.get("query") or ""
        )
        orders = self.store.orders
        page = window(
            keys,
            first=args.get("first"),
            after=cursor_decode(args["after"]) if args.get("after") else None,
            last=args.get("last"),
            before=cursor_decode(args["before"]) if args.get("before") else None,
            reverse=bool(args.get("reverse")),
            match=(lambda key: match(orders[key[1]])) if match else None,
            lo=lo,
            hi=hi,
        )
        return connection(page, lambda key: views.order_view(orders[key[1]]), cursor_encode)

    def _fulfillment_create(self, info: Any, fulfillment: dict, message: Any = None) -> dict:
        plan, order, problem = self.store.plan(fulfillment["lineItemsByFulfillmentOrder"])
        tracking = fulfillment.get("trackingInfo") or {}
        numbers = [tracking["number"]] if tracking.get("number") else []
        numbers += tracking.get("numbers") or []
        urls = [tracking["url"]] if tracking.get("url") else []
        urls += tracking.get("urls") or []
        if problem is None and any(not re.match(r"^https?://[^/\s]+", u) for u in urls):
            problem = (["fulfillment", "trackingInfo", "url"], "Tracking url is invalid.")
        if problem is not None or order is None:
            where, text = problem or (["fulfillment"], "There are no line items to fulfill.")
            return {"fulfillment": None, "userErrors": [{"field": where, "message": text}]}
        made = self.store.fulfil(
            order,
            plan,
            company=tracking.get("company"),
            numbers=numbers,
            urls=urls,
            notify=bool(fulfillment.get("notifyCustomer")),
        )
        return {"fulfillment": views.fulfillment_view(made), "userErrors": []}

    def _order_cancel(
        self, info: Any, orderId: str, refund: bool, restock: bool, reason: str, **_: Any
    ) -> dict:
        order = self.store.orders.get(gid_number(orderId, "Order") or -1)
        if order is None:
            problem: str | None = "Order does not exist."
            code = "NOT_FOUND"
        else:
            problem, code = self.store.cancel(order, reason, refund), "INVALID"
        if problem:
            error = {"field": ["orderId"], "message": problem, "code": code}
            return {"job": None, "orderCancelUserErrors": [error],
                    "userErrors": [{"field": error["field"], "message": problem}]}  # fmt: skip
        job = {"id": gid("Job", uuid.UUID(int=self.store.rng.getrandbits(128))), "done": False}
        return {"job": {**job, "query": None}, "orderCancelUserErrors": [], "userErrors": []}

    def _refund_create(self, info: Any, input: dict) -> dict:  # noqa: A002
        order = self.store.orders.get(gid_number(input.get("orderId"), "Order") or -1)
        if order is None:
            error = {"field": ["orderId"], "message": "Order does not exist."}
            return {"refund": None, "order": None, "userErrors": [error]}
        made, problem = self.store.refund(order, input)
        if made is None:
            where, text = problem
            return {"refund": None, "order": None,
                    "userErrors": [{"field": where, "message": text}]}  # fmt: skip
        return {
            "refund": views.refund_view(made),
            "order": views.order_view(order),
            "userErrors": [],
        }

    # -- control ----------------------------------------------------------------------------------

    def seed_orders(self, spec: dict[str, Any]) -> list[str]:
        """New orders; their ids are the orders' GraphQL ids."""
        skus = list(spec.get("skus") or ["SKU-1", "SKU-2", "SKU-3"])
        placed = datetime.fromisoformat(spec["placed_at"]) if spec.get("placed_at") else None
        if placed is not None and placed.tzinfo is None:
            placed = placed.replace(tzinfo=UTC)
        with self.lock:
            count = int(spec.get("count", 1))
            return [gid("Order", self.store.seed(spec, skus, placed).number) for _ in range(count)]

    def order_action(self, order_id: str, spec: dict[str, Any]) -> Any:
        """cancel {"reason"?}, ship {"tracking_number"?, "company"?} (everything left),
        edit_address {"address"?: our address keys}, pay."""
        with self.lock:
            store = self.store
            order = store.orders.get(gid_number(order_id, "Order") or -1)
            if order is None:
                return {"error": f"no order {order_id}"}
            action = spec.get("action")
            if action == "cancel":
                problem = store.cancel(order, str(spec.get("reason", "CUSTOMER")), False)
                if problem:
                    return {"error": problem}
            elif action == "ship":
                number = spec.get("tracking_number") or f"1Z{store.rng.randint(10**15, 10**16)}"
                if store.ship_all(order, str(spec.get("company", "UPS")), str(number)) is None:
                    return {"error": "nothing left to ship"}
            elif action == "edit_address":
                fresh = spec.get("address")
                order.address = store.address(fresh) if fresh else store.someone_else()
                store.touch(order)
            elif action == "pay":
                store.pay(order)
                store.touch(order)
            else:
                return {"error": f"unknown action {action!r}"}
            return {"id": gid("Order", order.number), "updated_at": shown(order.updated_at)}

    def state(self) -> dict[str, Any]:
        with self.lock:
            pushed: dict[str, list[dict[str, Any]]] = {}
            for made in self.store.fulfillments.values():
                pushed.setdefault(gid("Order", made.order.number), []).append({
                    "id": gid("Fulfillment", made.number),
                    "status": made.status,
                    "company": made.company,
                    "numbers": made.numbers,
                    "urls": made.urls,
                    "notify_customer": made.notify,
                    "lines": [{"line_item_id": gid("LineItem", ln.number), "quantity": q}
                              for _, ln, q in made.lines],
                })  # fmt: skip
            orders = self.store.orders.values()
            refunds = {
                gid("Order", o.number): [
                    {
                        "id": gid("Refund", r.number),
                        "note": r.note,
                        "amount": str(r.total),
                        "shipping": str(r.shipping),
                        "lines": [{"line_item_id": gid("LineItem", ln.number), "quantity": q,
                                   "restock_type": restock} for _, ln, q, restock in r.lines],
                    }
                    for r in o.refunds
                ]
                for o in orders
                if o.refunds
            }  # fmt: skip
            return {
                "orders": len(self.store.orders),
                "fulfillments": pushed,
                "refunds": refunds,
                "cancelled": [gid("Order", o.number) for o in orders if o.cancelled_at],
                "throttled": self.throttled,
                "webhooks_sent": self.webhooks_sent,
                "bucket": {
                    "available": self._refill(),
                    "maximum": self.bucket_points,
                    "restore_rate": self.restore_rate,
                },
            }

    def _webhook_send(self, spec: dict[str, Any]) -> Answer:
        if not spec.get("url") or not spec.get("order_id"):
            return Answer(400, {"errors": [{"message": "url and order_id are required"}]})
        sent = self.webhook_send(
            url=str(spec["url"]),
            topic=str(spec.get("topic", "orders/updated")),
            order_id=str(spec["order_id"]),
        )
        return Answer(200 if sent["payload"] else 404, sent)

    def webhook_send(
        self, *, url: str, order_id: str, topic: str = "orders/updated", secret: str | None = None
    ) -> dict[str, Any]:
        """POST a signed orders/* webhook to `url` as Shopify sends one (another `secret`
        makes a forged one): {"webhook_id", "status" (the receiver's, None if unreachable),
        "payload"}."""
        with self.lock:
            order = self.store.orders.get(gid_number(order_id, "Order") or -1)
            if order is None:
                return {"webhook_id": None, "status": None, "payload": None}
            payload = views.rest_order(order)
            self.webhooks_sent += 1
        body = json.dumps(payload, separators=(",", ":")).encode()
        webhook_id = str(uuid.uuid4())
        key = (self.webhook_secret if secret is None else secret).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": base64.b64encode(
                hmac.new(key, body, hashlib.sha256).digest()
            ).decode(),
            "X-Shopify-Shop-Domain": SHOP_DOMAIN,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
            "X-Shopify-API-Version": API_VERSION,
        }
        try:  # outside the lock: the receiver may well call back
            status: int | None = requests.post(
                url, data=body, headers=headers, timeout=10
            ).status_code
        except requests.RequestException:
            status = None
        return {"webhook_id": webhook_id, "status": status, "payload": payload}


def _body(request: Request, headers: dict[str, str]) -> tuple[str | None, dict[str, Any], Any]:
    """(query, variables, operation name) from a JSON or application/graphql body."""
    if headers.get("content-type", "").startswith("application/graphql"):
        return request.body.decode("utf-8", "replace"), {}, None
    try:
        data = request.json()
    except ValueError:
        return None, {}, None
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return None, {}, None
    variables = data.get("variables")
    return (
        data["query"],
        variables if isinstance(variables, dict) else {},
        data.get("operationName"),
    )
