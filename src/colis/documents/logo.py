"""The shop's logo as packing slips draw it: read and decoded once per print run."""

from __future__ import annotations

import base64
import io
import math
import zlib
from dataclasses import dataclass

from PIL import Image

from colis.core.shop_logo import shop_logo_get
from colis.documents.pdfstream import PdfImage

# The box the logo fits in at the top left of a slip, in points; a small image keeps its size
# (a pixel to a point) rather than being blown up.
BOX_WIDTH, BOX_HEIGHT = 160.0, 48.0
# Samples kept per inch as printed: more only makes the PDF bigger.
DPI = 300
PDF_NAME = "Logo"


@dataclass(frozen=True, kw_only=True)
class SlipLogo:
    """The logo for a PDF run: the image to embed once and the size every slip draws it at."""

    image: PdfImage
    width: float
    height: float


@dataclass(frozen=True, kw_only=True)
class HtmlLogo:
    data_url: str
    width: float
    height: float


def logo_size(width: int, height: int) -> tuple[float, float]:
    """The size in points a `width` x `height` pixel logo is drawn at."""
    scale = min(BOX_WIDTH / width, BOX_HEIGHT / height, 1.0)
    return width * scale, height * scale


def slip_logo(data: bytes) -> SlipLogo:
    """The logo's bytes (checked when they were stored) made ready to embed in a PDF."""
    with Image.open(io.BytesIO(data)) as source:
        width, height = logo_size(*source.size)
        has_alpha = source.mode in ("RGBA", "LA", "PA") or "transparency" in source.info
        image = source.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((math.ceil(width * DPI / 72), math.ceil(height * DPI / 72)))
    alpha = zlib.compress(image.getchannel("A").tobytes(), 6) if has_alpha else None
    rgb = image.convert("RGB") if has_alpha else image
    pdf_image = PdfImage(
        width=image.width, height=image.height, rgb=zlib.compress(rgb.tobytes(), 6), alpha=alpha
    )
    return SlipLogo(image=pdf_image, width=width, height=height)


def slip_logo_load() -> SlipLogo | None:
    """The shop's logo for one PDF run (one query), or None when none is set."""
    logo = shop_logo_get()
    return slip_logo(bytes(logo.data)) if logo is not None else None


def html_logo_load() -> HtmlLogo | None:
    """The shop's logo as a data: URL for an HTML slip (one query), or None when none is set."""
    logo = shop_logo_get()
    if logo is None:
        return None
    width, height = logo_size(logo.width, logo.height)
    encoded = base64.b64encode(bytes(logo.data)).decode("ascii")
    return HtmlLogo(
        data_url=f"data:{logo.content_type};base64,{encoded}", width=width, height=height
    )
