"""The buyer's return emails (requested, approved with instructions, rejected with a reason,
received), queued by the return services and delivered through the outbox to a real SMTP
server, in English and French; a switched-off one sends nothing."""

from __future__ import annotations

import re

import pytest

import colis.notifications.handlers  # noqa: F401  (registers "customer_email")
from colis.core.models import Event, OutboxMessage, Shop
from colis.core.outbox import outbox_pump
from colis.returns.models import Return
from colis.returns.receiving import ReceivedUnits, return_receive
from colis.returns.refunds import refund_create
from colis.returns.services import (
    ReturnLineDraft,
    return_approve,
    return_create,
    return_reject,
)
from tests.factories import ACTOR, ADDRESS_FR, order_body
from tests.notifications.test_email import inbox  # noqa: F401  (fixture)

ORDERS = "/api/v1/orders"
TEMPLATES = "/api/v1/notification-templates"
LIQUID_LEFT = re.compile(r"{{|}}|{%|%}")
INSTRUCTIONS = "Pack the items in their box.\nDrop the parcel at a post office."
RETURN_NAMES = ("return_requested", "return_approved", "return_rejected", "return_received")


def _pump() -> None:
    while outbox_pump(worker_id="w1"):
        pass


def _parts(msg) -> tuple[str, str]:
    return tuple(  # type: ignore[return-value]
        msg.get_body(preferencelist=(kind,)).get_content().replace("\r\n", "\n")
        for kind in ("plain", "html")
    )


def _shipped(api, locale: str) -> dict:
    order = api.post(ORDERS, order_body([("BAR-A", 3), ("BAR-B", 1)], locale=locale)).json()
    shipped = api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {"carrier": "ups", "tracking_numbers": ["1Z5R89390357567127"], "notify_customer": False},
    )
    assert shipped.status_code == 201, shipped.content
    Shop.objects.update_or_create(pk=1, defaults={"return_instructions": INSTRUCTIONS})
    OutboxMessage.objects.filter(kind="customer_email").delete()
    return order


def _request(order: dict, quantity: int = 2, reason: str = "size_or_fit") -> Return:
    return return_create(
        order_id=order["id"],
        lines=[ReturnLineDraft(sku="BAR-A", quantity=quantity, reason=reason)],
        source="buyer",
        actor=ACTOR,
    )


def _one_email(inbox) -> tuple[str, str, str]:  # noqa: F811
    _pump()
    [(rcpt, msg)] = inbox.messages
    inbox.messages.clear()
    text, html = _parts(msg)
    assert rcpt == ["buyer@example.com"]
    assert not LIQUID_LEFT.search(msg["Subject"] + text + html)
    return msg["Subject"], text, html


@pytest.mark.parametrize(
    ("locale", "subject", "words"),
    [
        ("en", "Your return request {r} for order {o}", ("Hello", "2 × ", "Size or fit")),
        (
            "fr",
            "Votre demande de retour {r} pour la commande {o}",
            ("Bonjour", "2 × ", "Taille ou coupe"),
        ),
    ],
)
def test_the_buyer_is_told_the_return_request_arrived(api, shop, inbox, locale, subject, words):  # noqa: F811
    order = _shipped(api, locale)
    rma = _request(order)
    title, text, html = _one_email(inbox)
    assert title == subject.format(r=rma.number, o=order["number"])
    for word in words:
        assert word in text and word in html
    assert "BAR-A" in text and "BAR-B" not in text  # only what comes back
    assert ADDRESS_FR["name"] in text


@pytest.mark.parametrize(
    ("locale", "subject", "words"),
    [
        (
            "en",
            "Your return {r} for order {o} is approved",
            ("How to send the items back:", "Send them to:"),
        ),
        (
            "fr",
            "Votre retour {r} pour la commande {o} est accepté",
            ("Pour nous renvoyer les articles :", "Envoyez-les à :"),
        ),
    ],
)
def test_an_approved_return_gives_the_instructions_and_the_address(
    api,
    shop,
    inbox,  # noqa: F811
    location,
    locale,
    subject,
    words,
):
    order = _shipped(api, locale)
    rma = _request(order)
    _one_email(inbox)
    return_approve(return_id=rma.pk, actor=ACTOR)
    title, text, html = _one_email(inbox)
    assert title == subject.format(r=rma.number, o=order["number"])
    for word in words:
        assert word in text and word in html
    assert INSTRUCTIONS in text
    assert "Pack the items in their box.<br />\nDrop the parcel" in html
    assert location.address["line1"] in text and location.address["city"] in html
    assert location.address["postal_code"] in text
    assert rma.number in text


@pytest.mark.parametrize(
    ("locale", "subject", "label"),
    [
        ("en", "Your return request {r} for order {o} was declined", "Reason: "),
        ("fr", "Votre demande de retour {r} pour la commande {o} est refusée", "Motif : "),
    ],
)
def test_a_rejected_return_says_why(api, shop, inbox, locale, subject, label):  # noqa: F811
    order = _shipped(api, locale)
    rma = _request(order)
    _one_email(inbox)
    return_reject(return_id=rma.pk, reason="Worn <twice> & washed", actor=ACTOR)
    title, text, html = _one_email(inbox)
    assert title == subject.format(r=rma.number, o=order["number"])
    assert f"{label}Worn <twice> & washed" in text
    assert "Worn &lt;twice&gt; &amp; washed" in html  # the HTML part escapes what it is given


