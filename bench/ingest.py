"""Ingest benchmark: orders/s through the HTTP API against the raw database limit.

Starts `colis serve` in a fresh data folder (SQLite, then PostgreSQL when one answers), creates
10,000 two-line orders through POST /api/v1/orders/bulk in batches of 500 and 1,000 through
POST /api/v1/orders one at a time, and in the same run inserts the same rows (order, two lines,
one timeline event) with plain `executemany` in batches of 500 into a second database with the
same schema: the raw limit. Prints orders/s, the ratio to the raw limit, and the peak resident
memory of the server's whole process group.

    python bench/ingest.py [--orders 10000] [--single 1000] [--clients 4] [--db sqlite|postgresql]

PostgreSQL: $COLIS_BENCH_PG_URL (a server URL; databases are created in it), else
postgresql://postgres@127.0.0.1:5432/postgres when it answers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ADDRESS = {
    "name": "Jeanne Martin",
    "company": "",
    "line1": "12 rue de la Paix",
    "line2": "",
    "city": "Paris",
    "region": "",
    "postal_code": "75002",
    "country": "FR",
    "phone": "+33 1 42 68 53 00",
}
SKUS = [f"BENCH-{i:03d}" for i in range(20)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def order_json(i: int, run: str) -> dict[str, Any]:
    return {
        "email": f"buyer{i % 997}@example.com",
        "external_id": f"{run}-{i}",
        "channel": "bench",
        "shipping_address": ADDRESS,
        "currency": "EUR",
        "financial_status": "paid",
        "lines": [
            {"sku": SKUS[i % 20], "quantity": 1 + i % 3, "unit_price": "12.50"},
            {"sku": SKUS[(i + 7) % 20], "quantity": 1, "unit_price": "4.90"},
        ],
    }


class Server:
    """`colis serve` in its own process group, with a memory sampler over the whole group."""

    def __init__(self, home: Path, env: dict[str, str], workers: int, threads: int) -> None:
        self.port = free_port()
        self.env = dict(env, COLIS_HOME=str(home))
        self.log = open(home.parent / f"serve-{home.name}.log", "wb")  # noqa: SIM115
        colis = shutil.which("colis") or "colis"
        self.proc = subprocess.Popen(
            [
                colis,
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
            ],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.peak_rss = 0
        self.peak_pss = 0
        self._stop = threading.Event()
        self._wait_healthy()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _wait_healthy(self) -> None:
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
        raise SystemExit("colis serve did not start; see its log")

    def group_memory(self) -> tuple[int, int]:
        """(RSS, PSS) summed over the process group. RSS counts shared pages once per process;
        PSS splits them between the processes sharing them, so its sum is the real total."""
        rss = pss = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.getpgid(int(pid)) != self.proc.pid:
                    continue
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
            except (OSError, ProcessLookupError):
                continue
        return rss, pss

    def _sample(self) -> None:
        while not self._stop.is_set():
            rss, pss = self.group_memory()
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def colis(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [shutil.which("colis") or "colis", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.local = threading.local()

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        conn.request(
            "POST",
            path,
            body=body,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        return response.status, response.read()


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def api_setup(env: dict[str, str], server: Server) -> Client:
    colis(env, "user", "create", "--email", "bench@example.com", "--role", "owner")
    token = colis(env, "token", "create", "--email", "bench@example.com").strip().splitlines()[-1]
    client = Client(server.port, token)
    status, body = client.post(
        "/api/v1/locations", json.dumps({"name": "Bench WH", "address": ADDRESS}).encode()
    )
    assert status == 201, body
    for sku in SKUS:
        status, body = client.post(
            "/api/v1/products",
            json.dumps({"sku": sku, "title": f"Bench {sku}", "weight_grams": 100}).encode(),
        )
        assert status == 201, body
    return client


def bench_bulk(client: Client, total: int, batch: int, run: str) -> float:
    bodies = [
        json.dumps(
            {"orders": [order_json(i, run) for i in range(s, min(s + batch, total))]}
        ).encode()
        for s in range(0, total, batch)
    ]

    def send() -> None:
        for body in bodies:
            status, answer = client.post("/api/v1/orders/bulk", body)
            results = json.loads(answer)["results"]
            if status != 200 or not all(r["ok"] for r in results):
                raise SystemExit(f"bulk failed: {status} {answer[:300]!r}")

    return total / timed(send)


def bench_single(client: Client, total: int, clients: int, run: str) -> float:
    bodies = [json.dumps(order_json(i, run)).encode() for i in range(total)]

    def one(body: bytes) -> None:
        status, answer = client.post("/api/v1/orders", body)
        if status != 201:
            raise SystemExit(f"single failed: {status} {answer[:300]!r}")

    def send() -> None:
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, bodies))

    return total / timed(send)


# --- the raw limit: the same rows, plain executemany, batches of 500 --------------------------

ORDER_COLS = (
    "id, number, channel, external_id, email, phone, locale, buyer_name, "
    "shipping_address, billing_address, currency, subtotal, shipping_price, tax_total, "
    "discount_total, total, financial_status, status, fulfillment_status, "
    "shipping_method, ship_by, tags, note, cancelled_at, cancel_reason, created_at, "
    "updated_at"
)
LINE_COLS = (
    "order_id, position, product_id, sku, title, quantity, unit_price, "
    "quantity_fulfilled, quantity_cancelled, external_line_id"
)
EVENT_COLS = (
    "subject_type, subject_id, order_id, kind, actor_kind, actor_id, actor_label, data, created_at"
)


def raw_rows(start: int, count: int, run: str) -> Iterator[tuple[list, list, list]]:
    address = json.dumps(ADDRESS)
    for s in range(start, start + count, 500):
        orders, lines, events = [], [], []
        now = datetime.now(UTC).isoformat()
        for i in range(s, min(s + 500, start + count)):
            o = order_json(i, run)
            oid = i + 1
            orders.append(
                (
                    oid,
                    f"R{oid}",
                    "bench",
                    o["external_id"],
                    o["email"],
                    "",
                    "",
                    "Jeanne Martin",
                    address,
                    None,
                    "EUR",
                    "37.40",
                    "0",
                    "0",
                    "0",
                    "37.40",
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
            for pos, ln in enumerate(o["lines"]):
                lines.append(
                    (
                        oid,
                        pos,
                        1 + SKUS.index(ln["sku"]),
                        ln["sku"],
                        "Bench",
                        ln["quantity"],
                        ln["unit_price"],
                        0,
                        0,
                        "",
                    )
                )
            events.append(
                (
                    "order",
                    oid,
                    oid,
                    "order_created",
                    "user",
                    1,
                    "bench",
                    json.dumps({"number": f"R{oid}"}),
                    now,
                )
            )
        yield orders, lines, events


def raw_limit(vendor: str, url_or_path: str, total: int, run: str) -> float:
    def ph(cols: str) -> str:
        n = cols.count(",") + 1
        return ", ".join(["?" if vendor == "sqlite" else "%s"] * n)

    sql = [
        f"INSERT INTO orders_order ({ORDER_COLS}) VALUES ({ph(ORDER_COLS)})",
        f"INSERT INTO orders_orderline ({LINE_COLS}) VALUES ({ph(LINE_COLS)})",
        f"INSERT INTO core_event ({EVENT_COLS}) VALUES ({ph(EVENT_COLS)})",
    ]
    if vendor == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url_or_path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=OFF")
        batches = list(raw_rows(0, total, run))

        def go() -> None:
            for batch in batches:
                conn.execute("BEGIN IMMEDIATE")
                for statement, rows in zip(sql, batch, strict=True):
                    conn.executemany(statement, rows)
                conn.execute("COMMIT")

        rate = total / timed(go)
        conn.close()
        return rate
    import psycopg

    with psycopg.connect(url_or_path) as conn:
        batches = list(raw_rows(0, total, run))

        def go_pg() -> None:
            for batch in batches:
                with conn.transaction(), conn.cursor() as cur:
                    for statement, rows in zip(sql, batch, strict=True):
                        cur.executemany(statement, rows)

        return total / timed(go_pg)


def raw_database(vendor: str, work: Path, env: dict[str, str], pg_server: str | None) -> str:
    """A second database with the same schema and the 20 products the rows point at."""
    home = work / "raw-home"
    home.mkdir()
    raw_env = dict(env, COLIS_HOME=str(home))
    if vendor == "postgresql":
        assert pg_server is not None
        url = pg_create(pg_server, "bench_raw")
        raw_env["COLIS_DATABASE_URL"] = url
    colis(raw_env, "migrate", "--verbosity", "0")
    if vendor == "sqlite":
        import sqlite3

        path = str(home / "colis.sqlite3")
        conn = sqlite3.connect(path)
        conn.executemany(
            "INSERT INTO catalog_product (id, sku, sku_key, title, barcode, weight_unit, hs_code,"
            " country_of_origin, active, created_at, updated_at) "
            "VALUES (?, ?, ?, 'Bench', '', 'g', '', '', 1, '2026-01-01', '2026-01-01')",
            [(i + 1, s, s) for i, s in enumerate(SKUS)],
        )
        conn.commit()
        conn.close()
        return path
    import psycopg

    with psycopg.connect(url) as conn:
        conn.cursor().executemany(
            "INSERT INTO catalog_product (id, sku, sku_key, title, barcode, weight_unit, hs_code,"
            " country_of_origin, active, created_at, updated_at) "
            "VALUES (%s, %s, %s, 'Bench', '', 'g', '', '', true, now(), now())",
            [(i + 1, s, s) for i, s in enumerate(SKUS)],
        )
    return url


def pg_server_url() -> str | None:
    url = os.environ.get("COLIS_BENCH_PG_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=3).close()
        return url
    except Exception:
        return None


def pg_create(server: str, prefix: str) -> str:
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + "/" + name


def pg_drop(server: str, url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(vendor: str, args: argparse.Namespace) -> dict[str, float] | None:
    pg_server = pg_server_url() if vendor == "postgresql" else None
    if vendor == "postgresql" and pg_server is None:
        print("postgresql: no server answers; skipped")
        return None
    work = Path(tempfile.mkdtemp(prefix=f"colis-bench-{vendor}-"))
    env = dict(os.environ, COLIS_LOG_LEVEL="WARNING")
    env.pop("COLIS_DATABASE_URL", None)
    created: list[str] = []
    try:
        if vendor == "postgresql":
            assert pg_server is not None
            env["COLIS_DATABASE_URL"] = pg_create(pg_server, "bench_api")
            created.append(env["COLIS_DATABASE_URL"])
        home = work / "home"
        server = Server(home, env, args.workers, args.threads)
        api_env = dict(env, COLIS_HOME=str(home))
        try:
            client = api_setup(api_env, server)
            run_id = uuid.uuid4().hex[:6]
            bulk = bench_bulk(client, args.orders, 500, f"b{run_id}")
            single = bench_single(client, args.single, args.clients, f"s{run_id}")
            peak, peak_pss = server.peak_rss, server.peak_pss
        finally:
            server.stop()
        target = raw_database(vendor, work, env, pg_server)
        if vendor == "postgresql":
            created.append(target)
        raw = raw_limit(vendor, target, args.orders, "raw")
    finally:
        if pg_server:
            for url in created:
                pg_drop(pg_server, url)
        shutil.rmtree(work, ignore_errors=True)
    return {
        "bulk": bulk,
        "single": single,
        "raw": raw,
        "peak_mb": peak / 2**20,
        "peak_pss_mb": peak_pss / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent one-at-a-time clients")
    parser.add_argument("--workers", type=int, default=2, help="web processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per web process")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args()
    targets = {"sqlite": (5000, 400), "postgresql": (2000, 250)}
    print(
        f"colis ingest benchmark: {args.orders} orders in bulk (500 per call), {args.single} "
        f"one at a time ({args.clients} clients), 2 lines each; "
        f"server: {args.workers} web processes x {args.threads} threads"
    )
    for vendor in args.db or ["sqlite", "postgresql"]:
        figures = run(vendor, args)
        if figures is None:
            continue
        bulk_target, single_target = targets[vendor]
        raw = figures["raw"]
        print(f"{vendor}:")
        print(f"  raw limit (executemany, 500/batch) {raw:9.0f} orders/s")
        print(
            f"  bulk API (500/call)                {figures['bulk']:9.0f} orders/s "
            f"= {figures['bulk'] / raw:5.1%} of raw  (target {bulk_target})"
        )
        print(
            f"  one at a time                      {figures['single']:9.0f} orders/s "
            f"= {figures['single'] / raw:5.1%} of raw  (target {single_target})"
        )
        print(
            f"  server peak memory (process group) {figures['peak_pss_mb']:9.0f} MB PSS, "
            f"{figures['peak_mb']:.0f} MB RSS summed  (target < 300)"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
