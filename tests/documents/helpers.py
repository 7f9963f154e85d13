"""Reading generated PDFs back: their text (pypdf) and their barcodes (pdfium + zxing-cpp)."""

from __future__ import annotations

import io

import pypdf
import pypdfium2
import zxingcpp


def pdf_bytes(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def pdf_pages(data: bytes) -> list[str]:
    assert data[:5] == b"%PDF-", data[:80]
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def pdf_text(data: bytes) -> str:
    return "\n".join(pdf_pages(data))


def pdf_barcodes(data: bytes, page: int = 0) -> list[str]:
    """The Code 128 barcodes found on a page rendered at 200 dpi."""
    document = pypdfium2.PdfDocument(data)
    image = document[page].render(scale=200 / 72).to_pil()
    return [
        b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.Code128
    ]
