"""The BigCommerce connector against the BigCommerce emulator over real HTTP: listing, reading,
pushing shipments, finding them again, cancelling, faults, the store quota and webhooks."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from colis.channels.connectors.base import (
    AuthExpired,
    ChannelError,
    PermanentError,
    PushLine,
    PushPackage,
    RateLimited,
    WebhookRefused,
)
from colis.channels.connectors.bigcommerce.client import STORE_QUOTA
from colis.channels.connectors.bigcommerce.connector import BigCommerceConnector
from colis.channels.limits import MemoryLimiter, MemoryTokens, NoLimiter
from colis.emulators.bigcommerce import (
    ACCESS_TOKEN,
    STORE_HASH,
    WEBHOOK_SECRET,
    BigCommerceEmulator,
)
from colis.emulators.server import EmulatorServer

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
SKUS = ["MUG-BLK", "TEE-M", "CAP-RED"]

Serve = Callable[..., EmulatorServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Starts emulators (limits off unless asked) and checks at the end that neither our
    requests nor its answers broke the contract."""
    servers: list[EmulatorServer] = []

    def start(**options: Any) -> EmulatorServer:
        options.setdefault("limits", False)
        server = quick(EmulatorServer(BigCommerceEmulator(**options))).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        assert server.emulator.violations == []


@pytest.fixture
def server(serve: Serve) -> EmulatorServer:
    return serve()


def quick(server: EmulatorServer) -> EmulatorServer:
    """The shared server writes an answer's headers and body in two sends, which Nagle's
    algorithm and delayed ACKs hold back ~40 ms on loopback, and it polls for shutdown every
    0.5 s: no delay on its sockets, and a short poll, keep these tests fast."""
    server.httpd.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server.thread = threading.Thread(target=server.httpd.serve_forever, args=(0.02,), daemon=True)
    return server


def emulator_of(server: EmulatorServer) -> BigCommerceEmulator:
    emulator = server.emulator
    assert isinstance(emulator, BigCommerceEmulator)
    return emulator


def connect(
    server: EmulatorServer,
    *,
    token: str = ACCESS_TOKEN,
    store_hash: str = STORE_HASH,
    limiter: Any = None,
) -> BigCommerceConnector:
    return BigCommerceConnector(
        credentials={"access_token": token, "webhook_secret": WEBHOOK_SECRET},
        settings={"api_base_url": server.url, "store_hash": store_hash},
        limiter=limiter or NoLimiter(),
        tokens=MemoryTokens(),
    )


def fault(server: EmulatorServer, operation: str, kind: str, **extra: Any) -> None:
    answer = requests.post(
        f"{server.url}/_emulator/faults",
        json={"operation": operation, "fault": kind, **extra},
        timeout=5,
    )
    assert answer.status_code == 204


def read_all(connector: BigCommerceConnector, since: datetime) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = connector.orders_list(updated_after=since, cursor=cursor)
        pages.append([o.external_id for o in page.orders])
        cursor = page.next_cursor
        if cursor is None:
            return pages


def package_for(order: Any, lines: list[tuple[str, int]], **fields: Any) -> PushPackage:
    values: dict[str, Any] = {
        "shipment_id": 1,
        "order_external_id": order.external_id,
        "order_refs": order.refs,
        "lines": tuple(PushLine(external_line_id=i, quantity=q) for i, q in lines),
        "carrier_code": "ups",
        "carrier_name": "UPS",
        "service": "Ground",
        "tracking_number": "1Z999AA10123456784",
        "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        "ship_date": datetime.now(UTC),
    }
    values.update(fields)
    return PushPackage(**values)


def an_order_with_two_units(server: EmulatorServer, connector: BigCommerceConnector) -> Any:
    for order_id in emulator_of(server).seed_orders({"count": 10, "skus": SKUS}):
        order = connector.order_get(order_id)
        assert order is not None
        if sum(line.quantity for line in order.lines) >= 2:
            return order
    raise AssertionError("no seeded order has two units")


# -- reading ------------------------------------------------------------------------------------


