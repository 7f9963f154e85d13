"""The Amazon connector over real HTTP against the Amazon emulator, which checks every request
against Amazon's published contracts (a violation fails the test at teardown)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from colis.channels.connectors.amazon.connector import AmazonConnector
from colis.channels.connectors.base import (
    ChannelError,
    ChannelOrder,
    PermanentError,
    PushLine,
    PushPackage,
    RateLimited,
)
from colis.channels.connectors.http import TIMEOUT
from colis.channels.limits import MemoryLimiter, MemoryTokens, NoLimiter
from colis.core.specs import spec_path
from colis.emulators.amazon import AmazonEmulator, usage_plans
from colis.emulators.server import EmulatorServer

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    running = EmulatorServer(AmazonEmulator())
    # serve_forever looks for a shutdown every 0.5 s by default, which each test would wait.
    running.thread = threading.Thread(target=running.httpd.serve_forever, args=(0.01,), daemon=True)
    running.start()
    yield running
    running.stop()
    assert running.emulator.violations == []


def _emulator(server: EmulatorServer) -> AmazonEmulator:
    emulator = server.emulator
    assert isinstance(emulator, AmazonEmulator)
    return emulator


def _connector(
    server: EmulatorServer,
    *,
    limiter: Any = None,
    timeout: tuple[float, float] = TIMEOUT,
    **credentials: str,
) -> AmazonConnector:
    config = _emulator(server).connection(server.url)
    return AmazonConnector(
        credentials={**config["credentials"], **credentials},
        settings=config["settings"],
        limiter=limiter or NoLimiter(),
        tokens=MemoryTokens(),
        timeout=timeout,
    )


def _control(server: EmulatorServer, path: str, body: dict[str, Any]) -> Any:
    answer = requests.post(f"{server.url}/_emulator/{path}", json=body, timeout=10)
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def _seed(server: EmulatorServer, **spec: Any) -> list[str]:
    return _control(server, "orders", {"count": 1, **spec})["ids"]


def _state(server: EmulatorServer) -> dict[str, Any]:
    return requests.get(f"{server.url}/_emulator/state", timeout=10).json()


def _package(
    order: ChannelOrder,
    shipment_id: int,
    lines: list[tuple[str, int]] | None = None,
    **changes: Any,
) -> PushPackage:
    values: dict[str, Any] = {
        "shipment_id": shipment_id,
        "order_external_id": order.external_id,
        "order_refs": order.refs,
        "lines": tuple(
            PushLine(external_line_id=line_id, quantity=quantity)
            for line_id, quantity in (
                lines or [(ln.external_line_id, ln.quantity) for ln in order.lines]
            )
        ),
        "carrier_code": "UPS",
        "carrier_name": "UPS",
        "service": "UPS Ground",
        "tracking_number": f"1Z999AA1{shipment_id:010d}",
        "tracking_url": "",
        "ship_date": datetime.now(UTC),
    }
    values.update(changes)
    return PushPackage(**values)


def _order(connector: AmazonConnector, order_id: str) -> ChannelOrder:
    found = connector.order_get(order_id)
    assert found is not None
    return found


# -- reading orders ----------------------------------------------------------------------------


def test_orders_come_in_pages_of_100_until_the_cursor_runs_out(server: EmulatorServer) -> None:
    seeded = set(_seed(server, count=230, skus=["MUG-01", "TEE-02"]))
    connector = _connector(server)

    sizes, seen, cursor = [], set(), None
    while True:
        page = connector.orders_list(updated_after=LONG_AGO, cursor=cursor)
        sizes.append(len(page.orders))
        seen |= {order.external_id for order in page.orders}
        cursor = page.next_cursor
        if cursor is None:
            break

    assert sizes == [100, 100, 30]
    assert seen == seeded
    assert all(re.fullmatch(r"\d{3}-\d{7}-\d{7}", order_id) for order_id in seen)
    state = _state(server)
    assert state["calls"]["searchOrders"] == 3
    assert state["tokens_issued"] == 1  # the access token is reused between calls


def test_only_orders_changed_after_the_given_time_are_listed(server: EmulatorServer) -> None:
    old = _seed(server, count=3, placed_at="2025-01-01T09:00:00Z")
    new = _seed(server, count=2)
    connector = _connector(server)
    since = datetime(2025, 6, 1, tzinfo=UTC)

    listed = connector.orders_list(updated_after=since, cursor=None)
    assert {o.external_id for o in listed.orders} == set(new)

    _control(server, f"orders/{old[0]}", {"action": "cancel"})
    listed = connector.orders_list(updated_after=since, cursor=None)
    cancelled = next(o for o in listed.orders if o.external_id == old[0])
    assert cancelled.state == "cancelled"
    assert cancelled.placed_at == datetime(2025, 1, 1, 9, tzinfo=UTC)
    assert cancelled.updated_at > since


def test_a_listed_order_carries_what_the_import_needs(server: EmulatorServer) -> None:
    [order_id] = _seed(server, skus=["MUG-01"])

    [order] = _connector(server).orders_list(updated_after=LONG_AGO, cursor=None).orders

    assert order.external_id == order_id
    assert (order.state, order.paid, order.merchant_fulfilled) == ("open", True, True)
    assert order.email.endswith("@marketplace.amazon.com")
    assert order.currency == "USD"
    assert order.shipping_address["line1"] and order.shipping_address["postal_code"]
    assert [ln.sku for ln in order.lines] == ["MUG-01"]
    assert order.lines[0].external_line_id.isdigit()
    assert order.total is not None and order.total > 0
    assert order.refs["marketplace_id"] == "ATVPDKIKX0DER"


def test_fba_unpaid_and_addressless_orders_say_so(server: EmulatorServer) -> None:
    [fba] = _seed(server, fulfilled_by_vendor=True)
    [unpaid] = _seed(server, unpaid=True)
    [bare] = _seed(server, missing_address=True)
    connector = _connector(server)

    assert _order(connector, fba).merchant_fulfilled is False
    assert _order(connector, fba).phone == ""
    assert _order(connector, unpaid).paid is False
    assert _order(connector, bare).shipping_address["line1"] == ""


def test_order_get_knows_shipments_made_on_amazon_and_unknown_ids(server: EmulatorServer) -> None:
    [order_id] = _seed(server)
    _control(server, f"orders/{order_id}", {"action": "ship", "tracking_number": "1ZSHIPPED"})
    connector = _connector(server)

    order = _order(connector, order_id)

    assert order.state == "shipped"
    [shipment] = order.shipments
    assert (shipment.carrier, shipment.tracking_number) == ("UPS", "1ZSHIPPED")
    assert connector.order_get("111-0000000-0000000") is None


# -- pushing shipments -------------------------------------------------------------------------


def _two_line_order(server: EmulatorServer, connector: AmazonConnector) -> ChannelOrder:
    for order_id in _seed(server, count=10, skus=["MUG-01", "TEE-02", "CAP-03"]):
        order = _order(connector, order_id)
        if len(order.lines) >= 2:
            return order
    raise AssertionError("no seeded order has two lines")


def test_a_split_shipment_is_two_confirmations(server: EmulatorServer) -> None:
    connector = _connector(server)
    order = _two_line_order(server, connector)
    first, *rest = order.lines

    one = connector.shipment_push(_package(order, 501, [(first.external_line_id, first.quantity)]))
    two = connector.shipment_push(
        _package(order, 502, [(ln.external_line_id, ln.quantity) for ln in rest])
    )

    assert (one.vendor_id, two.vendor_id) == ("501", "502")
    pushed = _state(server)["fulfillments"][order.external_id]
    assert [p["packageReferenceId"] for p in pushed] == ["501", "502"]
    assert pushed[0]["orderItems"] == [
        {"orderItemId": first.external_line_id, "quantity": first.quantity}
    ]
    assert pushed[1]["orderItems"] == [
        {"orderItemId": ln.external_line_id, "quantity": ln.quantity} for ln in rest
    ]
    after = _order(connector, order.external_id)
    assert after.state == "shipped"
    assert [s.external_id for s in after.shipments] == ["501", "502"]
    assert after.shipments[0].lines == ((first.external_line_id, first.quantity),)


def test_a_carrier_amazon_does_not_know_goes_as_other(server: EmulatorServer) -> None:
    connector = _connector(server)
    [order_id] = _seed(server)
    order = _order(connector, order_id)

    connector.shipment_push(
        _package(order, 7, carrier_code="", carrier_name="Colissimo", service="")
    )

    [pushed] = _state(server)["fulfillments"][order_id]
    assert (pushed["carrierCode"], pushed["carrierName"]) == ("Other", "Colissimo")
    assert _order(connector, order_id).shipments[0].carrier == "Colissimo"


def test_shipment_find_sees_what_a_push_made(server: EmulatorServer) -> None:
    connector = _connector(server)
    [order_id] = _seed(server)
    order = _order(connector, order_id)
    package = _package(order, 88)

    assert connector.shipment_find(package) is None
    connector.shipment_push(package)

    found = connector.shipment_find(package)
    assert found is not None and found.vendor_id == "88"
    assert found.response["trackingNumber"] == package.tracking_number


def test_shipment_find_matches_a_tracking_number_amazon_already_has(
    server: EmulatorServer,
) -> None:
    connector = _connector(server)
    [order_id] = _seed(server)
    _control(server, f"orders/{order_id}", {"action": "ship", "tracking_number": "1ZKNOWN"})
    order = _order(connector, order_id)

    found = connector.shipment_find(_package(order, 5, tracking_number="1ZKNOWN"))

    assert found is not None and found.vendor_id == order.shipments[0].external_id


def test_amazon_refuses_the_same_package_twice(server: EmulatorServer) -> None:
    connector = _connector(server)
    [order_id] = _seed(server)
    order = _order(connector, order_id)
    line = order.lines[0]
    connector.shipment_push(_package(order, 12, [(line.external_line_id, 1)]))

    with pytest.raises(PermanentError) as refused:
        connector.shipment_push(_package(order, 12, [(line.external_line_id, 1)]))

    assert refused.value.status == 400
    assert len(_state(server)["fulfillments"][order_id]) == 1


# -- faults ------------------------------------------------------------------------------------


def _fault(server: EmulatorServer, operation: str, fault: str, **extra: Any) -> None:
    _control(server, "faults", {"operation": operation, "fault": fault, **extra})


def test_a_429_with_retry_after_is_rate_limited(server: EmulatorServer) -> None:
    _fault(server, "searchOrders", "429", retry_after=2)

    with pytest.raises(RateLimited) as limited:
        _connector(server).orders_list(updated_after=LONG_AGO, cursor=None)

    assert limited.value.retry_after == 2.0


def test_a_500_is_a_temporary_channel_error(server: EmulatorServer) -> None:
    _fault(server, "getOrder", "500")

    with pytest.raises(ChannelError) as failed:
        _connector(server).order_get("111-0000000-0000000")

    assert failed.value.status == 500
    assert failed.value.temporary is True


def test_a_timeout_is_a_channel_error_and_find_sees_what_went_through(
    server: EmulatorServer,
) -> None:
    connector = _connector(server, timeout=(2.0, 0.3))
    [order_id] = _seed(server)
    package = _package(_order(connector, order_id), 31)
    _fault(server, "confirmShipment", "timeout", retry_after=0.8)

    with pytest.raises(ChannelError) as failed:
        connector.shipment_push(package)
    assert not isinstance(failed.value, PermanentError)

    time.sleep(0.9)  # the emulator finishes the slow call
    found = connector.shipment_find(package)
    assert found is not None and found.vendor_id == "31"


def test_an_answer_that_is_not_json_is_a_channel_error(server: EmulatorServer) -> None:
    _seed(server)
    _fault(server, "searchOrders", "bad_json")

    with pytest.raises(ChannelError):
        _connector(server).orders_list(updated_after=LONG_AGO, cursor=None)


def test_an_expired_token_is_refreshed_once_and_the_push_lands_once(
    server: EmulatorServer,
) -> None:
    connector = _connector(server)
    [order_id] = _seed(server)
    package = _package(_order(connector, order_id), 44)
    _fault(server, "confirmShipment", "expired_token")

    result = connector.shipment_push(package)

    assert result.vendor_id == "44"
    state = _state(server)
    assert state["tokens_issued"] == 2
    assert len(state["fulfillments"][order_id]) == 1


def test_a_cached_token_amazon_no_longer_knows_is_replaced(server: EmulatorServer) -> None:
    _seed(server)
    connector = _connector(server)
    connector.tokens.put("Atza|from-before-a-restart", 3600)

    page = connector.orders_list(updated_after=LONG_AGO, cursor=None)

    assert len(page.orders) == 1
    assert _state(server)["tokens_issued"] == 1
    assert connector.tokens.get() != "Atza|from-before-a-restart"


@pytest.mark.parametrize("wrong", ["client_secret", "refresh_token"])
def test_wrong_credentials_are_refused_for_good(server: EmulatorServer, wrong: str) -> None:
    connector = _connector(server, **{wrong: "not-the-right-one"})

    with pytest.raises(PermanentError) as refused:
        connector.orders_list(updated_after=LONG_AGO, cursor=None)

    assert "Login with Amazon refused" in str(refused.value)
    assert _state(server)["calls"].get("searchOrders", 0) == 0


# -- rate limits -------------------------------------------------------------------------------


def _spec_usage_plans() -> dict[str, tuple[float, int]]:
    """Each operation's "Usage Plan" table, read straight from the contract files."""
    plans = {}
    for name in ("orders_2026-01-01.json", "ordersV0.json"):
        doc = json.loads(spec_path(f"amazon-sp-api/{name}").read_text(encoding="utf-8"))
        for item in doc["paths"].values():
            for op in item.values():
                text = op.get("description", "") if isinstance(op, dict) else ""
                table = text.split("**Usage Plan:**", 1)[-1].strip().splitlines()
                if "**Usage Plan:**" in text and len(table) >= 3:
                    rate, burst = (cell.strip() for cell in table[2].strip("| ").split("|"))
                    plans[f"{name}:{op['operationId']}"] = (float(rate), int(burst))
    return plans


