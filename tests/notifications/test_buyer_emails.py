"""Every buyer email from a real order, in both languages; the order confirmation, the
address-hold email; order events for webhooks; a dropship supplier's purchase order."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

import colis.notifications.handlers  # noqa: F401  (registers "customer_email")
import colis.notifications.service_messages  # noqa: F401
from colis.core.models import Event, OutboxMessage, OutboxStatus
from colis.core.outbox import outbox_pump
from colis.fulfillment.models import FulfillmentHold
from colis.notifications.defaults import DEFAULTS, LOCALES
from colis.notifications.handlers import customer_emails_prepare
from colis.orders.models import Order
from tests.factories import ADDRESS_FR, order_body
from tests.notifications.test_email import inbox  # noqa: F401  (fixture)
from tests.notifications.test_service_messages import _supplier

ORDERS = "/api/v1/orders"
SERVICES = "/api/v1/fulfillment-services"
LIQUID_LEFT = re.compile(r"{{|}}|{%|%}")


def _pump() -> None:
    while outbox_pump(worker_id="w1"):
        pass


def _parts(msg) -> tuple[str, str]:
    return (
        msg.get_body(preferencelist=("plain",)).get_content(),
        msg.get_body(preferencelist=("html",)).get_content(),
    )


def _shipped(api, locale: str) -> tuple[dict, dict]:
    order = api.post(
        ORDERS,
        order_body(
            [("BAR-A", 2), ("BAR-B", 1)],
            locale=locale,
            shipping_price="4.90",
            shipping_method="Colissimo",
        ),
    ).json()
    shipment = api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {"carrier": "ups", "tracking_numbers": ["1Z5R89390357567127"], "notify_customer": False},
    ).json()
    return order, shipment


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template", sorted(DEFAULTS))
def test_every_template_renders_from_a_real_order(api, shop, inbox, template, locale):  # noqa: F811
    order, shipment = _shipped(api, locale)
    if template == "fulfillment_on_hold":  # sent only while the hold is on
        FulfillmentHold.objects.create(
            fulfillment_order_id=order["fulfillment_orders"][0]["id"],
            reason="incorrect_address",
            actor_kind="system",
            created_at=timezone.now(),
        )
    OutboxMessage.objects.all().delete()
    OutboxMessage.objects.create(
        kind="customer_email",
        idempotency_key=f"t:{template}:{locale}",
        payload={
            "order_id": order["id"],
            "shipment_id": shipment["id"],
            "template": template,
            "to": "buyer@example.com",
            "refund": {"amount": "12.50", "reason": "Damaged"},
            "hold": {"reason": "incorrect_address"},
        },
        order_id=order["id"],
        next_attempt_at="2000-01-01T00:00:00Z",
        created_at="2000-01-01T00:00:00Z",
    )
    _pump()
    [(rcpt, msg)] = inbox.messages
    text, html = _parts(msg)
    assert rcpt == ["buyer@example.com"]
    assert order["number"] in msg["Subject"] and order["number"] in text
    assert not LIQUID_LEFT.search(text + html + msg["Subject"])
    assert ADDRESS_FR["name"] in text  # the greeting uses the buyer's name
    if locale == "fr":
        assert "Bonjour" in text
    else:
        assert "Hello" in text


def test_the_order_confirmation_is_sent_when_asked_with_prices_in_the_buyers_language(
    api,
    shop,
    inbox,  # noqa: F811
):
    silent = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    asked = api.post(
        ORDERS,
        order_body([("BAR-A", 2)], locale="fr", shipping_price="4.90", notify_customer=True),
    ).json()
    _pump()
    [(rcpt, msg)] = inbox.messages
    text, html = _parts(msg)
    assert msg["Subject"] == f"Commande {asked['number']} confirmée"
    assert "25,00\u00a0€" in text and "29,90\u00a0€" in text  # 2 × 12.50, then with shipping
    assert "BAR-A" in html and ADDRESS_FR["city"] in html
    assert not OutboxMessage.objects.filter(order_id=silent["id"], kind="customer_email").exists()


def test_an_incorrect_address_hold_asks_the_buyer_and_other_holds_do_not(api, shop, inbox):  # noqa: F811
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    other = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    quiet = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    assert api.post(f"{ORDERS}/{order['id']}/hold", {"reason": "incorrect_address"}).status_code
    api.post(f"{ORDERS}/{other['id']}/hold", {"reason": "other", "notes": "check stock"})
    api.post(
        f"{ORDERS}/{quiet['id']}/hold",
        {"reason": "incorrect_address", "notify_customer": False},
    )
    _pump()
    [(rcpt, msg)] = inbox.messages
    text, _ = _parts(msg)
    assert msg["Subject"] == f"Please check the address of your order {order['number']}"
    assert ADDRESS_FR["line1"] in text and "check stock" not in text
    emails = OutboxMessage.objects.filter(kind="customer_email")
    assert [m.order_id for m in emails] == [order["id"]]


def test_the_buyer_is_asked_and_not_once_the_hold_is_released(api, shop, inbox):  # noqa: F811
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    api.post(f"{ORDERS}/{order['id']}/hold", {"reason": "incorrect_address"})
    _pump()
    assert len(inbox.messages) == 1
    released = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    api.post(f"{ORDERS}/{released['id']}/hold", {"reason": "incorrect_address"})
    api.post(f"{ORDERS}/{released['id']}/release")
    _pump()  # held then released before the worker came by: nothing sent
    assert len(inbox.messages) == 1
    assert Event.objects.filter(order_id=released["id"], kind="customer_email_skipped").exists()


def test_order_created_and_updated_events_follow_the_orders_life(api, shop):
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {"carrier": "ups", "tracking_numbers": ["1Z5R89390357567127"]},
    )
    events = [
        m.payload
        for m in OutboxMessage.objects.filter(kind="webhook_event", order_id=order["id"]).order_by(
            "pk"
        )
    ]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "order.created" and events[0]["number"] == order["number"]
    [updated] = [e for e in events if e["event"] == "order.updated"]
    assert updated["status"] == "shipped" and updated["fulfillment_status"] == "fulfilled"
    assert updated["previous"]["status"] == "awaiting_fulfillment"
    assert "shipment.created" in kinds


def test_the_emails_of_a_batch_are_loaded_in_a_few_queries(
    api, shop, django_assert_max_num_queries
):
    ids = [
        api.post(ORDERS, order_body([("BAR-A", 1)], notify_customer=True)).json()["id"]
        for _ in range(20)
    ]
    messages = list(OutboxMessage.objects.filter(kind="customer_email", order_id__in=ids))
    assert len(messages) == 20
    with django_assert_max_num_queries(6):
        customer_emails_prepare(messages)
    assert all(m.prepared.composed.result().email.recipient for m in messages)


def test_a_dropship_supplier_gets_a_purchase_order_it_can_print(api, shop, location, inbox, client):  # noqa: F811
    supplier = _supplier(api, location, email="orders@supplier.example.com")
    order = api.post(ORDERS, order_body([("BAR-A", 3)], note="Gift, no invoice")).json()
    [fo] = order["fulfillment_orders"]
    _pump()
    [(rcpt, msg)] = [m for m in inbox.messages if m[0] == ["orders@supplier.example.com"]]
    number = f"PO-{fo['id']:06d}"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert number in msg["Subject"] and order["number"] in msg["Subject"]
    [url] = [w for w in text.split() if f"/fo/{fo['id']}/" in w]
    page = client.get(url[url.index("/portal/") :])
    assert page.status_code == 200
    body = page.content.decode()
    assert number in body and "BAR-A" in body and "Gift, no invoice" in body
    assert ADDRESS_FR["line1"] in body and "12.50" not in body  # no prices on it
    # another service's link does not open it
    other = _other_service(api)
    link = api.post(f"{SERVICES}/{other['id']}/portal-link").json()["url"]
    assert client.get(f"{link[link.index('/portal/') :]}fo/{fo['id']}/").status_code == 404
    assert supplier["kind"] == "dropship"


def _other_service(api) -> dict:
    response = api.post(
        SERVICES,
        {"name": "Other 3PL", "kind": "3pl", "address": ADDRESS_FR, "notify_method": "portal"},
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_failed_buyer_email_shows_on_the_orders_timeline(api, shop, inbox):  # noqa: F811
    order = api.post(
        ORDERS, order_body([("BAR-A", 1)], email="nobody@example.com", notify_customer=True)
    ).json()
    _pump()
    row = OutboxMessage.objects.get(kind="customer_email", order_id=order["id"])
    assert row.status == OutboxStatus.FAILED
    assert Event.objects.filter(order_id=order["id"], kind="outbox_failed").exists()
    assert Order.objects.filter(pk=order["id"]).exists()


@pytest.mark.parametrize("early", [False, True])
def test_a_shipment_without_tracking_waits_for_it_unless_the_shop_chose_otherwise(
    api,
    shop,
    inbox,  # noqa: F811
    early,
):
    assert api.patch("/api/v1/shop", {"notify_without_tracking": early}).status_code == 200
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    shipment = api.post(f"{ORDERS}/{order['id']}/shipments", {"carrier": "ups"}).json()
    _pump()
    first = [msg["Subject"] for _, msg in inbox.messages]
    assert first == ([f"Your order {order['number']} is on its way"] if early else [])
    added = api.post(
        f"/api/v1/shipments/{shipment['id']}/tracking",
        {"tracking_numbers": ["1Z5R89390357567127"]},
    )
    assert added.status_code == 200, added.content
    _pump()
    subjects = [msg["Subject"] for _, msg in inbox.messages]
    later = (
        f"New tracking for your order {order['number']}"
        if early
        else f"Your order {order['number']} is on its way"
    )
    assert subjects == [*first, later]
    assert "1Z5R89390357567127" in _parts(inbox.messages[-1][1])[0]