def test_listing_walks_every_changed_order_once_across_pages(server: EmulatorServer) -> None:
    # Given 5 orders last changed in 2021 and 100 changed in 2025 over three seconds
    emulator = emulator_of(server)
    emulator.seed_orders({"count": 5, "skus": SKUS, "placed_at": "2021-06-01T10:00:00Z"})
    recent = []
    for second, count in (("01", 30), ("02", 40), ("03", 30)):
        placed = f"2025-03-01T12:00:{second}Z"
        recent += emulator.seed_orders({"count": count, "skus": SKUS, "placed_at": placed})
    connector = connect(server)

    # When the import reads everything changed since 2025
    pages = read_all(connector, datetime(2025, 1, 1, tzinfo=UTC))

    # Then every recent order came once, oldest change first, and the old ones not at all
    seen = [i for page in pages for i in page]
    assert seen == recent
    # (a page runs to the end of the last second it reaches: 30 + 40, then 30)
    assert [len(page) for page in pages] == [70, 30]


def test_listing_survives_a_whole_page_changed_in_one_second(server: EmulatorServer) -> None:
    placed = "2025-03-01T12:00:00Z"
    ids = emulator_of(server).seed_orders({"count": 120, "skus": SKUS, "placed_at": placed})
    pages = read_all(connect(server), datetime(2025, 1, 1, tzinfo=UTC))
    assert sorted(int(i) for page in pages for i in page) == sorted(int(i) for i in ids)


def test_orders_changed_while_paging_are_not_lost(server: EmulatorServer) -> None:
    emulator = emulator_of(server)
    early = emulator.seed_orders({"count": 50, "skus": SKUS, "placed_at": "2025-03-01T12:00:01Z"})
    late = emulator.seed_orders({"count": 50, "skus": SKUS, "placed_at": "2025-03-01T12:00:02Z"})
    connector = connect(server)
    first = connector.orders_list(updated_after=datetime(2025, 1, 1, tzinfo=UTC), cursor=None)
    assert [o.external_id for o in first.orders] == early

    # When an order already read and one not read yet change before the next page
    emulator.order_action(early[0], {"action": "cancel"})
    emulator.order_action(late[0], {"action": "cancel"})
    cursor, rest = first.next_cursor, []
    while cursor:
        page = connector.orders_list(updated_after=datetime(2025, 1, 1, tzinfo=UTC), cursor=cursor)
        rest += page.orders
        cursor = page.next_cursor

    # Then every unread order still comes, and both changes come as cancellations
    assert {o.external_id for o in rest} == set(late) | {early[0]}
    cancelled = {o.external_id for o in rest if o.state == "cancelled"}
    assert cancelled == {early[0], late[0]}


def test_one_order_is_read_with_its_lines_address_and_refs(server: EmulatorServer) -> None:
    emulator = emulator_of(server)
    (order_id,) = emulator.seed_orders({"count": 1, "skus": SKUS, "unpaid": True})
    order = connect(server).order_get(order_id)

    assert order is not None
    raw = emulator.orders[int(order_id)]
    products = emulator.products[int(order_id)]
    address = emulator.addresses[int(order_id)][0]
    assert (order.external_id, order.number, order.state, order.paid) == (
        order_id,
        order_id,
        "open",
        False,
    )
    assert [(x.external_line_id, x.sku, x.quantity) for x in order.lines] == [
        (str(p["id"]), p["sku"], p["quantity"]) for p in products
    ]
    assert order.shipping_address["line1"] == address["street_1"]
    assert order.shipping_address["country"] == address["country_iso2"]
    assert order.email == raw["billing_address"]["email"]
    assert order.refs == {"order_address_id": address["id"]}


def test_unknown_orders_are_none(server: EmulatorServer) -> None:
    connector = connect(server)
    assert connector.order_get("999999") is None
    assert connector.order_get("not-a-number") is None