def test_the_rate_limits_are_amazons_usage_plans() -> None:
    plans = _spec_usage_plans()
    published = {
        "searchOrders": plans["orders_2026-01-01.json:searchOrders"],
        "getOrder": plans["orders_2026-01-01.json:getOrder"],
        "confirmShipment": plans["ordersV0.json:confirmShipment"],
    }

    assert AmazonConnector.rate_limits == published
    assert usage_plans() == published


def _paid_orders(server: EmulatorServer, count: int) -> list[ChannelOrder]:
    ids = set(_seed(server, count=count))
    page = _connector(server).orders_list(updated_after=LONG_AGO, cursor=None)
    return [order for order in page.orders if order.external_id in ids]


def test_a_burst_past_the_usage_plan_is_throttled(server: EmulatorServer) -> None:
    orders = _paid_orders(server, 14)
    connector = _connector(server)
    started, pushed = time.monotonic(), 0

    with pytest.raises(RateLimited) as limited:
        for number, order in enumerate(orders, start=1):
            connector.shipment_push(_package(order, number))
            pushed += 1

    # The burst of 10, and whatever the plan's 2 per second refilled meanwhile.
    assert 10 <= pushed <= 10 + 2 * (time.monotonic() - started) + 1
    # Amazon gives no Retry-After: one token of 2 per second is the wait.
    assert limited.value.retry_after == 0.5


