"""Merchant UI benchmark: the orders list and the order page served from a warm server.

Sets up a fresh data folder (SQLite by default, or a new PostgreSQL database with --db
postgresql), one location, 20 SKUs with stock and N paid two-line orders created with the order
service in batches of 500, spread over 90 days, three channels and a few tags; then ships some of
them (about 20 % in full and 5 % in part, through the batch shipment service), holds 2 % and
cancels 1 %. On PostgreSQL the tables are then analyzed, as autovacuum does on a running server.
It starts `colis serve` (no worker) on that data, signs in through the login form (CSRF token,
session cookie) and asks each page about 200 times over one kept-alive connection: every tab of
the orders list, a filtered view, a search by email, by SKU and by order number, the next pages,
and the order page. It prints p50 / p95 latency per page against the target (95th percentile at
most 100 ms), and the number of SQL queries each page makes, counted in-process with Django's
test client at 1,000 orders and again at N (it must not grow with the number of orders). As the
raw limit, in the same run, the list's main SQL query (the one that reads the page of orders,
captured from the view) is run directly with DB-API and timed.

    python bench/ui.py [--orders 100000] [--db sqlite|postgresql] [--requests 200]

PostgreSQL: $COLIS_BENCH_PG_URL (a server URL; databases are created in it), else
postgresql://postgres@127.0.0.1:5432/postgres when it answers.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from ingest import ADDRESS, SKUS, free_port, pg_create, pg_drop, pg_server_url  # noqa: E402
from tracking_import import django_start  # noqa: E402

TARGET_P95_MS = 100.0
BATCH = 500
SMALL = 1_000
EMAIL = "bench-ui@example.com"
PASSWORD = "bench ui passphrase 7"
CHANNELS = ("api", "shopify", "amazon")
TAGS = ("gift", "vip", "wholesale")


# --- data -------------------------------------------------------------------------------------


def shop_setup(total: int) -> None:
    """The location, the products with stock, and the owner who signs in."""
    from colis.accounts.models import User
    from colis.catalog.models import Product, sku_key
    from colis.core.actor import Actor
    from colis.inventory.services import inventory_adjust
    from colis.locations.models import Location

    actor = Actor.system("bench")
    location = Location.objects.create(
        name="Bench WH", address=ADDRESS, is_default=True, priority=1
    )
    for sku in SKUS:
        product = Product.objects.create(sku=sku, sku_key=sku_key(sku), title=f"Bench {sku}")
        inventory_adjust(product_id=product.pk, location_id=location.pk, reason="received",
                         delta=total * 3, actor=actor)  # fmt: skip
    User.objects.create_user(EMAIL, PASSWORD, role="owner")


def orders_add(start: int, stop: int) -> None:
    """Orders start..stop-1 (two lines each), then their dates, channels and tags, then some
    shipped in full or in part, some held, some cancelled."""
    from colis.core.actor import Actor
    from colis.fulfillment.services import LinePick, order_hold
    from colis.fulfillment.shipments import ShipmentDraft
    from colis.fulfillment.shipments_batch import shipments_create
    from colis.orders.drafts import LineDraft, OrderDraft
    from colis.orders.models import Order
    from colis.orders.services import order_cancel, orders_create

    actor = Actor.system("bench")
    now = datetime.now(UTC)
    for s in range(start, stop, BATCH):
        span = range(s, min(s + BATCH, stop))
        drafts = [
            OrderDraft(
                email=f"buyer{i % 997}@example.com",
                shipping_address=ADDRESS,
                currency="EUR",
                financial_status="paid",
                lines=(
                    LineDraft(sku=SKUS[i % 20], quantity=1 + i % 3, unit_price=Decimal("12.50")),
                    LineDraft(sku=SKUS[(i + 7) % 20], quantity=1, unit_price=Decimal("4.90")),
                ),
            )
            for i in span
        ]
        ids = []
        for result in orders_create(drafts=drafts, actor=actor):
            if not result.order_id:
                raise SystemExit(f"order not created: {result.errors}")
            ids.append(result.order_id)
        orders = list(Order.objects.filter(pk__in=ids).order_by("pk"))
        for i, order in zip(span, orders, strict=True):
            # Oldest first: order i is (stop - i) / total of 90 days old.
            age = timedelta(minutes=(stop - i) * 7)
            order.created_at = now - age
            order.ship_by = order.created_at + timedelta(days=2)
            order.channel = CHANNELS[i % 3]
            order.tags = [TAGS[i % 3]] if i % 4 == 0 else []
        Order.objects.bulk_update(orders, ["created_at", "ship_by", "channel", "tags"])
        items: list[tuple[int, Any]] = []
        for i, order in zip(span, orders, strict=True):
            if i % 20 < 4:  # shipped in full
                items.append(
                    (
                        order.pk,
                        ShipmentDraft(
                            carrier="other",
                            tracking_numbers=[f"BENCH{i:09d}"],
                            notify_customer=False,
                        ),
                    )
                )
            elif i % 20 == 4:  # one line of two
                items.append(
                    (
                        order.pk,
                        ShipmentDraft(
                            lines=[LinePick(sku=SKUS[i % 20], quantity=1 + i % 3)],
                            carrier="other",
                            tracking_numbers=[f"BENCH{i:09d}"],
                            notify_customer=False,
                        ),
                    )
                )
        for result in shipments_create(items=items, actor=actor):
            if not hasattr(result, "pk"):
                raise SystemExit(f"shipment refused: {result}")
        for i, order in zip(span, orders, strict=True):
            if i % 50 == 5:
                order_hold(order_id=order.pk, reason="incorrect_address", notify_customer=False,
                           actor=actor)  # fmt: skip
            elif i % 100 == 6:
                order_cancel(order_id=order.pk, reason="bench", actor=actor)


# --- pages ------------------------------------------------------------------------------------


def pages(order_id: int) -> dict[str, str]:
    """Label -> path of each page measured; the next pages are the lists' own "Next" links."""
    from colis.orders.models import Order

    number = Order.objects.get(pk=order_id).number
    out = {
        "list: all": "/app/orders/",
        "list: unfulfilled": "/app/orders/?tab=unfulfilled",
        "list: on hold": "/app/orders/?tab=on_hold",
        "list: awaiting shipment": "/app/orders/?tab=awaiting_shipment",
        "list: partially shipped": "/app/orders/?tab=partially_shipped",
        "list: shipped": "/app/orders/?tab=shipped",
        "list: cancelled": "/app/orders/?tab=cancelled",
        "list: returns": "/app/orders/?tab=returns",
        "list: channel+tag+status": "/app/orders/?channel=amazon&tag=gift&status=1",
        "list: search email": "/app/orders/?q=buyer42%40example.com",
        "list: search SKU": "/app/orders/?q=BENCH-007",
        "list: search number": f"/app/orders/?q={number}",
        "list: sort ship-by": "/app/orders/?sort=ship_by",
    }
    client = _client()
    second = next_link(client, "/app/orders/?tab=unfulfilled")
    out["list: unfulfilled, page 2"] = second
    out["list: unfulfilled, page 3"] = next_link(client, second)
    out["list: ship-by, page 2"] = next_link(client, "/app/orders/?sort=ship_by")
    out["order page"] = f"/app/orders/{order_id}/"
    return out


