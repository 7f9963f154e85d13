"""The buyer's returns page: look an order up by number and email, choose lines, get a return;
the same answer for every miss; rate limits; signed, expiring steps; CSRF."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from colis.core.models import Event, OutboxMessage, Shop
from colis.fulfillment.models import Shipment
from colis.orders.models import Order
from colis.returns.models import Return
from colis.web import returns_portal
from colis.web.models import RateLimit
from tests.factories import order_body

ORDERS = "/api/v1/orders"
PAGE = "/returns/"
REQUEST = "/returns/request"
NOTHING = "We found nothing to return for this order number and email address."
CSRF_FIELD = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">')


class Buyer:
    """A browser: Django's test client with CSRF checks on, from one address."""

    def __init__(self, address: str = "203.0.113.7", lang: str = "en") -> None:
        self.client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=lang)
        self.address = address

    def csrf(self) -> str:
        page = self.client.get(PAGE)
        assert page.status_code == 200
        return CSRF_FIELD.search(page.content.decode()).group(0).split('value="')[1][:-2]

    def post(self, path: str, data: dict, *, address: str | None = None, csrf: bool = True):
        body = {**data, **({"csrfmiddlewaretoken": self.csrf()} if csrf else {})}
        return self.client.post(path, body, REMOTE_ADDR=address or self.address)

    def lookup(self, number: str, email: str, **kw):
        return self.post(PAGE, {"number": number, "email": email}, **kw)


def _order(api, lines=(("BAR-A", 3), ("BAR-B", 1)), ship=(("BAR-A", 2),), **extra) -> dict:
    order = api.post(ORDERS, order_body(list(lines), **extra)).json()
    if ship:
        shipped = api.post(
            f"{ORDERS}/{order['id']}/shipments",
            {
                "carrier": "ups",
                "tracking_numbers": ["1Z5R89390357567127"],
                "lines": [{"sku": sku, "quantity": q} for sku, q in ship],
                "notify_customer": False,
            },
        )
        assert shipped.status_code == 201, shipped.content
    return order


def _line_id(order: dict, sku: str) -> int:
    return next(ln["id"] for ln in order["lines"] if ln["sku"] == sku)


def _token(page) -> str:
    return re.search(r'name="token" value="([^"]+)"', page.content.decode()).group(1)


def _same(response) -> tuple[int, str, bytes]:
    return (
        response.status_code,
        response["Content-Type"],
        CSRF_FIELD.sub("", response.content.decode()).encode(),
    )


def test_a_buyer_returns_part_of_a_shipped_line(api, shop):
    order = _order(api)
    buyer = Buyer()
    found = buyer.lookup(f"#{order['number']}", "  BUYER@Example.COM ")  # any case, a leading #
    assert found.status_code == 200
    page = found.content.decode()
    a, b = _line_id(order, "BAR-A"), _line_id(order, "BAR-B")
    assert f'name="quantity-{a}" min="0" max="2"' in page  # 2 of 3 shipped
    assert f"quantity-{b}" not in page  # nothing of it shipped
    assert f'value="{order["id"]}"' not in page  # the order travels in the signed token only
    OutboxMessage.objects.filter(kind="customer_email").delete()

    done = buyer.post(
        REQUEST, {"token": _token(found), f"quantity-{a}": "1", f"reason-{a}": "size_or_fit"}
    )
    assert done.status_code == 303
    [rma] = Return.objects.filter(order_id=order["id"])
    assert (rma.state, rma.source) == ("requested", "buyer")
    assert [(ln.sku, ln.quantity, ln.reason) for ln in rma.lines.all()] == [
        ("BAR-A", 1, "size_or_fit")
    ]
    event = Event.objects.get(subject_type="return", subject_id=rma.pk, kind="return_requested")
    assert (event.actor_kind, event.actor_label) == ("system", "buyer")
    [email] = OutboxMessage.objects.filter(kind="customer_email", order_id=order["id"])
    assert email.payload["template"] == "return_requested"
    confirmation = buyer.client.get(done["Location"])
    text = confirmation.content.decode()
    assert confirmation.status_code == 200
    assert f"Your return {rma.number} is requested." in text and "requested" in text


