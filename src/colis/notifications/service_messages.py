"""Messages to fulfillment services (3PLs, dropship suppliers): a fulfillment request with
everything needed to ship, and a cancellation request; by email or by signed webhook, as the
service is set. A service told through its portal only gets the portal (nothing is sent)."""

from __future__ import annotations

from typing import Any

from colis.core.models import OutboxMessage, Shop
from colis.core.outbox import PermanentFailure, outbox_handler
from colis.fulfillment.models import FulfillmentOrder
from colis.notifications.mail import email_build, mail_send, shop_sender
from colis.partners.models import FulfillmentService, NotifyMethod, ServiceKind
from colis.webhooks.signing import signed_post
from colis.webhooks.urls import url_problem

WEBHOOK_TIMEOUT_SECONDS = 15.0


def request_payload(
    fo: FulfillmentOrder, kind: str, portal_url: str, *, dropship: bool = False
) -> dict[str, Any]:
    """What the service is told; a dropship supplier also gets its purchase order (number and
    the portal page to print it from)."""
    from colis.partners.services import purchase_order_number

    order = fo.order
    titles = {ln.pk: ln.title for ln in order.lines.all()}
    extra: dict[str, Any] = {}
    if dropship:
        extra["purchase_order"] = {
            "number": purchase_order_number(fo.pk),
            "url": f"{portal_url}fo/{fo.pk}/",
        }
    return {
        "type": kind,
        "fulfillment_order_id": fo.pk,
        "order_number": order.number,
        "ship_to": order.shipping_address,
        "ship_by": order.ship_by.isoformat() if order.ship_by else None,
        "shipping_method": order.shipping_method,
        "notes": order.note,
        "items": [
            {
                "sku": ln.sku,
                "title": titles.get(ln.order_line_id, ""),
                "quantity": ln.remaining if kind == "fulfillment_request" else ln.quantity,
            }
            for ln in fo.lines.all()
        ],
        "portal_url": portal_url,
        **extra,
    }


def _email(service: FulfillmentService, key: str, payload: dict[str, Any]) -> None:
    shop = Shop.objects.filter(pk=1).first() or Shop()
    cancel = payload["type"] != "fulfillment_request"
    po = payload.get("purchase_order")
    what = f"purchase order {po['number']}, order" if po else "order"
    subject = (
        f"Cancellation request: {what} {payload['order_number']}"
        if cancel
        else f"{'Purchase order ' + po['number'] if po else 'Fulfillment request'}: "
        f"order {payload['order_number']}"
    )
    address = payload["ship_to"] or {}
    lines = [
        f"{'Please cancel' if cancel else 'Please ship'} order {payload['order_number']} "
        f"(fulfillment order {payload['fulfillment_order_id']}) for {shop.name}.",
        "",
        *(f"- {i['quantity']} x {i['sku']} {i['title']}" for i in payload["items"]),
        "",
        "Ship to:",
        *(str(address.get(k)) for k in ("name", "company", "line1", "line2") if address.get(k)),
        " ".join(str(address.get(k) or "") for k in ("postal_code", "city", "region")).strip(),
        str(address.get("country") or ""),
        "",
        f"Shipping method: {payload['shipping_method'] or '-'}",
        f"Ship by: {payload['ship_by'] or '-'}",
        f"Notes: {payload['notes'] or '-'}",
        "",
        *([f"Purchase order to print (no prices, ship in our name): {po['url']}"] if po else []),
        f"Accept, reject and enter tracking: {payload['portal_url']}",
    ]
    mail_send(
        email_build(
            sender=shop_sender(shop),
            to=service.email,
            subject=subject,
            text="\n".join(lines) + "\n",
            key=key,
        )
    )


def _deliver(message: OutboxMessage, kind: str) -> None:
    from colis.partners.services import service_portal_link

    fo = (
        FulfillmentOrder.objects.select_related("order")
        .filter(pk=message.payload.get("fulfillment_order_id"))
        .first()
    )
    if fo is None:
        raise PermanentFailure("The fulfillment order no longer exists.")
    service = FulfillmentService.objects.filter(location_id=message.payload["location_id"]).first()
    if service is None:
        raise PermanentFailure("The location has no fulfillment service any more.")
    if service.notify_method == NotifyMethod.PORTAL:
        return
    payload = request_payload(
        fo,
        kind,
        service_portal_link(service_id=service.pk),
        dropship=service.kind == ServiceKind.DROPSHIP,
    )
    if service.notify_method == NotifyMethod.WEBHOOK:
        if problem := url_problem(service.webhook_url, allow_private=service.webhook_allow_private):
            raise PermanentFailure(problem)
        signed_post(service.webhook_url, service.webhook_secret, message.idempotency_key, payload)
    else:
        _email(service, message.idempotency_key, payload)


@outbox_handler("fulfillment_request")
def fulfillment_request(message: OutboxMessage) -> None:
    _deliver(message, "fulfillment_request")


@outbox_handler("fulfillment_cancellation_request")
def fulfillment_cancellation_request(message: OutboxMessage) -> None:
    _deliver(message, "fulfillment_cancellation_request")
