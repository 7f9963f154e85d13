"""Fulfillment benchmark: shipments/s through the HTTP API against the raw database limit.

Starts `colis serve` (with its worker) in a fresh data folder (SQLite, then PostgreSQL when one
answers), sets up two locations, 20 SKUs and their stock (15 SKUs stocked at the first location,
5 only at the second, so a share of orders ships from each and some orders split over both),
creates N paid orders of one or two lines through POST /api/v1/orders/bulk (500 per call), reads
their fulfillment orders, then ships each order whole, one POST /api/v1/orders/{id}/shipments per
fulfillment order (UPS tracking numbers with valid check digits, buyer notified), from several
concurrent keep-alive clients. In the same run it writes the rows a shipment writes (shipment
and its lines, FO lines and FO, order lines and order, stock levels and movements, timeline
events, outbox rows) with plain `executemany`, one transaction per
shipment, into a second database with the same schema: the raw limit.

    python bench/fulfill.py [--orders 10000] [--clients 4] [--db sqlite|postgresql]

PostgreSQL: $COLIS_BENCH_PG_URL (a server URL; databases are created in it), else
postgresql://postgres@127.0.0.1:5432/postgres when it answers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import ingest  # noqa: E402
from ingest import (  # noqa: E402
    ADDRESS,
    ORDER_COLS,
    SKUS,
    Server,
    api_setup,
    pg_create,
    pg_drop,
    pg_server_url,
    raw_database,
    timed,
)

BATCH = 500
# The first 15 SKUs are stocked at location 1 only, the last 5 at location 2 only.
SECOND_SITE = frozenset(SKUS[15:])
TARGETS = {"sqlite": 300, "postgresql": 200}


# --- UPS tracking numbers ---------------------------------------------------------------------


def ups_check_digit(body: str) -> str:
    """UPS mod 10 over the 16 characters after "1Z": letters count as (code - 63) mod 10, the
    characters at odd positions (second, fourth, ...) count double."""
    total = 0
    for i, char in enumerate(body):
        value = int(char) if char.isdigit() else (ord(char) - 63) % 10
        total += value * (2 if i % 2 else 1)
    return str((10 - total % 10) % 10)


def ups_valid(number: str) -> bool:
    return (
        len(number) == 18
        and number.startswith("1Z")
        and ups_check_digit(number[2:17]) == number[17]
    )


def ups_number(serial: int) -> str:
    """1Z + shipper (6) + service (2) + package (7) + check digit."""
    body = f"BENCH103{serial % 10_000_000:07d}"
    return f"1Z{body}{ups_check_digit(body)}"


def ups_self_check() -> None:
    for good in ("1Z5R89390357567127", "1Z879E930346834440"):
        assert ups_valid(good), good
    assert not ups_valid("1Z5R89390357567128")
    assert all(ups_valid(ups_number(n)) for n in range(0, 100_000, 7))


# --- orders --------------------------------------------------------------------------------


def order_lines(i: int) -> list[tuple[str, int]]:
    """One line for odd i, two for even i; (sku, quantity)."""
    first = i % 20
    lines = [(SKUS[first], 1 + i % 3)]
    if i % 2 == 0:
        lines.append((SKUS[(first + 7) % 20], 1))
    return lines


def order_json(i: int, run: str) -> dict[str, Any]:
    return {
        "email": f"buyer{i % 997}@example.com",
        "external_id": f"{run}-{i}",
        "shipping_address": ADDRESS,
        "currency": "EUR",
        "financial_status": "paid",
        "lines": [
            {"sku": sku, "quantity": qty, "unit_price": "12.50"} for sku, qty in order_lines(i)
        ],
    }


def demand(total: int) -> Counter[str]:
    wanted: Counter[str] = Counter()
    for i in range(total):
        for sku, qty in order_lines(i):
            wanted[sku] += qty
    return wanted


# --- through the API -----------------------------------------------------------------------


class ApiClient(ingest.Client):
    """ingest's keep-alive client, with GET."""

    def get(self, path: str) -> tuple[int, bytes]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
        response = conn.getresponse()
        return response.status, response.read()


def call(client: ApiClient, path: str, body: dict[str, Any], expect: int = 201) -> Any:
    status, answer = client.post(path, json.dumps(body).encode())
    if status != expect:
        raise SystemExit(f"POST {path}: {status} {answer[:500]!r}")
    return json.loads(answer)


