"""The three documents as streamed PDFs: packing slips, a pick list, 4x6 in shipping labels.

Each `*_pdf` function loads its orders in chunks and yields the PDF's bytes as pages are drawn.
`progress(done, total)`, when given, is called after each order chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import inch

from colis.documents.layout import (
    BOLD,
    MARGIN,
    MONO,
    REGULAR,
    SlipLayout,
    barcode_draw,
    fit,
    page_size,
    wrap,
)
from colis.documents.logo import PDF_NAME, SlipLogo, slip_logo_load
from colis.documents.markup import markup_parse, markup_render, template_compile
from colis.documents.pdfstream import PageCanvas, PdfStream, pdf_iter
from colis.documents.selectors import (
    CHUNK,
    PickRow,
    label_chunks,
    pick_rows,
    places_load,
    slip_chunks,
)

Progress = Callable[[int, int], None] | None
LABEL_SIZE = (4 * inch, 6 * inch)


def slip_draw(c: PageCanvas, markup: str, logo: SlipLogo | None = None) -> None:
    """One slip; `logo` must have been added to the canvas's stream (see `logo_add`)."""
    elements = markup_parse(markup)
    size = page_size(elements)
    if c._pagesize != size:
        c.setPageSize(size)
    SlipLayout(c, elements, logo).draw()


def logo_add(stream: PdfStream) -> SlipLogo | None:
    """The shop's logo, read once for the run and embedded once in `stream`, if one is set."""
    logo = slip_logo_load()
    if logo is not None:
        stream.image_add(PDF_NAME, logo.image)
    return logo


def packing_slips_pdf(
    order_ids: Sequence[int],
    *,
    source: str,
    location_id: int | None = None,
    group_by: str = "fulfillment_order",
    progress: Progress = None,
) -> Iterator[bytes]:
    """Packing slips for these orders from the template `source` (parsed once for the run)."""
    template = template_compile(source)
    stream = PdfStream(title="Packing slips")

    def pages() -> Iterator[None]:
        places = places_load()
        logo = logo_add(stream)
        c = stream.canvas(A4)
        done = 0
        for contexts in slip_chunks(
            order_ids, places=places, location_id=location_id, group_by=group_by
        ):
            for context in contexts:
                slip_draw(c, markup_render(template, context, source), logo)
                yield
            done = min(len(order_ids), done + CHUNK)
            if progress:
                progress(done, len(order_ids))

    return pdf_iter(pages(), stream)


def context_pdf(context: dict[str, Any], *, source: str) -> bytes:
    """One slip from a context (a preview with sample data)."""
    stream = PdfStream(title="Packing slip")
    logo = logo_add(stream)
    slip_draw(stream.canvas(A4), markup_render(template_compile(source), context, source), logo)
    return stream.take() + stream.finish()


def pick_list_pdf(
    order_ids: Sequence[int], *, location_id: int | None = None, progress: Progress = None
) -> Iterator[bytes]:
    """One pick list for all these orders."""
    stream = PdfStream(title="Pick list")

    def pages() -> Iterator[None]:
        rows = pick_rows(order_ids, places=places_load(), location_id=location_id)
        if progress:
            progress(len(order_ids), len(order_ids))
        _pick_draw(stream.canvas(A4), rows, len(order_ids))
        yield

    return pdf_iter(pages(), stream)


PICK_COLUMNS = (("Location", 80), ("Bin", 60), ("SKU", 95), ("Item", 140), ("Qty", 32))


