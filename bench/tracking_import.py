"""Tracking-import benchmark: rows/s of the dry run and of the apply, against raw limits.

Sets up a fresh data folder (SQLite by default, or a new PostgreSQL database), one location,
20 SKUs with stock, and N paid one-line orders through the order service in batches of 500.
Writes a CSV of N rows (order number, a UPS number with a valid check digit, carrier "ups"), then
times the dry run (`tracking_import_check`) and the apply (`tracking_import_apply`) in-process.
In the same run, on a copy of the database taken before the import, it measures two raw limits
with plain DB-API calls: reading what the dry run reads (orders by number, their FO lines and
their shipments' tracking numbers, 1,000 orders per query), and writing the rows a shipment
writes (shipment and line, FO line, FO, order line, order, stock level and movement, timeline
event, three outbox rows) with one transaction per shipment.

    python bench/tracking_import.py [--rows 100000] [--db sqlite|postgresql]

PostgreSQL: $COLIS_BENCH_PG_URL (a server URL; databases are created in it), else
postgresql://postgres@127.0.0.1:5432/postgres when it answers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from fulfill import ups_number  # noqa: E402
from ingest import ADDRESS, SKUS, pg_create, pg_drop, pg_server_url  # noqa: E402

TARGETS = {"check": 20_000, "apply": 3_000}
BATCH = 500
READ_CHUNK = 1_000


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def django_start(home: Path, url: str) -> None:
    os.environ["COLIS_HOME"] = str(home)
    os.environ["COLIS_DATABASE_URL"] = url
    os.environ.setdefault("COLIS_SECRET_KEY", "bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "colis.settings"
    os.environ["COLIS_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def shop_setup(total: int) -> list[str]:
    """A location, the SKUs with enough stock, `total` paid one-line orders; their numbers."""
    from decimal import Decimal

    from colis.catalog.models import Product, sku_key
    from colis.core.actor import Actor
    from colis.inventory.services import inventory_adjust
    from colis.locations.models import Location
    from colis.orders.drafts import LineDraft, OrderDraft
    from colis.orders.services import orders_create

    actor = Actor.system("bench")
    location = Location.objects.create(
        name="Bench WH", address=ADDRESS, is_default=True, priority=1
    )
    for sku in SKUS:
        product = Product.objects.create(sku=sku, sku_key=sku_key(sku), title=sku)
        inventory_adjust(product_id=product.pk, location_id=location.pk, reason="received",
                         delta=total, actor=actor)  # fmt: skip
    numbers: list[str] = []
    for start in range(0, total, BATCH):
        drafts = [
            OrderDraft(
                email=f"buyer{i % 997}@example.com",
                shipping_address=ADDRESS,
                currency="EUR",
                financial_status="paid",
                lines=(LineDraft(sku=SKUS[i % 20], quantity=1, unit_price=Decimal("12.50")),),
            )
            for i in range(start, min(start + BATCH, total))
        ]
        for result in orders_create(drafts=drafts, actor=actor):
            if not result.order_id:
                raise SystemExit(f"order not created: {result.errors}")
            numbers.append(str(result.number))
    return numbers


def csv_file(numbers: list[str]) -> bytes:
    rows = ["order_number,tracking_number,carrier"]
    rows += [f"{n},{ups_number(k)},ups" for k, n in enumerate(numbers)]
    return ("\n".join(rows) + "\n").encode()


# --- raw limits -------------------------------------------------------------------------------


class Raw:
    """A DB-API connection to the copy, with the right placeholder."""

    def __init__(self, vendor: str, target: str) -> None:
        self.vendor = vendor
        if vendor == "sqlite":
            import sqlite3

            self.conn: Any = sqlite3.connect(target, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.ph = "?"
        else:
            import psycopg

            self.conn = psycopg.connect(target, autocommit=True)
            self.ph = "%s"

    def sql(self, text: str) -> str:
        return text.replace("%s", self.ph)

    def fetch(self, text: str, params: list[Any]) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        cur.execute(self.sql(text), params)
        return cur.fetchall()

    def many(self, cur: Any, text: str, rows: list[tuple[Any, ...]]) -> None:
        cur.executemany(self.sql(text), rows)

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE" if self.vendor == "sqlite" else "BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")


def raw_read(raw: Raw, numbers: list[str]) -> dict[str, tuple[Any, ...]]:
    """What the dry run reads, 1,000 orders per query."""
    found: dict[str, tuple[Any, ...]] = {}
    for s in range(0, len(numbers), READ_CHUNK):
        chunk = numbers[s : s + READ_CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        orders = raw.fetch(f"SELECT id, number, status FROM orders_order WHERE number IN ({marks})",
                           chunk)  # fmt: skip
        ids = [o[0] for o in orders]
        id_marks = ", ".join(["%s"] * len(ids))
        lines = raw.fetch(
            "SELECT l.id, fo.order_id, fo.id, fo.status, l.order_line_id, l.sku, l.quantity, "
            "l.quantity_fulfilled FROM fulfillment_fulfillmentorderline l JOIN "
            "fulfillment_fulfillmentorder fo ON fo.id = l.fulfillment_order_id "
            f"WHERE fo.order_id IN ({id_marks})",
            ids,
        )
        raw.fetch(
            "SELECT order_id, tracking_numbers FROM fulfillment_shipment "
            f"WHERE order_id IN ({id_marks})",
            ids,
        )
        by_order = {ln[1]: ln for ln in lines}
        for o in orders:
            found[o[1]] = (o, by_order.get(o[0]))
    return found


SHIPMENT_SQL = (
    "INSERT INTO fulfillment_shipment (order_id, fulfillment_order_id, location_id, status, "
    "carrier, carrier_name, service, tracking_numbers, tracking_urls, package, notes, ship_date, "
    "notify_customer, shipped_at, created_at, updated_at) VALUES (%s, %s, 1, 'shipped', 'ups', "
    "'UPS', '', %s, %s, '{}', '', %s, %s, %s, %s, %s) RETURNING id"
)
LINE_SQL = (
    "INSERT INTO fulfillment_shipmentline (shipment_id, fulfillment_order_line_id, "
    "order_line_id, sku, quantity) VALUES (%s, %s, %s, %s, %s)"
)
UPDATES = (
    "UPDATE fulfillment_fulfillmentorderline SET quantity_fulfilled = quantity WHERE id = %s",
    "UPDATE fulfillment_fulfillmentorder SET status = 'closed', updated_at = %s WHERE id = %s",
    "UPDATE orders_orderline SET quantity_fulfilled = quantity WHERE id = %s",
    "UPDATE orders_order SET status = 2, fulfillment_status = 'fulfilled', updated_at = %s "
    "WHERE id = %s",
    "UPDATE inventory_inventorylevel SET on_hand = on_hand - %s, committed = committed - %s "
    "WHERE id = %s",
)
MOVEMENT_SQL = (
    "INSERT INTO inventory_stockmovement (level_id, product_id_snapshot, location_id_snapshot, "
    "delta_on_hand, delta_committed, delta_unsellable, on_hand_after, committed_after, reason, "
    "note, reference, order_id, actor_kind, actor_label, created_at) VALUES (%s, %s, 1, %s, %s, "
    "0, 0, 0, 'shipped', '', %s, %s, 'system', 'bench', %s)"
)
EVENT_SQL = (
    "INSERT INTO core_event (subject_type, subject_id, order_id, kind, actor_kind, actor_label, "
    "data, created_at) VALUES ('shipment', %s, %s, 'shipment_created', 'system', 'bench', '{}', "
    "%s)"
)
OUTBOX_SQL = (
    "INSERT INTO core_outboxmessage (kind, idempotency_key, payload, order_id, status, attempts, "
    "max_attempts, next_attempt_at, last_error, claimed_by, created_at) VALUES (%s, %s, '{}', "
    "%s, 'pending', 0, 10, %s, '', '', %s)"
)
EFFECTS = ("customer_email", "channel_push", "webhook_event")


def raw_apply(raw: Raw, plan: dict[str, tuple[Any, ...]]) -> None:
    """The rows one shipment writes, one transaction per shipment."""
    now = datetime.now(UTC).isoformat()
    levels = {r[1]: r[0] for r in raw.fetch("SELECT id, product_id FROM inventory_inventorylevel",
                                             [])}  # fmt: skip
    products = {r[1]: r[0] for r in raw.fetch("SELECT id, sku FROM catalog_product", [])}
    cur = raw.conn.cursor()
    true = 1 if raw.vendor == "sqlite" else True
    fo_line_sql, fo_sql, line_sql, order_sql, level_sql = (raw.sql(u) for u in UPDATES)
    for k, (order, line) in enumerate(plan.values()):
        order_id = order[0]
        fo_line_id, _, fo_id, _, order_line_id, sku, qty, _ = line
        level = levels[products[sku]]
        tracking = [json.dumps([ups_number(k)]), json.dumps(["https://x"])]
        raw.begin()
        cur.execute(raw.sql(SHIPMENT_SQL),
                    [order_id, fo_id, *tracking, now[:10], true, now, now, now])  # fmt: skip
        shipment_id = cur.fetchone()[0]
        cur.execute(raw.sql(LINE_SQL), [shipment_id, fo_line_id, order_line_id, sku, qty])
        cur.execute(fo_line_sql, [fo_line_id])
        cur.execute(fo_sql, [now, fo_id])
        cur.execute(line_sql, [order_line_id])
        cur.execute(order_sql, [now, order_id])
        cur.execute(level_sql, [qty, qty, level])
        cur.execute(raw.sql(MOVEMENT_SQL),
                    [level, products[sku], -qty, -qty, f"fo:{fo_id}", order_id, now])  # fmt: skip
        cur.execute(raw.sql(EVENT_SQL), [shipment_id, order_id, now])
        raw.many(cur, OUTBOX_SQL,
                 [(kind, f"shipment:{shipment_id}:{kind}", order_id, now, now)
                  for kind in EFFECTS])  # fmt: skip
        raw.commit()


# --- the run ----------------------------------------------------------------------------------


def copy_database(vendor: str, url: str, work: Path, pg_server: str | None) -> str:
    from django.db import connection

    connection.close()
    if vendor == "sqlite":
        import sqlite3

        source = url.removeprefix("sqlite:///")
        target = str(work / "raw.sqlite3")
        src = sqlite3.connect(source)
        dst = sqlite3.connect(target)
        src.backup(dst)
        src.close()
        dst.close()
        return target
    import psycopg

    assert pg_server is not None
    name = url.rsplit("/", 1)[1]
    copy = f"{name}_raw"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    return pg_server.rsplit("/", 1)[0] + "/" + copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix=f"colis-bench-tracking-{args.db}-"))
    pg_server = pg_server_url() if args.db == "postgresql" else None
    if args.db == "postgresql" and pg_server is None:
        raise SystemExit("postgresql: no server answers")
    url = (
        f"sqlite:///{work / 'colis.sqlite3'}"
        if args.db == "sqlite"
        else pg_create(pg_server or "", "bench_tracking")
    )
    copies: list[str] = []
    try:
        django_start(work / "home", url)
        print(f"colis tracking-import benchmark: {args.rows} rows, {args.db}")
        spent, numbers = timed(lambda: shop_setup(args.rows))
        print(f"  set up {len(numbers)} orders in {spent:.1f} s")
        data = csv_file(numbers)
        target = copy_database(args.db, url, work, pg_server)
        if args.db == "postgresql":
            copies.append(target)

        from colis.core.actor import Actor
        from colis.shipping.tracking_import import tracking_import_apply, tracking_import_check

        actor = Actor.system("bench")
        check_s, report = timed(lambda: tracking_import_check(data=data, actor=actor))
        assert not report.errors, report.errors[:5]
        apply_s, applied = timed(lambda: tracking_import_apply(data=data, actor=actor))
        assert applied.created_shipments == args.rows, (
            applied.created_shipments,
            applied.errors[:5],
        )
        again_s, again = timed(lambda: tracking_import_apply(data=data, actor=actor))
        assert again.created_shipments == 0

        raw = Raw(args.db, target)
        read_s, plan = timed(lambda: raw_read(raw, numbers))
        write_s, _ = timed(lambda: raw_apply(raw, plan))
        raw.conn.close()
    finally:
        from django.db import connection

        connection.close()
        if pg_server:
            for db_url in [url, *copies]:
                pg_drop(pg_server, db_url)
        shutil.rmtree(work, ignore_errors=True)
    n = args.rows
    figures = [
        ("dry run", n / check_s, n / read_s, "raw read", TARGETS["check"]),
        ("apply", n / apply_s, n / write_s, "raw write, 1 tx/shipment", TARGETS["apply"]),
    ]
    for label, rate, raw_rate, raw_label, target_rate in figures:
        print(f"  {label:8} {rate:9.0f} rows/s = {rate / raw_rate:6.1%} of {raw_label} "
              f"({raw_rate:.0f}/s)  target {target_rate}")  # fmt: skip
    print(f"  same file again (nothing to create) {n / again_s:9.0f} rows/s")


if __name__ == "__main__":
    main()
