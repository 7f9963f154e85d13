from __future__ import annotations

from colis.core.models import Event
from colis.inventory.models import InventoryLevel
from colis.orders.models import Order
from tests.documents.helpers import pdf_barcodes, pdf_bytes, pdf_pages
from tests.factories import order_body

SLIPS = "/api/v1/documents/packing-slips"


def _orders(api, count: int, lines=(("BAR-A", 1), ("BAR-B", 2)), **extra) -> list[dict]:
    out = []
    for i in range(count):
        r = api.post("/api/v1/orders", order_body(list(lines), email=f"b{i}@example.com", **extra))
        assert r.status_code == 201, r.json()
        out.append(r.json())
    return out


def test_packing_slips_print_every_order_number_sku_and_address(api, shop):
    # given three paid orders
    orders = _orders(api, 3, shipping_method="Colissimo")
    # when their packing slips are printed as one PDF
    r = api.post(SLIPS, {"order_ids": [o["id"] for o in orders]})
    # then one page per order carries its number, the SKUs, the address and the shop
    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    pages = pdf_pages(pdf_bytes(r))
    assert len(pages) == 3
    for order, text in zip(orders, pages, strict=True):
        assert f"#{order['number']}" in text
        assert "BAR-A" in text and "BAR-B" in text
        assert "12 rue de la Paix" in text and "75002 Paris" in text
        assert "Colissimo" in text
        assert "My shop" in text


def test_the_barcode_decodes_to_the_order_number(api, shop):
    (order,) = _orders(api, 1)
    data = pdf_bytes(api.get(f"/api/v1/orders/{order['id']}/packing-slip.pdf"))
    assert pdf_barcodes(data) == [str(order["number"])]


def test_a_filter_picks_the_orders_and_a_location_its_bins(api, shop, location):
    # given two paid orders and one awaiting payment, and a bin for BAR-A
    paid = _orders(api, 2)
    _orders(api, 1, financial_status="pending")
    InventoryLevel.objects.filter(product__sku="BAR-A", location=location).update(bin="A-01-3")
    # when the slips of the orders awaiting fulfillment are printed
    body = {"filter": {"status": "awaiting_fulfillment"}, "location_id": location.pk}
    pages = pdf_pages(pdf_bytes(api.post(SLIPS, body)))
    # then only those two are printed, with the bin of BAR-A at their location
    assert len(pages) == 2
    assert all(f"#{o['number']}" in text for o, text in zip(paid, pages, strict=True))
    assert all("A-01-3" in text for text in pages)


def test_slips_are_made_in_a_few_queries_per_chunk_not_per_order(
    api, shop, django_assert_max_num_queries
):
    ids = [o["id"] for o in _orders(api, 30, lines=(("BAR-A", 1),))]
    with django_assert_max_num_queries(15):
        data = pdf_bytes(api.post(SLIPS, {"order_ids": ids}))
    assert len(pdf_pages(data)) == 30


def test_printing_marks_the_orders_and_may_move_them_to_awaiting_shipment(api, shop):
    # given two orders awaiting fulfillment
    ids = [o["id"] for o in _orders(api, 2)]
    # when their slips are printed, marking them and moving them on
    body = {"order_ids": ids, "mark_printed": True, "move_to_awaiting_shipment": True}
    assert api.post(SLIPS, body).status_code == 200
    # then each has a documents_printed event and is awaiting shipment
    for oid in ids:
        kinds = list(Event.objects.filter(order_id=oid).values_list("kind", flat=True))
        assert "documents_printed" in kinds and "order_status_changed" in kinds
        assert Order.objects.get(pk=oid).status == 9


def test_printing_alone_changes_nothing(api, shop):
    (order,) = _orders(api, 1)
    api.post(SLIPS, {"order_ids": [order["id"]]})
    assert not Event.objects.filter(kind="documents_printed").exists()
    assert Order.objects.get(pk=order["id"]).status == 11


def test_unknown_orders_or_no_orders_are_refused(api, shop):
    r = api.post(SLIPS, {"order_ids": [999999]})
    assert r.status_code == 422 and r.json()["code"] == "orders_not_found"
    assert r.json()["fields"] == {"order_ids": [999999]}
    r = api.post(SLIPS, {})
    assert r.status_code == 422 and r.json()["code"] == "orders_required"
    r = api.post(SLIPS, {"filter": {"status": "shipped"}})
    assert r.status_code == 422 and r.json()["code"] == "no_orders"
    r = api.post(SLIPS, {"filter": {"status": "nonsense"}})
    assert r.status_code == 422 and r.json()["code"] == "invalid_filter"
    assert api.get("/api/v1/orders/999999/packing-slip.pdf").status_code == 404


def test_the_html_view_prints_from_a_browser(api, shop):
    (order,) = _orders(api, 1, note="Leave at the door <please>")
    r = api.get(f"/api/v1/orders/{order['id']}/packing-slip.html")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/html")
    html = r.content.decode()
    assert f"#{order['number']}" in html and "BAR-B" in html and "75002 Paris" in html
    assert "&lt;please&gt;" in html and "<svg" in html


def test_one_slip_per_order_when_grouped_by_order(api, shop):
    (order,) = _orders(api, 1)
    data = pdf_bytes(api.post(SLIPS, {"order_ids": [order["id"]], "group_by": "order"}))
    (text,) = pdf_pages(data)
    assert "BAR-A" in text and "Ships from" not in text


def test_a_long_order_runs_onto_more_pages(api, stocked):
    skus = [stocked(f"LONG-{i:02d}").sku for i in range(70)]
    (order,) = _orders(api, 1, lines=[(s, 1) for s in skus])
    pages = pdf_pages(pdf_bytes(api.get(f"/api/v1/orders/{order['id']}/packing-slip.pdf")))
    assert len(pages) == 2
    text = "\n".join(pages)
    assert all(s in text for s in skus)
    assert pages[1].count("SKU") == 1  # the table's headings again


def test_readonly_reads_a_slip_but_cannot_print_in_bulk(make_api, api, shop):
    (order,) = _orders(api, 1)
    readonly = make_api("readonly")
    assert readonly.get(f"/api/v1/orders/{order['id']}/packing-slip.pdf").status_code == 200
    r = readonly.post(SLIPS, {"order_ids": [order["id"]]})
    assert r.status_code == 403 and r.json()["code"] == "forbidden_role"
    staff = make_api("staff")
    assert staff.post(SLIPS, {"order_ids": [order["id"]]}).status_code == 200
