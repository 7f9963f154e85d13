"""The eBay emulator over real HTTP, spoken to the way eBay documents its API: the token
endpoint, bearer-token checks, getOrders' filters and pages, createShippingFulfillment's
rules, the control endpoints, the daily quota, and the contract check itself."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from colis.emulators.ebay import (
    CREDENTIALS,
    DAILY_QUOTA,
    PREFIX,
    SCOPE,
    SCOPE_READONLY,
    TOKEN_PATH,
    EbayEmulator,
    stamp,
)
from colis.emulators.server import EmulatorServer

SKUS = ["MUG-1", "SOCK-2", "BOTTLE-3"]


class Ebay:
    """A started emulator and a raw HTTP session to it."""

    def __init__(self, emulator: EbayEmulator, server: EmulatorServer) -> None:
        self.emulator = emulator
        self.url = server.url
        self.http = requests.Session()

    def token(self, scope: str = SCOPE, **form: str) -> requests.Response:
        app = f"{CREDENTIALS['client_id']}:{CREDENTIALS['client_secret']}"
        basic = base64.b64encode(app.encode()).decode()
        data = {
            "grant_type": "refresh_token",
            "refresh_token": CREDENTIALS["refresh_token"],
            "scope": scope,
        }
        return self.http.post(
            self.url + TOKEN_PATH,
            data={**data, **form},
            headers={"Authorization": f"Basic {basic}"},
        )

    def bearer(self, scope: str = SCOPE) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token(scope).json()["access_token"]}

    def api(self, method: str, path: str, *, token: dict[str, str] | None = None, **kw: Any):
        headers = token if token is not None else self.bearer()
        return self.http.request(method, self.url + PREFIX + path, headers=headers, **kw)

    def control(self, path: str, body: dict[str, Any]) -> Any:
        answer = self.http.post(f"{self.url}/_emulator/{path}", json=body)
        return answer.json() if answer.content else None

    def seed(self, **spec: Any) -> list[str]:
        return self.control("orders", {"skus": SKUS, **spec})["ids"]


@pytest.fixture(scope="module")
def shared() -> Iterator[Ebay]:
    emulator = EbayEmulator(limits=False)
    server = EmulatorServer(emulator).start()
    yield Ebay(emulator, server)
    server.stop()


@pytest.fixture
def ebay(shared: Ebay) -> Iterator[Ebay]:
    """The module's emulator (limits off); every test seeds its own orders."""
    yield shared
    assert shared.emulator.violations == []


@pytest.fixture
def start() -> Iterator[Callable[..., Ebay]]:
    """Emulators of their own, for tests that change its options."""
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


def test_the_token_endpoint_mints_two_hour_user_tokens(ebay: Ebay) -> None:
    issued = ebay.emulator.tokens_issued

    answer = ebay.token()

    assert answer.status_code == 200
    assert answer.json()["expires_in"] == 7200
    assert answer.json()["token_type"] == "User Access Token"
    assert ebay.emulator.tokens_issued == issued + 1


def test_the_token_endpoint_refuses_wrong_credentials(ebay: Ebay) -> None:
    wrong = base64.b64encode(f"{CREDENTIALS['client_id']}:not-the-secret".encode()).decode()
    form = {"grant_type": "refresh_token", "refresh_token": CREDENTIALS["refresh_token"]}

    bad_client = ebay.http.post(
        ebay.url + TOKEN_PATH, data=form, headers={"Authorization": f"Basic {wrong}"}
    )
    bad_grant = ebay.token(refresh_token="v^1.1#stolen")
    bad_scope = ebay.token(scope="https://api.ebay.com/oauth/api_scope/sell.everything")
    bad_type = ebay.token(grant_type="client_credentials")

    assert (bad_client.status_code, bad_client.json()["error"]) == (401, "invalid_client")
    assert (bad_grant.status_code, bad_grant.json()["error"]) == (400, "invalid_grant")
    assert (bad_scope.status_code, bad_scope.json()["error"]) == (400, "invalid_scope")
    assert bad_type.json()["error"] == "unsupported_grant_type"