def _pick_draw(c: PageCanvas, rows: list[PickRow], order_count: int) -> None:
    width, height = A4
    inner = width - 2 * MARGIN
    orders_width = inner - sum(w for _, w in PICK_COLUMNS)
    y = height - MARGIN
    page = 1

    def head(y: float) -> float:
        c.setFont(BOLD, 16)
        c.drawString(MARGIN, y - 16, "Pick list")
        c.setFont(REGULAR, 9)
        units = sum(r.quantity for r in rows)
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        c.drawRightString(
            width - MARGIN, y - 14,
            f"{order_count} orders, {len(rows)} SKUs, {units} units, {stamp}, page {page}",
        )  # fmt: skip
        y -= 34
        c.setFont(BOLD, 9)
        x = MARGIN
        for name, w in (*PICK_COLUMNS, ("Orders", orders_width)):
            c.drawString(x, y - 10, name)
            x += w
        c.setLineWidth(0.5)
        c.line(MARGIN, y - 14, width - MARGIN, y - 14)
        return y - 18

    y = head(y)
    for row in rows:
        orders = wrap(", ".join(f"#{n}" for n in row.orders), REGULAR, 8, orders_width - 6)
        if y - 13 - 10 * min(len(orders) - 1, 3) < MARGIN:
            c.showPage()
            page += 1
            y = head(height - MARGIN)
        x = MARGIN
        cells = (row.location, row.bin, row.sku, row.title, str(row.quantity))
        for (name, w), cell in zip(PICK_COLUMNS, cells, strict=True):
            font = BOLD if name in ("Bin", "Qty") else REGULAR
            c.setFont(font, 9)
            c.drawString(x, y - 10, fit(cell, font, 9, w - 6))
            x += w
        # A SKU going to thousands of orders runs its list of orders onto the next pages.
        for n, text in enumerate(orders or [""]):
            if n and y - 10 < MARGIN:
                c.showPage()
                page += 1
                y = head(height - MARGIN)
                c.setFont(REGULAR, 9)
                c.drawString(MARGIN, y - 10, fit(f"{row.sku} (continued)", REGULAR, 9, x - MARGIN))
            c.setFont(REGULAR, 8)
            c.drawString(x, y - 10, text)
            y -= 10
        y -= 6
    c.showPage()


def labels_pdf(
    order_ids: Sequence[int], *, location_id: int | None = None, progress: Progress = None
) -> Iterator[bytes]:
    """A generic 4x6 in label per tracking number of the orders' shipments."""
    stream = PdfStream(title="Shipping labels")

    def pages() -> Iterator[None]:
        c = stream.canvas(LABEL_SIZE)
        done = 0
        for labels in label_chunks(order_ids, places=places_load(), location_id=location_id):
            for label in labels:
                label_draw(c, label)
                yield
            done = min(len(order_ids), done + CHUNK)
            if progress:
                progress(done, len(order_ids))

    return pdf_iter(pages(), stream)


def label_draw(c: PageCanvas, label: dict[str, Any]) -> None:
    width, height = LABEL_SIZE
    m = 14.0
    inner = width - 2 * m
    c.setLineWidth(1)
    c.rect(m / 2, m / 2, width - m, height - m)
    y = height - m
    c.setFont(BOLD, 7)
    c.drawString(m, y - 8, "FROM")
    c.setFont(REGULAR, 8)
    for n, text in enumerate(label["ship_from"][:6]):
        c.drawString(m, y - 18 - 9 * n, fit(text, REGULAR, 8, inner))
    y -= 18 + 9 * 6
    c.line(m / 2, y, width - m / 2, y)
    c.setFont(BOLD, 9)
    c.drawString(m, y - 14, "SHIP TO")
    for n, text in enumerate(label["ship_to"][:7]):
        font, size = (BOLD, 13) if n == 0 else (REGULAR, 12)
        c.setFont(font, size)
        c.drawString(m + 8, y - 32 - 15 * n, fit(text, font, size, inner - 8))
    y -= 32 + 15 * 7
    c.line(m / 2, y, width - m / 2, y)
    c.setFont(BOLD, 12)
    c.drawString(m, y - 16, fit(label["carrier"] or "Carrier", BOLD, 12, inner / 2))
    c.setFont(REGULAR, 10)
    c.drawRightString(width - m, y - 16, fit(label["service"], REGULAR, 10, inner / 2))
    c.drawString(m, y - 30, f"Weight: {label['weight'] or '-'}")
    c.drawRightString(width - m, y - 30, f"Order #{label['order_number']}")
    y -= 40
    c.line(m / 2, y, width - m / 2, y)
    tracking = label["tracking_number"]
    if tracking:
        c.setFont(BOLD, 8)
        c.drawString(m, y - 12, "TRACKING NUMBER")
        barcode_draw(c, tracking, width - m, y - 22, width=inner)
    else:
        c.setFont(BOLD, 10)
        c.drawString(m, y - 16, "No tracking number")
    c.setFont(MONO, 7)
    c.drawString(m, m, f"Shipment {label['shipment_id']}")
    c.showPage()