def test_an_auto_approved_reason_shows_the_instructions_and_the_address(api, shop, location):
    Shop.objects.update_or_create(
        pk=1,
        defaults={
            "return_auto_approve_reasons": ["damaged"],
            "return_instructions": "Use the box it came in.\nNo postage needed.",
        },
    )
    order = _order(api, locale="fr")
    buyer = Buyer(lang="en")
    found = buyer.lookup(order["number"], "buyer@example.com")
    assert "Commande " + order["number"] in found.content.decode()  # the order's language
    a = _line_id(order, "BAR-A")
    done = buyer.post(
        REQUEST, {"token": _token(found), f"quantity-{a}": "2", f"reason-{a}": "damaged"}
    )
    rma = Return.objects.get(order_id=order["id"])
    assert rma.state == "approved"
    text = buyer.client.get(done["Location"]).content.decode()
    assert f"Votre retour {rma.number} est accepté." in text
    assert "Use the box it came in.<br>No postage needed." in text
    assert location.address["line1"] in text and location.address["postal_code"] in text
    templates = set(
        OutboxMessage.objects.filter(kind="customer_email", order_id=order["id"]).values_list(
            "payload__template", flat=True
        )
    )
    assert {"return_requested", "return_approved"} <= templates


def test_every_miss_gets_the_same_answer_after_the_same_work(api, shop):
    shipped = _order(api)
    unshipped = _order(api, ship=())
    late = _order(api)
    spare = _order(api)
    redacted = _order(api)
    Order.objects.filter(pk=redacted["id"]).update(redacted_at=timezone.now())
    Shipment.objects.filter(order_id=late["id"]).update(
        shipped_at=timezone.now() - timedelta(days=45)
    )
    misses = [
        (shipped["number"], "someone@example.com"),  # another email
        ("NO-SUCH-ORDER", "buyer@example.com"),  # no such order
        (unshipped["number"], "buyer@example.com"),  # nothing shipped
        (late["number"], "buyer@example.com"),  # the return window closed
        (spare["number"], ""),  # no email
        (redacted["number"], "buyer@example.com"),  # the buyer's data was removed
    ]
    answers, queries = [], []
    buyer = Buyer()
    for i, (number, email) in enumerate(misses):
        csrf = buyer.csrf()
        with CaptureQueriesContext(connection) as ctx:
            response = buyer.client.post(
                PAGE,
                {"number": number, "email": email, "csrfmiddlewaretoken": csrf},
                REMOTE_ADDR=f"198.51.100.{i + 1}",
            )
        answers.append(_same(response))
        # The shop's settings are cached for two seconds: the other reads must match.
        queries.append([q["sql"] for q in ctx.captured_queries if "core_shop" not in q["sql"]])
    assert answers[0][0] == 200 and NOTHING in answers[0][2].decode()
    assert all(a == answers[0] for a in answers), [a[2] for a in answers]
    assert all(len(q) == len(queries[0]) for q in queries), queries
    assert not Return.objects.exists()


def test_lookups_are_limited_per_address_and_per_order_number(api, shop):
    order = _order(api)
    buyer = Buyer(address="192.0.2.1")
    for i in range(10):
        assert buyer.lookup(f"N-{i}", "a@example.com").status_code == 200
    refused = buyer.lookup(order["number"], "buyer@example.com")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "Too many attempts" in refused.content.decode()
    assert 'name="number"' in refused.content.decode()  # the same page, with its form
    assert (
        buyer.lookup(order["number"], "buyer@example.com", address="192.0.2.2").status_code == 200
    )
    for i in range(4):  # five in all for this number, from as many addresses
        assert (
            buyer.lookup(order["number"], "x@example.com", address=f"192.0.2.{10 + i}").status_code
            == 200
        )
    assert (
        buyer.lookup(order["number"], "buyer@example.com", address="192.0.2.99").status_code == 429
    )
    assert not RateLimit.objects.filter(key__contains="192.0.2").exists()  # keys are hashes


def test_the_address_behind_a_local_proxy_is_the_one_it_forwards(api, shop):
    buyer = Buyer(address="127.0.0.1")
    for i in range(10):
        response = buyer.client.post(
            PAGE,
            {"number": f"N-{i}", "email": "a@example.com", "csrfmiddlewaretoken": buyer.csrf()},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"10.9.9.9, 203.0.113.{i}",  # the first entry is the visitor's say
        )
        assert response.status_code == 200
    forged = buyer.client.post(
        PAGE,
        {"number": "N-x", "email": "a@example.com", "csrfmiddlewaretoken": buyer.csrf()},
        REMOTE_ADDR="198.51.100.200",
        HTTP_X_FORWARDED_FOR="203.0.113.250",  # not from a local proxy: ignored
    )
    assert forged.status_code == 200
    assert returns_portal.client_address(forged.wsgi_request) == "198.51.100.200"


class _Old(signing.TimestampSigner):
    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - returns_portal.TOKEN_MAX_AGE - 60)


def _swap_payload(token: str, data: dict) -> str:
    """The token's timestamp and signature over another payload."""
    other = signing.dumps(data, salt=returns_portal.SALT).split(":")[0]
    return ":".join([other, *token.split(":")[1:]])


