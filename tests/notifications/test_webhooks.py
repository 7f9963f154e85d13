"""Outgoing webhooks to a real local HTTP receiver that verifies the signature itself."""

from __future__ import annotations

import hashlib
import hmac
import json

import colis.webhooks.handlers  # noqa: F401  (registers the handlers)
from colis.core.models import OutboxMessage, OutboxStatus
from colis.core.outbox import outbox_pump
from colis.webhooks.models import WebhookDelivery
from tests.factories import order_body
from tests.notifications.test_service_messages import receiver  # noqa: F401  (fixture)

ORDERS = "/api/v1/orders"
HOOKS = "/api/v1/webhooks"


def _pump_all() -> None:
    while outbox_pump(worker_id="w1"):
        pass


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    mac = hmac.new(
        secret.encode(), f"{headers['x-colis-timestamp']}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(mac, headers["x-colis-signature"])


def test_a_subscriber_gets_signed_shipment_events_with_stable_ids(api, shop, receiver):  # noqa: F811
    url, got = receiver
    created = api.post(
        HOOKS,
        {"url": url, "events": ["shipment.created", "order.cancelled"], "allow_private": True},
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    shipment = api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {"carrier": "ups", "tracking_numbers": ["1Z5R89390357567127"]},
    ).json()
    _pump_all()
    [(headers, body)] = got
    assert _verify(secret, headers, body)
    event = json.loads(body)
    assert event["type"] == "shipment.created" and event["id"] == headers["x-colis-event-id"]
    assert event["data"]["shipment_id"] == shipment["id"]
    log = api.get(f"{HOOKS}/{created.json()['id']}/deliveries").json()["items"]
    assert [(d["event"], d["status"], d["response_status"]) for d in log] == [
        ("shipment.created", "delivered", 204)
    ]
    # redelivery by hand sends the same event id again
    again = api.post(f"{HOOKS}/deliveries/{log[0]['id']}/redeliver")
    assert again.status_code == 200
    _pump_all()
    assert len(got) == 2 and got[1][0]["x-colis-event-id"] == headers["x-colis-event-id"]


def test_private_addresses_are_refused_unless_allowed(api, shop):
    response = api.post(HOOKS, {"url": "http://127.0.0.1:9/h", "events": ["shipment.created"]})
    assert response.status_code == 422 and "url" in response.json()["fields"]
    response = api.post(HOOKS, {"url": "http://10.0.0.7/h", "events": ["shipment.created"]})
    assert response.status_code == 422
    bad = api.post(HOOKS, {"url": "https://example.com/h", "events": ["nope"]})
    assert bad.status_code == 422 and "events" in bad.json()["fields"]


def test_a_receiver_that_is_down_is_retried_for_two_days(api, shop):
    hook = api.post(
        HOOKS,
        {"url": "http://127.0.0.1:9/h", "events": ["shipment.created"], "allow_private": True},
    ).json()
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    api.post(f"{ORDERS}/{order['id']}/shipments", {"carrier": "other"})
    _pump_all()
    row = OutboxMessage.objects.get(kind="webhook_delivery")
    assert row.status == OutboxStatus.PENDING and row.max_attempts >= 30
    delivery = WebhookDelivery.objects.get(subscription_id=hook["id"])
    assert delivery.status == "retrying" and delivery.attempts == 1


def test_an_inactive_subscription_gets_nothing(api, shop, receiver):  # noqa: F811
    url, got = receiver
    hook = api.post(
        HOOKS, {"url": url, "events": ["shipment.created"], "allow_private": True}
    ).json()
    api.patch(f"{HOOKS}/{hook['id']}", {"active": False})
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    api.post(f"{ORDERS}/{order['id']}/shipments", {"carrier": "other"})
    _pump_all()
    assert got == [] and not WebhookDelivery.objects.exists()
