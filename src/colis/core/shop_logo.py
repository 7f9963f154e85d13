"""The shop's logo (one row, printed on packing slips): checked by decoding it, set, removed."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db import transaction
from PIL import Image

from colis.core.actor import Actor
from colis.core.errors import ValidationError
from colis.core.models import ShopLogo
from colis.core.timeline import event_record

MAX_BYTES = 1024 * 1024
MAX_SIDE = 5000
# Pillow's name for the format -> the content type the logo is served with.
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


@dataclass(frozen=True, kw_only=True)
class LogoInfo:
    content_type: str
    width: int
    height: int


def _refusal(message: str) -> ValidationError:
    return ValidationError(
        f"The logo is not valid: {message}", code="invalid_logo", fields={"file": message}
    )


def logo_check(data: bytes) -> LogoInfo:
    """What the image is, once it has been decoded in full. Raises ValidationError
    (`invalid_logo`, field `file`) for anything but a PNG or JPEG of at most 1 MB and
    5000 pixels a side."""
    if not data:
        raise _refusal("The image is empty.")
    if len(data) > MAX_BYTES:
        raise _refusal(f"At most {MAX_BYTES} bytes (1 MB); this one has {len(data)}.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
            if kind not in FORMATS:
                raise _refusal(f"A PNG or JPEG image, not {kind or 'this format'}.")
            # The header alone may lie: checked before decoding, so a tiny file cannot claim
            # a gigapixel canvas.
            if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
                raise _refusal(f"At most {MAX_SIDE} pixels a side; this one is {width}x{height}.")
            image.load()
            image.convert("RGBA")
    except ValidationError:
        raise
    except Exception:  # a decoder fed arbitrary bytes fails in many ways
        raise _refusal("Not a PNG or JPEG image that can be decoded.") from None
    return LogoInfo(content_type=FORMATS[kind], width=width, height=height)


def shop_logo_get() -> ShopLogo | None:
    """The logo with its bytes, or None when none is set."""
    return ShopLogo.objects.filter(pk=1).first()


def shop_logo_info() -> LogoInfo | None:
    """The logo's type and size without its bytes, or None when none is set."""
    row = ShopLogo.objects.filter(pk=1).values("content_type", "width", "height").first()
    return LogoInfo(**row) if row else None


def shop_logo_set(*, data: bytes, actor: Actor) -> ShopLogo:
    """Replace the shop's logo with this PNG or JPEG (the next print run draws it).
    Raises ValidationError `invalid_logo` (see `logo_check`)."""
    info = logo_check(data)
    with transaction.atomic():
        logo, _ = ShopLogo.objects.update_or_create(
            pk=1,
            defaults={
                "content_type": info.content_type,
                "data": data,
                "width": info.width,
                "height": info.height,
            },
        )
        event_record(
            subject_type="shop",
            subject_id=1,
            kind="shop_logo_updated",
            actor=actor,
            data={
                "content_type": info.content_type,
                "width": info.width,
                "height": info.height,
                "bytes": len(data),
            },
        )
    return logo


def shop_logo_delete(*, actor: Actor) -> bool:
    """Remove the shop's logo; False (and nothing written) when there was none."""
    with transaction.atomic():
        deleted, _ = ShopLogo.objects.filter(pk=1).delete()
        if deleted:
            event_record(
                subject_type="shop", subject_id=1, kind="shop_logo_removed", actor=actor, data={}
            )
    return bool(deleted)
