"""Outbox handlers that deliver buyer emails. Loaded by every worker."""

from __future__ import annotations

from colis.core.actor import Actor
from colis.core.models import OutboxMessage, Shop
from colis.core.outbox import PermanentFailure, outbox_handler
from colis.core.timeline import event_record
from colis.fulfillment.models import Shipment
from colis.notifications.context import email_context
from colis.notifications.mail import email_build, mail_send
from colis.notifications.models import EmailTemplate
from colis.notifications.render import email_render, locale_pick, parts_render
from colis.notifications.templates import template_parts
from colis.orders.models import Order


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
    name = payload["template"]
    row = EmailTemplate.objects.filter(name=name).first()
    if row is not None and not row.enabled:
        event_record(
            subject_type="order",
            subject_id=order.pk,
            order_id=order.pk,
            kind="customer_email_switched_off",
            actor=Actor.system("worker"),
            data={"template": name},
        )
        return
    locale = locale_pick(order.locale, shop.locale)
    context = email_context(order=order, shipment=shipment, shop=shop)
    parts, custom = template_parts(name, locale, row)
    try:
        rendered = parts_render(parts, context)
    except Exception as exc:
        if not custom:
            raise
        # The merchant's version failed on this order: send the default, and say so.
        rendered = email_render(template=name, locale=locale, context=context)
        event_record(
            subject_type="order",
            subject_id=order.pk,
            order_id=order.pk,
            kind="email_template_fell_back",
            actor=Actor.system("worker"),
            data={"template": name, "locale": locale, "error": str(exc)[:500]},
        )
    mail_send(
        email_build(
            sender_name=shop.name,
            to=to,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            key=message.idempotency_key,
        )
    )
