"""The eBay connector against the eBay emulator over real HTTP: every request it sends and
every answer it gets are checked against eBay's published Sell Fulfillment contract."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from colis.channels.connectors.base import (
    ChannelError,
    PermanentError,
    PushLine,
    PushPackage,
    RateLimited,
)
from colis.channels.connectors.ebay.client import QUOTA, TOKEN_QUOTA, daily_quota
from colis.channels.connectors.ebay.connector import PAGE_SIZE, EbayConnector
from colis.channels.limits import MemoryLimiter, MemoryTokens, NoLimiter
from colis.emulators.ebay import CREDENTIALS, EbayEmulator
from colis.emulators.server import EmulatorServer

SKUS = ["MUG-1", "SOCK-2", "BOTTLE-3", "TOWEL-4"]


class Ebay:
    def __init__(self, emulator: EbayEmulator, server: EmulatorServer) -> None:
        self.emulator = emulator
        self.url = server.url

    def connector(
        self, *, limiter: Any = None, credentials: Mapping[str, str] = CREDENTIALS
    ) -> EbayConnector:
        return EbayConnector(
            credentials=credentials,
            settings=self.emulator.connection(self.url)["settings"],
            limiter=limiter or NoLimiter(),
            tokens=MemoryTokens(),
        )

    def fault(self, operation: str, fault: str, **extra: Any) -> None:
        body = {"operation": operation, "fault": fault, **extra}
        requests.post(f"{self.url}/_emulator/faults", json=body, timeout=5)

    def act(self, order_id: str, **action: Any) -> Any:
        answer = requests.post(f"{self.url}/_emulator/orders/{order_id}", json=action, timeout=5)
        return answer.json()["result"]

    def order_with_lines(self, count: int) -> dict[str, Any]:
        """A new order with at least `count` lines."""
        while True:
            [order_id] = self.emulator.seed_orders({"count": 1, "skus": SKUS})
            order = self.emulator.orders[order_id]
            if len(order["lineItems"]) >= count:
                return order


@pytest.fixture(scope="module")
def shared() -> Iterator[Ebay]:
    emulator = EbayEmulator(limits=False)
    server = EmulatorServer(emulator).start()
    yield Ebay(emulator, server)
    server.stop()


@pytest.fixture
def ebay(shared: Ebay) -> Iterator[Ebay]:
    """The module's emulator (limits off); each test seeds its own orders."""
    yield shared
    assert shared.emulator.violations == []


@pytest.fixture
def start() -> Iterator[Callable[..., Ebay]]:
    started: list[tuple[EbayEmulator, EmulatorServer]] = []

    def make(**options: Any) -> Ebay:
        emulator = EbayEmulator(**options)
        server = EmulatorServer(emulator).start()
        started.append((emulator, server))
        return Ebay(emulator, server)

    yield make
    for emulator, server in started:
        server.stop()
        assert emulator.violations == []


def package_for(
    order: Mapping[str, Any], lines: list[tuple[int, int]] | None = None, **changes: Any
) -> PushPackage:
    """A package of the order's lines (index, quantity); all of them by default."""
    items = order["lineItems"]
    chosen = lines or [(i, item["quantity"]) for i, item in enumerate(items)]
    values: dict[str, Any] = {
        "shipment_id": 1,
        "order_external_id": order["orderId"],
        "order_refs": {"order_id": order["orderId"]},
        "lines": tuple(
            PushLine(external_line_id=items[i]["lineItemId"], quantity=qty) for i, qty in chosen
        ),
        "carrier_code": "UPS",
        "carrier_name": "UPS",
        "service": "Ground",
        "tracking_number": f"1Z999AA1{time.monotonic_ns() % 10**10:010d}",
        "tracking_url": "",
        "ship_date": datetime.now(UTC),
    }
    values.update(changes)
    return PushPackage(**values)


def all_pages(connector: EbayConnector, since: datetime) -> tuple[list[str], int]:
    ids, pages, cursor = [], 0, None
    while True:
        page = connector.orders_list(updated_after=since, cursor=cursor)
        ids += [order.external_id for order in page.orders]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return ids, pages


# -- reading orders -----------------------------------------------------------------------