def stock_setup(client: ApiClient, total: int) -> tuple[int, int]:
    """A second location; each SKU's demand (plus a little) received at its location."""
    status, answer = client.get("/api/v1/locations")
    first = json.loads(answer)
    first_id = (first["items"] if isinstance(first, dict) else first)[0]["id"]
    second = call(client, "/api/v1/locations", {"name": "Bench WH 2", "address": ADDRESS})
    for sku, qty in demand(total).items():
        call(
            client,
            "/api/v1/inventory/adjustments",
            {
                "sku": sku,
                "location_id": second["id"] if sku in SECOND_SITE else first_id,
                "reason": "received",
                "delta": qty + 5,
            },
        )
    return first_id, second["id"]


def create_orders(client: ApiClient, total: int, run: str) -> tuple[dict[int, int], float]:
    """Bulk-create the orders; returns {order id: index} and orders/s."""
    ids: dict[int, int] = {}
    bodies = [
        json.dumps(
            {"orders": [order_json(i, run) for i in range(s, min(s + BATCH, total))]}
        ).encode()
        for s in range(0, total, BATCH)
    ]

    def send() -> None:
        for body in bodies:
            status, answer = client.post("/api/v1/orders/bulk", body)
            results = json.loads(answer)["results"] if status == 200 else []
            if status != 200 or not all(r["ok"] for r in results):
                raise SystemExit(f"bulk failed: {status} {answer[:500]!r}")
            start = len(ids)
            for r in results:
                ids[r["order"]["id"]] = start + r["index"]

    rate = total / timed(send)
    return ids, rate


@dataclass
class Plan:
    """What the timed part ships: (order id, FO id), oldest FO first."""

    shipments: list[tuple[int, int]] = field(default_factory=list)
    by_location: Counter[int] = field(default_factory=Counter)
    split_orders: int = 0


def read_fos(client: ApiClient, order_ids: dict[int, int]) -> Plan:
    plan = Plan()
    per_order: Counter[int] = Counter()
    cursor: str | None = None
    odd: list[str] = []
    while True:
        path = "/api/v1/fulfillment-orders?limit=250" + (f"&cursor={cursor}" if cursor else "")
        status, answer = client.get(path)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {answer[:500]!r}")
        page = json.loads(answer)
        for fo in page["items"]:
            if fo["order_id"] not in order_ids:
                continue
            if fo["status"] != "open" or fo["holds"]:
                odd.append(f"FO {fo['id']}: {fo['status']} holds={fo['holds']}")
                continue
            plan.shipments.append((fo["order_id"], fo["id"]))
            plan.by_location[fo["location_id"]] += 1
            per_order[fo["order_id"]] += 1
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if odd:
        print(f"  {len(odd)} FOs not open: {odd[:5]}")
    missing = [o for o in order_ids if o not in per_order]
    if missing:
        raise SystemExit(f"{len(missing)} orders have no open FO, e.g. {missing[:5]}")
    plan.split_orders = sum(1 for n in per_order.values() if n > 1)
    return plan


def ship_all(client: ApiClient, plan: Plan, clients: int) -> tuple[float, Counter[int], list[str]]:
    bodies = [
        (
            f"/api/v1/orders/{order_id}/shipments",
            json.dumps(
                {
                    "fulfillment_order_id": fo_id,
                    "carrier": "ups",
                    "tracking_numbers": [ups_number(k)],
                    "notify_customer": True,
                }
            ).encode(),
        )
        for k, (order_id, fo_id) in enumerate(plan.shipments)
    ]
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    lock = threading.Lock()

    def one(item: tuple[str, bytes]) -> None:
        path, body = item
        status, answer = client.post(path, body)
        with lock:
            statuses[status] += 1
            if status != 201 and len(failures) < 5:
                failures.append(f"{status} {path} {answer[:600].decode(errors='replace')}")

    def send() -> None:
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, bodies))

    rate = len(bodies) / timed(send)
    return rate, statuses, failures


# --- rows the API wrote, per table (to hold the raw limit to the same rows) ------------------

COUNTED = (
    "fulfillment_shipment",
    "fulfillment_shipmentline",
    "inventory_stockmovement",
    "core_event",
    "core_outboxmessage",
    "django_tasks_database_dbtaskresult",
)


