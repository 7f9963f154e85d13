"""Notification benchmark: buyer emails/s and webhooks/s through one `colis worker`.

In a fresh data folder, seeds one paid order with one shipment through the services, queues
N `customer_email` outbox rows for it, starts one `colis worker` and times it until a local
SMTP server (aiosmtpd, counting messages) has received all N. Then the same for M
`webhook_event` rows, each fanning out into one delivery to a local HTTP receiver answering
204. In the same run, the raw limits: N prebuilt messages sent over one smtplib connection to
the same SMTP server, and M plain urllib POSTs (no keep-alive, as the worker sends them) to the
same receiver. Prints the rates, the ratios to the raw limits and the targets.

    python bench/notify.py [--emails 10000] [--webhooks 10000] [--db sqlite|postgresql] [--keep]

PostgreSQL: $COLIS_BENCH_PG_URL (a server URL; a database is created in it), else
postgresql://postgres@127.0.0.1:5432/postgres when it answers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import ingest  # noqa: E402

TARGETS = {"emails": 300.0, "webhooks": 500.0}
TIMEOUT_SECONDS = 600.0
CHUNK = 1000
COLIS = shutil.which("colis", path=str(Path(sys.executable).parent)) or "colis"


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()

    def add(self) -> None:
        with self.lock:
            self.value += 1

    def reset(self) -> None:
        with self.lock:
            self.value = 0


class SmtpCounter:
    """aiosmtpd handler: accepts every message and counts it."""

    def __init__(self) -> None:
        self.count = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count.add()
        return "250 OK"


def smtp_start() -> tuple[Any, SmtpCounter, int]:
    from aiosmtpd.controller import Controller

    handler = SmtpCounter()
    port = ingest.free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, handler, port


def receiver_start() -> tuple[ThreadingHTTPServer, Counter]:
    count = Counter()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            count.add()
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, count


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "colis.settings"
    import django

    django.setup()


def seed_order() -> tuple[int, int]:
    """One location, product, stock, paid order and shipment with tracking: (order, shipment)."""
    from decimal import Decimal

    from colis.catalog.services import ProductData, product_create
    from colis.core.actor import Actor
    from colis.fulfillment.shipments import ShipmentDraft, shipment_create
    from colis.inventory.services import inventory_adjust
    from colis.locations.services import LocationData, location_create
    from colis.orders.drafts import LineDraft, OrderDraft
    from colis.orders.services import order_create

    actor = Actor.system("bench")
    location = location_create(
        data=LocationData(name="Bench", address=dict(ingest.ADDRESS, phone="")), actor=actor
    )
    product = product_create(data=ProductData(sku="N-1", title="x"), actor=actor)
    inventory_adjust(
        product_id=product.pk,
        location_id=location.pk,
        reason="received",
        delta=100000,
        actor=actor,
    )
    result = order_create(
        draft=OrderDraft(
            email="buyer@example.com",
            channel="api",
            shipping_address=dict(ingest.ADDRESS),
            currency="EUR",
            financial_status="paid",
            lines=(LineDraft(sku="N-1", quantity=1, unit_price=Decimal("12.50")),),
        ),
        actor=actor,
    )
    order_id = result.order.pk
    shipment = shipment_create(
        order_id=order_id,
        draft=ShipmentDraft(
            carrier="ups", tracking_numbers=["1Z5R89390357567127"], notify_customer=False
        ),
        actor=actor,
    )
    return order_id, shipment.pk


def enqueue(kind: str, total: int, make: Callable[[int], dict[str, Any]], order_id: int) -> None:
    from django.db import connection, transaction

    from colis.core.outbox import Effect, outbox_enqueue_many

    suffix = "email" if kind == "customer_email" else "webhook"
    for start in range(0, total, CHUNK):
        effects = [
            Effect(
                kind=kind,
                idempotency_key=f"bench:{i}:{suffix}",
                payload=make(i),
                order_id=order_id,
            )
            for i in range(start, min(start + CHUNK, total))
        ]
        with transaction.atomic():
            outbox_enqueue_many(effects)
    connection.close()


def subscription_add(url: str) -> None:
    from django.db import connection

    from colis.core.actor import Actor
    from colis.webhooks.services import SubscriptionData, subscription_create

    subscription_create(
        data=SubscriptionData(url=url, events=["shipment.created"], allow_private=True),
        actor=Actor.system("bench"),
    )
    connection.close()


def worker_until(env: dict[str, str], log: Path, count: Counter, total: int) -> float:
    """Start one `colis worker`; seconds from its start until `count` reaches `total`."""
    count.reset()
    with open(log, "ab") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [COLIS, "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while count.value < total:
                if time.perf_counter() - started > TIMEOUT_SECONDS:
                    raise SystemExit(f"timeout: {count.value}/{total} after {TIMEOUT_SECONDS}s")
                if proc.poll() is not None:
                    raise SystemExit(f"the worker exited with {proc.returncode}; see {log}")
                time.sleep(0.02)
            elapsed = time.perf_counter() - started
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
    return elapsed


def raw_smtp(port: int, total: int) -> float:
    messages = []
    for i in range(total):
        msg = EmailMessage()
        msg["From"] = "Shop <shop@example.com>"
        msg["To"] = f"b{i}@example.com"
        msg["Subject"] = "Your order has shipped"
        msg.set_content("Your order is on its way.\n" + "Tracking: 1Z5R89390357567127\n" * 10)
        msg.add_alternative("<p>Your order is on its way.</p>" * 10, subtype="html")
        messages.append(msg)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as conn:
        for msg in messages:
            conn.send_message(msg)
    return time.perf_counter() - started


def raw_http(url: str, total: int) -> float:
    body = json.dumps({"id": "bench", "type": "shipment.created", "data": {"order_id": 1}}).encode()
    started = time.perf_counter()
    for _ in range(total):
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=15) as response:
            response.read(1024)
    return time.perf_counter() - started


def report(name: str, total: int, elapsed: float, raw_elapsed: float, what: str) -> None:
    rate = total / elapsed
    raw = total / raw_elapsed
    target = TARGETS[name]
    verdict = "ok" if rate >= target else "BELOW TARGET"
    print(
        f"{name}: {total} in {elapsed:.2f} s = {rate:,.0f}/s; raw {what} {raw:,.0f}/s; "
        f"ratio {rate / raw:.2f}; target >= {target:.0f}/s: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--emails", type=int, default=10000)
    parser.add_argument("--webhooks", type=int, default=10000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="colis-bench-notify-"))
    home = work / "home"
    home.mkdir()
    pg_server = pg_url = None
    if args.db == "postgresql":
        pg_server = ingest.pg_server_url()
        if pg_server is None:
            raise SystemExit("postgresql: no server answers")
        pg_url = ingest.pg_create(pg_server, "colis_bench_notify")
    controller, smtp, smtp_port = smtp_start()
    receiver, hits = receiver_start()
    try:
        env = dict(
            os.environ,
            COLIS_HOME=str(home),
            COLIS_SECRET_KEY="bench",
            COLIS_DATABASE_URL=pg_url or f"sqlite:///{home / 'colis.sqlite3'}",
            COLIS_EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        )
        subprocess.run([COLIS, "migrate"], env=env, check=True, capture_output=True)
        django_setup(env)
        order_id, shipment_id = seed_order()
        print(f"{args.db}: data in {work}")

        # Emails.
        enqueue(
            "customer_email",
            args.emails,
            lambda i: {
                "shipment_id": shipment_id,
                "order_id": order_id,
                "template": "shipping_confirmation",
                "to": f"b{i}@example.com",
                "event": "shipment.created",
            },
            order_id,
        )
        elapsed = worker_until(env, work / "worker-emails.log", smtp.count, args.emails)
        sent = smtp.count.value
        raw_elapsed = raw_smtp(smtp_port, args.emails)
        report("emails", args.emails, elapsed, raw_elapsed, "smtplib, one connection")
        if sent > args.emails:
            print(f"  note: the SMTP server received {sent} messages for {args.emails} rows")

        # Webhooks.
        url = f"http://127.0.0.1:{receiver.server_address[1]}/h"
        subscription_add(url)
        enqueue(
            "webhook_event",
            args.webhooks,
            lambda i: {
                "shipment_id": shipment_id,
                "order_id": order_id,
                "event": "shipment.created",
            },
            order_id,
        )
        elapsed = worker_until(env, work / "worker-webhooks.log", hits, args.webhooks)
        hits.reset()
        raw_elapsed = raw_http(url, args.webhooks)
        report("webhooks", args.webhooks, elapsed, raw_elapsed, "urllib POSTs")
        for name in ("worker-emails.log", "worker-webhooks.log"):
            errors = [
                line
                for line in (work / name).read_text(errors="replace").splitlines()
                if "Error" in line or "Traceback" in line or "failed" in line.lower()
            ]
            if errors:
                print(f"  {name}: {len(errors)} error lines, first: {errors[0][:200]}")
    finally:
        if "django.db" in sys.modules and os.environ.get("DJANGO_SETTINGS_MODULE"):
            from django.db import connections

            connections.close_all()
        controller.stop()
        receiver.shutdown()
        if pg_server and pg_url:
            ingest.pg_drop(pg_server, pg_url)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