def test_an_order_without_street_is_read_with_blanks(server: EmulatorServer) -> None:
    (order_id,) = emulator_of(server).seed_orders(
        {"count": 1, "skus": SKUS, "missing_address": True}
    )
    order = connect(server).order_get(order_id)
    assert order is not None
    assert order.shipping_address["line1"] == order.shipping_address["city"] == ""
    assert order.shipping_address["country"] != ""


# -- pushing ------------------------------------------------------------------------------------


def test_a_split_shipment_makes_two_bigcommerce_shipments(server: EmulatorServer) -> None:
    # Given an order with at least two units
    connector = connect(server)
    order = an_order_with_two_units(server, connector)
    units = [(line.external_line_id, line.quantity) for line in order.lines]
    first_line, first_qty = units[0]
    one = [(first_line, 1)]
    rest = ([(first_line, first_qty - 1)] if first_qty > 1 else []) + units[1:]

    # When two packages are pushed
    first = connector.shipment_push(package_for(order, one, shipment_id=1))
    middle = connector.order_get(order.external_id)
    second = connector.shipment_push(
        package_for(order, rest, shipment_id=2, tracking_number="1Z999AA10123456785")
    )

    # Then BigCommerce has two shipments with the right lines and quantities
    shipments = emulator_of(server).state()["fulfillments"][order.external_id]
    assert [s["id"] for s in shipments] == [int(first.vendor_id), int(second.vendor_id)]
    assert [(str(i["order_product_id"]), i["quantity"]) for i in shipments[0]["items"]] == one
    assert [(str(i["order_product_id"]), i["quantity"]) for i in shipments[1]["items"]] == rest
    assert shipments[0]["shipping_provider"] == "ups"
    assert shipments[0]["order_address_id"] == order.refs["order_address_id"]
    # And the order went Partially Shipped, then Shipped, as BigCommerce moves it
    assert middle is not None and middle.state == "open"
    done = connector.order_get(order.external_id)
    assert done is not None and done.state == "shipped"
    assert [s.external_id for s in done.shipments] == [first.vendor_id, second.vendor_id]


def test_a_carrier_without_code_goes_as_a_custom_shipment(server: EmulatorServer) -> None:
    connector = connect(server)
    order = an_order_with_two_units(server, connector)
    lines = [(line.external_line_id, line.quantity) for line in order.lines]
    result = connector.shipment_push(
        package_for(
            order,
            lines,
            carrier_code="",
            carrier_name="Colissimo",
            service="",
            tracking_number="6A12345678901",
            tracking_url="https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901",
        )
    )
    (made,) = emulator_of(server).state()["fulfillments"][order.external_id]
    assert made["id"] == int(result.vendor_id)
    assert (made["shipping_provider"], made["shipping_method"]) == ("", "Colissimo")
    assert made["tracking_link"].endswith("6A12345678901")


def test_shipment_find_sees_what_a_push_made(server: EmulatorServer) -> None:
    connector = connect(server)
    order = an_order_with_two_units(server, connector)
    units = [(line.external_line_id, line.quantity) for line in order.lines]
    first_line, first_qty = units[0]
    rest = ([(first_line, first_qty - 1)] if first_qty > 1 else []) + units[1:]
    pushed = package_for(order, [(first_line, 1)], shipment_id=7)
    untracked = package_for(order, rest, shipment_id=8, tracking_number="")

    assert connector.shipment_find(pushed) is None  # 204: no shipments yet
    result = connector.shipment_push(pushed)
    found = connector.shipment_find(pushed)
    assert found is not None and found.vendor_id == result.vendor_id
    assert connector.shipment_find(untracked) is None
    # A package without tracking number is recognised by its reference
    second = connector.shipment_push(untracked)
    again = connector.shipment_find(untracked)
    assert again is not None and again.vendor_id == second.vendor_id
    assert again.vendor_id != found.vendor_id


