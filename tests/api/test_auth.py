"""Who may call the API: bearer tokens, revoked tokens, switched-off users, and roles."""

from __future__ import annotations

import pytest

from colis.accounts.models import ApiToken, User
from colis.accounts.services import token_create, token_revoke
from colis.core.models import Event, IdempotencyRecord, OutboxMessage
from colis.orders.models import Order
from tests.conftest import ApiClient
from tests.factories import ACTOR, ProductFactory, UserFactory, order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"


def _is_unauthenticated(response) -> bool:
    return (
        response.status_code == 401
        and response.json()["code"] == "not_authenticated"
        and response["WWW-Authenticate"].startswith("Bearer")
    )


def test_no_token_is_401_not_authenticated(anon):
    assert _is_unauthenticated(anon.get(ORDERS))
    assert _is_unauthenticated(anon.post(ORDERS, order_body([("BAR-A", 1)])))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-real-token",
        "Bearer colis_not-a-real-token",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "colis_abc",
    ],
)
def test_a_bad_token_is_401(anon, header):
    response = anon.client.get(ORDERS, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_revoked_token_is_401(api):
    # given a working token
    user = UserFactory(role="manager")
    issued = token_create(user=user, actor=ACTOR)
    client = ApiClient(issued.raw)
    assert client.get(ORDERS).status_code == 200
    # when it is revoked
    token_revoke(token_id=issued.token.pk, actor=ACTOR)
    # then it no longer opens anything, and the revocation is on the timeline
    assert _is_unauthenticated(client.get(ORDERS))
    assert Event.objects.filter(kind="token_revoked", subject_id=user.pk).count() == 1


def test_a_switched_off_users_token_is_401(make_api):
    client = make_api("manager")
    assert client.get(ORDERS).status_code == 200
    User.objects.filter(role="manager").update(is_active=False)
    assert _is_unauthenticated(client.get(ORDERS))


def test_a_failed_post_with_a_bad_token_writes_nothing(anon):
    ProductFactory(sku="BAR-A")
    anon.token = "colis_wrong"
    response = anon.post(ORDERS, order_body([("BAR-A", 1)]), headers={"Idempotency-Key": "k1"})
    assert response.status_code == 401
    assert not Order.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_tokens_are_stored_hashed(make_api):
    # given a token issued to a user
    user = UserFactory(role="staff")
    issued = token_create(user=user, name="laptop", actor=ACTOR)
    stored = ApiToken.objects.get(pk=issued.token.pk)
    # then only its SHA-256 and a short prefix are kept
    assert stored.token_hash != issued.raw
    assert len(stored.token_hash) == 64
    assert issued.raw.startswith(stored.prefix) and len(stored.prefix) < len(issued.raw) // 2
    for row in ApiToken.objects.values():
        assert issued.raw not in " ".join(str(v) for v in row.values())
    for data in Event.objects.values_list("data", flat=True):
        assert issued.raw not in str(data)


def test_a_token_created_with_an_idempotency_key_is_not_kept_in_clear(make_api):
    staff = make_api("staff")
    response = staff.post("/api/v1/tokens", {"name": "ci"}, headers={"Idempotency-Key": "t-1"})
    assert response.status_code == 201
    raw = response.json()["token"]
    for body in IdempotencyRecord.objects.values_list("response_body", flat=True):
        assert raw.encode() not in bytes(body or b"")
    replay = staff.post("/api/v1/tokens", {"name": "ci"}, headers={"Idempotency-Key": "t-1"})
    assert replay.status_code == 409
    assert replay.json()["code"] == "idempotent_replay_unavailable"
    assert ApiToken.objects.filter(name="ci").count() == 1


# Every write in the API with a body the schema accepts, so the role check is what answers.
ADDRESS = {"name": "W", "line1": "1 rue", "city": "Paris", "postal_code": "75002", "country": "FR"}
WRITES = [
    ("post", ORDERS, order_body([("BAR-A", 1)])),
    ("post", "/api/v1/orders/bulk", {"orders": [order_body([("BAR-A", 1)])]}),
    ("post", "/api/v1/orders/{order}/cancel", {"reason": "x"}),
    ("post", "/api/v1/orders/{order}/status", {"status": "awaiting_shipment"}),
    ("post", "/api/v1/orders/{order}/notes", {"text": "hello"}),
    ("patch", "/api/v1/order-statuses/11", {"label": "To pick"}),
    ("post", "/api/v1/outbox/{message}/retry", {}),
    ("post", "/api/v1/products", {"sku": "NEW-1", "title": "New"}),
    ("patch", "/api/v1/products/{product}", {"title": "Renamed"}),
    ("post", "/api/v1/locations", {"name": "Depot", "address": ADDRESS}),
    ("patch", "/api/v1/locations/{location}", {"name": "Renamed"}),
    ("delete", "/api/v1/locations/{location}", None),
    ("post", "/api/v1/locations/priority", {"location_ids": ["{location}"]}),
    (
        "post",
        "/api/v1/inventory/adjustments",
        {"sku": "BAR-A", "location_id": "{location}", "delta": 1},
    ),
    (
        "post",
        "/api/v1/inventory/receipts",
        {"location_id": "{location}", "lines": [{"sku": "BAR-A", "quantity": 1}]},
    ),
    ("post", "/api/v1/inventory/receipts/1/receive", {"lines": [{"sku": "BAR-A", "quantity": 1}]}),
    ("post", "/api/v1/inventory/receipts/1/cancel", {}),
    (
        "post",
        "/api/v1/inventory/transfers",
        {
            "origin_id": "{location}",
            "destination_id": 2,
            "lines": [{"sku": "BAR-A", "quantity": 1}],
        },
    ),
    ("post", "/api/v1/inventory/transfers/1/receive", {}),
    ("post", "/api/v1/inventory/transfers/1/cancel", {}),
    ("post", "/api/v1/users", {"email": "x@example.com", "role": "owner"}),
    ("patch", "/api/v1/users/{user}", {"role": "owner"}),
    ("post", "/api/v1/orders/{order}/shipments", {"carrier": "other", "tracking_numbers": ["X"]}),
    ("post", "/api/v1/orders/{order}/hold", {"reason": "other"}),
    ("post", "/api/v1/orders/{order}/release", {}),
    ("post", "/api/v1/orders/{order}/pay", {}),
    ("post", "/api/v1/fulfillment-orders/1/hold", {"reason": "other"}),
    ("post", "/api/v1/fulfillment-orders/1/release", {}),
    ("post", "/api/v1/fulfillment-orders/1/move", {"location_id": "{location}"}),
    ("post", "/api/v1/fulfillment-orders/1/split", {"lines": [{"sku": "BAR-A", "quantity": 1}]}),
    ("post", "/api/v1/fulfillment-orders/1/cancel", {}),
    ("post", "/api/v1/fulfillment-orders/merge", {"fulfillment_order_ids": [1, 2]}),
    ("post", "/api/v1/shipments/1/tracking", {"tracking_numbers": ["X"]}),
    ("post", "/api/v1/shipments/1/delivered", {}),
    ("post", "/api/v1/shipments/1/shipped", {}),
    ("post", "/api/v1/shipments/1/cancel", {}),
    ("post", "/api/v1/fulfillment-orders/1/accept", {}),
    ("post", "/api/v1/fulfillment-orders/1/reject", {"reason": "no"}),
    (
        "post",
        "/api/v1/fulfillment-services",
        {"name": "3PL", "kind": "3pl", "email": "a@b.example.com", "address": ADDRESS},
    ),
    ("patch", "/api/v1/fulfillment-services/1", {"name": "Renamed"}),
    ("post", "/api/v1/fulfillment-services/1/tokens", {}),
    ("post", "/api/v1/fulfillment-services/1/portal-link", {}),
    ("post", "/api/v1/carriers", {"code": "newco", "name": "New Co"}),
    ("patch", "/api/v1/carriers/ups", {"name": "UPS Renamed"}),
    ("post", "/api/v1/packages", {"name": "Box", "length_mm": 1, "width_mm": 1, "height_mm": 1}),
    ("patch", "/api/v1/packages/1", {"name": "Renamed"}),
    ("patch", "/api/v1/notification-templates/delivered", {"enabled": False}),
    ("post", "/api/v1/notification-templates/delivered/preview", {"locale": "en"}),
    ("post", "/api/v1/notification-templates/delivered/reset", {}),
    ("post", "/api/v1/webhooks", {"url": "https://example.com/h", "events": ["shipment.created"]}),
    ("patch", "/api/v1/webhooks/1", {"active": False}),
    ("post", "/api/v1/webhooks/deliveries/1/redeliver", {}),
    ("patch", "/api/v1/shop", {"routing_strategy": "most_stock"}),
    ("put", "/api/v1/shop/logo", b"\x89PNG\r\n\x1a\n"),
    ("delete", "/api/v1/shop/logo", None),
    ("post", "/api/v1/channels", {"kind": "bigcommerce", "name": "BC", "credentials": {}}),
    ("patch", "/api/v1/channels/1", {"import_enabled": False}),
    ("post", "/api/v1/channels/1/sync", {}),
    ("post", "/api/v1/channels/1/sync-records/1/retry", {}),
    ("post", "/api/v1/channels/1/pending-orders/1/retry", {"force": True}),
    ("post", "/api/v1/channels/1/sku-mappings", {"channel_sku": "A", "sku": "BAR-A"}),
    ("post", "/api/v1/channels/1/sku-mappings/upload", {}),
    ("delete", "/api/v1/channels/1/sku-mappings/1", None),
    ("post", "/api/v1/bulk/fulfill", {"order_ids": ["{order}"], "carrier": "other"}),
    ("post", "/api/v1/bulk/hold", {"order_ids": ["{order}"], "reason": "other"}),
    ("post", "/api/v1/bulk/release", {"order_ids": ["{order}"]}),
    ("post", "/api/v1/bulk/set-status", {"order_ids": ["{order}"], "status": "shipped"}),
    ("post", "/api/v1/bulk/cancel", {"order_ids": ["{order}"]}),
    ("post", "/api/v1/bulk/print", {"order_ids": ["{order}"]}),
    ("post", "/api/v1/jobs/1/cancel", {}),
    ("post", "/api/v1/tracking-imports", {}),
    ("post", "/api/v1/documents/packing-slips", {"order_ids": ["{order}"], "mark_printed": True}),
    ("post", "/api/v1/documents/pick-lists", {"order_ids": ["{order}"], "mark_printed": True}),
    ("post", "/api/v1/documents/labels", {"order_ids": ["{order}"], "mark_printed": True}),
    ("patch", "/api/v1/document-templates/packing_slip", {"source": "title: Slip"}),
    ("post", "/api/v1/document-templates/packing_slip/preview", {}),
    ("post", "/api/v1/document-templates/packing_slip/reset", {}),
    (
        "post",
        "/api/v1/returns",
        {"order_id": "{order}", "lines": [{"sku": "BAR-A", "quantity": 1, "reason": "damaged"}]},
    ),
    ("post", "/api/v1/returns/1/approve", {}),
    ("post", "/api/v1/returns/1/reject", {"reason": "late"}),
    ("post", "/api/v1/returns/1/cancel", {}),
    ("post", "/api/v1/returns/1/tracking", {"tracking_number": "RT1"}),
    ("post", "/api/v1/returns/1/receive", {"lines": [{"sku": "BAR-A", "quantity": 1}]}),
    (
        "post",
        "/api/v1/returns/1/inspect",
        {"lines": [{"sku": "BAR-A", "quantity": 1, "condition": "resellable"}]},
    ),
    ("post", "/api/v1/returns/1/restock", {}),
    ("post", "/api/v1/returns/1/close", {}),
    ("post", "/api/v1/returns/1/refund", {"amount": "1.00", "currency": "EUR"}),
    ("post", "/api/v1/returns/1/exchange", {"lines": [{"sku": "BAR-A", "quantity": 1}]}),
    ("post", "/api/v1/orders/{order}/refunds", {"amount": "1.00", "currency": "EUR"}),
]


@pytest.fixture
def world(api, stocked, location):
    """One of each thing a write could touch, made by the owner."""
    stocked("BAR-A")
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    message = OutboxMessage.objects.create(
        kind="email",
        idempotency_key="m-1",
        status="failed",
        next_attempt_at="2024-01-01T00:00:00Z",
        created_at="2024-01-01T00:00:00Z",
    )
    return {
        "order": order["id"],
        "message": message.pk,
        "product": ProductFactory().pk,
        "location": location.pk,
        "user": User.objects.get(role="owner").pk,
    }


def _fill(value, world):
    if isinstance(value, str):
        for name, pk in world.items():
            if value == "{" + name + "}":
                return pk
            value = value.replace("{" + name + "}", str(pk))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


def _send(client: ApiClient, method: str, path: str, body):
    if method == "post":
        return client.post(path, body)
    if method == "patch":
        return client.patch(path, body)
    if method == "put":
        # The one PUT takes an image as its body, not JSON.
        return client.client.put(
            path, body, content_type="image/png", headers=client._headers(None)
        )
    return client.delete(path)


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_readonly_can_read_but_every_write_is_403(make_api, world, method, path, body):
    # given a readonly user and a shop with one of everything
    readonly = make_api("readonly")
    events_before = Event.objects.count()
    assert readonly.get(ORDERS).status_code == 200
    assert readonly.get(f"/api/v1/orders/{world['order']}").status_code == 200
    # when it tries a write
    response = _send(readonly, method, _fill(path, world), _fill(body, world))
    # then it is refused by role and nothing is written
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "forbidden_role"
    assert Event.objects.count() == events_before
    assert Order.objects.count() == 1


def test_the_table_of_writes_covers_every_write_in_the_schema(anon):
    spec = anon.get("/api/v1/openapi.json").json()
    in_schema = {
        (method, path)
        for path, ops in spec["paths"].items()
        for method in ops
        if method in ("post", "patch", "put", "delete")
        and not path.startswith("/api/v1/tokens")
        # Vendors call this one with their signature, not a token (tests/channels cover it).
        and not (path.startswith("/api/v1/channels/") and path.endswith("/webhooks"))
    }
    tested = set()
    for method, path, _ in WRITES:
        for spec_method, spec_path in in_schema:
            parts, ours = spec_path.split("/"), path.split("/")
            same_shape = spec_method == method and len(parts) == len(ours)
            if same_shape and all(
                a == b or a.startswith("{") for a, b in zip(parts, ours, strict=True)
            ):
                tested.add((spec_method, spec_path))
    assert in_schema - tested == set()


def test_readonly_may_still_manage_its_own_tokens(make_api):
    readonly = make_api("readonly")
    created = readonly.post("/api/v1/tokens", {"name": "laptop"})
    assert created.status_code == 201
    revoked = readonly.post(f"/api/v1/tokens/{created.json()['id']}/revoke")
    assert revoked.status_code == 200


def test_staff_can_create_orders_but_not_products(make_api, stocked):
    stocked("BAR-A")
    staff = make_api("staff")
    created = staff.post(ORDERS, order_body([("BAR-A", 1)]))
    assert created.status_code == 201, created.content
    denied = staff.post("/api/v1/products", {"sku": "NEW-1", "title": "New"})
    assert denied.status_code == 403
    body = denied.json()
    assert body["code"] == "forbidden_role"
    assert body["fields"] == {"required_permission": "catalog.write", "role": "staff"}
    assert not Event.objects.filter(kind="product_created").exists()
    assert staff.patch("/api/v1/order-statuses/11", {"label": "x"}).status_code == 403