def next_link(client: Any, path: str) -> str:
    found = re.search(r'href="([^"]+)" rel="next"', client.get(path).content.decode())
    if found is None:
        raise SystemExit(f"{path}: no next page")
    return found.group(1).replace("&amp;", "&")


def _client() -> Any:
    from django.test import Client

    from colis.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=EMAIL))
    return client


# --- query counts (in-process) ----------------------------------------------------------------


Captured = tuple[str, list]


def query_counts(
    paths: dict[str, str],
) -> tuple[dict[str, int], dict[str, Captured], dict[str, tuple[float, Captured]]]:
    """Queries per page, through Django's test client; the main query of each list page (the
    first reading orders_order with a LIMIT) as (sql, params); and each page's slowest query
    (ms, (sql, params))."""
    from django.db import connection

    client = _client()
    counts: dict[str, int] = {}
    main: dict[str, Captured] = {}
    slowest: dict[str, tuple[float, Captured]] = {}
    for label, path in paths.items():
        client.get(path)  # caches (status labels, templates) warm, as in a served page
        captured: list[tuple[float, Captured]] = []

        def keep(execute: Any, sql: str, params: Any, many: bool, context: Any,
                 captured: list = captured) -> Any:  # fmt: skip
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                ms = (time.perf_counter() - start) * 1000
                captured.append((ms, (sql, list(params or []))))

        with connection.execute_wrapper(keep):
            response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.content[:300]!r}")
        counts[label] = len(captured)
        slowest[label] = max(captured, key=lambda c: c[0])
        for _ms, (sql, params) in captured:
            low = sql.lower()
            if 'from "orders_order"' in low and "limit" in low and "count(" not in low:
                main.setdefault(label, (sql, params))
    return counts, main, slowest


