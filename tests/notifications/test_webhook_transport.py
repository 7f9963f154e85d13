"""Webhooks on the wire, against real local HTTP receivers: redirects are not followed, kept-alive
connections are reused (and a closed one replaced), redelivery sends the same event, and an
event fans out once per subscription however often its fan-out runs."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

import colis.webhooks.handlers  # noqa: F401  (registers the handlers)
from colis.core.models import Event, OutboxMessage, OutboxStatus
from colis.core.outbox import outbox_pump, outbox_retry
from colis.webhooks.handlers import webhook_events
from colis.webhooks.models import WebhookDelivery
from colis.webhooks.signing import http_close
from tests.factories import ACTOR, order_body

ORDERS = "/api/v1/orders"
HOOKS = "/api/v1/webhooks"


class Receiver:
    """A local HTTP server recording each request with the client port it came from (one
    port, one TCP connection).

    `mode`: "keep-alive" (HTTP/1.1, the connection stays open), "close" (HTTP/1.0, closed
    after each answer), "drop" (HTTP/1.1 without saying so, yet closed after each answer), or
    "redirect" (302 to `location`)."""

    def __init__(self, mode: str = "keep-alive", location: str = "") -> None:
        self.requests: list[tuple[int, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0" if mode == "close" else "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append((self.client_address[1], headers, body))
                if mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                if mode == "drop":
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def connections(self) -> int:
        return len({port for port, _, _ in self.requests})

    @property
    def events(self) -> list[dict]:
        return [json.loads(body) for _, _, body in self.requests]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    started: list[Receiver] = []

    def start(mode: str = "keep-alive", location: str = "") -> Receiver:
        started.append(Receiver(mode, location))
        return started[-1]

    yield start
    http_close()  # this thread's kept connections
    for receiver in started:
        receiver.stop()


def _subscribe(api, url: str, *events: str) -> dict:
    response = api.post(HOOKS, {"url": url, "events": list(events), "allow_private": True})
    assert response.status_code == 201, response.content
    return response.json()


def _pump_all() -> None:
    while outbox_pump(worker_id="w1"):
        pass


def _ship(api) -> dict:
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    response = api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {"carrier": "ups", "tracking_numbers": ["1Z5R89390357567127"]},
    )
    assert response.status_code == 201, response.content
    return order


def test_a_redirect_is_not_followed_and_fails_the_delivery_for_good(api, shop, receivers):
    # Given a subscriber whose endpoint redirects to another server
    elsewhere = receivers()
    redirecting = receivers("redirect", location=elsewhere.url)
    hook = _subscribe(api, redirecting.url, "shipment.created")

    # When a shipment event is delivered
    order = _ship(api)
    _pump_all()

    # Then the delivery failed at once, and the other server heard nothing
    assert len(redirecting.requests) == 1 and elsewhere.requests == []
    delivery = WebhookDelivery.objects.get(subscription_id=hook["id"])
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "302" in delivery.last_error
    row = OutboxMessage.objects.get(kind="webhook_delivery")
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    failed = Event.objects.get(order_id=order["id"], kind="outbox_failed")
    assert failed.data["kind"] == "webhook_delivery"


def _four_orders_to(api, receiver: Receiver) -> None:
    _subscribe(api, receiver.url, "order.created")
    for _ in range(4):
        assert api.post(ORDERS, order_body([("BAR-A", 1)])).status_code == 201
    _pump_all()


def test_a_kept_alive_receiver_gets_every_delivery_over_one_connection(api, shop, receivers):
    receiver = receivers("keep-alive")

    _four_orders_to(api, receiver)

    assert len(receiver.requests) == 4 and receiver.connections == 1
    assert len({e["id"] for e in receiver.events}) == 4
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


@pytest.mark.parametrize("mode", ["close", "drop"])
def test_a_receiver_that_closes_after_each_answer_still_gets_each_delivery_once(
    api, shop, receivers, mode
):
    # "close" says so (HTTP/1.0); "drop" does not, so the kept connection turns out closed
    # when the next delivery uses it.
    receiver = receivers(mode)

    _four_orders_to(api, receiver)

    assert len(receiver.requests) == 4 and receiver.connections == 4
    assert len({e["id"] for e in receiver.events}) == 4
    deliveries = WebhookDelivery.objects.all()
    assert {(d.status, d.attempts) for d in deliveries} == {("delivered", 1)}


def test_redelivery_by_hand_sends_the_same_event_again_even_twice(api, shop, receivers):
    # Given a shipment event delivered once
    receiver = receivers()
    hook = _subscribe(api, receiver.url, "shipment.created")
    _ship(api)
    _pump_all()
    [delivery] = api.get(f"{HOOKS}/{hook['id']}/deliveries").json()["items"]
    assert delivery["status"] == "delivered"

    # When it is sent again by hand, and again after that
    for _ in range(2):
        again = api.post(f"{HOOKS}/deliveries/{delivery['id']}/redeliver")
        assert again.status_code == 200, again.content
        assert again.json()["status"] == "pending"
        _pump_all()

    # Then the receiver got the very same event three times: id, type, time and data
    first, *repeats = receiver.events
    assert first["type"] == "shipment.created" and first["data"]["shipment_id"]
    assert repeats == [first, first]
    assert len({headers["x-colis-event-id"] for _, headers, _ in receiver.requests}) == 1
    [log] = api.get(f"{HOOKS}/{hook['id']}/deliveries").json()["items"]
    assert log["status"] == "delivered"


def test_a_delivery_still_being_sent_cannot_be_redelivered(api, shop, receivers):
    receiver = receivers()
    _subscribe(api, receiver.url, "shipment.created")
    _ship(api)
    while WebhookDelivery.objects.count() == 0:
        outbox_pump(worker_id="w1", limit=1)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"

    response = api.post(f"{HOOKS}/deliveries/{delivery.pk}/redeliver")

    assert response.status_code == 409
    assert response.json()["code"] == "webhook_delivery_pending"


def test_an_event_fans_out_once_per_subscription_however_often_it_runs(api, shop, receivers):
    # Given two subscriptions to shipment events
    first, second = receivers(), receivers()
    hooks = [_subscribe(api, r.url, "shipment.created") for r in (first, second)]
    _ship(api)
    _pump_all()
    event_row = OutboxMessage.objects.get(kind="webhook_event", payload__event="shipment.created")

    # Then the event made exactly one delivery for each
    def deliveries() -> list[tuple[int, str]]:
        return sorted(WebhookDelivery.objects.values_list("subscription_id", "status"))

    assert deliveries() == sorted((h["id"], "delivered") for h in hooks)
    assert OutboxMessage.objects.filter(kind="webhook_delivery").count() == 2

    # When the fan-out runs again: retried by hand after being marked failed...
    OutboxMessage.objects.filter(pk=event_row.pk).update(status=OutboxStatus.FAILED)
    outbox_retry(message_id=event_row.pk, actor=ACTOR)
    _pump_all()
    # ... and called once more directly
    with transaction.atomic():
        webhook_events([OutboxMessage.objects.get(pk=event_row.pk)])
    _pump_all()

    # Then nothing new was queued or sent
    assert OutboxMessage.objects.get(pk=event_row.pk).status == OutboxStatus.DELIVERED
    assert deliveries() == sorted((h["id"], "delivered") for h in hooks)
    assert OutboxMessage.objects.filter(kind="webhook_delivery").count() == 2
    assert len(first.requests) == 1 and len(second.requests) == 1
    assert first.events[0]["id"] == second.events[0]["id"]


def test_a_receiver_that_trickles_its_answer_is_cut_off_and_retried(api, shop, monkeypatch):
    import colis.webhooks.signing as signing

    monkeypatch.setattr(signing, "TOTAL_SECONDS", 0.5)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def trickle():
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(20):  # one byte every 0.1 s: 2 s in all
            try:
                conn.sendall(b"x")
            except OSError:
                break
            time.sleep(0.1)
        conn.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    hook = api.post(
        HOOKS,
        {"url": f"http://127.0.0.1:{port}/h", "events": ["shipment.created"],
         "allow_private": True},
    ).json()  # fmt: skip
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {"carrier": "ups", "tracking_numbers": ["1Z5R89390357567127"]},
    )
    started = time.monotonic()
    _pump_all()
    assert time.monotonic() - started < 1.8  # cut off, not waited out
    [delivery] = WebhookDelivery.objects.filter(subscription_id=hook["id"])
    assert delivery.status == "retrying" and "too long" in delivery.last_error
    server.close()