def row_counts(vendor: str, target: str) -> dict[str, int]:
    queries = {t: f"SELECT COUNT(*) FROM {t}" for t in COUNTED}
    if vendor == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target)
        try:
            return {t: conn.execute(q).fetchone()[0] for t, q in queries.items()}
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(target) as conn:
        return {t: conn.execute(q).fetchone()[0] for t, q in queries.items()}  # type: ignore[index]


# --- the raw limit -------------------------------------------------------------------------


def cols(names: str) -> tuple[str, int]:
    return names, names.count(",") + 1


LOCATION_COLS = cols(
    "id, name, address, phone, fulfills_online_orders, active, is_default, priority, "
    "allow_negative_stock, created_at, updated_at"
)
ORDER = cols(ORDER_COLS)
LINE = cols(
    "id, order_id, position, product_id, sku, title, quantity, unit_price, quantity_fulfilled, "
    "quantity_cancelled, external_line_id"
)
FO = cols(
    "id, order_id, location_id, status, request_status, commits_stock, reject_reason, "
    "created_at, updated_at"
)
FO_LINE = cols(
    "id, fulfillment_order_id, order_line_id, product_id, sku, quantity, quantity_fulfilled"
)
LEVEL = cols("id, product_id, location_id, on_hand, committed, unsellable, bin, updated_at")
SHIPMENT = cols(
    "id, order_id, fulfillment_order_id, location_id, status, carrier, carrier_name, service, "
    "tracking_numbers, tracking_urls, package, notes, ship_date, notify_customer, shipped_at, "
    "delivered_at, cancelled_at, created_at, updated_at"
)
SHIPMENT_LINE = cols("shipment_id, fulfillment_order_line_id, order_line_id, sku, quantity")
MOVEMENT = cols(
    "level_id, product_id_snapshot, location_id_snapshot, delta_on_hand, delta_committed, "
    "delta_unsellable, on_hand_after, committed_after, reason, note, reference, order_id, "
    "actor_kind, actor_id, actor_label, created_at"
)
EVENT = cols(ingest.EVENT_COLS)
OUTBOX = cols(
    "kind, idempotency_key, payload, order_id, status, attempts, max_attempts, next_attempt_at, "
    "claimed_at, claimed_by, last_error, created_at, delivered_at"
)


@dataclass
class RawShipment:
    order_id: int
    fo_id: int
    location_id: int
    lines: list[tuple[int, int, int, str, int]]  # FO line id, order line id, product id, sku, qty
    order_status: int  # 3 partially shipped, 2 shipped
    order_fulfillment: str


@dataclass
class RawWorld:
    locations: list[tuple[Any, ...]] = field(default_factory=list)
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    fos: list[tuple[Any, ...]] = field(default_factory=list)
    fo_lines: list[tuple[Any, ...]] = field(default_factory=list)
    levels: list[tuple[Any, ...]] = field(default_factory=list)
    shipments: list[RawShipment] = field(default_factory=list)
    level_of: dict[tuple[int, int], int] = field(default_factory=dict)


def raw_world(total: int) -> RawWorld:
    """The same orders routed the same way (SKU to its location), with ids of our own."""
    now = datetime.now(UTC).isoformat()
    world = RawWorld()
    address = json.dumps(ADDRESS)
    for loc in (1, 2):
        world.locations.append(
            (loc, f"Bench WH {loc}", address, "", True, True, loc == 1, loc, False, now, now)
        )
    wanted = demand(total)
    for p, sku in enumerate(SKUS, start=1):
        loc = 2 if sku in SECOND_SITE else 1
        world.level_of[(p, loc)] = p
        world.levels.append((p, p, loc, wanted[sku] + 5, wanted[sku], 0, "", now))
    line_id = fo_id = fo_line_id = 0
    for i in range(total):
        oid = i + 1
        world.orders.append(
            (
                oid,
                f"R{oid}",
                "api",
                f"raw-{i}",
                f"buyer{i % 997}@example.com",
                "",
                "",
                "Jeanne Martin",
                address,
                None,
                "EUR",
                "25.00",
                "0",
                "0",
                "0",
                "25.00",
                "paid",
                11,
                "unfulfilled",
                "",
                None,
                "[]",
                "",
                None,
                "",
                now,
                now,
            )
        )
        by_site: dict[int, list[tuple[int, int, int, str, int]]] = {}
        for pos, (sku, qty) in enumerate(order_lines(i)):
            line_id += 1
            product = SKUS.index(sku) + 1
            world.lines.append((line_id, oid, pos, product, sku, "Bench", qty, "12.50", 0, 0, ""))
            site = 2 if sku in SECOND_SITE else 1
            by_site.setdefault(site, []).append((0, line_id, product, sku, qty))
        for n, (site, picks) in enumerate(sorted(by_site.items()), start=1):
            fo_id += 1
            world.fos.append((fo_id, oid, site, "open", "unsubmitted", True, "", now, now))
            lines = []
            for _, ol_id, product, sku, qty in picks:
                fo_line_id += 1
                world.fo_lines.append((fo_line_id, fo_id, ol_id, product, sku, qty, 0))
                lines.append((fo_line_id, ol_id, product, sku, qty))
            last = n == len(by_site)
            world.shipments.append(
                RawShipment(
                    order_id=oid,
                    fo_id=fo_id,
                    location_id=site,
                    lines=lines,
                    order_status=2 if last else 3,
                    order_fulfillment="fulfilled" if last else "partially_fulfilled",
                )
            )
    return world