def test_orders_list_walks_every_page_of_orders_changed_since(start: Callable[..., Ebay]) -> None:
    ebay = start(limits=False)
    ebay.emulator.seed_orders(
        {
            "count": 5,
            "skus": SKUS,
            "placed_at": (datetime.now(UTC) - timedelta(days=10)).isoformat(),
        }
    )
    recent = ebay.emulator.seed_orders({"count": 2 * PAGE_SIZE + 50, "skus": SKUS})

    ids, pages = all_pages(ebay.connector(), datetime.now(UTC) - timedelta(days=1))

    assert ids == recent
    assert pages == 3


def test_orders_changed_between_pages_are_not_skipped(start: Callable[..., Ebay]) -> None:
    ebay = start(limits=False)
    seeded = ebay.emulator.seed_orders({"count": PAGE_SIZE + 20, "skus": SKUS})
    connector = ebay.connector()
    since = datetime.now(UTC) - timedelta(hours=1)

    first = connector.orders_list(updated_after=since, cursor=None)
    # Three orders of the first page change: they leave the window the first page fixed,
    # and the orders after them move up.
    for order in first.orders[:3]:
        ebay.act(order.external_id, action="edit_address", address={"line2": "Unit 4"})
    rest = connector.orders_list(updated_after=since, cursor=first.next_cursor)

    seen = [o.external_id for o in first.orders] + [o.external_id for o in rest.orders]
    assert set(seen) == set(seeded)
    assert rest.next_cursor is None


def test_order_get_maps_the_order_with_its_fulfillments(ebay: Ebay) -> None:
    order = ebay.order_with_lines(1)
    ebay.act(order["orderId"], action="ship", tracking_number="1Z999AA10123456784")

    mapped = ebay.connector().order_get(order["orderId"])

    assert mapped is not None
    assert mapped.state == "shipped"
    assert mapped.paid and mapped.merchant_fulfilled
    assert [line.external_line_id for line in mapped.lines] == [
        item["lineItemId"] for item in order["lineItems"]
    ]
    assert mapped.shipping_address["line1"] != ""
    [shipment] = mapped.shipments
    assert shipment.tracking_number == shipment.external_id == "1Z999AA10123456784"
    assert shipment.lines == tuple((i["lineItemId"], i["quantity"]) for i in order["lineItems"])


def test_order_get_of_an_unknown_order_is_none(ebay: Ebay) -> None:
    connector = ebay.connector()

    assert connector.order_get("12-34567-89012") is None
    assert connector.order_get("no-such-order") is None


def test_cancelled_unpaid_and_ebay_fulfilled_orders_say_so(ebay: Ebay) -> None:
    [cancelled] = ebay.emulator.seed_orders({"count": 1, "skus": SKUS})
    [unpaid] = ebay.emulator.seed_orders({"count": 1, "skus": SKUS, "unpaid": True})
    [by_ebay] = ebay.emulator.seed_orders({"count": 1, "skus": SKUS, "fulfilled_by_vendor": True})
    ebay.act(cancelled, action="cancel")
    connector = ebay.connector()

    got = {x: connector.order_get(x) for x in (cancelled, unpaid, by_ebay)}

    assert [(o.state, o.paid, o.merchant_fulfilled) for o in got.values() if o] == [
        ("cancelled", True, True),
        ("open", False, True),
        ("open", True, False),
    ]


# -- pushing shipments --------------------------------------------------------------------


def test_a_split_shipment_makes_one_fulfillment_per_package(ebay: Ebay) -> None:
    order = ebay.order_with_lines(2)
    first, second = order["lineItems"][:2]
    rest = [(i, item["quantity"]) for i, item in enumerate(order["lineItems"]) if i >= 1]
    connector = ebay.connector()

    one = connector.shipment_push(package_for(order, [(0, first["quantity"])]))
    two = connector.shipment_push(package_for(order, rest, carrier_code="FEDEX"))

    stored = ebay.emulator.fulfillments[order["orderId"]]
    assert [f["fulfillmentId"] for f in stored] == [one.vendor_id, two.vendor_id]
    assert stored[0]["lineItems"] == [
        {"lineItemId": first["lineItemId"], "quantity": first["quantity"]}
    ]
    assert stored[1]["lineItems"][0] == {
        "lineItemId": second["lineItemId"],
        "quantity": second["quantity"],
    }
    assert stored[1]["shippingCarrierCode"] == "FEDEX"
    assert ebay.emulator.orders[order["orderId"]]["orderFulfillmentStatus"] == "FULFILLED"
    assert one.response["location"].endswith(f"/shipping_fulfillment/{one.vendor_id}")


