"""The store behind the Shopify emulator: orders, their fulfillment orders and fulfillments, the
changes Shopify makes to them (fulfil, cancel, edit), and the order search Shopify offers, with
sorted indexes so that a page of orders costs its size, not the number of orders."""

from __future__ import annotations

import random
import re
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pycountry

from colis.emulators.graphql import ApiError
from colis.emulators.people import CARRIED, basket, person

OPEN_STATES = ("OPEN", "IN_PROGRESS")
GONE = ("CANCELLED", "ERROR", "FAILURE")  # fulfillment states that no longer ship anything
TERM = re.compile(r"""(\w+):(>=|<=|>|<)?('[^']*'|"[^"]*"|\S+)""")
HIGH = 2**62
# The store's locations; the second belongs to a fulfillment service (a 3PL app).
LOCATIONS = {
    1: {"name": "Main warehouse", "service": False},
    2: {"name": "Fulfilment partner", "service": True},
}

Check = Callable[["Order"], bool]


def gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def gid_number(value: Any, kind: str) -> int | None:
    """The number in `gid://shopify/<kind>/<n>` (a bare number is taken too)."""
    text = str(value or "")
    tail = text.removeprefix(f"gid://shopify/{kind}/")
    if not tail.isdigit() or (tail == text and not text.isdigit()):
        return None
    return int(tail)


def stamp(at: datetime) -> str:
    """Index form, to the second as Shopify keeps its times: orders changed in one second sort
    by id, and `updated_at:>X` leaves out the whole second X."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shown(at: datetime | None) -> str | None:
    """Shopify's DateTime: UTC, to the second."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


@dataclass(eq=False)
class Line:
    number: int
    sku: str
    title: str
    quantity: int
    price: Decimal
    currency: str
    fulfilled: int = 0


@dataclass(eq=False)
class FoLine:
    number: int
    line: Line
    total: int
    remaining: int


@dataclass(eq=False)
class FulfillmentOrder:
    number: int
    order: Order
    location: int
    status: str
    lines: list[FoLine]
    created_at: datetime
    updated_at: datetime


@dataclass(eq=False)
class Fulfillment:
    number: int
    order: Order
    name: str
    created_at: datetime
    company: str | None
    numbers: list[str]
    urls: list[str]
    lines: list[tuple[int, Line, int]]  # (fulfillment line item number, line, quantity)
    notify: bool
    status: str = "SUCCESS"


@dataclass(eq=False)
class Transaction:
    number: int
    kind: str  # OrderTransactionKind
    status: str  # OrderTransactionStatus
    gateway: str
    amount: Decimal
    created_at: datetime
    parent: Transaction | None = None


@dataclass(eq=False)
class Refund:
    number: int
    order: Order
    note: str | None
    created_at: datetime
    lines: list[tuple[int, Line, int, str]]  # (refund line item number, line, quantity, restock)
    shipping: Decimal
    transactions: list[Transaction]

    @property
    def total(self) -> Decimal:
        return sum((tx.amount for tx in self.transactions), Decimal(0))


@dataclass(eq=False)
class Order:
    number: int
    name: str
    email: str
    phone: str
    created_at: datetime
    processed_at: datetime
    updated_at: datetime
    financial: str  # OrderDisplayFinancialStatus
    currency: str
    lines: list[Line]
    address: dict[str, Any] | None  # a MailingAddress, as the schema names its fields
    shipping_title: str
    shipping_price: Decimal
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed_at: datetime | None = None
    fulfillment_orders: list[FulfillmentOrder] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((ln.price * ln.quantity for ln in self.lines), Decimal(0))

    @property
    def refunded(self) -> Decimal:
        return sum((r.total for r in self.refunds), Decimal(0))

    def refunded_quantity(self, line: Line) -> int:
        return sum(q for r in self.refunds for _, ln, q, _ in r.lines if ln is line)

    def fulfillment_status(self) -> str:
        done = sum(ln.fulfilled for ln in self.lines)
        if done == 0:
            return "UNFULFILLED"
        whole = sum(ln.quantity for ln in self.lines)
        return "FULFILLED" if done >= whole else "PARTIALLY_FULFILLED"


