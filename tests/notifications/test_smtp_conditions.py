"""Buyer emails against a real SMTP server (aiosmtpd on loopback) that is slow, busy, refuses,
or simply reads every byte: retries lose nothing, a server that is down holds the rest of the
batch back untried, the shop's sender settings reach the envelope and the headers, and the
message on the wire keeps to RFC 5321/5322 line rules."""

from __future__ import annotations

import asyncio
import collections
import email
import email.policy
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

import colis.notifications.handlers  # noqa: F401  (registers "customer_email")
import colis.webhooks.handlers  # noqa: F401  (registers "webhook_event")
from colis.core.models import Event, OutboxMessage, OutboxStatus
from colis.core.outbox import BACKOFF_BASE_SECONDS, outbox_pump
from colis.notifications import mail
from colis.notifications.mail import mail_close, message_id
from tests.core.helpers import free_port
from tests.factories import order_body

ORDERS = "/api/v1/orders"
SHOP = "/api/v1/shop"
TEMPLATES = "/api/v1/notification-templates"


class Server:
    """An SMTP server whose answers the test sets: `answers` by command (MAIL, DATA),
    `rcpt_answers` by the start of the recipient's address, `delay` before answering DATA
    (the message is kept first, as a real server that is slow to confirm would)."""

    def __init__(self) -> None:
        self.answers: dict[str, str] = {}
        self.rcpt_answers: dict[str, str] = {}
        self.delay = 0.0
        self.seen: collections.Counter[str] = collections.Counter()
        self.received: list[tuple[str, list[str], bytes]] = []

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default)
            for _, _, raw in self.received
        ]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.seen["MAIL"] += 1
        if "MAIL" in self.answers:
            return self.answers["MAIL"]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.seen["RCPT"] += 1
        for start, answer in self.rcpt_answers.items():
            if address.startswith(start):
                return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.seen["DATA"] += 1
        if "DATA" in self.answers:
            return self.answers["DATA"]
        self.received.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"


@pytest.fixture
def smtp(settings):
    handler = Server()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_URL = f"smtp://127.0.0.1:{port}"
    mail_close()  # this thread's kept connection, if another test left one
    yield handler
    mail_close()
    controller.stop()


def _ship(api, **extra) -> dict:
    order = api.post(ORDERS, order_body([("BAR-A", 2)], **extra)).json()
    shipment = api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {"carrier": "ups", "tracking_numbers": ["1Z5R89390357567127"]},
    )
    assert shipment.status_code == 201, shipment.content
    return order


def _emails() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind="customer_email").order_by("pk"))


def _due_now() -> None:
    OutboxMessage.objects.filter(status=OutboxStatus.PENDING).update(next_attempt_at=timezone.now())


def _parts(msg) -> tuple[str, str]:
    return (
        msg.get_body(preferencelist=("plain",)).get_content(),
        msg.get_body(preferencelist=("html",)).get_content(),
    )


# --- a slow server ---------------------------------------------------------------------------


def test_a_server_too_slow_to_answer_means_retry_and_the_email_is_not_lost(
    api, shop, smtp, monkeypatch
):
    # Given a server that takes 1.5 s to confirm a message, and a 0.5 s timeout
    monkeypatch.setattr(mail, "TIMEOUT_SECONDS", 0.5)
    smtp.delay = 1.5
    _ship(api)

    # When the worker sends the shipping confirmation
    outbox_pump(worker_id="w1")

    # Then the attempt counts as a retry, not a failure
    [row] = _emails()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert row.next_attempt_at > timezone.now()
    assert not Event.objects.filter(kind="outbox_failed").exists()

    # When the server is fast again and the retry is due
    smtp.delay = 0
    _due_now()
    outbox_pump(worker_id="w1")

    # Then the email is delivered; any repeat carries the same Message-ID
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.DELIVERED, 2)
    assert smtp.received and {m["Message-ID"] for m in smtp.messages} == {
        message_id(row.idempotency_key)
    }
    assert {tuple(rcpts) for _, rcpts, _ in smtp.received} == {("buyer@example.com",)}