@pytest.mark.parametrize(
    ("locale", "subject", "words"),
    [
        ("en", "We received your return {r} for order {o}", ("has arrived", "refund")),
        (
            "fr",
            "Nous avons reçu votre retour {r} pour la commande {o}",
            ("nous est parvenu", "remboursement"),
        ),
    ],
)
def test_a_received_return_lists_what_arrived(api, shop, inbox, locale, subject, words):  # noqa: F811
    order = _shipped(api, locale)
    rma = _request(order, quantity=3, reason="damaged")
    return_approve(return_id=rma.pk, notify_customer=False, actor=ACTOR)
    _one_email(inbox)  # the request
    return_receive(
        return_id=rma.pk,
        location_id=None,
        lines=[ReceivedUnits(sku="BAR-A", quantity=3)],
        actor=ACTOR,
    )
    title, text, html = _one_email(inbox)
    assert title == subject.format(r=rma.number, o=order["number"])
    for word in words:
        assert word in text and word in html
    assert "3 × " in text and "BAR-A" in html


@pytest.mark.parametrize(
    ("locale", "subject", "said"),
    [
        ("en", "Refund for your order {o}", "We have refunded €10.00 for your order {o}. Reason: "),
        (
            "fr",
            "Remboursement de votre commande {o}",
            "Nous avons remboursé 10,00\u00a0€ pour votre commande {o}. Motif : ",
        ),
    ],
)
def test_a_refund_tells_the_amount_and_the_reason(api, shop, inbox, locale, subject, said):  # noqa: F811
    order = _shipped(api, locale)
    rma = _request(order)
    _one_email(inbox)
    refund_create(
        order_id=order["id"],
        return_id=rma.pk,
        amount="10.00",
        currency="EUR",
        reason="Arrived damaged",
        actor=ACTOR,
    )
    title, text, html = _one_email(inbox)
    assert title == subject.format(o=order["number"])
    assert said.format(o=order["number"]) + "Arrived damaged." in text
    assert "Arrived damaged" in html


def test_an_auto_approved_reason_sends_the_request_and_the_approval(api, shop, inbox, location):  # noqa: F811
    order = _shipped(api, "en")
    Shop.objects.filter(pk=1).update(return_auto_approve_reasons=["damaged"])
    rma = _request(order, reason="damaged")
    assert rma.state == "approved"
    _pump()
    subjects = {msg["Subject"] for _, msg in inbox.messages}
    assert len(inbox.messages) == 2 and subjects == {
        f"Your return request {rma.number} for order {order['number']}",
        f"Your return {rma.number} for order {order['number']} is approved",
    }


def test_a_switched_off_return_email_sends_nothing(api, shop, inbox):  # noqa: F811
    off = api.patch(f"{TEMPLATES}/return_requested", {"enabled": False})
    assert off.status_code == 200 and off.json()["enabled"] is False
    order = _shipped(api, "fr")
    rma = _request(order)
    _pump()
    assert inbox.messages == []
    assert Event.objects.filter(
        order_id=order["id"], kind="customer_email_switched_off", data__template="return_requested"
    ).exists()
    return_reject(return_id=rma.pk, reason="Too late", actor=ACTOR)  # the others still go out
    title, _, _ = _one_email(inbox)
    assert "est refusée" in title


def test_the_return_emails_are_listed_edited_previewed_and_reset(api, shop, inbox):  # noqa: F811
    names = {t["name"] for t in api.get(TEMPLATES).json()["items"]}
    assert set(RETURN_NAMES) | {"refund"} <= names
    for name in RETURN_NAMES:
        one = api.get(f"{TEMPLATES}/{name}").json()
        assert set(one["locales"]) == {"en", "fr"}
        sample = api.post(f"{TEMPLATES}/{name}/preview", {"locale": "fr"}).json()
        assert "1042-R1" in sample["subject"] and not LIQUID_LEFT.search(sample["text"])
    edited = api.patch(
        f"{TEMPLATES}/return_approved",
        {"locale": "en", "subject": "RMA {{ return.number }}: {{ return.lines.size }} line(s)"},
    )
    assert edited.status_code == 200, edited.content
    order = _shipped(api, "en")
    real = api.post(
        f"{TEMPLATES}/return_approved/preview", {"locale": "en", "order_id": order["id"]}
    ).json()
    assert real["subject"] == "RMA 1042-R1: 2 line(s)"  # the order's own lines
    assert "BAR-A" in real["text"] and INSTRUCTIONS in real["text"]
    rma = _request(order)
    return_approve(return_id=rma.pk, actor=ACTOR)
    _pump()
    assert f"RMA {rma.number}: 1 line(s)" in [m["Subject"] for _, m in inbox.messages]
    reset = api.post(f"{TEMPLATES}/return_approved/reset", {"locale": "en"}).json()
    assert reset["locales"]["en"]["customized"] is False