def test_a_carrier_without_an_ebay_code_is_sent_by_name(ebay: Ebay) -> None:
    order = ebay.order_with_lines(1)

    result = ebay.connector().shipment_push(
        package_for(order, carrier_code="", carrier_name="Evri", tracking_number="H01ABC1234567890")
    )

    [stored] = ebay.emulator.fulfillments[order["orderId"]]
    assert stored["shippingCarrierCode"] == "Evri"
    assert stored["shipmentTrackingNumber"] == result.vendor_id == "H01ABC1234567890"


def test_shipment_find_sees_what_a_push_made(ebay: Ebay) -> None:
    order = ebay.order_with_lines(1)
    package = package_for(order, tracking_number="1Z 999 AA1 0123456784")
    connector = ebay.connector()

    before = connector.shipment_find(package)
    pushed = connector.shipment_push(package)
    after = connector.shipment_find(package)

    assert before is None
    assert after is not None and after.vendor_id == pushed.vendor_id == "1Z999AA10123456784"


def test_an_untracked_package_is_found_by_its_lines(ebay: Ebay) -> None:
    order = ebay.order_with_lines(1)
    package = package_for(order, tracking_number="")
    connector = ebay.connector()

    pushed = connector.shipment_push(package)
    found = connector.shipment_find(package)

    assert found is not None and found.vendor_id == pushed.vendor_id


def test_pushing_the_same_package_again_answers_with_the_first_fulfillment(ebay: Ebay) -> None:
    order = ebay.order_with_lines(1)
    package = package_for(order)
    connector = ebay.connector()

    first = connector.shipment_push(package)
    again = connector.shipment_push(package)

    assert again.vendor_id == first.vendor_id
    assert len(ebay.emulator.fulfillments[order["orderId"]]) == 1


def test_a_refused_package_is_a_permanent_error(ebay: Ebay) -> None:
    order = ebay.order_with_lines(1)
    too_many = [(0, order["lineItems"][0]["quantity"] + 1)]

    with pytest.raises(PermanentError) as refused:
        ebay.connector().shipment_push(package_for(order, too_many))

    assert refused.value.status == 400
    assert order["orderId"] not in ebay.emulator.fulfillments


# -- faults -------------------------------------------------------------------------------


def test_a_429_is_rate_limited_with_retry_after(ebay: Ebay) -> None:
    order = ebay.order_with_lines(1)
    ebay.fault("createShippingFulfillment", "429", retry_after=3)

    with pytest.raises(RateLimited) as limited:
        ebay.connector().shipment_push(package_for(order))

    assert limited.value.retry_after == 3
    assert order["orderId"] not in ebay.emulator.fulfillments


def test_a_500_is_a_temporary_channel_error(ebay: Ebay) -> None:
    order = ebay.order_with_lines(1)
    ebay.fault("createShippingFulfillment", "500")

    with pytest.raises(ChannelError) as failed:
        ebay.connector().shipment_push(package_for(order))

    assert failed.value.status == 500 and failed.value.temporary


def test_a_timeout_is_a_channel_error_and_find_sees_the_late_fulfillment(ebay: Ebay) -> None:
    order = ebay.order_with_lines(1)
    package = package_for(order)
    connector = ebay.connector()
    connector.client.http.timeout = (2.0, 0.3)
    ebay.fault("createShippingFulfillment", "timeout", retry_after=0.6)

    with pytest.raises(ChannelError) as failed:
        connector.shipment_push(package)
    deadline = time.monotonic() + 3
    while order["orderId"] not in ebay.emulator.fulfillments and time.monotonic() < deadline:
        time.sleep(0.05)
    found = connector.shipment_find(package)

    assert "no answer in time" in str(failed.value)
    assert found is not None
    assert found.vendor_id == package.tracking_number


def test_an_answer_that_is_not_json_is_a_channel_error(ebay: Ebay) -> None:
    ebay.fault("getOrders", "bad_json")

    with pytest.raises(ChannelError):
        ebay.connector().orders_list(updated_after=datetime.now(UTC), cursor=None)


