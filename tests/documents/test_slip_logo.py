"""The shop's logo on packing slips: at the top left of each slip, embedded once per PDF, and as
a data: URL in the HTML slip."""

from __future__ import annotations

import base64
import io
import re

import pypdf
import pypdfium2
from PIL import Image

from colis.core.shop_logo import shop_logo_set
from colis.documents.layout import MARGIN
from tests.documents.helpers import pdf_bytes, pdf_pages
from tests.factories import ACTOR, order_body

SLIPS = "/api/v1/documents/packing-slips"
RED = (200, 30, 30)


def _logo(fmt: str = "PNG", mode: str = "RGBA", size: tuple[int, int] = (120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (*RED, 255)[: len(mode)]).save(out, fmt)
    return out.getvalue()


def _orders(api, count: int) -> list[int]:
    ids = []
    for i in range(count):
        r = api.post("/api/v1/orders", order_body([("BAR-A", 1)], email=f"l{i}@example.com"))
        assert r.status_code == 201, r.json()
        ids.append(r.json()["id"])
    return ids


def _page_images(data: bytes) -> list[list[pypdf.generic.ImageFile]]:
    return [list(page.images) for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def _pixel(data: bytes, x: float, y_from_top: float) -> tuple[int, int, int]:
    """The colour of the first page at this point (in points), rendered at 72 dpi."""
    image = pypdfium2.PdfDocument(data)[0].render(scale=1).to_pil().convert("RGB")
    return image.getpixel((int(x), int(y_from_top)))


def test_without_a_logo_a_slip_has_no_image(api, shop):
    (oid,) = _orders(api, 1)
    data = pdf_bytes(api.get(f"/api/v1/orders/{oid}/packing-slip.pdf"))
    assert _page_images(data) == [[]]
    assert b"/XObject" not in data
    html = api.get(f"/api/v1/orders/{oid}/packing-slip.html").content.decode()
    assert "<img" not in html


def test_each_slip_carries_the_logo_at_its_top_left_embedded_once(api, shop):
    # given a logo with transparency and three orders
    shop_logo_set(data=_logo(), actor=ACTOR)
    ids = _orders(api, 3)
    # when their slips are printed as one PDF
    data = pdf_bytes(api.post(SLIPS, {"order_ids": ids}))
    # then every page shows the one logo, in red at the top left, with the slip's text below
    images = _page_images(data)
    assert [len(on_page) for on_page in images] == [1, 1, 1]
    assert images[0][0].image.size == (120, 40)
    assert len(re.findall(rb"/Subtype /Image", data)) == 2  # the image and its alpha, once
    assert _pixel(data, MARGIN + 5, MARGIN + 5) == RED
    assert _pixel(data, MARGIN + 125, MARGIN + 5) == (255, 255, 255)  # past its 120 pt
    assert all("Packing slip" in text for text in pdf_pages(data))


def test_a_jpeg_logo_is_drawn_too(api, shop):
    shop_logo_set(data=_logo("JPEG", "RGB"), actor=ACTOR)
    (oid,) = _orders(api, 1)
    data = pdf_bytes(api.get(f"/api/v1/orders/{oid}/packing-slip.pdf"))
    assert [len(on_page) for on_page in _page_images(data)] == [1]
    assert b"/SMask" not in data
    r, g, b = _pixel(data, MARGIN + 5, MARGIN + 5)
    assert abs(r - RED[0]) < 8 and abs(g - RED[1]) < 8 and abs(b - RED[2]) < 8


def test_a_large_logo_fits_its_box_and_is_not_embedded_at_full_size(api, shop):
    # given a logo of 2000 x 500 pixels
    shop_logo_set(data=_logo(size=(2000, 500)), actor=ACTOR)
    (oid,) = _orders(api, 1)
    data = pdf_bytes(api.get(f"/api/v1/orders/{oid}/packing-slip.pdf"))
    # then it is drawn 160 x 40 pt, with the pixels 300 dpi asks for at most
    (image,) = _page_images(data)[0]
    assert image.image.size == (667, 167)
    assert _pixel(data, MARGIN + 155, MARGIN + 35) == RED
    assert _pixel(data, MARGIN + 165, MARGIN + 35) == (255, 255, 255)


def test_the_logo_is_read_once_per_run_not_per_slip(api, shop, django_assert_max_num_queries):
    shop_logo_set(data=_logo(), actor=ACTOR)
    ids = _orders(api, 30)
    with django_assert_max_num_queries(16):
        data = pdf_bytes(api.post(SLIPS, {"order_ids": ids}))
    assert [len(on_page) for on_page in _page_images(data)] == [1] * 30


def test_the_html_slip_shows_the_logo_as_a_data_url(api, shop):
    # given a logo
    png = _logo()
    shop_logo_set(data=png, actor=ACTOR)
    (oid,) = _orders(api, 1)
    # when the slip is asked for as a page
    html = api.get(f"/api/v1/orders/{oid}/packing-slip.html").content.decode()
    # then it carries the image itself, sized as on the PDF
    match = re.search(
        r'<img class="logo" src="data:image/png;base64,([^"]+)" style="([^"]+)"', html
    )
    assert match is not None
    assert base64.b64decode(match.group(1)) == png
    assert match.group(2) == "width:120.0pt;height:40.0pt"


def test_the_template_preview_shows_the_logo(api):
    shop_logo_set(data=_logo(), actor=ACTOR)
    preview = "/api/v1/document-templates/packing_slip/preview"
    data = api.post(preview, {"source": "title: Draft"}).content
    assert [len(on_page) for on_page in _page_images(data)] == [1]
    html = api.post(preview, {"source": "title: Draft", "format": "html"}).content.decode()
    assert 'src="data:image/png;base64,' in html


def test_pick_lists_and_labels_carry_no_logo(api, shop):
    shop_logo_set(data=_logo(), actor=ACTOR)
    ids = _orders(api, 1)
    data = pdf_bytes(api.post("/api/v1/documents/pick-lists", {"order_ids": ids}))
    assert b"/XObject" not in data
