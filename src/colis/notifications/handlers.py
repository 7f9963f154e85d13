"""Outbox handlers that deliver buyer emails. Loaded by every worker."""

from __future__ import annotations

import hashlib
import socket
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from django.conf import settings

from colis.core.models import OutboxMessage, Shop
from colis.core.outbox import PermanentFailure, outbox_handler
from colis.fulfillment.models import Shipment
from colis.notifications.context import email_context
from colis.notifications.mail import mail_send
from colis.notifications.render import email_render, locale_pick
from colis.orders.models import Order


def message_id(idempotency_key: str) -> str:
    """The same outbox row always makes the same Message-ID, so a repeat is recognisable."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    domain = settings.EMAIL_MESSAGE_ID_DOMAIN or socket.getfqdn() or "colis.local"
    return f"<{digest}@{domain}>"


@outbox_handler("customer_email")
def customer_email(message: OutboxMessage) -> None:
    payload = message.payload
    order = Order.objects.filter(pk=payload.get("order_id")).first()
    if order is None:
        raise PermanentFailure("The order of this email no longer exists.")
    shipment = None
    if payload.get("shipment_id"):
        shipment = Shipment.objects.filter(pk=payload["shipment_id"]).first()
        if shipment is None:
            raise PermanentFailure("The shipment of this email no longer exists.")
    shop = Shop.objects.filter(pk=1).first() or Shop()
    to = payload.get("to") or order.email
    if not to:
        raise PermanentFailure("The order has no email address.")
    rendered = email_render(
        template=payload["template"],
        locale=locale_pick(order.locale, shop.locale),
        context=email_context(order=order, shipment=shipment, shop=shop),
    )
    email = EmailMessage()
    email["From"] = formataddr((shop.name, settings.EMAIL_FROM_ADDRESS))
    email["To"] = to
    email["Subject"] = rendered.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message_id(message.idempotency_key)
    email.set_content(rendered.text)
    email.add_alternative(rendered.html, subtype="html")
    mail_send(email)