def test_the_limiter_keeps_the_connector_under_the_usage_plan(server: EmulatorServer) -> None:
    orders = _paid_orders(server, 12)
    # The emulator's bucket starts when our first call reaches it, a moment after ours: a
    # few milliseconds of slack keep the two clocks from racing.
    limiter = MemoryLimiter(AmazonConnector.rate_limits, sleep=lambda s: time.sleep(s + 0.02))
    connector = _connector(server, limiter=limiter)
    started = time.monotonic()

    for number, order in enumerate(orders, start=1):
        connector.shipment_push(_package(order, number))

    assert time.monotonic() - started >= 0.9  # the two calls past the burst waited
    assert sum(len(v) for v in _state(server)["fulfillments"].values()) == 12


def test_a_cursor_repeats_the_filters_it_was_made_for(server: EmulatorServer) -> None:
    _seed(server, count=120)
    connector = _connector(server)
    first = connector.orders_list(updated_after=LONG_AGO, cursor=None)
    assert first.next_cursor is not None

    later = datetime.now(UTC) + timedelta(days=1)
    second = connector.orders_list(updated_after=later, cursor=first.next_cursor)

    assert len(second.orders) == 20
    with pytest.raises(ChannelError):
        connector.orders_list(updated_after=LONG_AGO, cursor="not a cursor")
