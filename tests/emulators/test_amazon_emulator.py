"""The Amazon emulator over raw HTTP: Login with Amazon tokens, Amazon's refusals, the
contract check, throttling to the published usage plans, searchOrders filters and paging, and
the control endpoints that change orders the way Amazon would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from colis.emulators.amazon import CREDENTIALS, TOKEN_PATH, AmazonEmulator
from colis.emulators.server import EmulatorServer

SEARCH = "/orders/2026-01-01/orders"
EVERYTHING = "BUYER,RECIPIENT,PROCEEDS,FULFILLMENT,PACKAGES"


def _start(emulator: AmazonEmulator) -> EmulatorServer:
    running = EmulatorServer(emulator)
    # serve_forever looks for a shutdown every 0.5 s by default, which each test would wait.
    running.thread = threading.Thread(target=running.httpd.serve_forever, args=(0.01,), daemon=True)
    return running.start()


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    running = _start(AmazonEmulator())
    yield running
    running.stop()
    assert running.emulator.violations == []


class Amazon:
    """Raw calls to the emulator with a Login with Amazon token."""

    def __init__(self, server: EmulatorServer) -> None:
        self.url = server.url
        self.emulator = server.emulator
        self.token = self.login().json()["access_token"]

    def login(self, **changes: str) -> requests.Response:
        form = {"grant_type": "refresh_token", **CREDENTIALS, **changes}
        return requests.post(self.url + TOKEN_PATH, data=form, timeout=10)

    def get(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        headers = {"x-amz-access-token": token if token is not None else self.token}
        return requests.get(self.url + path, params=params, headers=headers, timeout=10)

    def search(self, **params: Any) -> requests.Response:
        return self.get(SEARCH, **params)

    def confirm(self, order_id: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(
            f"{self.url}/orders/v0/orders/{order_id}/shipmentConfirmation",
            json=body,
            headers={"x-amz-access-token": self.token},
            timeout=10,
        )

    def seed(self, **spec: Any) -> list[str]:
        answer = requests.post(
            f"{self.url}/_emulator/orders", json={"count": 1, **spec}, timeout=10
        )
        return answer.json()["ids"]

    def act(self, order_id: str, **spec: Any) -> dict[str, Any]:
        answer = requests.post(f"{self.url}/_emulator/orders/{order_id}", json=spec, timeout=10)
        return answer.json()["result"]

    def order(self, order_id: str) -> dict[str, Any]:
        answer = self.get(f"{SEARCH}/{order_id}", includedData=EVERYTHING)
        assert answer.status_code == 200, answer.text
        return answer.json()["order"]


@pytest.fixture
def amazon(server: EmulatorServer) -> Amazon:
    return Amazon(server)


def _detail(order: dict[str, Any], reference: str, **changes: Any) -> dict[str, Any]:
    item = order["orderItems"][0]
    return {
        "marketplaceId": "ATVPDKIKX0DER",
        "packageDetail": {
            "packageReferenceId": reference,
            "carrierCode": "USPS",
            "trackingNumber": "9400111899223197428490",
            "shipDate": "2026-03-03T15:30:00Z",
            "orderItems": [{"orderItemId": item["orderItemId"], "quantity": 1}],
            **changes,
        },
    }


# -- Login with Amazon and refusals -------------------------------------------------------------


def test_login_with_amazon_gives_a_bearer_token_for_the_right_credentials(amazon: Amazon) -> None:
    good = amazon.login()
    assert good.status_code == 200
    body = good.json()
    assert body["access_token"].startswith("Atza|")
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)
    assert body["refresh_token"] == CREDENTIALS["refresh_token"]

    wrong_client = amazon.login(client_secret="nope")
    assert (wrong_client.status_code, wrong_client.json()["error"]) == (401, "invalid_client")
    wrong_grant = amazon.login(refresh_token="Atzr|nope")
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "invalid_grant")


def test_calls_without_a_good_token_are_denied_as_amazon_does(amazon: Amazon) -> None:
    missing = requests.get(amazon.url + SEARCH, params={"lastUpdatedAfter": "2020-01-01T00:00:00Z"})
    assert missing.status_code == 403
    assert missing.json()["errors"][0]["code"] == "MissingAuthenticationToken"

    forged = amazon.get(SEARCH, token="Atza|forged", lastUpdatedAfter="2020-01-01T00:00:00Z")
    assert forged.status_code == 403
    assert forged.json()["errors"][0]["code"] == "Unauthorized"


def test_tokens_are_short_lived(server: EmulatorServer) -> None:
    server.emulator.token_ttl = 0.0
    amazon = Amazon(server)

    expired = amazon.search(lastUpdatedAfter="2020-01-01T00:00:00Z")

    assert expired.status_code == 403
    assert "expired" in expired.json()["errors"][0]["details"]


# -- the contract check -------------------------------------------------------------------------


def test_a_request_the_contract_does_not_allow_is_flagged(amazon: Amazon) -> None:
    [order_id] = amazon.seed()

    missing_detail = amazon.confirm(order_id, {"marketplaceId": "ATVPDKIKX0DER"})
    both_filters = amazon.search(
        lastUpdatedAfter="2020-01-01T00:00:00Z", createdAfter="2020-01-01T00:00:00Z"
    )
    other_without_name = amazon.confirm(
        order_id, _detail(amazon.order(order_id), "1", carrierCode="Other")
    )

    assert missing_detail.status_code == 400
    assert both_filters.status_code == 400
    assert other_without_name.json()["errors"][0]["code"] == "InvalidInput"
    violations = list(amazon.emulator.violations)
    assert any("packageDetail" in v for v in violations)
    assert any("Exactly one of createdAfter" in v for v in violations)
    assert any("carrierName is required" in v for v in violations)
    amazon.emulator.violations.clear()  # flagged on purpose


def test_answers_pass_the_contract_and_carry_the_rate_header(amazon: Amazon) -> None:
    amazon.seed(count=3)

    answer = amazon.search(lastUpdatedAfter="2020-01-01T00:00:00Z", includedData=EVERYTHING)

    assert answer.status_code == 200
    assert answer.headers["x-amzn-RateLimit-Limit"] == "0.0056"
    assert len(answer.json()["orders"]) == 3
    assert amazon.emulator.violations == []


# -- throttling ----------------------------------------------------------------------------------


def test_a_burst_past_the_usage_plan_gets_quota_exceeded(amazon: Amazon) -> None:
    answers = [amazon.search(lastUpdatedAfter="2020-01-01T00:00:00Z") for _ in range(21)]

    assert [a.status_code for a in answers[:20]] == [200] * 20
    throttled = answers[20]
    assert throttled.status_code == 429
    assert throttled.json() == {
        "errors": [
            {
                "code": "QuotaExceeded",
                "message": "You exceeded your quota for the requested resource.",
            }
        ]
    }
    assert throttled.headers["x-amzn-RateLimit-Limit"] == "0.0056"


def test_limits_off_lets_every_call_through() -> None:
    running = _start(AmazonEmulator(limits=False))
    try:
        amazon = Amazon(running)
        statuses = {
            amazon.search(lastUpdatedAfter="2020-01-01T00:00:00Z").status_code for _ in range(25)
        }
    finally:
        running.stop()
    assert statuses == {200}


# -- filters and paging --------------------------------------------------------------------------


def test_search_filters_as_documented(amazon: Amazon) -> None:
    [old] = amazon.seed(placed_at="2025-01-01T00:00:00Z")
    [fba] = amazon.seed(fulfilled_by_vendor=True)
    [pending] = amazon.seed(unpaid=True)
    [elsewhere] = amazon.seed(marketplace_id="A1F83G8C2ARO7P")

    def ids(**params: Any) -> set[str]:
        answer = amazon.search(**params)
        assert answer.status_code == 200, answer.text
        return {o["orderId"] for o in answer.json()["orders"]}

    assert ids(lastUpdatedAfter="2020-01-01T00:00:00Z") == {old, fba, pending, elsewhere}
    assert old not in ids(createdAfter="2025-06-01T00:00:00Z")
    assert ids(createdAfter="2024-01-01T00:00:00Z", createdBefore="2025-02-01T00:00:00Z") == {old}
    assert ids(lastUpdatedAfter="2020-01-01T00:00:00Z", fulfilledBy="AMAZON") == {fba}
    assert ids(lastUpdatedAfter="2020-01-01T00:00:00Z", fulfillmentStatuses="PENDING") == {pending}
    assert ids(lastUpdatedAfter="2020-01-01T00:00:00Z", marketplaceIds="A1F83G8C2ARO7P") == {
        elsewhere
    }


def test_included_data_decides_what_an_order_shows(amazon: Amazon) -> None:
    [order_id] = amazon.seed()

    bare = amazon.get(f"{SEARCH}/{order_id}").json()["order"]
    full = amazon.order(order_id)

    assert {"buyer", "recipient", "fulfillment", "proceeds", "packages"}.isdisjoint(bare)
    assert {"buyer", "recipient", "fulfillment", "proceeds", "packages"} <= set(full)
    assert full["fulfillment"]["fulfilledBy"] == "MERCHANT"
    assert full["recipient"]["deliveryAddress"]["addressLine1"]


def test_pages_follow_the_pagination_token_with_the_same_filters(amazon: Amazon) -> None:
    seeded = set(amazon.seed(count=25))
    after = "2020-01-01T00:00:00Z"

    first = amazon.search(lastUpdatedAfter=after, maxResultsPerPage=10).json()
    token = first["pagination"]["nextToken"]
    second = amazon.search(lastUpdatedAfter=after, maxResultsPerPage=10, paginationToken=token)
    third = amazon.search(
        lastUpdatedAfter=after,
        maxResultsPerPage=10,
        paginationToken=second.json()["pagination"]["nextToken"],
    ).json()

    pages = [first["orders"], second.json()["orders"], third["orders"]]
    assert [len(p) for p in pages] == [10, 10, 5]
    assert "pagination" not in third
    assert {o["orderId"] for page in pages for o in page} == seeded
    changed = amazon.search(lastUpdatedAfter="2021-01-01T00:00:00Z", paginationToken=token)
    assert changed.status_code == 400
    amazon.emulator.violations.clear()  # a token reused with other filters is flagged


def test_an_unknown_order_is_not_found(amazon: Amazon) -> None:
    answer = amazon.get(f"{SEARCH}/111-0000000-0000000")

    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "NotFound"


# -- confirmShipment and the control endpoints ---------------------------------------------------


def test_confirm_shipment_records_the_package_on_the_order(amazon: Amazon) -> None:
    [order_id] = amazon.seed(skus=["MUG-01"])
    before = amazon.order(order_id)

    answer = amazon.confirm(order_id, _detail(before, "17", shippingMethod="Ground Advantage"))

    assert answer.status_code == 204
    after = amazon.order(order_id)
    [package] = after["packages"]
    assert package["packageReferenceId"] == "17"
    assert (package["carrier"], package["shippingService"]) == ("USPS", "Ground Advantage")
    assert package["packageItems"] == [
        {"orderItemId": before["orderItems"][0]["orderItemId"], "quantity": 1}
    ]
    assert after["lastUpdatedTime"] > before["lastUpdatedTime"]
    assert after["orderItems"][0]["fulfillment"]["quantityFulfilled"] == 1
    state = requests.get(amazon.url + "/_emulator/state", timeout=10).json()
    assert state["orders"] == 1
    assert [d["packageReferenceId"] for d in state["fulfillments"][order_id]] == ["17"]


def test_amazon_refuses_what_it_cannot_ship(amazon: Amazon) -> None:
    [paid] = amazon.seed()
    [pending] = amazon.seed(unpaid=True)
    [fba] = amazon.seed(fulfilled_by_vendor=True)
    order = amazon.order(paid)
    assert amazon.confirm(paid, _detail(order, "1")).status_code == 204

    again = amazon.confirm(paid, _detail(order, "1"))
    too_many = amazon.confirm(
        paid,
        _detail(
            order,
            "2",
            orderItems=[{"orderItemId": order["orderItems"][0]["orderItemId"], "quantity": 99}],
        ),
    )
    unpaid = amazon.confirm(pending, _detail(amazon.order(pending), "3"))
    by_amazon = amazon.confirm(fba, _detail(amazon.order(fba), "4"))

    for refused in (again, too_many, unpaid, by_amazon):
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["code"] == "InvalidInput"
    assert "already confirmed" in again.json()["errors"][0]["message"]


def test_order_actions_change_orders_like_amazon(amazon: Amazon) -> None:
    [cancelled, shipped, paid, moved] = amazon.seed(count=4)
    [pending] = amazon.seed(unpaid=True)
    before = amazon.order(cancelled)

    assert amazon.act(cancelled, action="cancel")["status"] == "CANCELLED"
    assert amazon.act(shipped, action="ship", tracking_number="1ZTEST")["status"] == "SHIPPED"
    assert amazon.act(pending, action="pay")["status"] == "UNSHIPPED"
    amazon.act(moved, action="edit_address", address={"line1": "9 Pine St", "line2": ""})
    assert amazon.act(shipped, action="cancel")["ok"] is False

    after = amazon.order(cancelled)
    assert after["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
    assert after["lastUpdatedTime"] > before["lastUpdatedTime"]
    assert amazon.order(shipped)["packages"][0]["trackingNumber"] == "1ZTEST"
    address = amazon.order(moved)["recipient"]["deliveryAddress"]
    assert address["addressLine1"] == "9 Pine St"
    assert "addressLine2" not in address
    assert paid  # untouched


def test_rate_limits_come_from_the_contracts_usage_plans(server: EmulatorServer) -> None:
    assert server.emulator.rate_limits == {
        "searchOrders": (0.0056, 20),
        "getOrder": (0.5, 30),
        "confirmShipment": (2.0, 10),
    }
