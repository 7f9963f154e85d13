"""Fulfillment requests to 3PLs and suppliers: by email (real SMTP) and by signed webhook (a real
local HTTP receiver that checks the signature with its own code)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import colis.notifications.service_messages  # noqa: F401  (registers the handlers)
from colis.core.models import OutboxMessage, OutboxStatus
from colis.core.outbox import outbox_pump
from colis.locations.models import Location
from tests.factories import ADDRESS_FR, order_body
from tests.notifications.test_email import inbox  # noqa: F401  (fixture)

ORDERS = "/api/v1/orders"
SERVICES = "/api/v1/fulfillment-services"


@pytest.fixture
def receiver():
    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/colis", got
    server.shutdown()


def _supplier(api, location, **extra):
    Location.objects.filter(pk=location.pk).update(fulfills_online_orders=False)
    body = {
        "name": "Supplier",
        "kind": "dropship",
        "manages_own_stock": False,
        "address": ADDRESS_FR,
        **extra,
    }
    response = api.post(SERVICES, body)
    assert response.status_code == 201, response.content
    return response.json()


def test_a_supplier_told_by_email_gets_the_items_address_and_portal_link(
    api,
    shop,
    location,
    inbox,  # noqa: F811
):
    _supplier(api, location, email="orders@supplier.example.com")
    order = api.post(ORDERS, order_body([("BAR-A", 3)], shipping_method="Express")).json()
    outbox_pump(worker_id="w1")
    [(rcpt, msg)] = [m for m in inbox.messages if m[0] == ["orders@supplier.example.com"]]
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert order["number"] in msg["Subject"] and "3 x BAR-A" in text
    assert "Express" in text and "/portal/" in text and ADDRESS_FR["city"] in text
    row = OutboxMessage.objects.get(kind="fulfillment_request")
    assert row.status == OutboxStatus.DELIVERED


def test_a_3pl_told_by_webhook_gets_a_signed_request_it_can_verify(api, shop, location, receiver):
    url, got = receiver
    service = _supplier(
        api,
        location,
        name="Hook 3PL",
        kind="3pl",
        notify_method="webhook",
        webhook_url=url,
        webhook_allow_private=True,
    )
    secret = service["webhook_secret"]
    order = api.post(ORDERS, order_body([("BAR-A", 2)])).json()
    outbox_pump(worker_id="w1")
    [(headers, body)] = got
    expected = hmac.new(
        secret.encode(), headers["x-colis-timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(headers["x-colis-signature"], expected)
    payload = json.loads(body)
    assert payload["order_number"] == order["number"] and payload["type"] == "fulfillment_request"
    assert payload["items"] == [
        {"sku": "BAR-A", "title": payload["items"][0]["title"], "quantity": 2}
    ]
    row = OutboxMessage.objects.get(kind="fulfillment_request")
    assert headers["x-colis-event-id"] == row.idempotency_key
    # cancelling sends the cancellation request the same way
    api.post(f"{ORDERS}/{order['id']}/cancel")
    outbox_pump(worker_id="w1")
    assert json.loads(got[-1][1])["type"] == "fulfillment_cancellation_request"


def test_an_unreachable_service_endpoint_is_retried_later(api, shop, location):
    _supplier(
        api,
        location,
        name="Down 3PL",
        kind="3pl",
        notify_method="webhook",
        webhook_url="http://127.0.0.1:9/hooks",
        webhook_allow_private=True,
    )
    api.post(ORDERS, order_body([("BAR-A", 1)]))
    outbox_pump(worker_id="w1")
    row = OutboxMessage.objects.get(kind="fulfillment_request")
    assert row.status == OutboxStatus.PENDING and row.attempts == 1


def test_a_service_webhook_to_a_private_address_is_refused_unless_allowed(api, location):
    Location.objects.filter(pk=location.pk).update(fulfills_online_orders=False)
    body = {
        "name": "Inside 3PL",
        "kind": "3pl",
        "notify_method": "webhook",
        "webhook_url": "http://10.0.0.5/hooks",
        "address": ADDRESS_FR,
    }
    refused = api.post(SERVICES, body)
    assert refused.status_code == 422 and "private" in refused.json()["fields"]["webhook_url"]
    allowed = api.post(SERVICES, {**body, "webhook_allow_private": True})
    assert allowed.status_code == 201 and allowed.json()["webhook_allow_private"] is True
