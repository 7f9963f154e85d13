"""The Shopify connector against the Shopify emulator, over real HTTP: every query it sends is
validated against Shopify's published Admin GraphQL schema and executed by the emulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
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
from colis.channels.connectors.shopify.client import CostBucket
from colis.channels.connectors.shopify.connector import ShopifyConnector
from colis.channels.limits import MemoryTokens, NoLimiter
from colis.emulators.graphql import admin_schema
from colis.emulators.server import EmulatorServer
from colis.emulators.shopify import ShopifyEmulator
from colis.emulators.shopify.emulator import ACCESS_TOKEN, WEBHOOK_SECRET

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


class Shop:
    """A running emulator and what a test needs around it."""

    def __init__(self, **options: Any) -> None:
        self.emulator = ShopifyEmulator(**options)
        self.server = EmulatorServer(self.emulator).start()
        self.url = self.server.url

    def connector(self, token: str = ACCESS_TOKEN) -> ShopifyConnector:
        return ShopifyConnector(
            credentials={"access_token": token, "webhook_secret": WEBHOOK_SECRET},
            settings={"api_base_url": self.url, "api_version": "2025-01"},
            limiter=NoLimiter(),
            tokens=MemoryTokens(),
        )

    def seed(self, **spec: Any) -> list[str]:
        return self.emulator.seed_orders({"skus": ["MUG", "TEE", "CAP"], **spec})

    def fault(self, fault: str, operation: str = "*", **extra: Any) -> None:
        body = {"operation": operation, "fault": fault, **extra}
        assert requests.post(f"{self.url}/_emulator/faults", json=body).status_code == 204

    def state(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/_emulator/state").json()

    def graphql(self, query: str, variables: dict | None = None) -> dict[str, Any]:
        return requests.post(
            f"{self.url}/admin/api/2025-01/graphql.json",
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": ACCESS_TOKEN},
        ).json()

    def stop(self) -> None:
        self.server.stop()
        assert self.emulator.violations == []


@pytest.fixture(scope="session")
def shopify_schema() -> Any:
    return admin_schema()  # built once for the whole run


@pytest.fixture
def shop(shopify_schema: Any) -> Iterator[Shop]:
    running = Shop()
    yield running
    running.stop()


@pytest.fixture
def connector(shop: Shop) -> ShopifyConnector:
    return shop.connector()


def package_for(order_id: str, lines: list[tuple[str, int]], **fields: Any) -> PushPackage:
    values: dict[str, Any] = {
        "shipment_id": 1,
        "order_external_id": order_id,
        "order_refs": {},
        "lines": tuple(PushLine(external_line_id=i, quantity=q) for i, q in lines),
        "carrier_code": "UPS",
        "carrier_name": "UPS",
        "service": "Ground",
        "tracking_number": "1Z999AA10123456784",
        "tracking_url": "",
        "ship_date": datetime.now(UTC),
        **fields,
    }
    return PushPackage(**values)


def two_line_order(shop: Shop, connector: ShopifyConnector) -> Any:
    """An order with two lines, the first of which has more than one unit."""
    for order_id in shop.seed(count=12, lines=2):
        order = connector.order_get(order_id)
        assert order is not None
        if order.lines[0].quantity > 1:
            return order
    raise AssertionError("the seed made no order to split")


# -- reading orders ---------------------------------------------------------------------------


def test_orders_are_listed_page_by_page_oldest_change_first(
    shop: Shop, connector: ShopifyConnector
) -> None:
    ids = shop.seed(count=25)
    seen, cursor, pages = [], None, 0
    while True:
        page = connector.orders_list(updated_after=LONG_AGO, cursor=cursor)
        seen += page.orders
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert [o.external_id for o in seen] == ids
    assert [o.updated_at for o in seen] == sorted(o.updated_at for o in seen)


def test_orders_list_takes_only_orders_changed_since(
    shop: Shop, connector: ShopifyConnector
) -> None:
    ids = shop.seed(count=4)
    time.sleep(1.1)  # Shopify's times are to the second
    since = datetime.now(UTC)
    requests.post(f"{shop.url}/_emulator/orders/{ids[2]}", json={"action": "edit_address"})
    page = connector.orders_list(updated_after=since, cursor=None)
    assert [o.external_id for o in page.orders] == [ids[2]]
    assert page.next_cursor is None


def test_one_order_is_read_and_mapped(shop: Shop, connector: ShopifyConnector) -> None:
    [order_id] = shop.seed(count=1)
    order = connector.order_get(order_id)
    assert order is not None
    assert order.external_id == order_id
    assert order.number == "#1001"
    assert order.state == "open" and order.paid and order.merchant_fulfilled
    assert order.refs["order_gid"] == order_id
    assert order.refs["legacy_id"] == order_id.rsplit("/", 1)[1]
    assert order.shipping_address["country"] in ("US", "FR", "DE", "GB", "CA")
    assert order.shipping_address["line1"] and order.shipping_address["postal_code"]
    assert all(ln.external_line_id.startswith("gid://shopify/LineItem/") for ln in order.lines)
    assert all(ln.sku in ("MUG", "TEE", "CAP") and ln.unit_price > 0 for ln in order.lines)
    assert order.total == sum(ln.unit_price * ln.quantity for ln in order.lines) + (
        order.shipping_price
    )
    assert connector.order_get("gid://shopify/Order/1") is None


def test_seed_options_show_in_the_mapped_order(shop: Shop, connector: ShopifyConnector) -> None:
    unpaid, no_address, by_partner = (
        shop.seed(unpaid=True)[0],
        shop.seed(missing_address=True)[0],
        shop.seed(fulfilled_by_vendor=True)[0],
    )
    assert connector.order_get(unpaid).paid is False  # type: ignore[union-attr]
    assert connector.order_get(no_address).shipping_address["line1"] == ""  # type: ignore[union-attr]
    assert connector.order_get(by_partner).merchant_fulfilled is False  # type: ignore[union-attr]


def test_long_orders_and_their_fulfillments_are_read_whole(
    shop: Shop, connector: ShopifyConnector
) -> None:
    [order_id] = shop.seed(lines=45)
    requests.post(
        f"{shop.url}/_emulator/orders/{order_id}",
        json={"action": "ship", "tracking_number": "1ZSHIPPEDINADMIN", "company": "DHL Express"},
    )
    order = connector.order_get(order_id)
    assert order is not None
    assert len(order.lines) == 45
    assert order.state == "shipped"
    [shipment] = order.shipments
    assert (shipment.carrier, shipment.tracking_number) == ("DHL Express", "1ZSHIPPEDINADMIN")
    assert sorted(shipment.lines) == sorted(
        (ln.external_line_id, ln.quantity) for ln in order.lines
    )


# -- pushing shipments ------------------------------------------------------------------------


def test_a_split_shipment_makes_two_fulfillments(shop: Shop, connector: ShopifyConnector) -> None:
    order = two_line_order(shop, connector)
    first, second = order.lines
    one = package_for(order.external_id, [(first.external_line_id, 1)], tracking_number="1ZAAA1")
    two = package_for(
        order.external_id,
        [(first.external_line_id, first.quantity - 1), (second.external_line_id, second.quantity)],
        carrier_code="",
        carrier_name="Coursier Lyonnais",
        tracking_number="CL-0002",
        tracking_url="https://track.example.com/CL-0002",
        notify_buyer=True,
    )
    results = [connector.shipment_push(one), connector.shipment_push(two)]
    made = shop.state()["fulfillments"][order.external_id]
    assert [f["id"] for f in made] == [r.vendor_id for r in results]
    assert made[0]["lines"] == [{"line_item_id": first.external_line_id, "quantity": 1}]
    assert made[0]["company"] == "UPS" and made[0]["numbers"] == ["1ZAAA1"]
    assert made[1]["lines"] == [
        {"line_item_id": first.external_line_id, "quantity": first.quantity - 1},
        {"line_item_id": second.external_line_id, "quantity": second.quantity},
    ]
    # No Shopify company for this carrier: its name goes as the company.
    assert made[1]["company"] == "Coursier Lyonnais"
    assert made[1]["urls"] == ["https://track.example.com/CL-0002"]
    assert made[1]["notify_customer"] is True
    again = connector.order_get(order.external_id)
    assert again is not None and again.state == "shipped" and len(again.shipments) == 2


def test_shipment_find_sees_what_a_push_made(shop: Shop, connector: ShopifyConnector) -> None:
    [order_id] = shop.seed()
    order = connector.order_get(order_id)
    assert order is not None
    package = package_for(order_id, [(order.lines[0].external_line_id, 1)])
    assert connector.shipment_find(package) is None
    pushed = connector.shipment_push(package)
    found = connector.shipment_find(package)
    assert found is not None and found.vendor_id == pushed.vendor_id
    other = package_for(order_id, [(order.lines[0].external_line_id, 1)], tracking_number="9X")
    assert connector.shipment_find(other) is None


def test_shopify_refusals_are_permanent(shop: Shop, connector: ShopifyConnector) -> None:
    [order_id] = shop.seed()
    order = connector.order_get(order_id)
    assert order is not None
    line = order.lines[0]
    bad_url = package_for(order_id, [(line.external_line_id, 1)], tracking_url="ftp://nowhere")
    with pytest.raises(PermanentError, match="Tracking url is invalid"):
        connector.shipment_push(bad_url)
    too_many = package_for(order_id, [(line.external_line_id, line.quantity + 1)])
    with pytest.raises(PermanentError, match="left to fulfil"):
        connector.shipment_push(too_many)
    with pytest.raises(PermanentError, match="no order"):
        connector.shipment_push(package_for("gid://shopify/Order/1", []))
    assert shop.state()["fulfillments"] == {}


def test_cancellation_is_pushed_once(shop: Shop, connector: ShopifyConnector) -> None:
    first, shipped = shop.seed(count=2)
    result = connector.order_cancel_push(first, "customer")
    assert result.vendor_id.startswith("gid://shopify/Job/")
    assert shop.state()["cancelled"] == [first]
    assert connector.order_get(first).state == "cancelled"  # type: ignore[union-attr]
    with pytest.raises(PermanentError, match="already been cancelled"):
        connector.order_cancel_push(first, "customer")
    requests.post(f"{shop.url}/_emulator/orders/{shipped}", json={"action": "ship"})
    with pytest.raises(PermanentError, match="fulfillments"):
        connector.order_cancel_push(shipped, "out of stock")


# -- faults -----------------------------------------------------------------------------------


def test_each_fault_becomes_its_error_kind(shop: Shop, connector: ShopifyConnector) -> None:
    shop.seed()
    shop.fault("429", "orders", retry_after=2)
    with pytest.raises(RateLimited) as limited:
        connector.orders_list(updated_after=LONG_AGO, cursor=None)
    assert limited.value.retry_after == 2
    shop.fault("500", "orders")
    with pytest.raises(ChannelError) as failed:
        connector.orders_list(updated_after=LONG_AGO, cursor=None)
    assert failed.value.status == 500 and not isinstance(failed.value, PermanentError)
    shop.fault("bad_json", "orders")
    with pytest.raises(ChannelError, match="not JSON"):
        connector.orders_list(updated_after=LONG_AGO, cursor=None)
    assert len(connector.orders_list(updated_after=LONG_AGO, cursor=None).orders) == 1


def test_a_timed_out_push_is_found_afterwards(shop: Shop, connector: ShopifyConnector) -> None:
    [order_id] = shop.seed()
    order = connector.order_get(order_id)
    assert order is not None
    package = package_for(order_id, [(order.lines[0].external_line_id, 1)])
    connector.client.http.timeout = (2.0, 0.3)
    shop.fault("timeout", "fulfillmentCreate", retry_after=0.8)
    with pytest.raises(ChannelError, match="no answer in time"):
        connector.shipment_push(package)
    time.sleep(0.8)  # the emulator finishes the push the client gave up on
    found = connector.shipment_find(package)
    assert found is not None
    assert len(shop.state()["fulfillments"][order_id]) == 1


def test_a_refused_token_makes_nothing_and_the_retry_makes_one(
    shop: Shop, connector: ShopifyConnector
) -> None:
    [order_id] = shop.seed()
    order = connector.order_get(order_id)
    assert order is not None
    package = package_for(order_id, [(order.lines[0].external_line_id, 1)])
    shop.fault("expired_token", "fulfillmentCreate")
    # Shopify's Admin API tokens are not refreshable: the error goes to the caller, who retries.
    with pytest.raises(AuthExpired):
        connector.shipment_push(package)
    assert shop.state()["fulfillments"] == {}
    connector.shipment_push(package)
    assert len(shop.state()["fulfillments"][order_id]) == 1


def test_wrong_credentials_are_refused(shop: Shop) -> None:
    with pytest.raises(AuthExpired) as refused:
        shop.connector(token="shpat_wrong").orders_list(updated_after=LONG_AGO, cursor=None)
    assert refused.value.status == 401
    assert "Invalid API key or access token" in refused.value.body


# -- the cost bucket --------------------------------------------------------------------------


def test_the_cost_bucket_waits_for_the_points_a_query_asks_for() -> None:
    now, slept = [100.0], []
    bucket = CostBucket(sleep=slept.append, clock=lambda: now[0])
    bucket.wait("orders")
    assert slept == []  # nothing is known before the first answer
    status = {"maximumAvailable": 2000.0, "currentlyAvailable": 500, "restoreRate": 100.0}
    bucket.observe("orders", {"requestedQueryCost": 800, "throttleStatus": status})
    bucket.wait("orders")
    assert slept == [3.0]  # 300 points short at 100 a second
    bucket.wait("orders")
    assert slept == [3.0, 11.0]  # behind the first caller, whose points are taken
    now[0] = 200.0
    bucket.wait("fulfillments")  # never seen: as dear as the dearest known
    assert slept == [3.0, 11.0]
    assert bucket.retry_after({"requestedQueryCost": 800, "throttleStatus": {
        **status, "currentlyAvailable": 300}}) == 5.0  # fmt: skip


def test_the_client_waits_for_the_bucket_instead_of_being_throttled(
    shopify_schema: Any,
) -> None:
    small = Shop(bucket_points=1000.0, restore_rate=1000.0)
    try:
        small.seed(count=30)
        connector = small.connector()
        for _ in range(4):
            connector.orders_list(updated_after=LONG_AGO, cursor=None)
        assert small.state()["throttled"] == 0
        assert connector.client.bucket.waited > 0
    finally:
        small.stop()


def test_a_throttled_query_is_rate_limited_with_its_wait(shopify_schema: Any) -> None:
    small = Shop(bucket_points=1000.0, restore_rate=50.0)
    try:
        small.seed(count=30)
        connector = small.connector()
        connector.orders_list(updated_after=LONG_AGO, cursor=None)
        other = small.connector()  # another worker: it has not seen the bucket yet
        with pytest.raises(RateLimited) as limited:
            other.orders_list(updated_after=LONG_AGO, cursor=None)
        assert limited.value.retry_after is not None and limited.value.retry_after > 1
        assert small.state()["throttled"] == 1
    finally:
        small.stop()


# -- webhooks ---------------------------------------------------------------------------------


class Inbox:
    """A receiving endpoint for the emulator's webhooks."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                inbox.received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/shopify"