def test_an_answer_that_times_out_is_not_sent_again_at_once(api, shop, smtp, monkeypatch):
    # A timeout after DATA may well mean the server has the message: sending it again on a
    # new connection in the same attempt doubles it (and the wait). Only a kept connection
    # the server closed while idle is worth an immediate second try.
    monkeypatch.setattr(mail, "TIMEOUT_SECONDS", 0.5)
    smtp.delay = 1.5
    _ship(api)

    outbox_pump(worker_id="w1")

    assert _emails()[0].status == OutboxStatus.PENDING
    assert smtp.seen["DATA"] == 1


# --- a server that is not available ----------------------------------------------------------


@pytest.mark.parametrize("command", ["MAIL", "DATA"])
def test_a_421_retries_that_email_and_puts_the_rest_back_untried(api, shop, smtp, command):
    # Given a server that closes the service at MAIL (or DATA), and three emails queued
    smtp.answers[command] = "421 4.3.2 Service not available, closing transmission channel"
    for _ in range(3):
        _ship(api)
    before = timezone.now()

    # When the worker goes through the batch
    outbox_pump(worker_id="w1")
    after = timezone.now()

    # Then the first email counts a retry
    first, *rest = _emails()
    assert (first.status, first.attempts) == (OutboxStatus.PENDING, 1)
    assert "421" in first.last_error
    # ... the other two were not tried: no attempt counted, due again after the base backoff
    assert smtp.seen[command] == 1 and smtp.received == []
    for row in rest:
        assert (row.status, row.attempts, row.claimed_by, row.last_error) == (
            OutboxStatus.PENDING,
            0,
            "",
            "",
        )
        assert before + timedelta(seconds=BACKOFF_BASE_SECONDS) <= row.next_attempt_at
        assert row.next_attempt_at <= after + timedelta(seconds=BACKOFF_BASE_SECONDS)
    # ... and the webhook events of the same batch went on
    events = OutboxMessage.objects.filter(kind="webhook_event")
    assert events.count() >= 6
    assert set(events.values_list("status", flat=True)) == {OutboxStatus.DELIVERED}

    # When the server is back
    smtp.answers.clear()
    _due_now()
    outbox_pump(worker_id="w1")

    # Then each email arrives once
    assert [row.status for row in _emails()] == [OutboxStatus.DELIVERED] * 3
    assert len({m["Message-ID"] for m in smtp.messages}) == len(smtp.received) == 3


# --- a busy or unknown mailbox ---------------------------------------------------------------


def test_a_busy_mailbox_is_retried_and_an_unknown_one_fails_on_the_timeline(api, shop, smtp):
    smtp.rcpt_answers = {
        "busy@": "450 4.2.1 Mailbox busy, try again later",
        "gone@": "550 5.1.1 No such mailbox",
    }
    busy = _ship(api, email="busy@example.com")
    gone = _ship(api, email="gone@example.com")
    _ship(api)

    outbox_pump(worker_id="w1")

    busy_row, gone_row, ok_row = _emails()
    # 450: later
    assert (busy_row.status, busy_row.attempts) == (OutboxStatus.PENDING, 1)
    assert "450" in busy_row.last_error and busy_row.next_attempt_at > timezone.now()
    assert not Event.objects.filter(order_id=busy["id"], kind="outbox_failed").exists()
    # 550: never, and the merchant sees why on the order
    assert gone_row.status == OutboxStatus.FAILED
    failed = Event.objects.get(order_id=gone["id"], kind="outbox_failed")
    assert failed.data["kind"] == "customer_email" and "550" in failed.data["error"]
    # a busy mailbox is not a server that is down: the next email went out
    assert ok_row.status == OutboxStatus.DELIVERED
    assert [rcpts for _, rcpts, _ in smtp.received] == [["buyer@example.com"]]

    # When the mailbox is free again
    smtp.rcpt_answers = {"gone@": smtp.rcpt_answers["gone@"]}
    _due_now()
    outbox_pump(worker_id="w1")

    busy_row.refresh_from_db()
    assert (busy_row.status, busy_row.attempts) == (OutboxStatus.DELIVERED, 2)
    assert [rcpts for _, rcpts, _ in smtp.received][-1] == ["busy@example.com"]
    gone_row.refresh_from_db()
    assert gone_row.status == OutboxStatus.FAILED  # not tried again


