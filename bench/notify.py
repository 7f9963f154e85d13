"""Notification benchmark: buyer emails/s and webhooks/s through one `colis worker`.

In a fresh data folder, creates N paid orders and ships each through the services (one
shipment with a tracking number, "notify the customer" on), which queues N shipping
confirmations and N `shipment.created` webhook events in the outbox (with the orders' own
`order.*` events), as in production. Then starts one `colis worker` and times it until a local
SMTP server (aiosmtpd, counting messages) has received all N emails; then subscribes a local
HTTP receiver (answering 204, keep-alive) to `shipment.created`, lets those events come due
(the `order.*` events stay aside) and times the worker again until the receiver has had all N
deliveries (each event fans out into one delivery). In the same run, the raw limits,
each from a separate client process like the worker: N prebuilt messages over one smtplib
connection to the same SMTP server, and N POSTs over one kept-alive connection to the same
receiver. Prints the rates, the ratios to the raw limits and the targets.

    python bench/notify.py [--count 10000] [--db sqlite|postgresql] [--keep]

PostgreSQL: $COLIS_BENCH_PG_URL (a server URL; a database is created in it), else
postgresql://postgres@127.0.0.1:5432/postgres when it answers.
"""

from __future__ import annotations

import argparse
import email.policy
import http.client
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
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).parent))
import ingest  # noqa: E402

TARGETS = {"emails": 300.0, "webhooks": 500.0}
TIMEOUT_SECONDS = 600.0
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
        protocol_version = "HTTP/1.1"  # keep-alive, as most receivers

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


def seed_shipments(total: int) -> None:
    """N paid orders, each shipped with a tracking number and the buyer notified: the outbox
    then holds N shipping confirmations and N webhook events."""
    from decimal import Decimal

    from django.db import connection

    from colis.catalog.services import ProductData, product_create
    from colis.core.actor import Actor
    from colis.fulfillment.shipments import ShipmentDraft, shipment_create
    from colis.inventory.services import inventory_adjust
    from colis.locations.services import LocationData, location_create
    from colis.orders.drafts import LineDraft, OrderDraft
    from colis.orders.services import orders_create

    actor = Actor.system("bench")
    location = location_create(
        data=LocationData(name="Bench", address=dict(ingest.ADDRESS, phone="")), actor=actor
    )
    product = product_create(data=ProductData(sku="N-1", title="Bench tee"), actor=actor)
    inventory_adjust(
        product_id=product.pk,
        location_id=location.pk,
        reason="received",
        delta=total + 10,
        actor=actor,
    )
    order_ids: list[int] = []
    for start in range(0, total, 500):
        drafts = [
            OrderDraft(
                email=f"buyer{i}@example.com",
                channel="api",
                external_id=f"bench-{i}",
                shipping_address=dict(ingest.ADDRESS),
                currency="EUR",
                financial_status="paid",
                lines=(LineDraft(sku="N-1", quantity=1, unit_price=Decimal("12.50")),),
            )
            for i in range(start, min(start + 500, total))
        ]
        order_ids += [r.order_id for r in orders_create(drafts=drafts, actor=actor)]
    for order_id in order_ids:
        shipment_create(
            order_id=order_id,
            draft=ShipmentDraft(carrier="ups", tracking_numbers=["1Z5R89390357567127"]),
            actor=actor,
        )
    connection.close()


def _pending(kind: str, event: str | None) -> Any:
    from colis.core.models import OutboxMessage

    rows = OutboxMessage.objects.filter(kind=kind, status="pending")
    return rows.filter(payload__event=event) if event else rows


def outbox_count(kind: str, event: str | None = None) -> int:
    return _pending(kind, event).count()


def outbox_delay(kind: str, seconds: float, event: str | None = None) -> None:
    """Make the pending rows of `kind` (of one event) due in `seconds`, so each phase times
    one kind."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    _pending(kind, event).update(next_attempt_at=timezone.now() + timedelta(seconds=seconds))
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
    """Seconds to send `total` prebuilt messages over one smtplib connection (run this in its
    own process: the server's process would share its interpreter lock)."""
    messages = []
    for i in range(total):
        msg = EmailMessage()
        msg["From"] = "Shop <shop@example.com>"
        msg["To"] = f"b{i}@example.com"
        msg["Subject"] = "Your order has shipped"
        msg.set_content("Your order is on its way.\n" + "Tracking: 1Z5R89390357567127\n" * 10)
        msg.add_alternative("<p>Your order is on its way.</p>" * 10, subtype="html")
        messages.append((f"b{i}@example.com", msg.as_bytes(policy=email.policy.SMTP)))
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as conn:
        for to, data in messages:
            conn.sendmail("shop@example.com", [to], data)
    return time.perf_counter() - started


def raw_http(url: str, total: int) -> float:
    """Seconds for `total` POSTs over one kept-alive connection (in its own process too)."""
    parts = urlsplit(url)
    body = json.dumps({"id": "bench", "type": "shipment.created", "data": {"order_id": 1}}).encode()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    started = time.perf_counter()
    for _ in range(total):
        conn.request("POST", parts.path, body=body, headers={"Content-Type": "application/json"})
        conn.getresponse().read()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def raw_in_process(kind: str, target: str, total: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, f"--raw-{kind}", target, str(total)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip())


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
    parser.add_argument("--count", type=int, default=10000, help="shipments, so emails and events")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    parser.add_argument("--raw-smtp", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--raw-http", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_smtp:
        print(raw_smtp(int(args.raw_smtp[0]), int(args.raw_smtp[1])))
        return
    if args.raw_http:
        print(raw_http(args.raw_http[0], int(args.raw_http[1])))
        return

    total = args.count
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
        started = time.perf_counter()
        seed_shipments(total)
        queued = (
            outbox_count("customer_email"),
            outbox_count("webhook_event", "shipment.created"),
            outbox_count("webhook_event"),
        )
        print(
            f"{args.db}: {total} orders shipped in {time.perf_counter() - started:.0f} s, "
            f"queued {queued[0]} emails and {queued[1]} shipment.created events (of "
            f"{queued[2]} webhook events: the order events wait); data in {work}"
        )

        # Emails (the events wait).
        outbox_delay("webhook_event", 86400)
        elapsed = worker_until(env, work / "worker-emails.log", smtp.count, total)
        sent = smtp.count.value
        raw_elapsed = raw_in_process("smtp", str(smtp_port), total)
        report("emails", total, elapsed, raw_elapsed, "smtplib, one connection")
        if sent > total:
            print(f"  note: the SMTP server received {sent} messages for {total} rows")

        # Webhooks.
        url = f"http://127.0.0.1:{receiver.server_address[1]}/h"
        subscription_add(url)
        outbox_delay("webhook_event", 0, event="shipment.created")
        elapsed = worker_until(env, work / "worker-webhooks.log", hits, total)
        hits.reset()
        raw_elapsed = raw_in_process("http", url, total)
        report("webhooks", total, elapsed, raw_elapsed, "POSTs, one kept-alive connection")
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
