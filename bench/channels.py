"""Channels benchmark: orders/s imported from the Amazon emulator, pushes/s to the eBay emulator,
and the client's rate against Amazon's published limits.

Import: a `colis emulate amazon --no-limits` process serves N orders (two SKUs each on average);
a channel with its limits off imports them all (`channel_import`: pages of 100, the checks,
bulk creation), timed end to end in this process. The raw limit is the same number of two-line
orders written straight into a second database with executemany (bench/ingest.py's rows).

Push: a `colis emulate ebay --no-limits` process holds N orders; Colis imports them (not
timed), ships each through the services (not timed), then one `colis worker` is timed until the
emulator holds N shipping fulfillments. The raw limit is N createShippingFulfillment calls over
one kept-alive connection from a separate process.

Limits: the Amazon emulator with its limits on and a channel with the published limits; an
import and a burst of confirmShipment pushes. Every call the emulator saw is replayed through
the published token bucket (rate, burst): the client must never have called before a token was
there.

    python bench/channels.py [--count 10000] [--db sqlite|postgresql]
                             [--part all|import|push|limits]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import fulfill  # noqa: E402
import ingest  # noqa: E402

TARGETS = {"import": 1000.0, "push": 300.0}
COLIS = shutil.which("colis", path=str(Path(sys.executable).parent)) or "colis"
SKUS = ["BENCH-A", "BENCH-B", "BENCH-C", "BENCH-D"]


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "colis.settings"
    import django

    django.setup()


def emulator_start(vendor: str, work: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    port = ingest.free_port()
    log = open(work / f"emulator-{vendor}.log", "ab")  # noqa: SIM115 - lives with the process
    proc = subprocess.Popen(
        [COLIS, "emulate", vendor, "--port", str(port), *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            control(url, "GET", "state")
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the {vendor} emulator did not start; see {log.name}")


def control(url: str, method: str, what: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{url}/_emulator/{what}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else None


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def stock_setup(units: int) -> None:
    from colis.catalog.services import ProductData, product_create
    from colis.core.actor import Actor
    from colis.inventory.services import inventory_adjust
    from colis.locations.services import LocationData, location_create
    from colis.shipping.services import carriers_seed

    actor = Actor.system("bench")
    carriers_seed(actor=actor)
    location = location_create(
        data=LocationData(name="Bench", address=dict(ingest.ADDRESS, phone="")), actor=actor
    )
    for sku in SKUS:
        product = product_create(data=ProductData(sku=sku, title=f"Bench {sku}"), actor=actor)
        inventory_adjust(product_id=product.pk, location_id=location.pk, reason="received",
                         delta=units, actor=actor)  # fmt: skip


def channel_for(vendor: str, link: dict[str, Any], *, limits: str) -> Any:
    from colis.channels.services import channel_create
    from colis.core.actor import Actor

    return channel_create(
        kind=vendor,
        name=f"Bench {vendor} {limits}",
        credentials=link["credentials"],
        settings=link["settings"],
        options={"import_start": datetime(2020, 1, 1, tzinfo=UTC), "rate_limits": limits},
        actor=Actor.system("bench"),
    )


def amazon_link(url: str) -> dict[str, Any]:
    from colis.emulators.amazon import CREDENTIALS, MARKETPLACE_ID, TOKEN_PATH

    return {
        "credentials": dict(CREDENTIALS),
        "settings": {"api_base_url": url, "token_url": url + TOKEN_PATH,
                     "marketplace_id": MARKETPLACE_ID},
    }  # fmt: skip


def ebay_link(url: str) -> dict[str, Any]:
    from colis.emulators.ebay import EbayEmulator

    return EbayEmulator(limits=False).connection(url)


def report(name: str, total: int, elapsed: float, raw_rate: float, what: str) -> None:
    rate = total / elapsed
    target = TARGETS[name]
    print(
        f"{name}: {total} in {elapsed:.2f} s = {rate:,.0f}/s; raw {what} {raw_rate:,.0f}/s; "
        f"ratio {rate / raw_rate:.2f}; target >= {target:,.0f}/s: "
        + ("ok" if rate >= target else "MISSED")
    )


def part_import(vendor: str, total: int, work: Path, env: dict[str, str], pg: str | None) -> None:
    from django.db import connection

    from colis.channels.importing import channel_import
    from colis.orders.models import Order

    proc, url = emulator_start("amazon", work, "--no-limits")
    try:
        started = time.perf_counter()
        for start in range(0, total, 2000):
            control(url, "POST", "orders", {"count": min(2000, total - start), "skus": SKUS})
        seeded = time.perf_counter() - started
        channel = channel_for("amazon", amazon_link(url), limits="off")
        connection.close()
        started = time.perf_counter()
        summary = channel_import(channel_id=channel.pk)
        elapsed = time.perf_counter() - started
        created = Order.objects.filter(channel_record_id=channel.pk).count()
        print(f"import: emulator seeded {total} orders in {seeded:.1f} s; imported "
              f"{summary.imported}, pending {summary.pending}, ignored {summary.ignored}, "
              f"errors {len(summary.errors)}; {created} orders in Colis")  # fmt: skip
    finally:
        stop(proc)
    # The raw database lives in its own folder (its URL comes from there on SQLite).
    raw_env = {k: v for k, v in env.items() if k != "COLIS_DATABASE_URL"}
    raw_target = ingest.raw_database(vendor, work, raw_env, pg)
    raw_rate = ingest.raw_limit(vendor, raw_target, total, "bench-raw")
    report("import", created, elapsed, raw_rate, "two-line orders via executemany")


def _ebay_ship_all(channel_id: int) -> int:
    from django.db import connection

    from colis.core.actor import Actor
    from colis.fulfillment.shipments import ShipmentDraft, shipment_create
    from colis.orders.models import Order

    actor = Actor.system("bench")
    ids = list(Order.objects.filter(channel_record_id=channel_id).values_list("pk", flat=True))
    for i, order_id in enumerate(ids):
        shipment_create(
            order_id=order_id,
            draft=ShipmentDraft(carrier="ups", tracking_numbers=[fulfill.ups_number(i)]),
            actor=actor,
        )
    connection.close()
    return len(ids)


def worker_until(env: dict[str, str], log: Path, url: str, total: int) -> float:
    with open(log, "ab") as out:
        started = time.perf_counter()
        proc = subprocess.Popen([COLIS, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
        try:
            while True:
                done = sum(len(v) for v in control(url, "GET", "state")["fulfillments"].values())
                if done >= total:
                    break
                if time.perf_counter() - started > 900:
                    raise SystemExit(f"timeout: {done}/{total}")
                if proc.poll() is not None:
                    raise SystemExit(f"the worker exited with {proc.returncode}; see {log}")
                time.sleep(0.05)
            return time.perf_counter() - started
        finally:
            stop(proc)


def raw_push(url: str, total: int) -> float:
    """Seconds for `total` createShippingFulfillment calls over one kept-alive connection (the
    token and each order's line items are fetched before the clock starts)."""
    import base64
    import http.client
    from urllib.parse import urlencode, urlsplit

    from colis.channels.connectors.ebay.client import SCOPE
    from colis.emulators.ebay import CREDENTIALS, TOKEN_PATH

    ids = control(url, "POST", "orders", {"count": total, "skus": SKUS})["ids"]
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    basic = base64.b64encode(
        f"{CREDENTIALS['client_id']}:{CREDENTIALS['client_secret']}".encode()
    ).decode()
    form = urlencode({"grant_type": "refresh_token", "scope": SCOPE,
                      "refresh_token": CREDENTIALS["refresh_token"]})  # fmt: skip
    conn.request("POST", TOKEN_PATH, body=form, headers={
        "Authorization": f"Basic {basic}",
        "Content-Type": "application/x-www-form-urlencoded",
    })  # fmt: skip
    token = json.loads(conn.getresponse().read())["access_token"]
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = []
    for i, order_id in enumerate(ids):
        conn.request("GET", f"/sell/fulfillment/v1/order/{order_id}", headers=auth)
        order = json.loads(conn.getresponse().read())
        items = [{"lineItemId": li["lineItemId"], "quantity": li["quantity"]}
                 for li in order["lineItems"]]  # fmt: skip
        body = {"lineItems": items, "shippingCarrierCode": "UPS",
                "trackingNumber": fulfill.ups_number(i),
                "shippedDate": "2026-11-27T10:00:00.000Z"}  # fmt: skip
        bodies.append((order_id, json.dumps(body)))
    started = time.perf_counter()
    for order_id, body in bodies:
        conn.request("POST", f"/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment",
                     body=body, headers=auth)  # fmt: skip
        answer = conn.getresponse()
        answer.read()
        if answer.status != 201:
            raise SystemExit(f"raw push refused: HTTP {answer.status}")
    return time.perf_counter() - started


def part_push(total: int, work: Path, env: dict[str, str]) -> None:
    from colis.channels.importing import channel_import

    proc, url = emulator_start("ebay", work, "--no-limits")
    try:
        for start in range(0, total, 2000):
            control(url, "POST", "orders", {"count": min(2000, total - start), "skus": SKUS})
        channel = channel_for("ebay", ebay_link(url), limits="off")
        started = time.perf_counter()
        channel_import(channel_id=channel.pk)
        shipped = _ebay_ship_all(channel.pk)
        print(f"push: {shipped} eBay orders imported and shipped in "
              f"{time.perf_counter() - started:.0f} s (not timed)")  # fmt: skip
        elapsed = worker_until(env, work / "worker-push.log", url, shipped)
    finally:
        stop(proc)
    proc, url = emulator_start("ebay", work, "--no-limits")
    try:
        out = subprocess.run([sys.executable, __file__, "--raw-push", url, str(shipped)],
                             check=True, capture_output=True, text=True)  # fmt: skip
        raw_rate = shipped / float(out.stdout.strip())
    finally:
        stop(proc)
    report("push", shipped, elapsed, raw_rate, "createShippingFulfillment, one connection")


def replay(times: list[float], rate: float, burst: int) -> tuple[int, float]:
    """Calls made before the published bucket had a token, and the smallest token count seen."""
    tokens, last, early, lowest = float(burst), None, 0, float(burst)
    for t in sorted(times):
        if last is not None:
            tokens = min(float(burst), tokens + (t - last) * rate)
        last = t
        tokens -= 1
        lowest = min(lowest, tokens)
        if tokens < -1e-6:
            early += 1
    return early, lowest


def part_limits(work: Path, env: dict[str, str]) -> None:
    from django.db import connection

    from colis.channels.connectors.amazon.connector import AmazonConnector
    from colis.channels.importing import channel_import
    from colis.orders.models import Order

    proc, url = emulator_start("amazon", work)
    try:
        control(url, "POST", "orders", {"count": 250, "skus": SKUS})
        channel = channel_for("amazon", amazon_link(url), limits="published")
        channel_import(channel_id=channel.pk)
        from colis.core.actor import Actor
        from colis.fulfillment.shipments import ShipmentDraft, shipment_create

        ids = list(Order.objects.filter(channel_record_id=channel.pk)
                   .values_list("pk", flat=True)[:40])  # fmt: skip
        for i, order_id in enumerate(ids):
            draft = ShipmentDraft(carrier="ups", tracking_numbers=[fulfill.ups_number(i)])
            shipment_create(order_id=order_id, actor=Actor.system("bench"), draft=draft)
        connection.close()
        started = time.perf_counter()
        with open(work / "worker-limits.log", "ab") as out:
            worker = subprocess.Popen([COLIS, "worker"], env=env, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
            try:
                while True:
                    state = control(url, "GET", "state")
                    done = sum(len(v) for v in state["fulfillments"].values())
                    if done >= len(ids) or time.perf_counter() - started > 120:
                        break
                    time.sleep(0.2)
            finally:
                stop(worker)
        state = control(url, "GET", "state")
    finally:
        stop(proc)
    for operation, (rate, burst) in AmazonConnector.rate_limits.items():
        times = state["call_times"].get(operation, [])
        if not times:
            continue
        early, lowest = replay(times, rate, burst)
        span = max(times) - min(times)
        print(f"limits: {operation}: {len(times)} calls over {span:.1f} s; published "
              f"{rate}/s burst {burst}; calls before a token was there: {early} "
              f"({'ok' if early == 0 else 'EXCEEDED'})")  # fmt: skip
    print(f"limits: contract violations seen by the emulator: {len(state['violations'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--part", choices=["all", "import", "push", "limits"], default="all")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--raw-push", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_push:
        print(raw_push(args.raw_push[0], int(args.raw_push[1])))
        return
    work = Path(tempfile.mkdtemp(prefix="colis-bench-channels-"))
    home = work / "home"
    home.mkdir()
    pg_server = pg_url = None
    if args.db == "postgresql":
        pg_server = ingest.pg_server_url()
        if pg_server is None:
            raise SystemExit("postgresql: no server answers")
        pg_url = ingest.pg_create(pg_server, "colis_bench_channels")
    try:
        env = dict(
            os.environ,
            COLIS_HOME=str(home),
            COLIS_SECRET_KEY="bench",
            COLIS_DATABASE_URL=pg_url or f"sqlite:///{home / 'colis.sqlite3'}",
        )
        subprocess.run([COLIS, "migrate"], env=env, check=True, capture_output=True)
        django_setup(env)
        stock_setup(units=args.count * 10)
        if args.part in ("all", "import"):
            part_import(args.db, args.count, work, env, pg_server)
        if args.part in ("all", "push"):
            part_push(args.count, work, env)
        if args.part in ("all", "limits"):
            part_limits(work, env)
    finally:
        if "django.db" in sys.modules and os.environ.get("DJANGO_SETTINGS_MODULE"):
            from django.db import connections

            connections.close_all()
        if pg_server and pg_url:
            ingest.pg_drop(pg_server, pg_url)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
