"""The shop's logo: set by PUT (raw image or multipart), read back, removed, and refused unless
it decodes as a PNG or JPEG of at most 1 MB."""

from __future__ import annotations

import io
import random

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from PIL import Image

from colis.core.errors import ValidationError
from colis.core.models import Event, ShopLogo
from colis.core.shop_logo import MAX_BYTES, logo_check

pytestmark = pytest.mark.django_db

LOGO = "/api/v1/shop/logo"


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (200, 60), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30, 255)[: len(mode)]).save(out, fmt)
    return out.getvalue()


def put(client, data: bytes, content_type: str = "image/png"):
    return client.client.put(LOGO, data, content_type=content_type, headers=client._headers(None))


def put_multipart(client, fields: dict):
    body = encode_multipart(BOUNDARY, fields)
    return client.client.put(
        LOGO, body, content_type=MULTIPART_CONTENT, headers=client._headers(None)
    )


def test_an_owner_sets_a_png_and_the_shop_shows_it(api):
    # given a PNG
    png = image_bytes()
    # when the owner puts it as the body
    response = put(api, png)
    # then it is stored as sent, described in the shop's settings, and on the timeline
    assert response.status_code == 200, response.content
    described = {"set": True, "content_type": "image/png", "width": 200, "height": 60}
    assert response.json() == described
    assert api.get("/api/v1/shop").json()["logo"] == described
    served = api.get(LOGO)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served.content == png
    event = Event.objects.get(kind="shop_logo_updated")
    assert event.data == {
        "content_type": "image/png",
        "width": 200,
        "height": 60,
        "bytes": len(png),
    }


def test_a_jpeg_sent_as_a_multipart_file_replaces_the_png(api):
    # given a PNG logo
    put(api, image_bytes())
    # when a JPEG is uploaded as the multipart field `file`
    jpeg = image_bytes("JPEG", (80, 40), "RGB")
    upload = io.BytesIO(jpeg)
    upload.name = "logo.jpg"
    response = put_multipart(api, {"file": upload})
    # then it takes the place of the PNG: one row, the JPEG's type and size
    assert response.status_code == 200, response.content
    assert response.json() == {"set": True, "content_type": "image/jpeg", "width": 80, "height": 40}
    assert ShopLogo.objects.count() == 1
    assert bytes(ShopLogo.objects.get().data) == jpeg
    assert Event.objects.filter(kind="shop_logo_updated").count() == 2


def test_the_stored_type_is_the_decoded_one_not_the_declared_one(api):
    response = put(api, image_bytes("JPEG", mode="RGB"), content_type="image/png")
    assert response.status_code == 200
    assert response.json()["content_type"] == "image/jpeg"
    assert api.get(LOGO)["Content-Type"] == "image/jpeg"


def test_without_a_logo_the_shop_says_so_and_the_image_is_404(api):
    assert api.get("/api/v1/shop").json()["logo"] == {
        "set": False,
        "content_type": None,
        "width": None,
        "height": None,
    }
    response = api.get(LOGO)
    assert response.status_code == 404
    assert response.json()["code"] == "logo_not_set"


def test_delete_removes_the_logo_once(api):
    # given a logo
    put(api, image_bytes())
    # when it is deleted, twice
    first = api.delete(LOGO)
    second = api.delete(LOGO)
    # then it is gone, and only the first delete is on the timeline
    assert first.status_code == 204 and second.status_code == 204
    assert not ShopLogo.objects.exists()
    assert api.get(LOGO).status_code == 404
    assert api.get("/api/v1/shop").json()["logo"]["set"] is False
    assert Event.objects.filter(kind="shop_logo_removed").count() == 1


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    return out.getvalue()


def noise_png(width: int, height: int) -> bytes:
    """A PNG of random pixels, which do not compress."""
    pixels = random.Random(7).randbytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(out, "PNG")
    return out.getvalue()


def _oversized() -> bytes:
    data = noise_png(620, 600)
    assert len(data) > MAX_BYTES
    return data


REFUSED = [
    ("empty", lambda: b"", "image/png", "file"),
    ("not an image", lambda: b"hello, world", "image/png", "file"),
    ("a GIF", _gif, "image/png", "file"),
    ("a truncated PNG", lambda: image_bytes()[:60], "image/png", "file"),
    ("too wide", lambda: image_bytes(size=(5001, 2), mode="L"), "image/png", "file"),
    ("over 1 MB", _oversized, "image/png", "file"),
    ("sent as text", image_bytes, "text/plain", "Content-Type"),
    ("sent as JSON", lambda: b'{"logo": 1}', "application/json", "Content-Type"),
]


@pytest.mark.parametrize(
    ("case", "data", "content_type", "field"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_anything_but_a_small_png_or_jpeg_is_refused(api, case, data, content_type, field):
    # when the body is not a PNG or JPEG of at most 1 MB
    response = put(api, data(), content_type)
    # then it is refused, naming the field, and nothing is stored or recorded
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid_logo"
    assert list(body["fields"]) == [field]
    assert not ShopLogo.objects.exists()
    assert not Event.objects.filter(kind="shop_logo_updated").exists()


def test_a_multipart_form_without_the_file_field_is_refused(api):
    response = put_multipart(api, {"image": "nothing"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_logo"
    assert response.json()["fields"] == {"file": "Required."}


def test_the_check_decodes_every_pixel_not_just_the_header():
    # given a PNG whose header is whole but whose pixel data is cut short
    png = noise_png(100, 100)
    cut = png[: len(png) - 40]
    Image.open(io.BytesIO(cut))  # the header alone reads fine
    # then the check refuses it
    with pytest.raises(ValidationError) as refused:
        logo_check(cut)
    assert refused.value.code == "invalid_logo"


@pytest.mark.parametrize("role", ["readonly", "staff"])
def test_roles_without_settings_write_read_the_logo_but_cannot_change_it(make_api, api, role):
    # given a logo set by the owner
    put(api, image_bytes())
    client = make_api(role)
    # then the role reads it, and its changes are refused by role
    assert client.get(LOGO).status_code == 200
    assert client.get("/api/v1/shop").json()["logo"]["set"] is True
    for response in (put(client, image_bytes("JPEG", mode="RGB")), client.delete(LOGO)):
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden_role"
    assert ShopLogo.objects.get().content_type == "image/png"


def test_a_manager_may_change_the_logo(make_api):
    manager = make_api("manager")
    assert put(manager, image_bytes()).status_code == 200
    assert manager.delete(LOGO).status_code == 204


def test_without_a_token_the_logo_is_401(anon):
    assert anon.get(LOGO).status_code == 401
    assert put(anon, image_bytes()).status_code == 401