def test_cancellation_and_status_pushes(server: EmulatorServer) -> None:
    emulator = emulator_of(server)
    first, second = emulator.seed_orders({"count": 2, "skus": SKUS})
    connector = connect(server)

    connector.order_cancel_push(first, "Buyer asked")
    connector.order_status_set(second, 9)

    assert emulator.state()["statuses"][first] == 5
    assert emulator.state()["statuses"][second] == 9
    cancelled = connector.order_get(first)
    assert cancelled is not None and cancelled.state == "cancelled"
    with pytest.raises(PermanentError):
        connector.order_status_set(second, 42)


# -- failures -----------------------------------------------------------------------------------


def test_a_429_says_when_to_come_back(server: EmulatorServer) -> None:
    (order_id,) = emulator_of(server).seed_orders({"count": 1, "skus": SKUS})
    fault(server, "getOrder", "429", retry_after=2)
    with pytest.raises(RateLimited) as caught:
        connect(server).order_get(order_id)
    assert caught.value.retry_after == pytest.approx(2.0)


@pytest.mark.parametrize("kind", ["500", "bad_json"])
def test_server_errors_and_broken_answers_are_temporary(server: EmulatorServer, kind: str) -> None:
    (order_id,) = emulator_of(server).seed_orders({"count": 1, "skus": SKUS})
    fault(server, "getOrder", kind)
    with pytest.raises(ChannelError) as caught:
        connect(server).order_get(order_id)
    assert type(caught.value) is ChannelError
    assert caught.value.temporary


def test_a_timeout_is_temporary(server: EmulatorServer) -> None:
    (order_id,) = emulator_of(server).seed_orders({"count": 1, "skus": SKUS})
    connector = connect(server)
    connector.client.http.timeout = (2.0, 0.3)
    fault(server, "getOrder", "timeout", retry_after=1)
    with pytest.raises(ChannelError) as caught:
        connector.order_get(order_id)
    assert type(caught.value) is ChannelError


def test_a_refused_token_is_not_refreshed_and_creates_nothing(server: EmulatorServer) -> None:
    # BigCommerce store tokens do not expire: a 401 goes to the caller as AuthExpired.
    connector = connect(server)
    order = an_order_with_two_units(server, connector)
    lines = [(line.external_line_id, line.quantity) for line in order.lines]
    fault(server, "createOrderShipments", "expired_token")
    with pytest.raises(AuthExpired):
        connector.shipment_push(package_for(order, lines))
    assert order.external_id not in emulator_of(server).state()["fulfillments"]

    # When the caller retries, exactly one shipment exists
    assert connector.shipment_find(package_for(order, lines)) is None
    connector.shipment_push(package_for(order, lines))
    assert len(emulator_of(server).state()["fulfillments"][order.external_id]) == 1


@pytest.mark.parametrize(
    "credentials", [{"token": "wrong-token"}, {"store_hash": "otherstore"}, {"token": ""}]
)
def test_wrong_credentials_are_refused(server: EmulatorServer, credentials: Any) -> None:
    (order_id,) = emulator_of(server).seed_orders({"count": 1, "skus": SKUS})
    with pytest.raises(AuthExpired) as caught:
        connect(server, **credentials).order_get(order_id)
    assert caught.value.status == 401


# -- the store's quota --------------------------------------------------------------------------


def test_the_client_waits_for_a_spent_window_instead_of_failing(serve: Serve) -> None:
    # Given a store whose window allows 5 requests per 0.25 s
    server = serve(limits=True, quota=5, window_ms=250)
    (order_id,) = emulator_of(server).seed_orders({"count": 1, "skus": SKUS})
    connector = connect(server)

    # When 4 orders are read (3 requests each: order, products, addresses)
    started = time.monotonic()
    for _ in range(4):
        assert connector.order_get(order_id) is not None

    # Then no request was refused: the client slept through the windows it had spent
    calls = emulator_of(server).calls
    assert sum(calls.values()) == 12
    assert time.monotonic() - started >= 0.45


