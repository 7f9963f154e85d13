"""The Shopify emulator over raw HTTP: Shopify's authentication, contract checks on every query,
calculated query cost and its leaky bucket, paging and search, the control endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from colis.emulators.graphql import admin_schema
from colis.emulators.server import EmulatorServer
from colis.emulators.shopify import ShopifyEmulator
from colis.emulators.shopify.emulator import ACCESS_TOKEN

PATH = "/admin/api/2025-01/graphql.json"
PAGE = """
query Page($first: Int, $last: Int, $after: String, $before: String, $query: String,
           $sort: OrderSortKeys, $reverse: Boolean) {
  orders(first: $first, last: $last, after: $after, before: $before, query: $query,
         sortKey: $sort, reverse: $reverse) {
    edges { cursor node { id name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


class Running:
    def __init__(self, **options: Any) -> None:
        self.emulator = ShopifyEmulator(**options)
        self.server = EmulatorServer(self.emulator).start()
        self.url = self.server.url

    def post(self, query: str, variables: dict | None = None, token: str | None = ACCESS_TOKEN):
        headers = {"X-Shopify-Access-Token": token} if token is not None else {}
        return requests.post(
            self.url + PATH, json={"query": query, "variables": variables or {}}, headers=headers
        )

    def run(self, document: str, /, **variables: Any) -> dict[str, Any]:
        answer = self.post(document, variables)
        assert answer.status_code == 200
        return answer.json()

    def control(self, path: str, body: dict) -> Any:
        answer = requests.post(f"{self.url}/_emulator/{path}", json=body)
        return answer.json() if answer.content else None

    def refused(self) -> list[str]:
        """The violations a test provoked on purpose, taken off the list."""
        found = list(self.emulator.violations)
        self.emulator.violations.clear()
        return found


@pytest.fixture(scope="session")
def shopify_schema() -> Any:
    return admin_schema()


@pytest.fixture
def shop(shopify_schema: Any) -> Iterator[Running]:
    running = Running()
    yield running
    running.server.stop()
    assert running.emulator.violations == []


def names(answer: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in answer["data"]["orders"]["edges"]]


def test_a_missing_or_wrong_token_gets_shopifys_401(shop: Running) -> None:
    for token in (None, "shpat_wrong"):
        answer = shop.post("{ orders(first: 1) { nodes { id } } }", token=token)
        assert answer.status_code == 401
        assert answer.json() == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }
    assert dict(shop.emulator.calls) == {}


def test_an_invalid_request_is_flagged_and_answered_as_shopify_does(shop: Running) -> None:
    missing_field = """
    mutation { fulfillmentCreate(fulfillment: {trackingInfo: {number: "1"}}) {
      userErrors { message } } }
    """
    answer = shop.run(missing_field)
    assert "lineItemsByFulfillmentOrder" in answer["errors"][0]["message"]
    assert "data" not in answer
    unknown_field = shop.run("{ orders(first: 1) { nodes { id colour } } }")
    assert "colour" in unknown_field["errors"][0]["message"]
    bad_variable = shop.run(PAGE, first="ten")
    assert bad_variable["errors"]
    assert len(shop.refused()) == 3
    got = requests.get(shop.url + PATH, headers={"X-Shopify-Access-Token": ACCESS_TOKEN})
    assert got.status_code == 405
    assert shop.refused() == [f"GET {PATH}: Admin GraphQL takes POST"]


def test_every_answer_reports_its_cost(shop: Running) -> None:
    shop.control("orders", {"count": 3, "lines": 2})
    query = """
    { orders(first: 10) { nodes { id lineItems(first: 5) { nodes { id } }
                                  shippingAddress { city } } } }
    """
    cost = shop.run(query)["extensions"]["cost"]
    # A connection costs 2 plus its size times one node; an object 1; a scalar nothing.
    assert cost["requestedQueryCost"] == 2 + 10 * (1 + (2 + 5 * 1) + 1)
    assert cost["actualQueryCost"] == 2 + 3 * (1 + (2 + 2 * 1) + 1)
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == 2000.0 and status["restoreRate"] == 100.0
    assert 2000 - 20 - 1 <= status["currentlyAvailable"] <= 2000 - 20 + 1
    mutation = 'mutation { orderCancel(orderId: "gid://shopify/Order/1", reason: OTHER, ' \
               "refund: false, restock: false) { orderCancelUserErrors { code } } }"  # fmt: skip
    cost = shop.run(mutation)["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (10, 10)


def test_a_query_over_the_single_query_limit_is_refused(shop: Running) -> None:
    answer = shop.run("{ orders(first: 250) { nodes { lineItems(first: 50) { nodes { id } } } } }")
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"] > 1000
    assert len(shop.refused()) == 1


def test_the_bucket_throttles_what_does_not_fit(shopify_schema: Any) -> None:
    small = Running(bucket_points=400.0, restore_rate=10.0)
    try:
        small.control("orders", {"count": 40, "lines": 3})
        query = "{ orders(first: 40) { nodes { id lineItems(first: 5) { nodes { id } } } } }"
        first = small.run(query)
        assert first["extensions"]["cost"]["actualQueryCost"] == 2 + 40 * (1 + 2 + 3)
        second = small.run(query)
        assert second["errors"] == [{
            "message": "Throttled",
            "extensions": {"code": "THROTTLED",
                           "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }]  # fmt: skip
        assert second["extensions"]["cost"]["actualQueryCost"] is None
        assert second["extensions"]["cost"]["requestedQueryCost"] == 2 + 40 * 8
        assert "data" not in second
        small.control("limits", {"enabled": False})
        assert "errors" not in small.run(query)
        assert requests.get(small.url + "/_emulator/state").json()["throttled"] == 1
    finally:
        small.server.stop()
    assert small.emulator.violations == []


def test_orders_page_forwards_and_backwards(shop: Running) -> None:
    shop.control("orders", {"count": 7})
    first = shop.run(PAGE, first=3)
    assert names(first) == ["#1001", "#1002", "#1003"]
    info = first["data"]["orders"]["pageInfo"]
    assert info["hasNextPage"] and not info["hasPreviousPage"]
    second = shop.run(PAGE, first=3, after=info["endCursor"])
    assert names(second) == ["#1004", "#1005", "#1006"]
    last = shop.run(PAGE, first=3, after=second["data"]["orders"]["pageInfo"]["endCursor"])
    assert names(last) == ["#1007"]
    assert not last["data"]["orders"]["pageInfo"]["hasNextPage"]
    before = shop.run(PAGE, last=2, before=second["data"]["orders"]["pageInfo"]["startCursor"])
    assert names(before) == ["#1002", "#1003"]
    assert names(shop.run(PAGE, first=2, reverse=True)) == ["#1007", "#1006"]
    no_size = shop.run(PAGE)
    assert no_size["errors"][0]["message"] == "you must provide one of first or last"


def test_orders_are_searched_as_shopify_searches(shop: Running) -> None:
    paid = shop.control("orders", {"count": 2})["ids"]
    unpaid = shop.control("orders", {"count": 1, "unpaid": True})["ids"]
    shop.control(f"orders/{paid[1]}", {"action": "cancel", "reason": "FRAUD"})
    assert names(shop.run(PAGE, first=10, query="financial_status:pending")) == ["#1003"]
    assert names(shop.run(PAGE, first=10, query="status:cancelled")) == ["#1002"]
    assert names(shop.run(PAGE, first=10, query="status:open")) == ["#1001", "#1003"]
    assert names(shop.run(PAGE, first=10, query="name:#1001")) == ["#1001"]
    # Sorted by the time of the last change, and narrowed by a range on it.
    by_change = shop.run("{ orders(first: 9, sortKey: UPDATED_AT) { nodes { updatedAt } } }")
    times = [node["updatedAt"] for node in by_change["data"]["orders"]["nodes"]]
    assert len(times) == 3 and times == sorted(times)
    order = shop.run(
        "query($id: ID!) { order(id: $id) { updatedAt cancelledAt cancelReason } }", id=paid[1]
    )["data"]["order"]
    assert order["cancelReason"] == "FRAUD" and order["cancelledAt"]
    at = order["updatedAt"]
    assert "#1002" in names(shop.run(PAGE, first=9, sort="UPDATED_AT", query=f"updated_at:>={at}"))
    later = shop.run(PAGE, first=9, sort="UPDATED_AT", query=f"updated_at:>'{at}'")
    assert "#1002" not in names(later)  # Shopify's times are to the second
    assert names(shop.run(PAGE, first=9, query=f"created_at:>'{at}'")) == []
    assert unpaid


def test_control_actions_change_orders_as_shopify_would(shop: Running) -> None:
    [order_id] = shop.control("orders", {"count": 1, "unpaid": True, "missing_address": True})[
        "ids"
    ]
    query = """query($id: ID!) { order(id: $id) {
        displayFinancialStatus displayFulfillmentStatus shippingAddress { countryCodeV2 }
        fulfillments(first: 5) { trackingInfo(first: 1) { company number } }
        fulfillmentOrders(first: 5) { nodes { status } } } }"""
    before = shop.run(query, id=order_id)["data"]["order"]
    assert before["displayFinancialStatus"] == "PENDING" and before["shippingAddress"] is None
    shop.control(f"orders/{order_id}", {"action": "pay"})
    shop.control(f"orders/{order_id}", {"action": "edit_address"})
    shop.control(
        f"orders/{order_id}", {"action": "ship", "tracking_number": "LX123", "company": "USPS"}
    )
    after = shop.run(query, id=order_id)["data"]["order"]
    assert after["displayFinancialStatus"] == "PAID"
    assert after["shippingAddress"]["countryCodeV2"]
    assert after["displayFulfillmentStatus"] == "FULFILLED"
    assert after["fulfillments"] == [{"trackingInfo": [{"company": "USPS", "number": "LX123"}]}]
    assert after["fulfillmentOrders"]["nodes"] == [{"status": "CLOSED"}]
    answer = shop.control(f"orders/{order_id}", {"action": "cancel"})
    assert "fulfillments" in answer["result"]["error"]


def test_a_fulfillment_order_named_without_lines_is_fulfilled_whole(shop: Running) -> None:
    [order_id] = shop.control("orders", {"count": 1, "lines": 2})["ids"]
    fo = shop.run(
        "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 1) { nodes { id } } } }",
        id=order_id,
    )["data"]["order"]["fulfillmentOrders"]["nodes"][0]["id"]
    made = shop.run(
        """mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
             fulfillment { status totalQuantity } userErrors { field message } } }""",
        f={"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo}]},
    )["data"]["fulfillmentCreate"]
    assert made["userErrors"] == [] and made["fulfillment"]["status"] == "SUCCESS"
    state = requests.get(shop.url + "/_emulator/state").json()
    assert state["orders"] == 1
    [pushed] = state["fulfillments"][order_id]
    assert sum(line["quantity"] for line in pushed["lines"]) == made["fulfillment"]["totalQuantity"]
    again = shop.run(
        """mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
             userErrors { field message } } }""",
        f={"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo}]},
    )["data"]["fulfillmentCreate"]
    assert "unfulfillable status= closed" in again["userErrors"][0]["message"]


def test_an_injected_429_carries_retry_after(shop: Running) -> None:
    shop.control("faults", {"operation": "orders", "fault": "429", "retry_after": 3})
    answer = shop.post("{ orders(first: 1) { nodes { id } } }")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3.0"
    assert shop.post("{ orders(first: 1) { nodes { id } } }").status_code == 200
