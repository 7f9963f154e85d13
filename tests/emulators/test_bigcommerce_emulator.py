"""The BigCommerce emulator seen from raw HTTP: authentication, the store quota and its headers,
listing filters and paging, shipments, control endpoints, and the contract check of requests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from colis.emulators.bigcommerce import (
    ACCESS_TOKEN,
    SECRET_HEADER,
    STORE_HASH,
    WEBHOOK_SECRET,
    BigCommerceEmulator,
)
from colis.emulators.server import EmulatorServer

HEADERS = {
    "X-Auth-Token": ACCESS_TOKEN,
    "Accept": "application/json",
    # The contract makes Content-Type required on getOrderProducts, even as a GET.
    "Content-Type": "application/json",
}
SKUS = ["MUG-BLK", "TEE-M", "CAP-RED"]


def start(**options: Any) -> EmulatorServer:
    server = EmulatorServer(BigCommerceEmulator(**options))
    # The shared server sends headers and body apart (Nagle would hold them ~40 ms) and polls
    # for shutdown every 0.5 s; both are shortened here to keep the tests fast.
    server.httpd.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server.thread = threading.Thread(target=server.httpd.serve_forever, args=(0.02,), daemon=True)
    return server.start()


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    running = start(limits=False)
    yield running
    running.stop()
    assert running.emulator.violations == []


def emulator_of(server: EmulatorServer) -> BigCommerceEmulator:
    emulator = server.emulator
    assert isinstance(emulator, BigCommerceEmulator)
    return emulator


def api(server: EmulatorServer, path: str, method: str = "GET", **kwargs: Any) -> Any:
    headers = {**HEADERS, **kwargs.pop("headers", {})}
    return requests.request(
        method, f"{server.url}/stores/{STORE_HASH}/v2{path}", headers=headers, timeout=5, **kwargs
    )


def ids(answer: Any) -> list[int]:
    assert answer.status_code == 200
    return [order["id"] for order in answer.json()]


# -- authentication and contract ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "token"),
    [
        (f"/stores/{STORE_HASH}/v2/orders", None),
        (f"/stores/{STORE_HASH}/v2/orders", "wrong"),
        ("/stores/someoneelse/v2/orders", ACCESS_TOKEN),
    ],
)
def test_requests_without_the_stores_token_get_bigcommerces_401(
    server: EmulatorServer, path: str, token: str | None
) -> None:
    headers = {"Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    answer = requests.get(server.url + path, headers=headers, timeout=5)
    assert answer.status_code == 401
    (error,) = answer.json()
    assert error["status"] == 401 and "X-Auth-Token" in error["message"]


def test_a_request_breaking_the_contract_is_flagged(server: EmulatorServer) -> None:
    emulator = emulator_of(server)
    # Accept is a required header on every Orders v2 operation.
    answer = requests.get(
        f"{server.url}/stores/{STORE_HASH}/v2/orders",
        headers={"X-Auth-Token": ACCESS_TOKEN, "Accept": None},  # None: requests sends none
        timeout=5,
    )
    assert answer.status_code == 400
    assert any("Accept" in v for v in emulator.violations)
    # A tracking number longer than the documented 50 characters.
    (order_id,) = emulator.seed_orders({"count": 1, "skus": SKUS})
    answer = api(
        server,
        f"/orders/{order_id}/shipments",
        "POST",
        json={"order_address_id": 1, "tracking_number": "9" * 60, "items": []},
    )
    assert answer.status_code == 400
    assert any("createOrderShipments" in v for v in emulator.violations)
    assert emulator.state()["fulfillments"] == {}
    emulator.violations.clear()


# -- the store quota ----------------------------------------------------------------------------


def test_every_answer_reports_the_quota_and_a_spent_window_is_refused() -> None:
    server = start(limits=True, quota=4, window_ms=60_000)
    try:
        answers = [api(server, "/orders") for _ in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
        assert [a.headers["X-Rate-Limit-Requests-Left"] for a in answers] == list("32100")
        assert answers[0].headers["X-Rate-Limit-Requests-Quota"] == "4"
        assert answers[0].headers["X-Rate-Limit-Time-Window-Ms"] == "60000"
        assert 0 < int(answers[4].headers["X-Rate-Limit-Time-Reset-Ms"]) <= 60_000
        assert answers[4].json()[0]["status"] == 429

        # With limits off the store answers everything
        requests.post(f"{server.url}/_emulator/limits", json={"enabled": False}, timeout=5)
        assert api(server, "/orders").status_code == 200
    finally:
        server.stop()
    assert server.emulator.violations == []


def test_the_default_quota_is_the_standard_plans() -> None:
    emulator = BigCommerceEmulator()
    assert (emulator.quota, emulator.window_ms) == (150, 30_000)


# -- listing ------------------------------------------------------------------------------------


def test_orders_page_and_filter_as_documented(server: EmulatorServer) -> None:
    emulator = emulator_of(server)
    old = emulator.seed_orders({"count": 3, "skus": SKUS, "placed_at": "2021-06-01T10:00:00Z"})
    new = emulator.seed_orders({"count": 4, "skus": SKUS, "unpaid": True})
    everything = [int(i) for i in old + new]

    assert ids(api(server, "/orders")) == everything
    assert ids(api(server, "/orders", params={"limit": 3, "page": 2})) == everything[3:6]
    assert ids(api(server, "/orders", params={"limit": 3, "page": 4})) == []
    assert (
        ids(api(server, "/orders", params={"min_id": everything[2], "max_id": everything[4]}))
        == (everything[2:5])
    )
    assert ids(api(server, "/orders", params={"status_id": 7})) == [int(i) for i in new]
    recent = api(server, "/orders", params={"min_date_modified": "2024-01-01T00:00:00+00:00"})
    assert ids(recent) == [int(i) for i in new]
    rfc = api(server, "/orders", params={"max_date_created": "Fri, 01 Jan 2022 00:00:00 +0000"})
    assert ids(rfc) == [int(i) for i in old]
    by_change = api(server, "/orders", params={"sort": "date_modified"})
    assert ids(by_change) == everything


def test_a_changed_order_moves_to_the_end_of_the_modified_listing(server: EmulatorServer) -> None:
    emulator = emulator_of(server)
    first, second = emulator.seed_orders(
        {"count": 2, "skus": SKUS, "placed_at": "2023-01-01T00:00:00Z"}
    )
    emulator.order_action(first, {"action": "cancel"})
    listing = api(server, "/orders", params={"sort": "date_modified"}).json()
    assert [o["id"] for o in listing] == [int(second), int(first)]
    assert (listing[1]["status_id"], listing[1]["status"]) == (5, "Cancelled")
    assert listing[1]["date_modified"] != listing[1]["date_created"]


def test_incomplete_checkouts_are_listed_only_when_asked_for(server: EmulatorServer) -> None:
    emulator = emulator_of(server)
    (order_id,) = emulator.seed_orders({"count": 1, "skus": SKUS})
    emulator.order_action(order_id, {"action": "status", "status_id": 0})
    assert ids(api(server, "/orders")) == []
    assert ids(api(server, "/orders", params={"status_id": 0})) == [int(order_id)]


def test_an_unknown_order_is_bigcommerces_404(server: EmulatorServer) -> None:
    answer = api(server, "/orders/99999")
    assert answer.status_code == 404
    assert answer.json()[0]["status"] == 404


# -- shipments ----------------------------------------------------------------------------------


def test_shipments_follow_what_is_left_to_ship(server: EmulatorServer) -> None:
    emulator = emulator_of(server)
    (order_id,) = emulator.seed_orders({"count": 1, "skus": SKUS})
    products = api(server, f"/orders/{order_id}/products").json()
    (address,) = api(server, f"/orders/{order_id}/shipping_addresses").json()
    assert api(server, f"/orders/{order_id}/shipments").status_code == 204

    body = {
        "order_address_id": address["id"],
        "tracking_number": "1Z999AA10123456784",
        "shipping_provider": "ups",
        "items": [{"order_product_id": p["id"], "quantity": p["quantity"]} for p in products],
    }
    made = api(server, f"/orders/{order_id}/shipments", "POST", json=body)
    assert made.status_code == 201
    assert made.json()["shipping_provider_display_name"] == "UPS"
    assert api(server, f"/orders/{order_id}").json()["status_id"] == 2
    listed = api(server, f"/orders/{order_id}/shipments").json()
    assert [s["id"] for s in listed] == [made.json()["id"]]

    # Nothing is left: BigCommerce refuses a second shipment of the same items (its 400 is not
    # in the contract, so the emulator also flags it).
    again = api(server, f"/orders/{order_id}/shipments", "POST", json=body)
    assert again.status_code == 400
    assert emulator.violations and "createOrderShipments" in emulator.violations[-1]
    emulator.violations.clear()
    assert len(emulator.state()["fulfillments"][order_id]) == 1


def test_update_order_sets_a_status(server: EmulatorServer) -> None:
    (order_id,) = emulator_of(server).seed_orders({"count": 1, "skus": SKUS})
    answer = api(server, f"/orders/{order_id}", "PUT", json={"status_id": 9})
    assert answer.status_code == 200
    assert (answer.json()["status_id"], answer.json()["status"]) == (9, "Awaiting Shipment")


# -- control endpoints --------------------------------------------------------------------------


def test_seeding_and_actions_over_http(server: EmulatorServer) -> None:
    created = requests.post(
        f"{server.url}/_emulator/orders",
        json={"count": 2, "skus": SKUS, "missing_address": True},
        timeout=5,
    )
    assert created.status_code == 201
    first, second = created.json()["ids"]
    (address,) = api(server, f"/orders/{first}/shipping_addresses").json()
    assert address["street_1"] == address["city"] == address["zip"] == ""

    edited = requests.post(
        f"{server.url}/_emulator/orders/{first}",
        json={"action": "edit_address", "address": {"line1": "1 Main St", "country": "FR"}},
        timeout=5,
    )
    assert edited.status_code == 200
    (address,) = api(server, f"/orders/{first}/shipping_addresses").json()
    assert (address["street_1"], address["country"]) == ("1 Main St", "France")

    shipped = requests.post(
        f"{server.url}/_emulator/orders/{second}", json={"action": "ship"}, timeout=5
    )
    assert shipped.status_code == 200
    assert api(server, f"/orders/{second}").json()["status_id"] == 2

    unknown = requests.post(
        f"{server.url}/_emulator/orders/5", json={"action": "cancel"}, timeout=5
    )
    assert unknown.status_code == 404

    state = requests.get(f"{server.url}/_emulator/state", timeout=5).json()
    assert state["orders"] == 2
    assert list(state["fulfillments"]) == [second]
    assert state["statuses"][second] == 2


def test_a_webhook_is_posted_with_the_secret_header(server: EmulatorServer) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            received.append((dict(self.headers.items()), self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    listener = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=listener.serve_forever, args=(0.02,), daemon=True).start()
    try:
        (order_id,) = emulator_of(server).seed_orders({"count": 1, "skus": SKUS})
        sent = requests.post(
            f"{server.url}/_emulator/webhooks",
            json={
                "url": f"http://127.0.0.1:{listener.server_address[1]}/hook",
                "topic": "store/order/created",
                "order_id": order_id,
            },
            timeout=5,
        )
    finally:
        listener.shutdown()
        listener.server_close()
    assert sent.status_code == 200 and sent.json()["status"] == 204
    ((headers, body),) = received
    assert headers[SECRET_HEADER] == WEBHOOK_SECRET
    payload = sent.json()["payload"]
    assert payload["scope"] == "store/order/created"
    assert payload["data"] == {"type": "order", "id": int(order_id)}
    assert payload["producer"] == f"stores/{STORE_HASH}"
    assert {"hash", "created_at", "store_id"} <= set(payload)
    assert body.decode() and '"scope"' in body.decode()