def test_a_signed_webhook_is_accepted_and_a_forged_one_refused(
    shop: Shop, connector: ShopifyConnector
) -> None:
    [order_id] = shop.seed()
    inbox = Inbox()
    try:
        sent = requests.post(
            f"{shop.url}/_emulator/webhooks",
            json={"url": inbox.url, "topic": "orders/updated", "order_id": order_id},
        ).json()
    finally:
        inbox.httpd.shutdown()
    assert sent["status"] == 200
    [(headers, body)] = inbox.received
    notice = connector.webhook_parse(headers, body)
    assert notice.webhook_id == sent["webhook_id"]
    assert notice.topic == "orders/updated"
    assert notice.external_ids == (order_id,)
    with pytest.raises(WebhookRefused):
        connector.webhook_parse(headers, body.replace(b"#1001", b"#9999"))
    with pytest.raises(WebhookRefused):
        connector.webhook_parse({**headers, "X-Shopify-Hmac-Sha256": "AAAA"}, body)
    stranger = ShopifyConnector(
        credentials={"access_token": ACCESS_TOKEN, "webhook_secret": "another secret"},
        settings={"api_base_url": shop.url},
        limiter=NoLimiter(),
        tokens=MemoryTokens(),
    )
    with pytest.raises(WebhookRefused):
        stranger.webhook_parse(headers, body)


def test_the_connector_declares_what_shopify_offers() -> None:
    assert ShopifyConnector.settings_problems({}) == {"settings.api_base_url": "Required."}
    assert ShopifyConnector.setting_fields["api_version"] == "2025-01"
    assert ShopifyConnector.supports_webhooks and ShopifyConnector.supports_cancellation_push
    assert not ShopifyConnector.idempotent_push