def test_calls_need_a_valid_bearer_token(start: Callable[..., Ebay]) -> None:
    ebay = start(limits=False, token_ttl=0.2)
    fresh = ebay.bearer()

    missing = ebay.api("GET", "/order", token={})
    unknown = ebay.api("GET", "/order", token={"Authorization": "Bearer v^1.1#made-up"})
    accepted = ebay.api("GET", "/order", token=fresh)
    time.sleep(0.3)  # the token lived 200 ms
    expired = ebay.api("GET", "/order", token=fresh)

    assert missing.status_code == 401 and missing.json()["errors"][0]["errorId"] == 1002
    assert unknown.status_code == 401
    assert unknown.json()["errors"][0] == {
        "errorId": 1001,
        "domain": "OAuth",
        "category": "REQUEST",
        "message": "Invalid access token",
        "longMessage": "Invalid access token. Check the value of the Authorization HTTP "
        "request header.",
    }
    assert accepted.status_code == 200
    assert expired.status_code == 401 and expired.json()["errors"][0]["errorId"] == 1001


def test_a_read_only_token_cannot_create_fulfillments(ebay: Ebay) -> None:
    [order_id] = ebay.seed(count=1)
    read_only = ebay.bearer(SCOPE_READONLY)
    line = ebay.emulator.orders[order_id]["lineItems"][0]

    read = ebay.api("GET", f"/order/{order_id}", token=read_only)
    write = ebay.api(
        "POST",
        f"/order/{order_id}/shipping_fulfillment",
        token=read_only,
        json={"lineItems": [{"lineItemId": line["lineItemId"], "quantity": 1}]},
    )

    assert read.status_code == 200
    assert write.status_code == 403 and write.json()["errors"][0]["errorId"] == 1100


def test_get_orders_pages_with_limit_and_offset(ebay: Ebay) -> None:
    ids = ebay.seed(count=7, placed_at="2026-01-05T10:00:00Z")
    window = {"filter": "creationdate:[2026-01-05T10:00:00.000Z..2026-01-05T10:00:01.000Z]"}

    first = ebay.api("GET", "/order", params={**window, "limit": "3"}).json()
    last = ebay.api("GET", "/order", params={**window, "limit": "3", "offset": "6"}).json()

    assert (first["total"], first["limit"], first["offset"]) == (7, 3, 0)
    assert [o["orderId"] for o in first["orders"]] == ids[:3]
    assert "offset=3" in first["next"] and "prev" not in first
    assert [o["orderId"] for o in last["orders"]] == ids[6:]
    assert "next" not in last and "offset=3" in last["prev"]


def test_get_orders_filters_by_modification_date_and_fulfillment_status(ebay: Ebay) -> None:
    placed = datetime.now(UTC) - timedelta(days=30)
    old = ebay.seed(count=2, placed_at=placed.isoformat())
    since = stamp(datetime.now(UTC))
    new = ebay.seed(count=3)
    ebay.control(f"orders/{new[0]}", {"action": "ship"})
    open_only = "orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}"
    created = f"creationdate:[{stamp(placed)}..{stamp(placed + timedelta(seconds=1))}]"

    def ids(criteria: str) -> list[str]:
        answer = ebay.api("GET", "/order", params={"filter": criteria})
        return [order["orderId"] for order in answer.json()["orders"]]

    # Oldest change first: the order shipped a moment ago comes last.
    assert ids(f"lastmodifieddate:[{since}..]") == [new[1], new[2], new[0]]
    assert ids(f"lastmodifieddate:[{since}..],{open_only}") == new[1:]
    assert ids(created) == old
    # With both dates, eBay uses only the creation date.
    assert ids(f"{created},lastmodifieddate:[{since}..]") == old


def test_get_orders_by_ids_ignores_paging(ebay: Ebay) -> None:
    ids = ebay.seed(count=4)

    found = ebay.api("GET", "/order", params={"orderIds": f"{ids[3]},{ids[1]}", "limit": "1"})

    assert [o["orderId"] for o in found.json()["orders"]] == [ids[3], ids[1]]


@pytest.mark.parametrize(
    ("params", "error_id"),
    [
        ({"filter": "shipdate:[2024-01-01T00:00:00.000Z..]"}, 30700),
        ({"filter": "orderfulfillmentstatus:{FULFILLED}"}, 30800),
        ({"filter": "lastmodifieddate:[yesterday..]"}, 30810),
        ({"filter": "lastmodifieddate:[..2024-01-01T00:00:00.000Z]"}, 30820),
        ({"filter": "creationdate:[2030-01-01T00:00:00.000Z..]"}, 30850),
        ({"limit": "201"}, 31100),
        ({"offset": "-1"}, 31000),
    ],
)
def test_get_orders_refuses_bad_queries_with_ebays_errors(
    ebay: Ebay, params: dict[str, str], error_id: int
) -> None:
    answer = ebay.api("GET", "/order", params=params)

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["errorId"] == error_id