# --- raw limit --------------------------------------------------------------------------------


def raw_times(vendor: str, target: str, queries: dict[str, tuple[str, list]],
              repeat: int) -> dict[str, tuple[float, float]]:  # fmt: skip
    """p50 / p95 ms of each main list query run directly with DB-API."""
    if vendor == "sqlite":
        import sqlite3

        conn: Any = sqlite3.connect(target)
    else:
        import psycopg

        conn = psycopg.connect(target, autocommit=True)
    out = {}
    try:
        for label, (sql, params) in queries.items():
            if vendor == "sqlite":
                sql = sql.replace("%s", "?")
                params = [_sqlite_value(p) for p in params]
            cur = conn.cursor()
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                cur.execute(sql, params)
                cur.fetchall()
                times.append((time.perf_counter() - start) * 1000)
            out[label] = _percentiles(times)
    finally:
        conn.close()
    return out


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, Decimal):
        return str(value)
    return value


def explain(vendor: str, target: str, sql: str, params: list) -> str:
    if vendor == "sqlite":
        import sqlite3

        conn: Any = sqlite3.connect(target)
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql.replace("%s", "?"),
                            [_sqlite_value(p) for p in params]).fetchall()  # fmt: skip
        conn.close()
        return "\n".join(f"    {r[-1]}" for r in rows)
    import psycopg

    with psycopg.connect(target, autocommit=True) as conn:
        rows = conn.execute("EXPLAIN ANALYZE " + sql, params).fetchall()
    return "\n".join(f"    {r[0]}" for r in rows)


# --- the served pages -------------------------------------------------------------------------


