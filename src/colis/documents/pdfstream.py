"""A PDF written page by page: pages are drawn on a ReportLab canvas and leave as bytes as soon as
each one is finished, so a 10,000-page document never sits in memory.

ReportLab's own document object keeps every page until `save()`. Here the canvas only draws: at
the end of a page its content stream is compressed and handed out, and the document's shared
parts (fonts, page tree, cross-reference table) are written around the pages. The fonts are the
standard fourteen (never embedded), so every page shares one resource dictionary. Images (the
shop's logo) are written once, before the first page, and every page refers to that one copy.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reportlab.pdfgen.canvas import Canvas

FONTS = ("Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Courier")
_CATALOG, _PAGES, _RESOURCES = 1, 2, 3


@dataclass(frozen=True, kw_only=True)
class PdfImage:
    """An image ready to embed: 8-bit RGB samples and an optional 8-bit alpha, both
    Flate-compressed."""

    width: int
    height: int
    rgb: bytes
    alpha: bytes | None = None


class PageCanvas(Canvas):
    """A canvas whose `showPage` hands the finished page's content to `sink` instead of keeping
    it in its document."""

    def __init__(self, sink: Any, pagesize: tuple[float, float]) -> None:
        super().__init__(None, pagesize=pagesize, pageCompression=0, invariant=1)
        self._sink = sink
        # Fixed internal names (/F1, /F2, ...) in FONTS order, shared by every page.
        self.font_names = [self._doc.getInternalFontName(name) for name in FONTS]

    def showPage(self) -> None:  # noqa: N802 - ReportLab's name
        self._code.append(" ")
        stream = "\n".join(
            [*self._psCommandsBeforePage, self._preamble, *self._code, *self._psCommandsAfterPage]
        )
        self._sink(stream.encode("latin-1"), self._pagesize)
        self._startPage()

    def image_draw(self, name: str, x: float, y: float, width: float, height: float) -> None:
        """Draw the document's image `name` (see `PdfStream.image_add`) in this box."""
        self._code.append(f"q {width:.2f} 0 0 {height:.2f} {x:.2f} {y:.2f} cm /{name} Do Q")


class PdfStream:
    """Collects the PDF's bytes as pages are finished; `take()` returns what is ready."""

    def __init__(self, *, title: str = "") -> None:
        self._chunks: list[bytes] = []
        self._offset = 0
        self._buffered = 0
        self._offsets: dict[int, int] = {}
        self._next_id = _RESOURCES + 1 + len(FONTS)
        self._pages: list[int] = []
        self._images: dict[str, PdfImage] = {}
        self._title = title
        self._put(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def image_add(self, name: str, image: PdfImage) -> None:
        """Make `image` drawable on every page as `name`; only before the first canvas."""
        if self._offsets:
            raise RuntimeError("Images are added before the first canvas.")
        self._images[name] = image

    def canvas(self, pagesize: tuple[float, float]) -> PageCanvas:
        """A canvas drawing into this document; a new one may take another page size."""
        canvas = PageCanvas(self.page_add, pagesize)
        if not self._offsets:
            font_ids = {}
            for i, (name, internal) in enumerate(zip(FONTS, canvas.font_names, strict=True)):
                font_ids[internal] = _RESOURCES + 1 + i
                self._object(
                    font_ids[internal],
                    b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
                    % name.encode(),
                )
            fonts = b" ".join(b"%s %d 0 R" % (k.encode(), v) for k, v in font_ids.items())
            if self._images:
                images = b" ".join(
                    b"/%s %d 0 R" % (name.encode(), self._image_object(image))
                    for name, image in self._images.items()
                )
                self._object(
                    _RESOURCES,
                    b"<< /Font << %s >> /XObject << %s >> /ProcSet [/PDF /Text /ImageC] >>"
                    % (fonts, images),
                )
            else:
                self._object(_RESOURCES, b"<< /Font << %s >> /ProcSet [/PDF /Text] >>" % fonts)
        return canvas

    def _image_object(self, image: PdfImage) -> int:
        head = b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /BitsPerComponent 8 " % (
            image.width,
            image.height,
        )
        mask = b""
        if image.alpha is not None:
            mask_id = self._next_id
            self._next_id += 1
            self._object(
                mask_id,
                head + b"/ColorSpace /DeviceGray /Filter /FlateDecode /Length %d >>\nstream\n%s\n"
                b"endstream" % (len(image.alpha), image.alpha),
            )
            mask = b"/SMask %d 0 R " % mask_id
        image_id = self._next_id
        self._next_id += 1
        self._object(
            image_id,
            head
            + mask
            + b"/ColorSpace /DeviceRGB /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
            % (len(image.rgb), image.rgb),
        )
        return image_id

    @property
    def page_count(self) -> int:
        return len(self._pages)

    def page_add(self, content: bytes, pagesize: tuple[float, float]) -> None:
        data = zlib.compress(content, 6)
        stream_id, page_id = self._next_id, self._next_id + 1
        self._next_id += 2
        self._object(
            stream_id,
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data),
        )
        width, height = pagesize
        self._object(
            page_id,
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources %d 0 R "
            b"/Contents %d 0 R >>" % (_PAGES, _num(width), _num(height), _RESOURCES, stream_id),
        )
        self._pages.append(page_id)

    @property
    def buffered(self) -> int:
        return self._buffered

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        return out

    def finish(self) -> bytes:
        """The document's closing parts (an empty document gets one blank page)."""
        if not self._pages:
            self.canvas((595.2756, 841.8898)).showPage()
        kids = b" ".join(b"%d 0 R" % p for p in self._pages)
        self._object(_PAGES, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(self._pages)))
        self._object(_CATALOG, b"<< /Type /Catalog /Pages %d 0 R >>" % _PAGES)
        info_id = self._next_id
        self._object(info_id, b"<< /Producer (Colis) /Title (%s) >>" % _escape(self._title))
        xref_at = self._offset
        rows = [b"xref\n0 %d\n0000000000 65535 f \n" % (info_id + 1)]
        rows.extend(b"%010d 00000 n \n" % self._offsets[i] for i in range(1, info_id + 1))
        rows.append(
            b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (info_id + 1, _CATALOG, info_id, xref_at)
        )
        self._put(b"".join(rows))
        return self.take()

    def _object(self, obj_id: int, body: bytes) -> None:
        self._offsets[obj_id] = self._offset
        self._put(b"%d 0 obj\n%s\nendobj\n" % (obj_id, body))

    def _put(self, data: bytes) -> None:
        self._chunks.append(data)
        self._offset += len(data)
        self._buffered += len(data)


def _num(value: float) -> bytes:
    return (b"%.4f" % value).rstrip(b"0").rstrip(b".")


def _escape(text: str) -> bytes:
    raw = text.encode("latin-1", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def pdf_iter(pages: Iterator[Any], stream: PdfStream) -> Iterator[bytes]:
    """Yield the document's bytes as `pages` (a generator drawing on `stream`'s canvases) goes,
    in pieces of at least 64 KB."""
    for _ in pages:
        if stream.buffered >= 65536:
            yield stream.take()
    chunk = stream.take()
    if chunk:
        yield chunk
    yield stream.finish()