# --- the shop's sender -----------------------------------------------------------------------


def test_the_shops_sender_name_address_and_reply_to_are_used(api, shop, smtp):
    # Given the shop's sender settings
    changed = api.patch(
        SHOP,
        {
            "email_sender_name": "Atelier Éphémère",
            "email_sender_address": "hello@atelier.example",
            "email_reply_to": "help@atelier.example",
        },
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["email_sender_name"] == "Atelier Éphémère"

    # When a shipping confirmation goes out
    _ship(api)
    outbox_pump(worker_id="w1")

    # Then it comes from the shop, answers go to its help address, bounces to its sender
    [(mail_from, rcpts, _)] = smtp.received
    [msg] = smtp.messages
    [sender] = msg["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Atelier Éphémère", "hello@atelier.example")
    assert [a.addr_spec for a in msg["Reply-To"].addresses] == ["help@atelier.example"]
    assert mail_from == "hello@atelier.example" and rcpts == ["buyer@example.com"]


def test_a_sender_name_with_commas_and_quotes_stays_one_address(api, shop, smtp):
    name = 'Dupont, Fils & "Cie"'
    assert api.patch(SHOP, {"email_sender_name": name}).status_code == 200

    _ship(api)
    outbox_pump(worker_id="w1")

    [msg] = smtp.messages
    [sender] = msg["From"].addresses
    assert sender.display_name == name


@pytest.mark.parametrize("field", ["email_sender_address", "email_reply_to"])
@pytest.mark.parametrize("value", ["not an address", "hello@", "a@b.example\r\nBcc: x@y.example"])
def test_a_sender_address_that_is_not_one_is_refused(api, shop, field, value):
    response = api.patch(SHOP, {field: value})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_shop"
    assert set(response.json()["fields"]) == {field}
    assert api.get(SHOP).json()[field] == ""


def test_a_sender_address_with_an_accented_domain_is_refused_or_sent_in_ascii(api, shop, smtp):
    # The shop accepts what it can send: a domain the mail server cannot be given as is is
    # either refused up front or sent in its ASCII (IDNA) form, never retried for days.
    response = api.patch(SHOP, {"email_sender_address": "hello@atelier-éphémère.example"})
    if response.status_code == 422:
        assert response.json()["code"] == "invalid_shop"
        assert set(response.json()["fields"]) == {"email_sender_address"}
        return
    assert response.status_code == 200, response.content

    _ship(api)
    outbox_pump(worker_id="w1")

    [row] = _emails()
    assert row.status == OutboxStatus.DELIVERED, row.last_error
    ascii_domain = "atelier-éphémère.example".encode("idna").decode()
    [(mail_from, _, _)] = smtp.received
    assert mail_from == f"hello@{ascii_domain}"


@pytest.mark.parametrize("name", ["Atelier\nBcc: x@y.example", "Atelier\r\nÉphémère", "A\rB"])
def test_a_sender_name_on_more_than_one_line_is_refused(api, shop, name):
    response = api.patch(SHOP, {"email_sender_name": name})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_shop"
    assert set(response.json()["fields"]) == {"email_sender_name"}
    assert api.get(SHOP).json()["email_sender_name"] == ""


# --- the message on the wire -----------------------------------------------------------------


def _check_lines(raw: bytes) -> None:
    """RFC 5322 2.1.1 and 2.3: lines of at most 998 bytes, each ended by CRLF, no bare CR or
    LF anywhere."""
    assert raw.endswith(b"\r\n")
    for number, line in enumerate(raw[:-2].split(b"\r\n"), 1):
        assert len(line) <= 998, (number, len(line), line[:80])
        assert b"\r" not in line and b"\n" not in line, (number, line[:80])


def test_a_french_order_confirmation_is_well_formed_and_decodes_to_its_preview(api, shop, smtp):
    # Given a French order whose buyer asked to be told
    order = api.post(
        ORDERS,
        order_body(
            [("BAR-A", 2), ("BAR-B", 1)],
            locale="fr-FR",
            notify_customer=True,
            shipping_price="4.90",
        ),
    ).json()
    preview = api.post(
        f"{TEMPLATES}/order_confirmation/preview", {"locale": "fr", "order_id": order["id"]}
    ).json()
    assert "confirmée" in preview["subject"]

    # When it is sent
    outbox_pump(worker_id="w1")

    # Then every line keeps to the rules, and the parts decode to what the preview showed
    [(_, _, raw)] = smtp.received
    _check_lines(raw)
    [msg] = smtp.messages
    assert msg["Subject"] == preview["subject"] == f"Commande {order['number']} confirmée"
    text, html = _parts(msg)
    assert text.replace("\r\n", "\n").rstrip("\n") == preview["text"].rstrip("\n")
    assert html.replace("\r\n", "\n").rstrip("\n") == preview["html"].rstrip("\n")
    assert "12,50\u00a0€" in text


def test_long_lines_and_long_accented_subjects_are_folded_not_cut(api, shop, smtp):
    # Given a merchant template with a subject as long as allowed and a very long line
    subject = "Votre commande {{ order.number }} a été expédiée — " + "éàü ç " * 40
    long_line = "Détails : " + "très long texte accentué, " * 150
    html_line = "<p>" + "<span>é</span>" * 400 + "</p>"
    saved = api.patch(
        f"{TEMPLATES}/shipping_confirmation",
        {"locale": "fr", "subject": subject, "text": long_line + "\n\nFin.", "html": html_line},
    )
    assert saved.status_code == 200, saved.content
    order = _ship(api, locale="fr")

    outbox_pump(worker_id="w1")

    [(_, _, raw)] = smtp.received
    _check_lines(raw)
    [msg] = smtp.messages
    rendered = " ".join(subject.replace("{{ order.number }}", order["number"]).split())
    assert msg["Subject"] == " ".join(rendered[:250].split())
    text, html = _parts(msg)
    assert text.replace("\r\n", "\n").rstrip("\n") == long_line + "\n\nFin."
    assert html.rstrip("\r\n") == html_line


@pytest.mark.parametrize("name", ["🍰" * 200, "東京の小さな雑貨店" * 22], ids=["emoji", "kanji"])
def test_the_longest_sender_name_allowed_still_makes_lines_of_at_most_998_bytes(
    api, shop, smtp, name
):
    assert len(name) <= 200
    address = "x" * 60 + "@" + ".".join(["long-domain"] * 15) + ".example"
    response = api.patch(SHOP, {"email_sender_name": name, "email_sender_address": address})
    assert response.status_code == 200, response.content

    _ship(api)
    outbox_pump(worker_id="w1")

    [row] = _emails()
    assert row.status == OutboxStatus.DELIVERED, row.last_error
    [(_, _, raw)] = smtp.received
    _check_lines(raw)
    [sender] = smtp.messages[0]["From"].addresses
    # The name is folded into several encoded words; RFC 2047 drops the folding whitespace
    # between them, which Python's address parser keeps, so compare without it.
    assert "".join(sender.display_name.split()) == "".join(name.split())
    assert sender.addr_spec == address