class Serve:
    """`colis serve --no-worker` in its own process group on the bench's data."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = open(log, "wb")  # noqa: SIM115
        colis = shutil.which("colis") or str(Path(sys.executable).parent / "colis")
        self.proc = subprocess.Popen(
            [colis, "serve", "--port", str(self.port), "--workers", "2", "--threads", "4",
             "--no-worker"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        for _ in range(240):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        raise SystemExit(f"colis serve did not start; see {log}")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def signed_in(port: int) -> Any:
    import requests

    session = requests.Session()
    base = f"http://127.0.0.1:{port}"
    form = session.get(f"{base}/app/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    done = session.post(
        f"{base}/app/login/",
        data={"csrfmiddlewaretoken": token.group(1), "email": EMAIL, "password": PASSWORD,
              "next": "/app/"},
        headers={"Referer": f"{base}/app/login/"},
        allow_redirects=False,
    )  # fmt: skip
    if done.status_code != 302:
        raise SystemExit(f"sign-in failed: {done.status_code}")
    return session


def latencies(session: Any, port: int, paths: dict[str, str], n: int) -> dict[str, tuple]:
    base = f"http://127.0.0.1:{port}"
    out = {}
    for label, path in paths.items():
        for _ in range(5):  # both web processes warm
            session.get(base + path)
        times = []
        for _ in range(n):
            start = time.perf_counter()
            response = session.get(base + path)
            _ = response.content
            times.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code}")
        out[label] = _percentiles(times)
    return out


def _percentiles(times: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return cuts[49], cuts[94]


# --- the run ----------------------------------------------------------------------------------


def copy_for_raw(vendor: str, url: str, work: Path) -> str:
    """What DB-API connects to: the SQLite file, or the PostgreSQL database itself (the server
    is stopped by then)."""
    return url.removeprefix("sqlite:///") if vendor == "sqlite" else url


def sample_order() -> int:
    """A partly shipped order: the fullest order page."""
    from colis.orders.models import Order

    order = Order.objects.filter(fulfillment_status="partially_fulfilled").order_by("-pk").first()
    if order is None:
        order = Order.objects.order_by("-pk").first()
    assert order is not None
    return order.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--explain", action="store_true", help="each page's slowest query plan")
    parser.add_argument("--keep", action="store_true", help="keep the data folder or database")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix=f"colis-bench-ui-{args.db}-"))
    pg_server = pg_server_url() if args.db == "postgresql" else None
    if args.db == "postgresql" and pg_server is None:
        raise SystemExit("postgresql: no server answers")
    url = (
        f"sqlite:///{work / 'colis.sqlite3'}"
        if args.db == "sqlite"
        else pg_create(pg_server or "", "bench_ui")
    )
    home = work / "home"
    try:
        django_start(home, url)
        from django.db import connection

        print(f"colis UI benchmark: {args.orders:,} orders, {args.db}")
        start = time.perf_counter()
        small = min(SMALL, args.orders)
        shop_setup(args.orders)
        orders_add(0, small)
        small_counts, _, _ = query_counts(pages(sample_order()))
        orders_add(small, args.orders)
        print(f"  set up {args.orders:,} orders in {time.perf_counter() - start:.0f} s")
        if args.db == "postgresql":
            # What autovacuum does on a running server after a load this size (the bench's
            # server may run without it); SQLite is measured as it is, without statistics.
            with connection.cursor() as cur:
                cur.execute("ANALYZE")
        paths = pages(sample_order())
        big_counts, main_queries, slowest = query_counts(paths)
        main_queries = {k: v for k, v in main_queries.items() if k.startswith("list")}
        connection.close()

        env = dict(os.environ, COLIS_HOME=str(home), COLIS_DATABASE_URL=url,
                   COLIS_LOG_LEVEL="WARNING")  # fmt: skip
        server = Serve(env, work / "serve.log")
        try:
            session = signed_in(server.port)
            served = latencies(session, server.port, paths, args.requests)
        finally:
            server.stop()
        target = copy_for_raw(args.db, url, work)
        raw = raw_times(args.db, target, main_queries, args.requests)

        print(f"  {'page':28} {'p50 ms':>7} {'p95 ms':>7}  {'queries':>7} "
              f"{'(at ' + format(small, ',') + ')':>10}  {'main query raw p50/p95 ms':>25} "
              f"{'raw/served p50':>14} {'slowest query':>13}")  # fmt: skip
        slow = []
        for label in paths:
            p50, p95 = served[label]
            raw_cell = ratio = ""
            if label in raw:
                raw_cell = f"{raw[label][0]:.2f} / {raw[label][1]:.2f}"
                ratio = f"{raw[label][0] / p50:.1%}"
            flag = "" if p95 <= TARGET_P95_MS else "  over target"
            print(f"  {label:28} {p50:7.1f} {p95:7.1f}  {big_counts[label]:7} "
                  f"{small_counts[label]:10}  {raw_cell:>25} {ratio:>14} "
                  f"{slowest[label][0]:10.1f} ms{flag}")  # fmt: skip
            if p95 > TARGET_P95_MS or args.explain:
                slow.append(label)
        worst = max(served.values(), key=lambda t: t[1])[1]
        print(f"  target: p95 <= {TARGET_P95_MS:.0f} ms on every page; worst p95 {worst:.1f} ms; "
              f"query counts {'equal' if big_counts == small_counts else 'DIFFER'} at "
              f"{small:,} and {args.orders:,} orders")  # fmt: skip
        for label in slow:
            ms, (sql, params) = slowest[label]
            print(f"  {label}: slowest query in-process {ms:.1f} ms: {sql[:300]}")
            print(explain(args.db, target, sql, params))
    finally:
        from django.db import connection

        connection.close()
        if args.keep:
            print(f"  kept: {url} (home {home})")
        else:
            if pg_server:
                pg_drop(pg_server, url)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