def test_an_expired_token_is_refreshed_once_and_the_push_goes_through(ebay: Ebay) -> None:
    order = ebay.order_with_lines(1)
    connector = ebay.connector()
    connector.order_get(order["orderId"])  # a token is cached
    issued = ebay.emulator.tokens_issued
    ebay.fault("createShippingFulfillment", "expired_token")

    result = connector.shipment_push(package_for(order))

    assert len(ebay.emulator.fulfillments[order["orderId"]]) == 1
    assert result.vendor_id == ebay.emulator.fulfillments[order["orderId"]][0]["fulfillmentId"]
    assert ebay.emulator.tokens_issued == issued + 1


def test_a_token_refused_twice_gives_up(ebay: Ebay) -> None:
    order = ebay.order_with_lines(1)
    ebay.fault("createShippingFulfillment", "expired_token", count=2)

    with pytest.raises(ChannelError) as refused:
        ebay.connector().shipment_push(package_for(order))

    assert refused.value.status == 401


def test_the_access_token_is_cached_between_calls(ebay: Ebay) -> None:
    [order_id] = ebay.emulator.seed_orders({"count": 1, "skus": SKUS})
    connector = ebay.connector()
    issued = ebay.emulator.tokens_issued

    connector.order_get(order_id)
    connector.order_get(order_id)

    assert ebay.emulator.tokens_issued == issued + 1


@pytest.mark.parametrize(
    "wrong", [{"client_secret": "PRD-not-the-secret"}, {"refresh_token": "v^1.1#revoked"}]
)
def test_wrong_credentials_are_refused_for_good(ebay: Ebay, wrong: dict[str, str]) -> None:
    connector = ebay.connector(credentials={**CREDENTIALS, **wrong})

    with pytest.raises(PermanentError):
        connector.orders_list(updated_after=datetime.now(UTC), cursor=None)


# -- rate limits --------------------------------------------------------------------------


def test_the_declared_limits_are_ebays_daily_quotas() -> None:
    assert EbayConnector.rate_limits[QUOTA] == EbayEmulator.rate_limits[QUOTA]
    assert EbayConnector.rate_limits[QUOTA] == (100_000 / 86_400, 100_000)
    assert EbayConnector.rate_limits[TOKEN_QUOTA] == (50_000 / 86_400, 50_000)


def test_every_operation_takes_from_the_one_api_quota(ebay: Ebay) -> None:
    taken: list[str] = []

    class Recording(NoLimiter):
        def acquire(self, operation: str) -> None:
            taken.append(operation)

    order = ebay.order_with_lines(1)
    connector = ebay.connector(limiter=Recording())
    connector.orders_list(updated_after=datetime.now(UTC), cursor=None)
    connector.shipment_push(package_for(order))
    connector.shipment_find(package_for(order))

    assert taken == [TOKEN_QUOTA, QUOTA, QUOTA, QUOTA]


def test_past_the_quota_ebay_answers_429(start: Callable[..., Ebay]) -> None:
    # A day of 0.5 s with five calls: 10 calls/s, 5 at once.
    ebay = start(limits=True, daily_quota=5, day_seconds=0.5)
    [order_id] = ebay.emulator.seed_orders({"count": 1, "skus": SKUS})
    connector = ebay.connector()

    with pytest.raises(RateLimited) as limited:
        for _ in range(10):
            connector.order_get(order_id)

    assert limited.value.retry_after is not None and limited.value.retry_after >= 1


def test_a_limiter_with_the_quota_keeps_the_client_under_it(start: Callable[..., Ebay]) -> None:
    ebay = start(limits=True, daily_quota=5, day_seconds=0.5)
    [order_id] = ebay.emulator.seed_orders({"count": 1, "skus": SKUS})
    # The connector's own quota, on the emulator's short day.
    limiter = MemoryLimiter({QUOTA: daily_quota(5, 0.5), TOKEN_QUOTA: daily_quota(5, 0.5)})
    connector = ebay.connector(limiter=limiter)

    results = [connector.order_get(order_id) for _ in range(10)]

    assert all(result is not None for result in results)
    assert ebay.emulator.calls["getOrder"] == 10
