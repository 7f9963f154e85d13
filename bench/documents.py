"""Documents benchmark: packing slips per second through the HTTP API against the raw limit,
and the memory a 10,000-order PDF takes.

Starts `colis serve` in a fresh data folder (SQLite, or PostgreSQL with --db postgresql), creates
N paid orders of two lines through POST /api/v1/orders/bulk (500 per call), then asks for the
packing slips of the first 1,000 orders as one PDF (POST /api/v1/documents/packing-slips, timed
end to end: request, queries, drawing, transfer) and of all N, while sampling the RSS of the
serving process group. In the same run it draws the same slips from in-memory data (the same
template, layout and PDF writer, no database, no HTTP) in this process: the raw limit, with its
peak Python memory (tracemalloc) for N slips.

    python bench/documents.py [--orders 10000] [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from ingest import (  # noqa: E402
    ADDRESS,
    Server,
    api_setup,
    bench_bulk,
    pg_create,
    pg_drop,
    pg_server_url,
)

TARGET_PAGES_PER_S = 330
TARGET_PEAK_MB = 400


def order_ids(client: Any, total: int) -> list[int]:
    """The ids of the orders, oldest first, read through the list endpoint."""
    import http.client

    ids: list[int] = []
    cursor = ""
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=60)
        path = "/api/v1/orders?limit=250" + (f"&cursor={cursor}" if cursor else "")
        conn.request("GET", path, headers={"Authorization": f"Bearer {client.token}"})
        page = json.loads(conn.getresponse().read())
        ids.extend(o["id"] for o in page["items"])
        cursor = page.get("next_cursor") or ""
        if not cursor or len(ids) >= total:
            return sorted(ids)[:total]


class ProcessPeak:
    """The largest RSS any one process of the server's group reaches while it runs (the web
    process serving the PDF), sampled every 50 ms."""

    def __init__(self, group: int) -> None:
        import threading

        self.group, self.peak = group, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def rss(self) -> dict[int, int]:
        out = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.getpgid(int(pid)) != self.group:
                    continue
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out[int(pid)] = int(line.split()[1]) * 1024
            except (OSError, ProcessLookupError):
                continue
        return out

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max([self.peak, *self.rss().values()])
            self._stop.wait(0.05)

    def __enter__(self) -> ProcessPeak:
        self.before = max(self.rss().values())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def slips(client: Any, ids: list[int]) -> tuple[float, int, bytes]:
    """(seconds, pages, pdf) for one POST of these orders' packing slips."""
    import pypdf

    body = json.dumps({"order_ids": ids}).encode()
    start = time.perf_counter()
    status, pdf = client.post("/api/v1/documents/packing-slips", body)
    elapsed = time.perf_counter() - start
    if status != 200 or pdf[:5] != b"%PDF-":
        raise SystemExit(f"packing slips failed: {status} {pdf[:300]!r}")
    return elapsed, len(pypdf.PdfReader(io.BytesIO(pdf)).pages), pdf


def raw_contexts(total: int) -> list[dict[str, Any]]:
    lines = ["Jeanne Martin", ADDRESS["line1"], "75002 Paris", "FR"]
    shop = {"name": "My shop", "address_lines": lines[1:]}
    return [
        {
            "shop": shop,
            "order": {
                "id": i, "number": str(1001 + i), "date": "2026-11-27", "email": "b@example.com",
                "phone": "", "buyer_name": "Jeanne Martin", "shipping_method": "", "note": "",
                "tags": [], "shipping_address": ADDRESS, "shipping_address_lines": lines,
            },
            "fulfillment_order": {"id": i, "location": "Bench WH"},
            "items": [
                {"sku": f"BENCH-{i % 20:03d}", "title": f"Bench BENCH-{i % 20:03d}",
                 "quantity": 1 + i % 3, "ordered": 1 + i % 3, "bin": ""},
                {"sku": f"BENCH-{(i + 7) % 20:03d}", "title": f"Bench BENCH-{(i + 7) % 20:03d}",
                 "quantity": 1, "ordered": 1, "bin": ""},
            ],
            "total_quantity": 2 + i % 3,
        }
        for i in range(total)
    ]  # fmt: skip


