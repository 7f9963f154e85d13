from __future__ import annotations

from colis.core.models import Event
from colis.documents.markup import PACKING_SLIP_DEFAULT
from colis.documents.models import DocumentTemplate
from tests.documents.helpers import pdf_bytes, pdf_text
from tests.factories import order_body

TEMPLATE = "/api/v1/document-templates/packing_slip"


def _slip_text(api, order_id: int) -> str:
    return pdf_text(pdf_bytes(api.get(f"/api/v1/orders/{order_id}/packing-slip.pdf")))


def test_an_edited_template_changes_the_slip_and_reset_brings_the_default_back(api, shop):
    # given an order and the default template
    order = api.post("/api/v1/orders", order_body([("BAR-A", 1)])).json()
    assert api.get(TEMPLATE).json()["customized"] is False
    assert "Packing slip" in _slip_text(api, order["id"])
    # when the merchant edits the wording and hides the bin column
    source = PACKING_SLIP_DEFAULT.replace("title: Packing slip", "title: Bon de livraison")
    source = source.replace("heading: Returns", "heading: Retours sous 14 jours")
    r = api.patch(TEMPLATE, {"source": source})
    # then the slip uses it, and the change is on the timeline
    assert r.status_code == 200 and r.json()["customized"] is True
    text = _slip_text(api, order["id"])
    assert "Bon de livraison" in text and "Retours sous 14 jours" in text
    assert "Packing slip" not in text
    assert Event.objects.filter(kind="document_template_updated").exists()
    # when it is reset
    r = api.post(f"{TEMPLATE}/reset")
    assert r.status_code == 200 and r.json()["source"] == PACKING_SLIP_DEFAULT
    assert "Packing slip" in _slip_text(api, order["id"])
    assert not DocumentTemplate.objects.exists()


def test_a_broken_template_is_refused_naming_its_line(api):
    r = api.patch(TEMPLATE, {"source": "title: Slip\ntext: ok\n{% if %}\n"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_template"
    assert r.json()["fields"]["source"].startswith("line 3:")
    r = api.patch(TEMPLATE, {"source": "title: Slip\n{% for i in items %}row: {{ i.sku }}\n"})
    assert r.status_code == 422 and r.json()["fields"]["source"].startswith("line 2:")
    r = api.patch(TEMPLATE, {"source": "title: Slip\nbanner: {{ order.number }}\n"})
    assert r.status_code == 422
    assert r.json()["fields"]["source"].startswith("line 2:")
    assert "not an element" in r.json()["fields"]["source"]
    r = api.patch(TEMPLATE, {"source": "title: {{ order.number | nofilter }}"})
    assert r.status_code == 422 and r.json()["fields"]["source"].startswith("line 1:")
    assert not DocumentTemplate.objects.exists()


def test_the_template_cannot_run_code(api):
    source = "title: {{ order.__class__ }}{% include 'x' %}"
    assert api.patch(TEMPLATE, {"source": source}).status_code == 422


def test_preview_renders_a_draft_with_sample_data_or_an_order(api, shop):
    r = api.post(f"{TEMPLATE}/preview", {"source": "title: Draft {{ order.number }}"})
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert "Draft 1042" in pdf_text(pdf_bytes(r))
    order = api.post("/api/v1/orders", order_body([("BAR-A", 1)])).json()
    r = api.post(f"{TEMPLATE}/preview", {"order_id": order["id"], "format": "html"})
    assert r.status_code == 200 and f"#{order['number']}" in r.content.decode()
    r = api.post(f"{TEMPLATE}/preview", {"source": "{% if %}"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_template"
    assert not DocumentTemplate.objects.exists()


def test_unknown_template_and_roles(make_api, api):
    assert api.get("/api/v1/document-templates/nope").status_code == 404
    staff = make_api("staff")
    assert staff.get(TEMPLATE).status_code == 200
    r = staff.patch(TEMPLATE, {"source": "title: x"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden_role"
    assert make_api("manager").patch(TEMPLATE, {"source": "title: x"}).status_code == 200