def insert_sql(vendor: str, table: str, spec: tuple[str, int]) -> str:
    mark = "?" if vendor == "sqlite" else "%s"
    return f"INSERT INTO {table} ({spec[0]}) VALUES ({', '.join([mark] * spec[1])})"


class RawWriter:
    """One shipment's rows, one transaction, plain statements and `executemany`."""

    def __init__(self, vendor: str) -> None:
        mark = "?" if vendor == "sqlite" else "%s"

        def insert(table: str, spec: tuple[str, int]) -> str:
            return insert_sql(vendor, table, spec)

        def update(table: str, assignments: str) -> str:
            return f"UPDATE {table} SET {assignments} WHERE id = ?".replace("?", mark)

        self.order = update("orders_order", "status = ?, fulfillment_status = ?, updated_at = ?")
        self.shipment = insert("fulfillment_shipment", SHIPMENT)
        self.shipment_line = insert("fulfillment_shipmentline", SHIPMENT_LINE)
        self.fo_line = update("fulfillment_fulfillmentorderline", "quantity_fulfilled = ?")
        self.fo = update("fulfillment_fulfillmentorder", "status = ?, updated_at = ?")
        self.line = update("orders_orderline", "quantity_fulfilled = ?")
        self.level = update(
            "inventory_inventorylevel",
            "on_hand = on_hand - ?, committed = committed - ?, updated_at = ?",
        )
        self.movement = insert("inventory_stockmovement", MOVEMENT)
        self.event = insert("core_event", EVENT)
        self.outbox = insert("core_outboxmessage", OUTBOX)

    def statements(
        self, k: int, s: RawShipment, level_of: dict[tuple[int, int], int]
    ) -> list[tuple[str, list[tuple[Any, ...]]]]:
        now = datetime.now(UTC).isoformat()
        sid = k + 1
        numbers = json.dumps([ups_number(k)])
        url = json.dumps([f"https://www.ups.com/track?tracknum={ups_number(k)}"])
        levels = sorted((level_of[(p, s.location_id)], p, qty) for _, _, p, _, qty in s.lines)
        payload = {"shipment_id": sid, "order_id": s.order_id, "event": "shipment.created"}
        key = f"shipment:{sid}:created"
        outbox = [
            (
                "customer_email",
                f"{key}:email",
                json.dumps({**payload, "template": "shipping_confirmation", "to": "b@example.com"}),
            ),
            ("webhook_event", f"{key}:webhook", json.dumps(payload)),
        ]
        return [
            (self.order, [(s.order_status, s.order_fulfillment, now, s.order_id)]),
            (self.level, [(qty, qty, now, level) for level, _, qty in levels]),
            (
                self.shipment,
                [
                    (
                        sid,
                        s.order_id,
                        s.fo_id,
                        s.location_id,
                        "shipped",
                        "ups",
                        "UPS",
                        "",
                        numbers,
                        url,
                        "{}",
                        "",
                        now[:10],
                        True,
                        now,
                        None,
                        None,
                        now,
                        now,
                    )
                ],
            ),
            (self.shipment_line, [(sid, fl, ol, sku, qty) for fl, ol, _, sku, qty in s.lines]),
            (self.fo_line, [(qty, fl) for fl, _, _, _, qty in s.lines]),
            (self.line, [(qty, ol) for _, ol, _, _, qty in s.lines]),
            (self.fo, [("closed", now, s.fo_id)]),
            (
                self.movement,
                [
                    (
                        level,
                        p,
                        s.location_id,
                        -qty,
                        -qty,
                        0,
                        0,
                        0,
                        "shipped",
                        "",
                        f"fo:{s.fo_id}",
                        s.order_id,
                        "user",
                        1,
                        "bench@example.com",
                        now,
                    )
                    for level, p, qty in levels
                ],
            ),
            (
                self.event,
                [
                    (
                        "shipment",
                        sid,
                        s.order_id,
                        "shipment_created",
                        "user",
                        1,
                        "bench@example.com",
                        json.dumps(
                            {
                                "fulfillment_order_id": s.fo_id,
                                "lines": {sku: qty for _, _, _, sku, qty in s.lines},
                                "carrier": "ups",
                                "tracking_numbers": [ups_number(k)],
                                "status": "shipped",
                            }
                        ),
                        now,
                    ),
                    (
                        "order",
                        s.order_id,
                        s.order_id,
                        "order_status_changed",
                        "user",
                        1,
                        "bench@example.com",
                        json.dumps(
                            {"from": "awaiting_fulfillment", "to": "shipped", "manual": False}
                        ),
                        now,
                    ),
                ],
            ),
            (
                self.outbox,
                [
                    (kind, ikey, body, s.order_id, "pending", 0, 12, now, None, "", "", now, None)
                    for kind, ikey, body in outbox
                ],
            ),
        ]