def test_a_quota_spent_by_another_app_is_rate_limited_then_waited_for(serve: Serve) -> None:
    server = serve(limits=True, quota=3, window_ms=500)
    (order_id,) = emulator_of(server).seed_orders({"count": 1, "skus": SKUS})
    headers = {"X-Auth-Token": ACCESS_TOKEN, "Accept": "application/json"}
    for _ in range(3):  # another app spends the window
        requests.get(f"{server.url}/stores/{STORE_HASH}/v2/orders/{order_id}", headers=headers)
    connector = connect(server)

    with pytest.raises(RateLimited) as caught:
        connector.order_get(order_id)
    assert 0 < (caught.value.retry_after or 0) <= 0.5
    # The 429 taught the client when the window turns: the next read waits and goes through.
    assert connector.order_get(order_id) is not None


def test_the_published_rate_never_exceeds_the_store_window() -> None:
    # 150 requests per 30 s (Standard plan): the 151st must come more than 30 s after the first.
    waits: list[float] = []
    limiter = MemoryLimiter(BigCommerceConnector.rate_limits, sleep=waits.append)
    for _ in range(151):
        limiter.acquire(STORE_QUOTA)
    assert max(waits) > 30.0
    assert len(waits) == 151 - BigCommerceConnector.rate_limits[STORE_QUOTA][1]


def test_the_memory_limiter_keeps_a_burst_under_the_emulated_quota(serve: Serve) -> None:
    server = serve(limits=True)  # 150 requests per 30 s
    (order_id,) = emulator_of(server).seed_orders({"count": 1, "skus": SKUS})
    connector = connect(server, limiter=MemoryLimiter(BigCommerceConnector.rate_limits))
    for _ in range(11):  # 33 requests: the burst of 30, then 4/s
        assert connector.order_get(order_id) is not None
    assert sum(emulator_of(server).calls.values()) == 33


# -- webhooks -----------------------------------------------------------------------------------


class _Inbox(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def inbox() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Inbox", (_Inbox,), {"received": received})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hooks/bigcommerce", received
    httpd.shutdown()
    httpd.server_close()


def send_hook(server: EmulatorServer, url: str, topic: str, order_id: str, **extra: Any) -> None:
    answer = requests.post(
        f"{server.url}/_emulator/webhooks",
        json={"url": url, "topic": topic, "order_id": order_id, **extra},
        timeout=5,
    )
    assert answer.status_code == 200 and answer.json()["status"] == 200


def test_a_webhook_with_the_secret_names_its_order(server: EmulatorServer, inbox: Any) -> None:
    url, received = inbox
    (order_id,) = emulator_of(server).seed_orders({"count": 1, "skus": SKUS})
    for topic in ("store/order/created", "store/order/statusUpdated"):
        send_hook(server, url, topic, order_id)

    connector = connect(server)
    notices = [connector.webhook_parse(headers, body) for headers, body in received]
    assert [(n.topic, n.external_ids) for n in notices] == [
        ("store/order/created", (order_id,)),
        ("store/order/statusUpdated", (order_id,)),
    ]
    assert notices[0].webhook_id == json.loads(received[0][1])["hash"]
    assert notices[0].webhook_id != notices[1].webhook_id


def test_webhooks_without_the_secret_are_refused(server: EmulatorServer, inbox: Any) -> None:
    url, received = inbox
    (order_id,) = emulator_of(server).seed_orders({"count": 1, "skus": SKUS})
    send_hook(server, url, "store/order/updated", order_id, secret="guessed")
    connector = connect(server)
    headers, body = received[0]
    with pytest.raises(WebhookRefused):
        connector.webhook_parse(headers, body)
    stripped = {k: v for k, v in headers.items() if k.lower() != "x-colis-webhook-secret"}
    with pytest.raises(WebhookRefused):
        connector.webhook_parse(stripped, body)
    good = {"X-Colis-Webhook-Secret": WEBHOOK_SECRET}
    with pytest.raises(WebhookRefused):
        connector.webhook_parse(good, b"not json")
    product_hook = json.dumps(
        {"scope": "store/product/updated", "data": {"type": "product", "id": 5}, "hash": "h"}
    )
    with pytest.raises(WebhookRefused):
        connector.webhook_parse(good, product_hook.encode())