class Store:
    """Everything one shop holds. Not thread-safe: the emulator holds its lock around it."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.orders: dict[int, Order] = {}
        self.fulfillment_orders: dict[int, FulfillmentOrder] = {}
        self.fulfillments: dict[int, Fulfillment] = {}
        # Sort key -> sorted (stamp, order number): a page is a bisect and a short walk.
        self.index: dict[str, list[tuple[str, int]]] = {
            "UPDATED_AT": [],
            "CREATED_AT": [],
            "ID": [],
        }
        self.ids = 5_400_000_000
        self.last_time = datetime.now(UTC)

    def next_id(self) -> int:
        self.ids += self.rng.randint(1, 9)
        return self.ids

    def now(self) -> datetime:
        """Strictly increasing, so no two changes share a time."""
        now = datetime.now(UTC)
        if now <= self.last_time:
            now = self.last_time + timedelta(microseconds=1)
        self.last_time = now
        return now

    def touch(self, order: Order, at: datetime | None = None) -> None:
        """The order changed: move it in the updated_at index."""
        keys = self.index["UPDATED_AT"]
        old = (stamp(order.updated_at), order.number)
        position = bisect_left(keys, old)
        if position < len(keys) and keys[position] == old:
            del keys[position]
        order.updated_at = at or self.now()
        insort(keys, (stamp(order.updated_at), order.number))

    # -- new orders -------------------------------------------------------------------------------

    def seed(self, spec: dict[str, Any], skus: list[str], placed: datetime | None) -> Order:
        """One believable order, shaped by the seed spec (unpaid, fulfilled_by_vendor,
        missing_address, lines: how many lines)."""
        index = len(self.orders)
        buyer = person(self.rng, index)
        now = self.now()
        currency = "EUR" if buyer.country in ("FR", "DE") else "USD"
        lines = [
            Line(self.next_id(), sku, f"Product {sku}", q, p, currency)
            for sku, q, p in self._basket(skus, int(spec.get("lines") or 0))
        ]
        address = None
        if not spec.get("missing_address"):
            address = self.address({
                "first": buyer.first, "last": buyer.last, "line1": buyer.line1,
                "line2": buyer.line2, "city": buyer.city, "region": buyer.region,
                "postal_code": buyer.postal_code, "country": buyer.country, "phone": buyer.phone,
            })  # fmt: skip
        order = Order(
            number=self.next_id(),
            name=f"#{1001 + index}",
            email=buyer.email,
            phone=buyer.phone,
            created_at=placed or now,
            processed_at=placed or now,
            updated_at=now,
            financial="PENDING" if spec.get("unpaid") else "PAID",
            currency=currency,
            lines=lines,
            address=address,
            shipping_title=self.rng.choice(CARRIED),
            shipping_price=Decimal(self.rng.choice((0, 499, 999))) / 100,
        )
        if order.financial == "PAID":
            self.pay(order, at=order.processed_at)
        fo = FulfillmentOrder(
            number=self.next_id(),
            order=order,
            location=2 if spec.get("fulfilled_by_vendor") else 1,
            status="OPEN",
            lines=[FoLine(self.next_id(), ln, ln.quantity, ln.quantity) for ln in lines],
            created_at=now,
            updated_at=now,
        )
        order.fulfillment_orders.append(fo)
        self.orders[order.number] = order
        self.fulfillment_orders[fo.number] = fo
        insort(self.index["UPDATED_AT"], (stamp(order.updated_at), order.number))
        insort(self.index["CREATED_AT"], (stamp(order.created_at), order.number))
        self.index["ID"].append((f"{order.number:020d}", order.number))  # numbers only grow
        return order

    def _basket(self, skus: list[str], count: int) -> list[tuple[str, int, Decimal]]:
        """people.basket's one to three lines, or exactly `count` lines when asked."""
        if not count:
            return basket(self.rng, skus)
        names = [skus[i] if i < len(skus) else f"SKU-{i + 1}" for i in range(count)]
        return [
            (sku, self.rng.choice((1, 1, 2, 3)), Decimal(self.rng.randint(399, 8999)) / 100)
            for sku in names
        ]

    def someone_else(self) -> dict[str, Any]:
        """Another believable address (an edited order)."""
        buyer = person(self.rng, self.rng.randint(0, 10_000))
        return self.address({
            "first": buyer.first, "last": buyer.last, "line1": buyer.line1, "city": buyer.city,
            "region": buyer.region, "postal_code": buyer.postal_code, "country": buyer.country,
        })  # fmt: skip

    def address(self, ours: dict[str, str]) -> dict[str, Any]:
        """A MailingAddress from our address keys (or first/last instead of name)."""
        country = ours.get("country", "")
        region = ours.get("region", "")
        first, last = ours.get("first"), ours.get("last")
        if first is None:
            first, _, last = ours.get("name", "").partition(" ")
        return {
            "id": gid("MailingAddress", self.next_id()),
            "firstName": first,
            "lastName": last,
            "name": f"{first} {last}".strip(),
            "company": ours.get("company") or None,
            "address1": ours.get("line1", ""),
            "address2": ours.get("line2") or None,
            "city": ours.get("city", ""),
            "province": _province(country, region),
            "provinceCode": region or None,
            "zip": ours.get("postal_code", ""),
            "country": _country(country) if country else None,
            "countryCodeV2": country or None,
            "countryCode": country or None,
            "phone": ours.get("phone") or None,
            "coordinatesValidated": False,
            "latitude": None,
            "longitude": None,
        }

    # -- changes ----------------------------------------------------------------------------------

    def plan(self, groups: list[dict]) -> tuple[list[tuple[FoLine, int]], Order | None, Any]:
        """What a fulfillmentCreate asks for, checked as Shopify checks it: (plan, order,
        None) or ([], None, (field path, message))."""
        where = ["fulfillment", "lineItemsByFulfillmentOrder"]
        plan: list[tuple[FoLine, int]] = []
        order: Order | None = None
        location: int | None = None
        wanted: dict[int, int] = {}
        for group in groups:
            fo = self.fulfillment_orders.get(
                gid_number(group["fulfillmentOrderId"], "FulfillmentOrder") or -1
            )
            if fo is None:
                return [], None, (where, "Fulfillment order does not exist.")
            if fo.status not in OPEN_STATES:
                text = f"Fulfillment order {gid('FulfillmentOrder', fo.number)} has an "
                return [], None, (where, text + f"unfulfillable status= {fo.status.lower()}.")
            if (order and fo.order is not order) or (location and fo.location != location):
                text = "All fulfillment orders must belong to one order and one location."
                return [], None, (where, text)
            order, location = fo.order, fo.location
            items = group.get("fulfillmentOrderLineItems")
            if not items:  # none named: everything left in this fulfillment order
                plan.extend((fl, fl.remaining) for fl in fo.lines if fl.remaining)
                continue
            by_id = {gid("FulfillmentOrderLineItem", fl.number): fl for fl in fo.lines}
            for item in items:
                fo_line = by_id.get(item["id"])
                if fo_line is None:
                    return [], None, (where, "Invalid fulfillment order line item id.")
                wanted[fo_line.number] = wanted.get(fo_line.number, 0) + item["quantity"]
                if item["quantity"] <= 0 or wanted[fo_line.number] > fo_line.remaining:
                    text = "Invalid fulfillment order line item quantity requested."
                    return [], None, (where, text)
                plan.append((fo_line, item["quantity"]))
        if not plan:
            return [], None, (where, "There are no line items left to fulfill.")
        return plan, order, None

    def fulfil(
        self,
        order: Order,
        plan: list[tuple[FoLine, int]],
        *,
        company: str | None,
        numbers: list[str],
        urls: list[str],
        notify: bool,
    ) -> Fulfillment:
        """Ship a checked plan: one fulfillment, fulfillment orders closed when done."""
        now = self.now()
        made = Fulfillment(
            number=self.next_id(),
            order=order,
            name=f"{order.name}-F{len(order.fulfillments) + 1}",
            created_at=now,
            company=company,
            numbers=numbers,
            urls=urls,
            lines=[],
            notify=notify,
        )
        merged: dict[int, list] = {}
        for fo_line, quantity in plan:
            fo_line.remaining -= quantity
            fo_line.line.fulfilled += quantity
            entry = merged.setdefault(fo_line.line.number, [self.next_id(), fo_line.line, 0])
            entry[2] += quantity
        made.lines = [(n, ln, q) for n, ln, q in merged.values()]
        touched = {id(fo_line) for fo_line, _ in plan}
        for fo in order.fulfillment_orders:
            if fo.status in OPEN_STATES and any(id(fl) in touched for fl in fo.lines):
                done = all(fl.remaining == 0 for fl in fo.lines)
                fo.status, fo.updated_at = ("CLOSED" if done else "IN_PROGRESS"), now
        order.fulfillments.append(made)
        self.fulfillments[made.number] = made
        if order.fulfillment_status() == "FULFILLED":
            order.closed_at = now
        self.touch(order, now)
        return made

    def ship_all(self, order: Order, company: str, number: str) -> Fulfillment | None:
        """The merchant marks everything left as shipped in Shopify's admin."""
        plan = [(fl, fl.remaining) for fo in order.fulfillment_orders
                if fo.status in OPEN_STATES for fl in fo.lines if fl.remaining]  # fmt: skip
        if not plan:
            return None
        return self.fulfil(order, plan, company=company, numbers=[number], urls=[], notify=False)

    def cancel(self, order: Order, reason: str, refund: bool) -> str | None:
        """Cancel as Shopify does; the refusal message when it would not."""
        if order.cancelled_at is not None:
            return "Order has already been cancelled."
        if any(f.status not in GONE for f in order.fulfillments):
            return "Cannot cancel an order with fulfillments; cancel the fulfillments first."
        now = self.now()
        order.cancelled_at = order.closed_at = now
        order.cancel_reason = reason
        if refund and order.financial in ("PAID", "PARTIALLY_REFUNDED"):
            order.financial = "REFUNDED"
        elif order.financial in ("PENDING", "AUTHORIZED"):
            order.financial = "VOIDED"
        for fo in order.fulfillment_orders:
            if fo.status in (*OPEN_STATES, "SCHEDULED", "ON_HOLD"):
                fo.status, fo.updated_at = "CANCELLED", now
        self.touch(order, now)
        return None

    def pay(self, order: Order, at: datetime | None = None) -> None:
        """The buyer's payment: one successful sale of the order's total."""
        order.transactions.append(
            Transaction(
                number=self.next_id(),
                kind="SALE",
                status="SUCCESS",
                gateway="shopify_payments",
                amount=order.subtotal + order.shipping_price,
                created_at=at or self.now(),
            )
        )
        order.financial = "PAID"

    def refund(self, order: Order, given: dict[str, Any]) -> tuple[Refund | None, Any]:
        """A refundCreate, checked as Shopify checks it: (refund, None) or (None, (field path,
        message))."""
        if given.get("currency") not in (None, order.currency):
            return None, (["currency"], "Currency must match the order's presentment currency.")
        lines = {gid("LineItem", ln.number): ln for ln in order.lines}
        wanted: list[tuple[Line, int, str]] = []
        for index, item in enumerate(given.get("refundLineItems") or []):
            where = ["refundLineItems", str(index)]
            line = lines.get(item["lineItemId"])
            if line is None:
                return None, ([*where, "lineItemId"], "Line item does not exist.")
            restock = item.get("restockType") or "NO_RESTOCK"
            if restock == "LEGACY_RESTOCK":
                return None, ([*where, "restockType"], "Restock type is not supported.")
            taken = sum(q for ln, q, _ in wanted if ln is line)
            left = line.quantity - order.refunded_quantity(line) - taken
            if item["quantity"] < 1 or item["quantity"] > left:
                text = "Quantity cannot refund more items than were purchased."
                return None, ([*where, "quantity"], text)
            wanted.append((line, item["quantity"], restock))
        shipping = self._refund_shipping(order, given.get("shipping") or {})
        if isinstance(shipping, tuple):
            return None, shipping
        moves = self._refund_moves(order, given.get("transactions") or [])
        if isinstance(moves, tuple):
            return None, moves
        now = self.now()
        made = Refund(
            number=self.next_id(),
            order=order,
            note=given.get("note"),
            created_at=now,
            lines=[(self.next_id(), ln, q, r) for ln, q, r in wanted],
            shipping=shipping,
            transactions=[
                Transaction(
                    self.next_id(), "REFUND", "SUCCESS", parent.gateway, amount, now, parent
                )
                for parent, amount in moves
            ],  # fmt: skip
        )
        order.refunds.append(made)
        order.transactions.extend(made.transactions)
        if made.total > 0:
            received = sum(
                (t.amount for t in order.transactions if t.kind in ("SALE", "CAPTURE")
                 and t.status == "SUCCESS"),
                Decimal(0),
            )  # fmt: skip
            order.financial = "REFUNDED" if order.refunded >= received else "PARTIALLY_REFUNDED"
        self.touch(order, now)
        return made, None

    @staticmethod
    def _refund_shipping(order: Order, given: dict[str, Any]) -> Decimal | tuple:
        done = sum((r.shipping for r in order.refunds), Decimal(0))
        left = order.shipping_price - done
        if given.get("fullRefund") and given.get("amount") is None:
            return left
        try:
            amount = Decimal(str(given.get("amount") or 0))
        except ArithmeticError:
            return (["shipping", "amount"], "Amount is invalid.")
        if amount < 0 or amount > left:
            return (["shipping", "amount"], f"Shipping refund amount must be at most {left}.")
        return amount

    @staticmethod
    def _refund_moves(order: Order, given: list[dict[str, Any]]) -> list | tuple:
        """(parent transaction, amount) for each REFUND transaction asked for."""
        payments = {gid("OrderTransaction", t.number): t for t in order.transactions}
        moves: list[tuple[Transaction, Decimal]] = []
        for index, tx in enumerate(given):
            where = ["transactions", str(index)]
            parent = payments.get(str(tx.get("parentId") or ""))
            if tx.get("kind") != "REFUND":
                return ([*where, "kind"], "Transaction kind must be refund.")
            if gid_number(tx.get("orderId"), "Order") != order.number:
                return ([*where, "orderId"], "Transaction must belong to the order.")
            refundable = parent is not None and parent.status == "SUCCESS"
            if parent is None or not refundable or parent.kind not in ("SALE", "CAPTURE"):
                return ([*where, "parentId"], "Parent transaction is not refundable.")
            if tx.get("gateway") != parent.gateway:
                return ([*where, "gateway"], "Gateway must be the parent transaction's.")
            try:
                amount = Decimal(str(tx.get("amount")))
            except ArithmeticError:
                return ([*where, "amount"], "Amount is invalid.")
            refunded = sum(
                (t.amount for t in order.transactions if t.parent is parent), Decimal(0)
            ) + sum((a for p, a in moves if p is parent), Decimal(0))
            if not amount.is_finite() or amount <= 0 or amount > parent.amount - refunded:
                text = f"Refund amount exceeds the refundable amount of {parent.amount - refunded}."
                return ([*where, "amount"], text)
            moves.append((parent, amount))
        return moves

    # -- search -----------------------------------------------------------------------------------

    def keys_for(self, sort: str, query: str) -> tuple[list, int, int, Check | None]:
        """The index to page through for `sortKey`, the slice of it the query's range on that
        key allows, and the check for every other term."""
        if sort not in self.index:  # ORDER_NUMBER and the rest: creation order, as ID
            sort = "ID"
        keys = self.index[sort]
        checks, bounds = _search(query, sort)
        lo, hi = 0, len(keys)
        for op, value in bounds:
            if op == ">":
                lo = max(lo, bisect_right(keys, (value, HIGH)))
            elif op == ">=":
                lo = max(lo, bisect_left(keys, (value, -1)))
            elif op == "<":
                hi = min(hi, bisect_left(keys, (value, -1)))
            else:
                hi = min(hi, bisect_right(keys, (value, HIGH)))
        if not checks:
            return keys, lo, hi, None
        return keys, lo, hi, lambda order: all(check(order) for check in checks)