def raw_seed(vendor: str, target: str, world: RawWorld) -> None:
    def insert(table: str, spec: tuple[str, int]) -> str:
        return insert_sql(vendor, table, spec)

    work = [
        (insert("locations_location", LOCATION_COLS), world.locations),
        (insert("inventory_inventorylevel", LEVEL), world.levels),
        (insert("orders_order", ORDER), world.orders),
        (insert("orders_orderline", LINE), world.lines),
        (insert("fulfillment_fulfillmentorder", FO), world.fos),
        (insert("fulfillment_fulfillmentorderline", FO_LINE), world.fo_lines),
    ]
    if vendor == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target)
        for sql, rows in work:
            conn.executemany(sql, rows)
        conn.commit()
        conn.close()
        return
    import psycopg

    with psycopg.connect(target) as conn, conn.cursor() as cur:
        for sql, rows in work:
            cur.executemany(sql, rows)
        cur.execute("ANALYZE")


def raw_limit(vendor: str, target: str, world: RawWorld, clients: int) -> float:
    writer = RawWriter(vendor)
    work = [(k, s) for k, s in enumerate(world.shipments)]
    if vendor == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target, isolation_level=None)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "cache_size=-65536",
            "temp_store=MEMORY",
            "foreign_keys=ON",
        ):
            conn.execute(f"PRAGMA {pragma}")

        def go() -> None:
            for k, s in work:
                statements = writer.statements(k, s, world.level_of)
                conn.execute("BEGIN IMMEDIATE")
                for sql, rows in statements:
                    conn.executemany(sql, rows)
                conn.execute("COMMIT")

        rate = len(work) / timed(go)
        conn.close()
        return rate
    import psycopg

    conns = [psycopg.connect(target) for _ in range(clients)]

    def worker(n: int) -> None:
        conn = conns[n]
        for k, s in work[n::clients]:
            statements = writer.statements(k, s, world.level_of)
            with conn.transaction(), conn.cursor() as cur:
                for sql, rows in statements:
                    cur.executemany(sql, rows)

    def go_pg() -> None:
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(worker, range(clients)))

    try:
        return len(work) / timed(go_pg)
    finally:
        for conn in conns:
            conn.close()


# --- one database --------------------------------------------------------------------------