def test_get_order_answers_404_for_an_unknown_order(ebay: Ebay) -> None:
    assert ebay.api("GET", "/order/12-34567-89012").status_code == 404
    assert ebay.api("GET", "/order/not-an-id").json()["errors"][0]["errorId"] == 32100


def test_create_shipping_fulfillment_stores_the_package_and_moves_statuses(ebay: Ebay) -> None:
    [order_id] = ebay.seed(count=1)
    ebay.emulator.orders[order_id]["lineItems"][0]["quantity"] = 2
    line_id = ebay.emulator.orders[order_id]["lineItems"][0]["lineItemId"]
    body = {
        "lineItems": [{"lineItemId": line_id, "quantity": 1}],
        "shippedDate": "2026-03-02T10:00:00.000Z",
        "shippingCarrierCode": "USPS",
        "trackingNumber": "9400111899223344556677",
    }

    created = ebay.api("POST", f"/order/{order_id}/shipping_fulfillment", json=body)
    again = ebay.api("POST", f"/order/{order_id}/shipping_fulfillment", json=body)
    listed = ebay.api("GET", f"/order/{order_id}/shipping_fulfillment").json()
    one = ebay.api("GET", f"/order/{order_id}/shipping_fulfillment/9400111899223344556677")
    order = ebay.api("GET", f"/order/{order_id}").json()

    assert created.status_code == 201
    assert created.headers["Location"].endswith(
        f"{PREFIX}/order/{order_id}/shipping_fulfillment/9400111899223344556677"
    )
    assert again.json()["errors"][0]["errorId"] == 34500
    assert listed["total"] == 1
    assert listed["fulfillments"][0]["shipmentTrackingNumber"] == "9400111899223344556677"
    assert one.json()["lineItems"] == [{"lineItemId": line_id, "quantity": 1}]
    assert order["orderFulfillmentStatus"] == "IN_PROGRESS"
    assert order["lineItems"][0]["lineItemFulfillmentStatus"] == "IN_PROGRESS"
    assert order["fulfillmentHrefs"] == [created.headers["Location"]]


@pytest.mark.parametrize(
    ("change", "error_id"),
    [
        ({"lineItems": [{"lineItemId": "1", "quantity": 1}]}, 32200),
        ({"trackingNumber": "9400 1118"}, 32300),
        ({"shippingCarrierCode": None, "trackingNumber": "94001118"}, 32300),
        ({"shippedDate": "last tuesday"}, 32500),
        ({"quantity": 99}, 32600),
        ({"duplicate": True}, 32210),
    ],
)
def test_create_shipping_fulfillment_refuses_what_ebay_refuses(
    ebay: Ebay, change: dict[str, Any], error_id: int
) -> None:
    [order_id] = ebay.seed(count=1)
    line_id = ebay.emulator.orders[order_id]["lineItems"][0]["lineItemId"]
    line = {"lineItemId": line_id, "quantity": change.pop("quantity", 1)}
    body: dict[str, Any] = {
        "lineItems": [line, line] if change.pop("duplicate", False) else [line],
        "shippingCarrierCode": "UPS",
        "trackingNumber": "1Z999AA10123456784",
        **change,
    }
    body = {k: v for k, v in body.items() if v is not None}

    answer = ebay.api("POST", f"/order/{order_id}/shipping_fulfillment", json=body)

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["errorId"] == error_id
    assert order_id not in ebay.emulator.fulfillments


def test_orders_cancelled_or_shipped_by_ebay_take_no_fulfillment(ebay: Ebay) -> None:
    [cancelled] = ebay.seed(count=1)
    [by_ebay] = ebay.seed(count=1, fulfilled_by_vendor=True)
    ebay.control(f"orders/{cancelled}", {"action": "cancel"})

    for order_id in (cancelled, by_ebay):
        line_id = ebay.emulator.orders[order_id]["lineItems"][0]["lineItemId"]
        body = {"lineItems": [{"lineItemId": line_id, "quantity": 1}]}
        answer = ebay.api("POST", f"/order/{order_id}/shipping_fulfillment", json=body)
        assert answer.json()["errors"][0]["errorId"] == 32600


def test_seeded_orders_follow_the_options(ebay: Ebay) -> None:
    default = ebay.seed(count=1)
    [unpaid] = ebay.seed(count=1, unpaid=True)
    [by_ebay] = ebay.seed(count=1, fulfilled_by_vendor=True)
    [no_address] = ebay.seed(count=1, missing_address=True)
    [no_sku] = ebay.seed(count=1, without_sku=True)
    orders = ebay.emulator.orders

    assert orders[unpaid]["orderPaymentStatus"] == "PENDING"
    assert orders[by_ebay]["program"] == {"fulfillmentProgram": {"fulfilledBy": "EBAY"}}
    assert "shippingStep" not in orders[by_ebay]["fulfillmentStartInstructions"][0]
    ship_to = orders[no_address]["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"]
    assert list(ship_to["contactAddress"]) == ["countryCode"]
    assert all("sku" not in line for line in orders[no_sku]["lineItems"])
    assert all(len(x) == 14 and x[2] == x[8] == "-" for x in [*default, unpaid, no_sku])