def _search(query: str, sort: str) -> tuple[list[Check], list[tuple[str, str]]]:
    """Shopify's search syntax (`updated_at:>='2025-01-02T03:04:05Z' status:open`): a range on
    the sort key becomes index bounds; every other term a check. Raises ApiError."""
    checks: list[Check] = []
    bounds: list[tuple[str, str]] = []
    for name, op, raw in TERM.findall(query):
        value = raw.strip("'\"")
        name = name.lower()
        if name in ("updated_at", "created_at", "processed_at"):
            at = _when(value)
            if at is None:
                raise ApiError(f"Invalid date in search query: {value!r}")
            if name.upper() == sort:
                bounds.append((op or ">=", stamp(at)))
            else:
                checks.append(_compare(name, op or ">=", at))
        else:
            check = _term(name, value)
            if check is not None:
                checks.append(check)
    return checks, bounds


def _when(value: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _compare(attribute: str, op: str, at: datetime) -> Check:
    """A date term on another key than the sort key, to the second like the index."""
    limit = stamp(at)
    tests: dict[str, Callable[[str], bool]] = {
        ">": lambda a: a > limit,
        ">=": lambda a: a >= limit,
        "<": lambda a: a < limit,
        "<=": lambda a: a <= limit,
    }
    test = tests[op]
    return lambda order: test(stamp(getattr(order, attribute)))


def _term(name: str, value: str) -> Check | None:
    """The check for one search term other than a date range (None: a term not served)."""
    if name == "status":
        wanted = value.lower()
        return {
            "open": lambda o: o.closed_at is None and o.cancelled_at is None,
            "closed": lambda o: o.closed_at is not None,
            "cancelled": lambda o: o.cancelled_at is not None,
        }.get(wanted, lambda o: True)
    if name == "fulfillment_status":
        states = {
            "shipped": ("FULFILLED",),
            "fulfilled": ("FULFILLED",),
            "partial": ("PARTIALLY_FULFILLED",),
            "unshipped": ("UNFULFILLED",),
            "unfulfilled": ("UNFULFILLED", "PARTIALLY_FULFILLED"),
        }.get(value.lower())
        return lambda o: states is None or o.fulfillment_status() in states
    if name == "financial_status":
        financial = value.upper()
        return lambda o: financial == "ANY" or o.financial == financial
    if name == "name":
        number = value.lstrip("#")
        return lambda o: o.name.lstrip("#") == number
    if name == "email":
        email = value.lower()
        return lambda o: o.email.lower() == email
    return None


@lru_cache(maxsize=64)
def _country(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code)
    return found.name if found else code


@lru_cache(maxsize=256)
def _province(country: str, code: str) -> str | None:
    found = pycountry.subdivisions.get(code=f"{country}-{code}") if code else None
    return found.name if found else None