def run(vendor: str, args: argparse.Namespace) -> dict[str, Any] | None:
    pg_server = pg_server_url() if vendor == "postgresql" else None
    if vendor == "postgresql" and pg_server is None:
        print("postgresql: no server answers; skipped")
        return None
    work = Path(tempfile.mkdtemp(prefix=f"colis-bench-fulfill-{vendor}-"))
    env = dict(os.environ, COLIS_LOG_LEVEL="WARNING")
    env.pop("COLIS_DATABASE_URL", None)
    created: list[str] = []
    figures: dict[str, Any] = {}
    try:
        if vendor == "postgresql":
            assert pg_server is not None
            env["COLIS_DATABASE_URL"] = pg_create(pg_server, "bench_api")
            created.append(env["COLIS_DATABASE_URL"])
        home = work / "home"
        api_db = env.get("COLIS_DATABASE_URL") or str(home / "colis.sqlite3")
        server = Server(home, env, args.workers, args.threads)
        api_env = dict(env, COLIS_HOME=str(home))
        try:
            base = api_setup(api_env, server)
            client = ApiClient(server.port, base.token)
            stock_setup(client, args.orders)
            order_ids, figures["bulk"] = create_orders(client, args.orders, uuid.uuid4().hex[:6])
            plan = read_fos(client, order_ids)
            before = row_counts(vendor, api_db)
            figures["api"], statuses, failures = ship_all(client, plan, args.clients)
            peak, peak_pss = server.peak_rss, server.peak_pss
        finally:
            server.stop()
        after = row_counts(vendor, api_db)
        figures.update(
            orders=len(order_ids),
            shipments=len(plan.shipments),
            by_location=dict(plan.by_location),
            split=plan.split_orders,
            statuses=statuses,
            failures=failures,
            peak_mb=peak / 2**20,
            peak_pss_mb=peak_pss / 2**20,
            api_rows={t: after[t] - before[t] for t in COUNTED},
        )
        target = raw_database(vendor, work, env, pg_server)
        if vendor == "postgresql":
            created.append(target)
        world = raw_world(args.orders)
        raw_seed(vendor, target, world)
        per_shipment = RawWriter(vendor).statements(0, world.shipments[0], world.level_of)
        figures["raw_rows_first"] = sum(len(rows) for _, rows in per_shipment)
        figures["raw_shipments"] = len(world.shipments)
        figures["raw"] = raw_limit(
            vendor, target, world, args.clients if vendor == "postgresql" else 1
        )
    finally:
        if pg_server:
            for url in created:
                pg_drop(pg_server, url)
        if args.keep:
            print(f"  kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return figures


def report(vendor: str, f: dict[str, Any], args: argparse.Namespace) -> None:
    shipped = f["statuses"].get(201, 0)
    raw = f["raw"]
    raw_clients = args.clients if vendor == "postgresql" else 1
    print(f"{vendor}:")
    print(
        f"  orders created (bulk, 500/call)    {f['orders']:9d}  ({f['bulk']:.0f} orders/s); "
        f"{f['split']} split over both locations"
    )
    where = ", ".join(f"location {loc}: {n}" for loc, n in sorted(f["by_location"].items()))
    print(f"  shipments (one per open FO)        {f['shipments']:9d}  ({where})")
    print(
        f"  answers                            {shipped:9d} x 201"
        + "".join(f", {n} x {s}" for s, n in sorted(f["statuses"].items()) if s != 201)
    )
    for line in f["failures"]:
        print(f"    {line}")
    rows = f["api_rows"]
    n = max(f["shipments"], 1)
    print(
        "  rows the API wrote per shipment    "
        + ", ".join(f"{t.split('_', 1)[1]} {rows[t] / n:.2f}" for t in COUNTED)
    )
    print(f"  raw limit (executemany, 1 tx/shipment, {raw_clients} conn) {raw:9.0f} shipments/s")
    print(
        f"  API, {args.clients} clients, one at a time      {f['api']:9.0f} shipments/s "
        f"= {f['api'] / raw:5.1%} of raw  (target {TARGETS[vendor]})"
    )
    print(
        f"  server peak memory (process group) {f['peak_pss_mb']:9.0f} MB PSS, "
        f"{f['peak_mb']:.0f} MB RSS summed  (target < 300)"
    )
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent one-at-a-time clients")
    parser.add_argument("--workers", type=int, default=2, help="web processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per web process")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--keep", action="store_true", help="keep the data folders")
    args = parser.parse_args()
    ups_self_check()
    # ingest's helpers find `colis` on PATH: run from the venv's python, use the venv's colis.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    print(
        f"colis fulfillment benchmark: {args.orders} paid orders of 1-2 lines over 2 locations, "
        f"each shipped whole, one shipment per FO, {args.clients} clients; "
        f"server: {args.workers} web processes x {args.threads} threads + worker"
    )
    for vendor in args.db or ["sqlite", "postgresql"]:
        start = time.perf_counter()
        figures = run(vendor, args)
        if figures is not None:
            report(vendor, figures, args)
            print(f"  ({time.perf_counter() - start:.0f} s for this database)")


if __name__ == "__main__":
    main()
