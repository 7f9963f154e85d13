from __future__ import annotations

from colis.inventory.models import InventoryLevel
from tests.documents.helpers import pdf_barcodes, pdf_bytes, pdf_pages, pdf_text
from tests.factories import order_body


def _order(api, lines) -> dict:
    r = api.post("/api/v1/orders", order_body(lines))
    assert r.status_code == 201, r.json()
    return r.json()


def test_a_pick_list_sums_each_sku_per_location_sorted_by_bin(api, shop, stocked, location):
    # given three orders sharing SKUs, and bins for two of them
    stocked("BAR-C")
    a = _order(api, [("BAR-A", 1), ("BAR-B", 2)])
    b = _order(api, [("BAR-A", 3)])
    c = _order(api, [("BAR-B", 1), ("BAR-C", 4)])
    InventoryLevel.objects.filter(product__sku="BAR-A").update(bin="B-02")
    InventoryLevel.objects.filter(product__sku="BAR-B").update(bin="A-01")
    # when one pick list is printed for them
    r = api.post("/api/v1/documents/pick-lists", {"order_ids": [a["id"], b["id"], c["id"]]})
    assert r.status_code == 200
    text = pdf_text(pdf_bytes(r))
    # then one row per SKU, sorted by bin (no bin last), with its total and its orders
    assert text.index("BAR-B") < text.index("BAR-A") < text.index("BAR-C")
    assert f"A-01\nBAR-B\nProduct BAR-B\n3\n#{a['number']}, #{c['number']}\n" in text
    assert f"B-02\nBAR-A\nProduct BAR-A\n4\n#{a['number']}, #{b['number']}\n" in text
    assert f"BAR-C\nProduct BAR-C\n4\n#{c['number']}\n" in text
    assert "3 orders, 3 SKUs, 11 units" in text


def test_shipped_quantities_are_not_picked_again(api, shop):
    a = _order(api, [("BAR-A", 2)])
    api.post(f"/api/v1/orders/{a['id']}/shipments", {"carrier": "other", "tracking_numbers": []})
    b = _order(api, [("BAR-A", 1)])
    text = pdf_text(pdf_bytes(api.post("/api/v1/documents/pick-lists",
                                       {"order_ids": [a["id"], b["id"]]})))  # fmt: skip
    assert "1 SKUs, 1 units" in text and f"#{a['number']}" not in text.split("units")[1]


def test_labels_carry_addresses_carrier_and_a_tracking_barcode(api, shop):
    # given an order shipped with a tracking number, another not shipped
    order = _order(api, [("BAR-A", 1)])
    shipped = api.post(
        f"/api/v1/orders/{order['id']}/shipments",
        {"carrier": "other", "carrier_name": "Coursier Express", "service": "Express",
         "tracking_numbers": ["TRK-000123"], "package": {"weight_grams": 750}},
    )  # fmt: skip
    assert shipped.status_code in (200, 201), shipped.json()
    other = _order(api, [("BAR-B", 1)])
    # when labels are printed for both
    r = api.post("/api/v1/documents/labels", {"order_ids": [order["id"], other["id"]]})
    data = pdf_bytes(r)
    # then one 4x6 in label, for the shipment, with its tracking number as a barcode
    pages = pdf_pages(data)
    assert len(pages) == 1
    text = pages[0]
    assert "Jeanne Martin" in text and "75002 Paris" in text
    assert "Coursier Express" in text and "Express" in text and "750 g" in text
    assert f"Order #{order['number']}" in text
    assert pdf_barcodes(data) == ["TRK-000123"]
