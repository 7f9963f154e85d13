from tests.factories import order_body


def test_health_needs_no_token(anon):
    response = anon.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_order_round_trip(api, stocked):
    stocked("BAR-A")
    response = api.post("/api/v1/orders", order_body([("BAR-A", 2)]))
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["status"] == "awaiting_fulfillment"
    assert order["status_id"] == 11
    assert api.get(f"/api/v1/orders/{order['id']}").json()["lines"][0]["quantity"] == 2