def raw_limit(total: int) -> tuple[float, float]:
    """(pages/s for 1,000 slips, peak MB traced for `total`) drawn from memory."""
    from reportlab.lib.pagesizes import A4

    from colis.documents.markup import PACKING_SLIP_DEFAULT, markup_render, template_compile
    from colis.documents.pdfstream import PdfStream, pdf_iter
    from colis.documents.render import slip_draw

    def draw(contexts: list[dict[str, Any]]) -> int:
        template = template_compile(PACKING_SLIP_DEFAULT)
        stream = PdfStream(title="raw")

        def pages() -> Any:
            c = stream.canvas(A4)
            for context in contexts:
                slip_draw(c, markup_render(template, context))
                yield

        size = 0
        for piece in pdf_iter(pages(), stream):
            size += len(piece)  # written out, as a response would be
        return stream.page_count

    draw(raw_contexts(50))  # fonts and caches loaded, as in a warm server
    contexts = raw_contexts(1000)
    start = time.perf_counter()
    pages = draw(contexts)
    rate = pages / (time.perf_counter() - start)
    contexts = raw_contexts(total)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    draw(contexts)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return rate, peak / 2**20


def run(vendor: str, total: int) -> dict[str, float] | None:
    pg_server = pg_server_url() if vendor == "postgresql" else None
    if vendor == "postgresql" and pg_server is None:
        print("postgresql: no server answers; skipped")
        return None
    work = Path(tempfile.mkdtemp(prefix=f"colis-bench-docs-{vendor}-"))
    env = dict(os.environ, COLIS_LOG_LEVEL="WARNING")
    env.pop("COLIS_DATABASE_URL", None)
    created: list[str] = []
    try:
        if vendor == "postgresql":
            assert pg_server is not None
            env["COLIS_DATABASE_URL"] = pg_create(pg_server, "bench_docs")
            created.append(env["COLIS_DATABASE_URL"])
        home = work / "home"
        server = Server(home, env, 2, 4)
        try:
            client = api_setup(dict(env, COLIS_HOME=str(home)), server)
            bench_bulk(client, total, 500, uuid.uuid4().hex[:6])
            ids = order_ids(client, total)
            slips(client, ids[:50])  # warm the worker processes
            seconds, pages, _ = slips(client, ids[:1000])
            with ProcessPeak(server.proc.pid) as memory:
                big_seconds, big_pages, pdf = slips(client, ids)
            before, peak = memory.before, memory.peak
        finally:
            server.stop()
        # In a fresh process of its own, so nothing of the client side weighs on it.
        raw = subprocess.run(
            [sys.executable, __file__, "--raw", str(total)],
            env=dict(env, COLIS_HOME=str(home), COLIS_SECRET_KEY="bench"),
            check=True,
            capture_output=True,
            text=True,
        )
        raw_rate, raw_peak = json.loads(raw.stdout.strip().splitlines()[-1])
    finally:
        if pg_server:
            for url in created:
                pg_drop(pg_server, url)
        shutil.rmtree(work, ignore_errors=True)
    return {
        "pages": pages,
        "rate": pages / seconds,
        "seconds": seconds,
        "big_pages": big_pages,
        "big_rate": big_pages / big_seconds,
        "big_mb": len(pdf) / 2**20,
        "before_mb": before / 2**20,
        "peak_mb": peak / 2**20,
        "raw_rate": raw_rate,
        "raw_peak_mb": raw_peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--raw", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "colis.settings")
        import django

        django.setup()
        print(json.dumps(raw_limit(args.raw)))
        return
    print(
        f"colis documents benchmark: {args.orders} orders of 2 lines, one A4 slip each ({args.db})"
    )
    f = run(args.db, args.orders)
    if f is None:
        return
    print(f"  raw limit (same drawing, in memory)  {f['raw_rate']:7.0f} pages/s")
    print(
        f"  API, 1,000 slips in one PDF          {f['rate']:7.0f} pages/s "
        f"({f['pages']} pages in {f['seconds']:.2f} s) = {f['rate'] / f['raw_rate']:5.1%} of raw "
        f"(target {TARGET_PAGES_PER_S})"
    )
    print(
        f"  API, {f['big_pages']:,} slips in one PDF        {f['big_rate']:7.0f} pages/s "
        f"({f['big_mb']:.1f} MB of PDF)"
    )
    print(
        f"  largest server process RSS: {f['before_mb']:.0f} MB before, peak {f['peak_mb']:.0f} MB "
        f"during the {f['big_pages']:,}-page PDF (target < {TARGET_PEAK_MB} MB); "
        f"raw drawing of it traced {f['raw_peak_mb']:.1f} MB"
    )


if __name__ == "__main__":
    main()