def test_order_actions_change_the_order_and_its_modification_date(ebay: Ebay) -> None:
    cancelled, shipped, moved, unpaid = ebay.seed(count=3) + ebay.seed(count=1, unpaid=True)
    before = ebay.emulator.orders[moved]["lastModifiedDate"]

    ebay.control(f"orders/{cancelled}", {"action": "cancel"})
    ebay.control(f"orders/{shipped}", {"action": "ship", "tracking_number": "1Z999AA1"})
    ebay.control(f"orders/{moved}", {"action": "edit_address", "address": {"city": "Oakland"}})
    ebay.control(f"orders/{unpaid}", {"action": "pay"})
    refused = ebay.control(f"orders/{shipped}", {"action": "cancel"})

    got = {x: ebay.api("GET", f"/order/{x}").json() for x in (cancelled, shipped, moved, unpaid)}
    assert got[cancelled]["cancelStatus"]["cancelState"] == "CANCELED"
    assert got[cancelled]["cancelStatus"]["cancelRequests"][0]["cancelRequestState"] == "COMPLETED"
    assert got[cancelled]["orderPaymentStatus"] == "FULLY_REFUNDED"
    assert got[shipped]["orderFulfillmentStatus"] == "FULFILLED"
    ship_to = got[moved]["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"]
    assert ship_to["contactAddress"]["city"] == "Oakland"
    assert got[moved]["lastModifiedDate"] > before
    assert got[unpaid]["orderPaymentStatus"] == "PAID"
    assert "error" in refused["result"]
    # getOrders leaves cancelRequests empty, as eBay's does.
    listed = ebay.api("GET", "/order", params={"orderIds": cancelled}).json()["orders"][0]
    assert listed["cancelStatus"]["cancelRequests"] == []


def test_state_reports_orders_and_fulfillments(ebay: Ebay) -> None:
    [order_id] = ebay.seed(count=1)
    ebay.control(f"orders/{order_id}", {"action": "ship", "tracking_number": "LX123456789DE"})

    state = ebay.http.get(ebay.url + "/_emulator/state").json()

    assert state["orders"] == len(ebay.emulator.orders)
    assert state["fulfillments"][order_id][0]["fulfillmentId"] == "LX123456789DE"
    assert state["violations"] == []


def test_a_request_outside_the_contract_is_flagged(ebay: Ebay) -> None:
    [order_id] = ebay.seed(count=1)

    # createShippingFulfillment without its required body.
    answer = ebay.api("POST", f"/order/{order_id}/shipping_fulfillment")
    undocumented = ebay.api("GET", "/order", params={"sort": "newest"})

    assert answer.status_code == 400 and undocumented.status_code == 400
    assert any("a JSON body is required" in v for v in ebay.emulator.violations)
    assert any("undocumented query parameters: sort" in v for v in ebay.emulator.violations)
    ebay.emulator.violations.clear()


def test_the_daily_quota_answers_429_once_spent(start: Callable[..., Ebay]) -> None:
    ebay = start(limits=True, daily_quota=3, day_seconds=3600)
    token = ebay.bearer()

    answers = [ebay.api("GET", "/order", token=token) for _ in range(4)]
    ebay.control("limits", {"enabled": False})
    after = ebay.api("GET", "/order", token=token)

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["errors"][0]["errorId"] == 2001
    assert answers[3].json()["errors"][0]["domain"] == "ACCESS"
    assert int(answers[3].headers["Retry-After"]) >= 1
    assert after.status_code == 200


def test_the_quota_defaults_to_ebays_published_limit() -> None:
    rate, burst = EbayEmulator().rate_limits["sell.fulfillment"]

    assert burst == DAILY_QUOTA == 100_000
    assert rate == pytest.approx(100_000 / 86_400)


def test_seeding_ten_thousand_orders_is_quick() -> None:
    started = datetime.now(UTC)

    ids = EbayEmulator(limits=False).seed_orders({"count": 10_000, "skus": SKUS})

    assert len(set(ids)) == 10_000
    assert datetime.now(UTC) - started < timedelta(seconds=5)
