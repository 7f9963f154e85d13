"""Returns benchmark: the whole life of N returns through the services, against the raw limit.

Sets up a fresh data folder (SQLite by default, or a new PostgreSQL database), one location, 20
SKUs, N paid one-line orders, and ships them all (the tracking import). Then, one return at a
time as a returns desk works: request, approve, receive one unit as resellable, restock, refund
(five service calls, five transactions). In the same run, on a copy of the database taken after
the shipments, it measures the raw limit: the same rows written with plain DB-API calls, five
transactions per return (return, line, receipt, level, ledger, refund, order, events, outbox).

    python bench/returns.py [--returns 2000] [--db sqlite|postgresql]

PostgreSQL: $COLIS_BENCH_PG_URL (a server URL; databases are created in it), else
postgresql://postgres@127.0.0.1:5432/postgres when it answers.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ingest import pg_create, pg_drop, pg_server_url  # noqa: E402
from tracking_import import (  # noqa: E402
    Raw,
    copy_database,
    csv_file,
    django_start,
    shop_setup,
    timed,
)


def ship_all(numbers: list[str]) -> None:
    from colis.core.actor import Actor
    from colis.shipping.tracking_import import tracking_import_apply

    applied = tracking_import_apply(data=csv_file(numbers), actor=Actor.system("bench"))
    assert applied.created_shipments == len(numbers), applied.errors[:5]


def returns_run(order_ids: list[tuple[int, str]], location_id: int) -> None:
    """Request, approve, receive, restock and refund one unit of each order."""
    from colis.core.actor import Actor
    from colis.returns.receiving import ReceivedUnits, return_receive, return_restock
    from colis.returns.refunds import refund_create
    from colis.returns.services import ReturnLineDraft, return_approve, return_create

    actor = Actor.system("bench")
    for order_id, sku in order_ids:
        rma = return_create(
            order_id=order_id,
            lines=[ReturnLineDraft(sku=sku, quantity=1, reason="size_or_fit")],
            source="api",
            actor=actor,
        )
        return_approve(return_id=rma.pk, actor=actor)
        return_receive(
            return_id=rma.pk,
            location_id=location_id,
            lines=[ReceivedUnits(sku=sku, quantity=1, condition="resellable")],
            actor=actor,
        )
        return_restock(return_id=rma.pk, actor=actor)
        refund_create(
            order_id=order_id, return_id=rma.pk, amount="12.50", currency="EUR", actor=actor
        )


EVENT = (
    "INSERT INTO core_event (subject_type, subject_id, order_id, kind, actor_kind, actor_label, "
    "data, created_at) VALUES (%s, %s, %s, %s, 'system', 'bench', '{}', %s)"
)
OUTBOX = (
    "INSERT INTO core_outboxmessage (kind, idempotency_key, payload, order_id, status, attempts, "
    "max_attempts, next_attempt_at, last_error, claimed_by, created_at) VALUES (%s, %s, '{}', "
    "%s, 'pending', 0, 10, %s, '', '', %s)"
)
RETURN = (
    "INSERT INTO returns_return (order_id, number, state, source, location_id, note, "
    "rejection_reason, cancel_reason, return_carrier, return_tracking_number, "
    "return_tracking_url, exchange_waits_for_items, created_at, updated_at) VALUES (%s, %s, "
    "'requested', 'api', %s, '', '', '', '', '', '', %s, %s, %s) RETURNING id"
)
LINE = (
    "INSERT INTO returns_returnline (rma_id, order_line_id, product_id, sku, quantity, reason, "
    "note, quantity_received, quantity_resellable, quantity_damaged, quantity_defective, "
    "quantity_restocked, quantity_unsellable, quantity_written_off) VALUES (%s, %s, %s, %s, 1, "
    "'size_or_fit', '', 0, 0, 0, 0, 0, 0, 0) RETURNING id"
)
RECEIPT = (
    "INSERT INTO returns_returnreceipt (rma_id, line_id, location_id, quantity, condition, "
    "disposition, created_at) VALUES (%s, %s, %s, 1, 'resellable', 'restock', %s) RETURNING id"
)
MOVEMENT = (
    "INSERT INTO inventory_stockmovement (level_id, product_id_snapshot, location_id_snapshot, "
    "delta_on_hand, delta_committed, delta_unsellable, on_hand_after, committed_after, reason, "
    "note, reference, order_id, actor_kind, actor_label, created_at) VALUES (%s, %s, %s, 1, 0, "
    "0, 0, 0, 'returned', 'resellable', %s, %s, 'system', 'bench', %s)"
)
REFUND = (
    "INSERT INTO returns_refund (order_id, rma_id, amount, shipping_amount, currency, reason, "
    "lines, notify_customer, channel_push, created_at) VALUES (%s, %s, 12.5, 0, 'EUR', '', "
    "'[]', %s, %s, %s)"
)


def raw_run(raw: Raw, rows: list[tuple[int, int, int, str]], location_id: int) -> None:
    """The rows the five steps write, one transaction per step."""
    now = datetime.now(UTC).isoformat()
    true, false = (1, 0) if raw.vendor == "sqlite" else (True, False)
    levels = {
        r[1]: r[0]
        for r in raw.fetch(
            "SELECT id, product_id FROM inventory_inventorylevel WHERE location_id = %s",
            [location_id],
        )
    }
    cur = raw.conn.cursor()
    sql = raw.sql
    for order_id, line_id, product_id, sku in rows:
        number = f"{order_id}-R1"
        raw.begin()  # request
        cur.execute(sql(RETURN), [order_id, number, location_id, false, now, now])
        rma = cur.fetchone()[0]
        cur.execute(sql(LINE), [rma, line_id, product_id, sku])
        rline = cur.fetchone()[0]
        cur.execute(sql(EVENT), ["return", rma, order_id, "return_requested", now])
        cur.execute(sql(OUTBOX), ["customer_email", f"r:{rma}:req", order_id, now, now])
        raw.commit()
        raw.begin()  # approve
        cur.execute(sql("UPDATE returns_return SET state = 'approved', approved_at = %s, "
                        "updated_at = %s WHERE id = %s"), [now, now, rma])  # fmt: skip
        cur.execute(sql(EVENT), ["return", rma, order_id, "return_approved", now])
        cur.execute(sql(OUTBOX), ["customer_email", f"r:{rma}:ok", order_id, now, now])
        raw.commit()
        raw.begin()  # receive
        cur.execute(sql(RECEIPT), [rma, rline, location_id, now])
        receipt = cur.fetchone()[0]
        cur.execute(sql("UPDATE returns_returnline SET quantity_received = 1, "
                        "quantity_resellable = 1 WHERE id = %s"), [rline])  # fmt: skip
        cur.execute(sql("UPDATE returns_return SET state = 'inspected', received_at = %s, "
                        "updated_at = %s WHERE id = %s"), [now, now, rma])  # fmt: skip
        cur.execute(sql(EVENT), ["return", rma, order_id, "return_received", now])
        cur.execute(sql(OUTBOX), ["customer_email", f"r:{rma}:in", order_id, now, now])
        raw.commit()
        raw.begin()  # restock
        level = levels[product_id]
        cur.execute(sql("UPDATE inventory_inventorylevel SET on_hand = on_hand + 1 "
                        "WHERE id = %s"), [level])  # fmt: skip
        cur.execute(sql(MOVEMENT), [level, product_id, location_id, number, order_id, now])
        cur.execute(sql("UPDATE returns_returnreceipt SET applied_at = %s WHERE id = %s"),
                    [now, receipt])  # fmt: skip
        cur.execute(sql("UPDATE returns_returnline SET quantity_restocked = 1 WHERE id = %s"),
                    [rline])  # fmt: skip
        cur.execute(sql("UPDATE returns_return SET state = 'closed', closed_at = %s, "
                        "updated_at = %s WHERE id = %s"), [now, now, rma])  # fmt: skip
        cur.execute(sql(EVENT), ["return", rma, order_id, "return_restocked", now])
        cur.execute(sql(EVENT), ["return", rma, order_id, "return_closed", now])
        raw.commit()
        raw.begin()  # refund
        cur.execute(sql(REFUND), [order_id, rma, true, false, now])
        cur.execute(sql("UPDATE orders_order SET financial_status = 'refunded', status = 4, "
                        "updated_at = %s WHERE id = %s"), [now, order_id])  # fmt: skip
        cur.execute(sql(EVENT), ["refund", rma, order_id, "order_refunded", now])
        cur.execute(sql(EVENT), ["order", order_id, order_id, "order_status_changed", now])
        cur.execute(sql(OUTBOX), ["customer_email", f"r:{rma}:refund", order_id, now, now])
        cur.execute(sql(OUTBOX), ["webhook_event", f"r:{rma}:updated", order_id, now, now])
        raw.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=2_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix=f"colis-bench-returns-{args.db}-"))
    pg_server = pg_server_url() if args.db == "postgresql" else None
    if args.db == "postgresql" and pg_server is None:
        raise SystemExit("postgresql: no server answers")
    url = (
        f"sqlite:///{work / 'colis.sqlite3'}"
        if args.db == "sqlite"
        else pg_create(pg_server or "", "bench_returns")
    )
    copies: list[str] = []
    n = args.returns
    try:
        django_start(work / "home", url)
        print(f"colis returns benchmark: {n} returns, {args.db}")
        spent, numbers = timed(lambda: shop_setup(n))
        ship_all(numbers)
        print(f"  set up and shipped {len(numbers)} orders in {spent:.1f} s")
        from colis.locations.models import Location
        from colis.orders.models import OrderLine

        location_id = Location.objects.get().pk
        lines = list(
            OrderLine.objects.order_by("order_id").values_list(
                "order_id", "pk", "product_id", "sku"
            )
        )
        target = copy_database(args.db, url, work, pg_server)
        if args.db == "postgresql":
            copies.append(target)
        run_s, _ = timed(lambda: returns_run([(o, s) for o, _, _, s in lines], location_id))
        from colis.returns.models import Return

        assert Return.objects.filter(state="closed").count() == n
        raw = Raw(args.db, target)
        raw_s, _ = timed(lambda: raw_run(raw, lines, location_id))
        raw.conn.close()
    finally:
        from django.db import connection

        connection.close()
        if pg_server:
            for db_url in [url, *copies]:
                pg_drop(pg_server, db_url)
        shutil.rmtree(work, ignore_errors=True)
    rate, raw_rate = n / run_s, n / raw_s
    print(f"  returns  {rate:8.0f} returns/s ({5 * rate:.0f} steps/s) = {rate / raw_rate:6.1%} "
          f"of raw, 5 tx/return ({raw_rate:.0f}/s)")  # fmt: skip


if __name__ == "__main__":
    main()
