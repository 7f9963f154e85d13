"""Outbox handlers that deliver buyer emails. Loaded by every worker."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

from django.db.models import Prefetch

from colis.core.actor import Actor
from colis.core.models import OutboxMessage, Shop
from colis.core.outbox import PermanentFailure, outbox_handler
from colis.core.timeline import event_record
from colis.fulfillment.models import FulfillmentHold, Shipment
from colis.notifications.context import email_context
from colis.notifications.mail import OutgoingEmail, email_build, mail_send, shop_sender
from colis.notifications.models import EmailTemplate
from colis.notifications.render import email_render, locale_pick, parts_render
from colis.notifications.templates import template_parts
from colis.orders.models import Order, OrderLine


@dataclass(frozen=True, kw_only=True, slots=True)
class Composed:
    """A buyer email ready to send, and why the merchant's template was not used, if so."""

    email: OutgoingEmail
    locale: str
    fell_back: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class EmailInputs:
    """What one buyer email is made from, loaded for a whole batch at once; `composed` is the
    email being rendered meanwhile on the composing thread."""

    order: Order | None
    shipment: Shipment | None
    shop: Shop
    template: EmailTemplate | None
    composed: Future[Composed] | None = None


# Rendering runs on its own thread, ahead of sending: the next email is being rendered while
# the mail server answers for this one, and still only one message is ever in flight.
_COMPOSER = ThreadPoolExecutor(1, thread_name_prefix="email-compose")


def customer_emails_prepare(messages: Sequence[OutboxMessage]) -> None:
    """Load the orders (with lines), shipments (with lines), shop and templates of a batch in
    five queries, and start rendering them."""
    order_ids = {m.payload.get("order_id") for m in messages}
    shipment_ids = {m.payload["shipment_id"] for m in messages if m.payload.get("shipment_id")}
    lines = Prefetch("lines", queryset=OrderLine.objects.order_by("pk"))
    orders = Order.objects.prefetch_related(lines).in_bulk(
        [i for i in order_ids if isinstance(i, int)]
    )
    shipments = (
        Shipment.objects.prefetch_related("lines").in_bulk(list(shipment_ids))
        if shipment_ids
        else {}
    )
    shop = Shop.objects.filter(pk=1).first() or Shop()
    names = {m.payload.get("template") for m in messages}
    templates = {t.name: t for t in EmailTemplate.objects.filter(name__in=names)}
    for m in messages:
        inputs = EmailInputs(
            order=orders.get(m.payload.get("order_id")),
            shipment=shipments.get(m.payload.get("shipment_id")),
            shop=shop,
            template=templates.get(m.payload.get("template")),
        )
        ready = _sendable(m, inputs)
        if ready:
            inputs = replace(inputs, composed=_COMPOSER.submit(_compose, m, inputs, ready))
        m.prepared = inputs


def _inputs(message: OutboxMessage) -> EmailInputs:
    if not isinstance(message.prepared, EmailInputs):
        customer_emails_prepare([message])
    assert isinstance(message.prepared, EmailInputs)
    return message.prepared


def _sendable(message: OutboxMessage, inputs: EmailInputs) -> str:
    """The recipient, when this email is to be sent at all (else "")."""
    order, template = inputs.order, inputs.template
    if order is None or (message.payload.get("shipment_id") and inputs.shipment is None):
        return ""
    if template is not None and not template.enabled:
        return ""
    return str(message.payload.get("to") or order.email or "")


def _compose(message: OutboxMessage, inputs: EmailInputs, to: str) -> Composed:
    """Render and build one email (no database access: everything is loaded)."""
    assert inputs.order is not None
    name = message.payload["template"]
    locale = locale_pick(inputs.order.locale, inputs.shop.locale)
    context = email_context(
        order=inputs.order,
        shipment=inputs.shipment,
        shop=inputs.shop,
        locale=locale,
        extra=message.payload,
    )
    parts, custom = template_parts(name, locale, inputs.template)
    fell_back = ""
    try:
        rendered = parts_render(parts, context)
    except Exception as exc:
        if not custom:
            raise
        # The merchant's version failed on this order: send the default, and say so.
        rendered = email_render(template=name, locale=locale, context=context)
        fell_back = str(exc)[:500] or type(exc).__name__
    email = email_build(
        sender=shop_sender(inputs.shop),
        to=to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        key=message.idempotency_key,
    )
    return Composed(email=email, locale=locale, fell_back=fell_back)


def _order_event(order: Order, kind: str, data: dict[str, str]) -> None:
    """What happened to a buyer email, on its order's timeline."""
    event_record(
        subject_type="order",
        subject_id=order.pk,
        order_id=order.pk,
        kind=kind,
        actor=Actor.system("worker"),
        data=data,
    )


@outbox_handler("customer_email", prepare=customer_emails_prepare)
def customer_email(message: OutboxMessage) -> None:
    payload = message.payload
    inputs = _inputs(message)
    order, row = inputs.order, inputs.template
    if order is None:
        raise PermanentFailure("The order of this email no longer exists.")
    if payload.get("shipment_id") and inputs.shipment is None:
        raise PermanentFailure("The shipment of this email no longer exists.")
    name = payload["template"]
    if row is not None and not row.enabled:
        _order_event(order, "customer_email_switched_off", {"template": name})
        return
    to = _sendable(message, inputs)
    if not to:
        raise PermanentFailure("The order has no email address.")
    hold = (payload.get("hold") or {}).get("reason") if name == "fulfillment_on_hold" else None
    if (
        hold
        and not FulfillmentHold.objects.filter(
            fulfillment_order__order_id=order.pk, reason=hold
        ).exists()
    ):
        # Released before the email left: asking the buyer now would be wrong.
        _order_event(
            order,
            "customer_email_skipped",
            {"template": name, "why": f"the {hold} hold was released"},
        )
        return
    composed = inputs.composed.result() if inputs.composed else _compose(message, inputs, to)
    if composed.fell_back:
        _order_event(
            order,
            "email_template_fell_back",
            {"template": name, "locale": composed.locale, "error": composed.fell_back},
        )
    mail_send(composed.email)