@pytest.mark.parametrize("kind", ["tampered", "expired", "other_salt", "empty"])
def test_a_forged_or_expired_step_is_refused(api, shop, kind):
    order = _order(api)
    buyer = Buyer()
    found = buyer.lookup(order["number"], "buyer@example.com")
    good = _token(found)
    token = {
        "tampered": _swap_payload(good, {"order": order["id"] + 1}),
        "expired": _Old(salt=returns_portal.SALT).sign_object({"order": order["id"]}),
        "other_salt": signing.dumps({"order": order["id"]}, salt=returns_portal.DONE_SALT),
        "empty": "",
    }[kind]
    a = _line_id(order, "BAR-A")
    response = buyer.post(REQUEST, {"token": token, f"quantity-{a}": "1", f"reason-{a}": "damaged"})
    assert response.status_code == 400
    assert "This page has expired" in response.content.decode()
    assert not Return.objects.exists()
    forged_done = buyer.client.get(f"/returns/done/{signing.dumps({'return': 1})}/")
    assert forged_done.status_code == 400


def test_the_form_names_the_line_at_fault_and_changes_nothing(api, shop):
    order = _order(api, locale="en")
    buyer = Buyer()
    token = _token(buyer.lookup(order["number"], "buyer@example.com"))
    a = _line_id(order, "BAR-A")
    cases = [
        (
            {f"quantity-{a}": "3", f"reason-{a}": "damaged"},
            "BAR-A (Product BAR-A): at most 2 can be returned.",
        ),
        (
            {f"quantity-{a}": "1", f"reason-{a}": "other"},
            "BAR-A (Product BAR-A): tell us what is wrong",
        ),
        ({f"quantity-{a}": "1", f"reason-{a}": ""}, "BAR-A (Product BAR-A): choose a reason."),
        (
            {f"quantity-{a}": "١", f"reason-{a}": "damaged"},
            "the quantity is a whole number from 0 to 2",
        ),
        ({f"quantity-{a}": "0"}, "Choose at least one item to return."),
    ]
    for fields, message in cases:
        response = buyer.post(REQUEST, {"token": token, **fields})
        assert response.status_code == 422
        assert message in response.content.decode()
        assert 'name="token" value="' in response.content.decode()  # the buyer can correct it
    assert not Return.objects.exists()
    ok = buyer.post(
        REQUEST,
        {"token": token, f"quantity-{a}": "2", f"reason-{a}": "other", f"note-{a}": "Too small"},
    )
    assert ok.status_code == 303
    assert Return.objects.get().lines.get().note == "Too small"
    again = buyer.post(REQUEST, {"token": token, f"quantity-{a}": "1", f"reason-{a}": "damaged"})
    assert again.status_code == 200 and NOTHING in again.content.decode()  # all of it is back


def test_forms_without_a_csrf_token_are_refused(api, shop):
    order = _order(api)
    buyer = Buyer()
    page = buyer.client.get(PAGE)
    assert page.status_code == 200 and settings.CSRF_COOKIE_NAME in page.cookies
    assert page["X-Frame-Options"] == "DENY" and "no-store" in page["Cache-Control"]
    assert buyer.lookup(order["number"], "buyer@example.com", csrf=False).status_code == 403
    a = _line_id(order, "BAR-A")
    token = _token(buyer.lookup(order["number"], "buyer@example.com"))
    refused = buyer.post(
        REQUEST, {"token": token, f"quantity-{a}": "1", f"reason-{a}": "damaged"}, csrf=False
    )
    assert refused.status_code == 403 and not Return.objects.exists()


@pytest.mark.parametrize(("origin", "status"), [(None, 200), ("https://evil.example", 403)])
def test_a_form_posted_from_the_public_url_behind_a_proxy_is_taken(api, shop, origin, status):
    """Behind a TLS proxy the browser's Origin is COLIS_BASE_URL's, not the request's own."""
    buyer = Buyer()
    csrf = buyer.csrf()
    public = urlsplit(settings.BASE_URL)
    response = buyer.client.post(
        PAGE,
        {"number": "N-1", "email": "a@example.com", "csrfmiddlewaretoken": csrf},
        HTTP_ORIGIN=origin or f"{public.scheme}://{public.netloc}",
    )
    assert response.status_code == status


def test_the_page_speaks_the_browsers_language_until_an_order_is_found(api, shop):
    order = _order(api, locale="en")
    buyer = Buyer(lang="de-CH, fr;q=0.8, en;q=0.5")
    page = buyer.client.get(PAGE).content.decode()
    assert '<html lang="fr">' in page and "Retrouver ma commande" in page
    miss = html.unescape(buyer.lookup(order["number"], "someone@example.com").content.decode())
    assert "Nous n'avons rien trouvé à retourner" in miss
    found = buyer.lookup(order["number"], "buyer@example.com").content.decode()
    assert f"Order {order['number']}: choose what you would like to send back" in found
