"""Buyer emails through a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller

import colis.notifications.handlers  # noqa: F401  (registers "customer_email")
from colis.core.models import Event, OutboxMessage, OutboxStatus
from colis.core.outbox import outbox_pump
from colis.notifications.mail import mail_close, message_id
from tests.factories import order_body

ORDERS = "/api/v1/orders"


class Inbox:
    def __init__(self, refuse: str = "") -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse and address.startswith(self.refuse):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(settings):
    handler = Inbox(refuse="nobody")
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_URL = f"smtp://127.0.0.1:{port}"
    yield handler
    mail_close()
    controller.stop()


def _ship(api, **extra):
    order = api.post(ORDERS, order_body([("BAR-A", 2)], **extra)).json()
    shipment = api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {"carrier": "ups", "tracking_numbers": ["1Z5R89390357567127"]},
    ).json()
    return order, shipment


def _text(msg) -> tuple[str, str]:
    return (
        msg.get_body(preferencelist=("plain",)).get_content(),
        msg.get_body(preferencelist=("html",)).get_content(),
    )


def test_the_shipping_confirmation_reaches_the_buyer_with_its_tracking(api, shop, inbox):
    order, shipment = _ship(api)
    assert outbox_pump(worker_id="w1") >= 1
    [(rcpt, msg)] = inbox.messages
    assert rcpt == ["buyer@example.com"]
    assert order["number"] in msg["Subject"]
    text, html = _text(msg)
    assert "1Z5R89390357567127" in text and "BAR-A" in text
    assert 'href="https://www.ups.com/track?tracknum=1Z5R89390357567127"' in html
    row = OutboxMessage.objects.get(kind="customer_email")
    assert row.status == OutboxStatus.DELIVERED
    assert msg["Message-ID"] == message_id(row.idempotency_key)


def test_a_french_order_gets_the_french_email(api, shop, inbox):
    _ship(api, locale="fr-FR")
    outbox_pump(worker_id="w1")
    [(_, msg)] = inbox.messages
    assert "est en route" in msg["Subject"]
    assert "Suivi" in _text(msg)[0]


def test_a_refused_recipient_fails_for_good_and_shows_on_the_timeline(api, shop, inbox):
    order, _ = _ship(api, email="nobody@example.com")
    outbox_pump(worker_id="w1")
    row = OutboxMessage.objects.get(kind="customer_email")
    assert row.status == OutboxStatus.FAILED and "refused" in row.last_error.lower()
    assert Event.objects.filter(order_id=order["id"], kind="outbox_failed").exists()
    assert inbox.messages == []


def test_a_mail_server_that_is_down_means_retry_later(api, shop, settings):
    settings.EMAIL_URL = f"smtp://127.0.0.1:{_free_port()}"
    _ship(api)
    outbox_pump(worker_id="w1")
    row = OutboxMessage.objects.get(kind="customer_email")
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert "unreachable" in row.last_error


def test_markup_in_the_buyer_name_is_escaped_in_the_html_part(api, shop, inbox):
    address = dict(order_body([])["shipping_address"], name="<script>alert(1)</script>")
    _ship(api, shipping_address=address)
    outbox_pump(worker_id="w1")
    [(_, msg)] = inbox.messages
    assert "<script>" not in _text(msg)[1] and "&lt;script&gt;" in _text(msg)[1]
