"""The order page: what it shows, its writes by role, refusals that change nothing, CSRF, and a
query count that depends neither on the order's size nor on how many orders exist."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from colis.core.cache import snapshots_forget
from colis.core.models import Event
from colis.fulfillment.models import FulfillmentHold, FulfillmentOrder
from colis.orders.models import Order
from tests.factories import ADDRESS_FR, UserFactory, order_body

ORDERS = "/api/v1/orders"


def signed_in(role: str, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(UserFactory(role=role))
    return client


def make_order(api, lines=(("BAR-A", 3), ("BAR-B", 1)), **extra):
    response = api.post(ORDERS, order_body(list(lines), **extra))
    assert response.status_code == 201, response.content
    return response.json()


def ship(api, order, lines=None, number="T1"):
    body = {"carrier": "other", "tracking_numbers": [number], "notify_customer": False}
    if lines:
        body["lines"] = lines
    response = api.post(f"{ORDERS}/{order['id']}/shipments", body)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def order(api, shop):
    return make_order(api)


@pytest.fixture
def staff(db: None) -> Client:
    return signed_in("staff")


def page(client, order):
    response = client.get(f"/app/orders/{order['id']}/")
    assert response.status_code == 200, response.content
    return response.content.decode()


def test_the_page_shows_statuses_lines_fos_and_write_controls(staff, order):
    html = page(staff, order)
    assert order["number"] in html
    assert "Awaiting Fulfillment" in html
    assert "BAR-A" in html and "BAR-B" in html
    fo = order["fulfillment_orders"][0]
    assert f"/app/orders/{order['id']}/fulfill/{fo['id']}/" in html
    assert f"/app/orders/{order['id']}/fo/{fo['id']}/hold/" in html
    assert 'action="/app/orders/{}/status/"'.format(order["id"]) in html
    assert "Edit address" in html
    assert "packing-slip.pdf" in html


def test_readonly_sees_no_write_controls_and_every_post_is_refused(order):
    client = signed_in("readonly")
    html = page(client, order)
    assert html.count('method="post"') == 2  # language and sign-out only
    assert "Fulfill items" not in html
    fo = order["fulfillment_orders"][0]["id"]
    oid = order["id"]
    before = Event.objects.count()
    for path, data in [
        (f"/app/orders/{oid}/status/", {"status": "9"}),
        (f"/app/orders/{oid}/address/", ADDRESS_FR),
        (f"/app/orders/{oid}/notes/", {"text": "hello"}),
        (f"/app/orders/{oid}/fo/{fo}/hold/", {"reason": "other"}),
        (f"/app/orders/{oid}/fo/{fo}/release/", {}),
        (f"/app/orders/{oid}/fulfill/{fo}/", {"qty_1": "1"}),
        (f"/app/orders/{oid}/returns/", {}),
    ]:
        assert client.post(path, data).status_code == 403, path
    assert Event.objects.count() == before


def test_a_note_goes_on_the_timeline(staff, order):
    response = staff.post(f"/app/orders/{order['id']}/notes/", {"text": "Gift wrap, please"})
    assert response.status_code == 302 and "done=note" in response["Location"]
    assert Event.objects.filter(order_id=order["id"], kind="order_note_added").count() == 1
    html = page(staff, order)
    assert "Gift wrap, please" in html


def test_a_blank_note_is_refused_next_to_the_field(staff, order):
    before = Event.objects.count()
    response = staff.post(f"/app/orders/{order['id']}/notes/", {"text": "   "})
    assert response.status_code == 422
    assert 'id="note-error"' in response.content.decode()
    assert Event.objects.count() == before


def test_the_status_changes_by_hand_within_the_transition_table(staff, order):
    response = staff.post(f"/app/orders/{order['id']}/status/", {"status": "12", "note": "check"})
    assert response.status_code == 302
    assert Order.objects.get(pk=order["id"]).status == 12
    # manual verification may not jump to shipped: refused, nothing changes
    refused = staff.post(f"/app/orders/{order['id']}/status/", {"status": "2"})
    assert refused.status_code == 409
    assert "cannot become" in refused.content.decode()
    assert Order.objects.get(pk=order["id"]).status == 12


def test_the_address_is_editable_until_something_ships(api, staff, order):
    oid = order["id"]
    bad = staff.post(f"/app/orders/{oid}/address/", {**ADDRESS_FR, "country": "ZZ"})
    assert bad.status_code == 422
    assert 'id="addr-country-error"' in bad.content.decode()
    assert Order.objects.get(pk=oid).shipping_address["country"] == "FR"
    good = staff.post(
        f"/app/orders/{oid}/address/", {**ADDRESS_FR, "city": "Lyon", "postal_code": "69001"}
    )
    assert good.status_code == 302, good.content
    assert Order.objects.get(pk=oid).shipping_address["city"] == "Lyon"
    ship(api, order, [{"sku": "BAR-A", "quantity": 1}])
    html = page(staff, order)
    assert "Edit address" not in html and "can no longer change" in html
    late = staff.post(
        f"/app/orders/{oid}/address/", {**ADDRESS_FR, "city": "Nice", "postal_code": "06000"}
    )
    assert late.status_code == 409
    assert Order.objects.get(pk=oid).shipping_address["city"] == "Lyon"


def test_hold_then_release_a_fulfillment_order(staff, order):
    oid, fo = order["id"], order["fulfillment_orders"][0]["id"]
    held = staff.post(
        f"/app/orders/{oid}/fo/{fo}/hold/", {"reason": "high_risk_of_fraud", "notes": "odd email"}
    )
    assert held.status_code == 302, held.content
    assert FulfillmentOrder.objects.get(pk=fo).status == "on_hold"
    html = page(staff, order)
    assert "High risk of fraud" in html and "odd email" in html
    again = staff.post(f"/app/orders/{oid}/fo/{fo}/hold/", {"reason": "high_risk_of_fraud"})
    assert again.status_code == 409 and "already on hold" in again.content.decode()
    released = staff.post(f"/app/orders/{oid}/fo/{fo}/release/", {})
    assert released.status_code == 302
    assert FulfillmentOrder.objects.get(pk=fo).status == "open"
    assert not FulfillmentHold.objects.filter(fulfillment_order_id=fo).exists()


def test_split_then_move_a_fulfillment_order(staff, order, stocked):
    from tests.factories import LocationFactory

    other = LocationFactory()
    for sku in ("BAR-A", "BAR-B"):
        from colis.catalog.models import Product
        from colis.inventory.services import inventory_adjust
        from tests.factories import ACTOR

        inventory_adjust(
            product_id=Product.objects.get(sku=sku).pk,
            location_id=other.pk,
            reason="received",
            delta=10,
            actor=ACTOR,
        )
    oid, fo = order["id"], order["fulfillment_orders"][0]
    line_a = next(ln["line_id"] for ln in fo["lines"] if ln["sku"] == "BAR-A")
    split = staff.post(f"/app/orders/{oid}/fo/{fo['id']}/split/", {f"split_{line_a}": "2"})
    assert split.status_code == 302, split.content
    assert FulfillmentOrder.objects.filter(order_id=oid).count() == 2
    new = FulfillmentOrder.objects.filter(order_id=oid).exclude(pk=fo["id"]).get()
    moved = staff.post(f"/app/orders/{oid}/fo/{new.pk}/move/", {"location_id": other.pk})
    assert moved.status_code == 302, moved.content
    assert FulfillmentOrder.objects.filter(order_id=oid, location=other).exists()
    html = page(staff, order)
    assert other.name in html
    # too much is refused with its message
    bad = staff.post(f"/app/orders/{oid}/fo/{fo['id']}/split/", {f"split_{line_a}": "99"})
    assert bad.status_code == 422


def test_the_packing_slip_streams_a_pdf(staff, order):
    response = staff.get(f"/app/orders/{order['id']}/packing-slip.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert staff.get("/app/orders/999999/packing-slip.pdf").status_code == 404
    assert staff.get("/app/orders/999999/").status_code == 404


def test_csrf_is_enforced(order):
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(role="staff"))
    response = client.post(f"/app/orders/{order['id']}/notes/", {"text": "x"})
    assert response.status_code == 403
    assert not Event.objects.filter(kind="order_note_added").exists()


REASON = "size_or_fit"


def _grow(api, order, n):
    """Give the order n shipments (one unit each) and n returns worth of timeline."""
    for i in range(n):
        ship(api, order, [{"sku": "BIG", "quantity": 1}], number=f"TN{i}")
        api.post(f"{ORDERS}/{order['id']}/notes", {"text": f"note {i}"})
        made = api.post(
            "/api/v1/returns",
            {
                "order_id": order["id"],
                "lines": [{"sku": "BIG", "quantity": 1, "reason": "size_or_fit"}],
            },
        )
        assert made.status_code == 201, made.content


@pytest.mark.parametrize("n", [1, 10])
def test_the_query_count_is_fixed(api, stocked, django_assert_num_queries, n):
    stocked("BIG", qty=100)
    extra = [stocked(f"X-{i}", qty=5).sku for i in range(n)]
    order = make_order(api, lines=[("BIG", 20)] + [(sku, 1) for sku in extra])
    _grow(api, order, n)
    for _ in range(20 * n):  # more orders in the database change nothing
        make_order(api, lines=[("BIG", 1)])
    client = signed_in("staff")
    snapshots_forget()  # the status labels load once in the measured request, always
    with django_assert_num_queries(QUERIES):
        response = client.get(f"/app/orders/{order['id']}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('id="shipment-') == n
    assert len(re.findall(r'href="/app/returns/\d+/"', html)) == n


# session, user; order, lines, FOs, FO lines, holds, shipments, shipment lines; status labels;
# locations; returns with their lines, receipts, refunds; events; returnable (shipped,
# returned, lines).
QUERIES = 19


def test_a_failed_channel_push_is_retried_from_the_page(staff, order):
    from django.utils import timezone

    from colis.channels.models import Channel, SyncRecord
    from colis.core.models import OutboxMessage

    now = timezone.now()
    channel = Channel.objects.create(kind="shopify", name="Shop", import_start=now, created_at=now)
    Order.objects.filter(pk=order["id"]).update(channel_record=channel, channel="Shop")
    message = OutboxMessage.objects.create(
        kind="channel_push", idempotency_key="k1", order_id=order["id"], status="failed",
        attempts=12, next_attempt_at=now, created_at=now,
    )  # fmt: skip
    record = SyncRecord.objects.create(
        channel=channel, direction="push", operation="fulfillment_create", state="failed",
        order_id=order["id"], outbox_message_id=message.pk, message="HTTP 500",
        created_at=now, updated_at=now,
    )  # fmt: skip
    html = page(staff, order)
    assert "HTTP 500" in html
    retry = f"/app/orders/{order['id']}/sync/{record.pk}/retry/"
    assert retry in html
    assert page(signed_in("readonly"), order).count(retry) == 0
    assert staff.post(retry).status_code == 302
    record.refresh_from_db()
    message.refresh_from_db()
    assert record.state == "retrying" and message.status == "pending"
    again = staff.post(retry)  # no longer failed: refused with its message
    assert again.status_code == 409 and "Only a failed message" in again.content.decode()
