"""Returns through the merchant UI: created on the order page, approved, received, inspected,
restocked and refunded; refusals that change nothing; roles; CSRF; the list's query count."""

from __future__ import annotations

import pytest
from django.test import Client

from colis.core.cache import snapshots_forget
from colis.inventory.models import InventoryLevel
from colis.returns.models import Refund, Return
from tests.factories import UserFactory, order_body

ORDERS = "/api/v1/orders"


def signed_in(role: str, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(UserFactory(role=role))
    return client


@pytest.fixture
def shipped(api, shop):
    order = api.post(ORDERS, order_body([("BAR-A", 3), ("BAR-B", 1)])).json()
    body = {"carrier": "other", "tracking_numbers": ["T1"], "notify_customer": False}
    assert api.post(f"{ORDERS}/{order['id']}/shipments", body).status_code == 201
    return api.get(f"{ORDERS}/{order['id']}").json()


def line_of(order, sku):
    return next(ln["id"] for ln in order["lines"] if ln["sku"] == sku)


def on_hand(sku, location):
    return InventoryLevel.objects.get(product__sku=sku, location=location).on_hand


def test_a_return_created_received_restocked_and_refunded_through_the_ui(shipped, location):
    manager = signed_in("manager")
    a = line_of(shipped, "BAR-A")
    page = manager.get(f"/app/orders/{shipped['id']}/").content.decode()
    assert "Create return" in page and f'name="return_qty_{a}"' in page
    created = manager.post(f"/app/orders/{shipped['id']}/returns/", {
        f"return_qty_{a}": "2", f"return_reason_{a}": "size_or_fit",
        f"return_qty_{line_of(shipped, 'BAR-B')}": "0",
    })  # fmt: skip
    assert created.status_code == 302, created.content.decode()[:3000]
    rma = Return.objects.get(order_id=shipped["id"])
    assert rma.source == "staff" and created["Location"] == f"/app/returns/{rma.pk}/?done=created"
    if rma.state == "requested":
        approved = manager.post(f"/app/returns/{rma.pk}/approve/", {"location_id": location.pk})
        assert approved.status_code == 302
    before = on_hand("BAR-A", location)
    received = manager.post(f"/app/returns/{rma.pk}/receive/", {
        "location_id": location.pk, f"rcv_qty_{a}": "2", f"rcv_cond_{a}": "resellable",
    })  # fmt: skip
    assert received.status_code == 302, received.content.decode()[:3000]
    rma.refresh_from_db()
    assert rma.state == "inspected"
    restocked = manager.post(f"/app/returns/{rma.pk}/restock/")
    assert restocked.status_code == 302
    assert on_hand("BAR-A", location) == before + 2
    rma.refresh_from_db()
    assert rma.state == "closed"
    refunded = manager.post(f"/app/returns/{rma.pk}/refund/", {"amount": "25.00", "reason": "size"})
    assert refunded.status_code == 302, refunded.content.decode()[:3000]
    assert Refund.objects.get(rma=rma).amount == 25
    html = manager.get(f"/app/returns/{rma.pk}/").content.decode()
    assert "Closed" in html and "€25.00" in html and "Return restocked" in html
    listing = manager.get("/app/returns/", {"state": "closed"}).content.decode()
    assert rma.number in listing


def test_receive_then_inspect_in_two_steps(api, shipped, location):
    staff = signed_in("staff")
    a = line_of(shipped, "BAR-A")
    made = api.post("/api/v1/returns", {"order_id": shipped["id"], "lines": [
        {"sku": "BAR-A", "quantity": 1, "reason": "damaged"}]}).json()  # fmt: skip
    api.post(f"/api/v1/returns/{made['id']}/approve", {})
    assert (
        staff.post(
            f"/app/returns/{made['id']}/receive/",
            {"location_id": location.pk, f"rcv_qty_{a}": "1", f"rcv_cond_{a}": ""},
        ).status_code
        == 302
    )
    assert Return.objects.get(pk=made["id"]).state == "received"
    html = staff.get(f"/app/returns/{made['id']}/").content.decode()
    assert f'name="insp_qty_{a}"' in html
    inspected = staff.post(f"/app/returns/{made['id']}/inspect/", {
        f"insp_qty_{a}": "1", f"insp_cond_{a}": "damaged"})  # fmt: skip
    assert inspected.status_code == 302
    assert Return.objects.get(pk=made["id"]).state == "inspected"
    # staff may not refund: no form, and a post is refused
    assert 'action="/app/returns/{}/refund/"'.format(made["id"]) not in html
    assert staff.post(f"/app/returns/{made['id']}/refund/", {"amount": "1"}).status_code == 403


def test_refusals_show_the_error_and_change_nothing(api, shipped, location):
    manager = signed_in("manager")
    a = line_of(shipped, "BAR-A")
    too_many = manager.post(f"/app/orders/{shipped['id']}/returns/", {
        f"return_qty_{a}": "9", f"return_reason_{a}": "size_or_fit"})  # fmt: skip
    assert too_many.status_code in (409, 422)
    assert not Return.objects.exists()
    made = api.post("/api/v1/returns", {"order_id": shipped["id"], "lines": [
        {"sku": "BAR-A", "quantity": 1, "reason": "damaged"}]}).json()  # fmt: skip
    rejected = manager.post(f"/app/returns/{made['id']}/reject/", {"reason": " "})
    assert rejected.status_code == 422
    assert Return.objects.get(pk=made["id"]).state == made["state"]
    refund = manager.post(f"/app/returns/{made['id']}/refund/", {"amount": "9999"})
    assert refund.status_code in (409, 422) and 'role="alert"' in refund.content.decode()
    assert not Refund.objects.exists()
    assert manager.post(f"/app/returns/{made['id']}/nonsense/").status_code == 404


def test_readonly_sees_no_controls_and_cannot_post(api, shipped):
    made = api.post("/api/v1/returns", {"order_id": shipped["id"], "lines": [
        {"sku": "BAR-A", "quantity": 1, "reason": "damaged"}]}).json()  # fmt: skip
    client = signed_in("readonly")
    html = client.get(f"/app/returns/{made['id']}/").content.decode()
    assert html.count('method="post"') == 2  # language and sign-out only
    assert client.get("/app/returns/").status_code == 200
    for action in ("approve", "reject", "receive", "restock", "close", "refund"):
        assert client.post(f"/app/returns/{made['id']}/{action}/").status_code == 403
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(UserFactory(role="manager"))
    assert csrf.post(f"/app/returns/{made['id']}/approve/").status_code == 403
    assert Return.objects.get(pk=made["id"]).state == made["state"]


@pytest.mark.parametrize("n", [1, 10])
def test_the_list_query_count_does_not_grow(api, shop, django_assert_num_queries, n):
    for _ in range(n):
        order = api.post(ORDERS, order_body([("BAR-A", 2)])).json()
        body = {"carrier": "other", "tracking_numbers": ["T1"], "notify_customer": False}
        api.post(f"{ORDERS}/{order['id']}/shipments", body)
        api.post("/api/v1/returns", {"order_id": order["id"], "lines": [
            {"sku": "BAR-A", "quantity": 1, "reason": "damaged"}]})  # fmt: skip
    client = signed_in("staff")
    # session, user; returns with their orders, lines, receipts, refunds; locations
    with django_assert_num_queries(7):
        response = client.get("/app/returns/")
    assert response.content.decode().count("/app/returns/") >= n
    rma = Return.objects.first()
    snapshots_forget()
    # session, user; the return with its order, lines, receipts, refunds; locations; status
    # labels; events
    with django_assert_num_queries(9):
        assert client.get(f"/app/returns/{rma.pk}/").status_code == 200
