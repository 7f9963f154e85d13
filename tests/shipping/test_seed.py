"""The carriers every installation starts with."""

from __future__ import annotations

import pytest

from colis.core.models import Event
from colis.shipping.models import Carrier
from colis.shipping.seed import CARRIERS
from colis.shipping.services import carriers_seed
from colis.shipping.tracking import tracking_data
from tests.factories import ACTOR

pytestmark = pytest.mark.django_db

SEEDED = {
    "ups",
    "usps",
    "fedex",
    "dhl_express",
    "dhl_ecommerce",
    "colissimo",
    "chronopost",
    "dpd",
    "gls",
    "royal_mail",
    "canada_post",
    "australia_post",
    "amazon_logistics",
    "ontrac",
    "purolator",
    "other",
}


def test_the_migration_seeds_the_registry():
    carriers = {c.code: c for c in Carrier.objects.all()}

    assert set(carriers) >= SEEDED
    assert all(c.active for c in carriers.values())
    assert carriers["other"].tracking_url_template == ""
    for code in SEEDED - {"other"}:
        assert carriers[code].tracking_url_template.startswith("https://")
        assert carriers[code].tracking_url_template.count("{number}") == 1
    assert carriers["fedex"].channel_codes == {
        "shopify": "FedEx",
        "bigcommerce": "fedex",
        "amazon": "FedEx",
        "ebay": "FedEx",
    }
    assert carriers["amazon_logistics"].data_courier_codes == ["amazon"]


def test_every_seeded_data_ref_names_a_format_of_the_data():
    data = tracking_data()
    refs = {ref for row in CARRIERS for ref in row["data_courier_codes"]}
    known = set()
    for fmt in data.formats:
        known |= {fmt.courier_code, f"{fmt.courier_code}:{fmt.format_id}"}

    assert {r for r in refs if not r.startswith("s10:")} <= known
    assert {r.partition(":")[0] for r in refs} <= set(data.couriers)


def test_seeding_again_creates_only_what_is_missing_and_keeps_edits():
    Carrier.objects.filter(code="gls").delete()
    Carrier.objects.filter(code="ups").update(name="UPS (edited)")

    created = carriers_seed(actor=ACTOR)
    again = carriers_seed(actor=ACTOR)

    assert [c.code for c in created] == ["gls"]
    assert again == []
    assert Carrier.objects.get(code="ups").name == "UPS (edited)"
    assert Carrier.objects.filter(code__in=SEEDED).count() == len(SEEDED)
    (event,) = Event.objects.filter(subject_type="carrier", kind="carrier_created")
    assert event.data == {"code": "gls", "seed": True}
