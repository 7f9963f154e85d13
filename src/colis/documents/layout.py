"""Laying out a packing slip's markup elements on a PDF canvas."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from colis.documents.logo import PDF_NAME, SlipLogo
from colis.documents.markup import Element
from colis.documents.pdfstream import PageCanvas

PAGE_SIZES = {"a4": A4, "letter": LETTER}
MARGIN = 36.0
REGULAR, BOLD, ITALIC, MONO = "Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Courier"


def fit(text: str, font: str, size: float, width: float) -> str:
    """The text, cut with an ellipsis to fit `width`."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[: max(0, len(text) - max(1, len(text) // 8))]
    return text + "…"


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if stringWidth(candidate, font, size) <= width:
            current = candidate
        else:
            if current:
                lines.append(current)
            current = fit(word, font, size, width)
    if current:
        lines.append(current)
    return lines


def barcode_draw(c: Canvas, value: str, right: float, top: float, width: float = 200) -> float:
    """A Code 128 of `value` right-aligned at `right`, its text under it; returns its height."""
    try:
        bar_width = 1.2
        code = Code128(value, barHeight=38, barWidth=bar_width, quiet=True, humanReadable=False)
        if code.width > width:
            code = Code128(value, barHeight=38, barWidth=bar_width * width / code.width,
                           quiet=True, humanReadable=False)  # fmt: skip
        code.drawOn(c, right - code.width, top - 38)
        left = right - code.width
    except (ValueError, KeyError, TypeError):
        # A value Code 128 cannot carry is printed as text only.
        left = right - width
    c.setFont(MONO, 9)
    c.drawCentredString(left + (right - left) / 2, top - 50, value)
    return 52


class SlipLayout:
    """Draws one slip's elements, flowing onto further pages when they run out of room."""

    def __init__(
        self, c: PageCanvas, elements: Sequence[Element], logo: SlipLogo | None = None
    ) -> None:
        self.c = c
        self.elements = elements
        self.logo = logo
        self.width, self.height = c._pagesize
        self.footers = [e.text for e in elements if e.kind == "footer"]
        self.bottom = MARGIN + 14 * len(self.footers)
        self.y = self.height - MARGIN
        self.table: tuple[list[str], list[float]] | None = None

    def draw(self) -> None:
        barcodes = [e.text for e in self.elements if e.kind == "barcode"]
        if barcodes:
            barcode_draw(self.c, barcodes[0], self.width - MARGIN, self.y)
        if self.logo is not None:
            logo = self.logo
            self.c.image_draw(PDF_NAME, MARGIN, self.y - logo.height, logo.width, logo.height)
            self.y -= logo.height + 10
        i, elements = 0, self.elements
        while i < len(elements):
            e = elements[i]
            if e.kind in ("from", "to"):
                j = i
                while j < len(elements) and elements[j].kind in ("from", "to"):
                    j += 1
                self._blocks(elements[i:j])
                i = j
                continue
            if e.kind == "table":
                j = i + 1
                while j < len(elements) and elements[j].kind == "row":
                    j += 1
                self._table(e.parts, [r.parts for r in elements[i + 1 : j]])
                i = j
                continue
            self._one(e)
            i += 1
        self._footer()
        self.c.showPage()

    def _room(self, needed: float) -> None:
        if self.y - needed >= self.bottom:
            return
        self._footer()
        self.c.showPage()
        self.y = self.height - MARGIN
        if self.table is not None:
            self._table_head(*self.table)

    def _footer(self) -> None:
        c = self.c
        c.setFont(ITALIC, 9)
        y = MARGIN
        for text in reversed(self.footers):
            c.drawCentredString(self.width / 2, y, fit(text, ITALIC, 9, self.width - 2 * MARGIN))
            y += 14

    def _one(self, e: Element) -> None:
        c, inner = self.c, self.width - 2 * MARGIN
        if e.kind == "title":
            self._room(26)
            c.setFont(BOLD, 18)
            c.drawString(MARGIN, self.y - 18, fit(e.text, BOLD, 18, inner - 210))
            self.y -= 30
        elif e.kind == "field":
            self._room(14)
            c.setFont(BOLD, 9)
            c.drawString(MARGIN, self.y - 10, fit(e.parts[0], BOLD, 9, 100))
            c.setFont(REGULAR, 10)
            value = " | ".join(e.parts[1:])
            c.drawString(MARGIN + 105, self.y - 10, fit(value, REGULAR, 10, inner - 105))
            self.y -= 14
        elif e.kind in ("heading", "text", "small"):
            font, size = {"heading": (BOLD, 11), "text": (REGULAR, 10), "small": (REGULAR, 8)}[
                e.kind
            ]
            if e.kind == "heading":
                self.y -= 4
            c.setFont(font, size)
            for line in wrap(e.text, font, size, inner):
                self._room(size + 4)
                c.setFont(font, size)
                c.drawString(MARGIN, self.y - size, line)
                self.y -= size + 4
        elif e.kind == "rule":
            self._room(10)
            c.setLineWidth(0.5)
            c.line(MARGIN, self.y - 5, self.width - MARGIN, self.y - 5)
            self.y -= 10
        elif e.kind == "space":
            self.y -= 10

    def _blocks(self, elements: Sequence[Element]) -> None:
        left = [e.text for e in elements if e.kind == "from"]
        right = [e.text for e in elements if e.kind == "to"]
        rows = max(len(left), len(right))
        self._room(13 * rows)
        half = (self.width - 2 * MARGIN) / 2
        for x, lines in ((MARGIN, left), (MARGIN + half, right)):
            for n, text in enumerate(lines):
                font = BOLD if n == 0 else REGULAR
                self.c.setFont(font, 10)
                self.c.drawString(x, self.y - 10 - 13 * n, fit(text, font, 10, half - 12))
        self.y -= 13 * rows + 4

    def _table(self, head: Sequence[str], rows: list[tuple[str, ...]]) -> None:
        count = len(head)
        natural = [stringWidth(h, BOLD, 9) for h in head]
        for row in rows:
            for n, cell in enumerate(row[:count]):
                natural[n] = max(natural[n], stringWidth(cell, REGULAR, 9))
        widths = [w + 12 for w in natural]
        inner = self.width - 2 * MARGIN
        # The widest column (the title, usually) takes the room left, or gives up what does not
        # fit.
        widest = max(range(count), key=lambda n: widths[n])
        widths[widest] = max(40.0, inner - (sum(widths) - widths[widest]))
        self.table = (list(head), widths)
        self._room(30)
        self._table_head(list(head), widths)
        c = self.c
        for row in rows:
            self._room(14)
            c.setFont(REGULAR, 9)
            x = MARGIN
            for n, width in enumerate(widths):
                cell = row[n] if n < len(row) else ""
                c.drawString(x, self.y - 10, fit(cell, REGULAR, 9, width - 8))
                x += width
            self.y -= 14
        self.table = None
        self.y -= 4

    def _table_head(self, head: list[str], widths: list[float]) -> None:
        c, x = self.c, MARGIN
        c.setFont(BOLD, 9)
        for text, width in zip(head, widths, strict=False):
            c.drawString(x, self.y - 10, fit(text, BOLD, 9, width - 8))
            x += width
        c.setLineWidth(0.5)
        c.line(MARGIN, self.y - 14, MARGIN + sum(widths), self.y - 14)
        self.y -= 18


def page_size(elements: Sequence[Element]) -> tuple[float, float]:
    for e in elements:
        if e.kind == "page":
            return PAGE_SIZES.get(e.text.lower(), A4)
    return A4
