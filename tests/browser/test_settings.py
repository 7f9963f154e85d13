"""Settings in a real browser: add a location and move it to the top of the priority order."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_add_a_location_then_move_it_to_the_top(page, make_user):
    LocationFactory(name="Paris WH", is_default=True, priority=1)
    LocationFactory(name="Lyon WH", priority=2)
    sign_in(page, make_user("owner"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Locations").click()
    page.get_by_role("link", name="Add a location").click()
    page.get_by_label("Name", exact=True).fill("Bordeaux dock")
    page.get_by_label("Address line 1").fill("3 quai des Chartrons")
    page.get_by_label("City").fill("Bordeaux")
    page.get_by_label("Postal code").fill("33000")
    page.get_by_label("Country").select_option("FR")
    page.get_by_role("button", name="Add location").click()
    expect(page.get_by_role("status")).to_have_text("Added.")
    rows = page.get_by_role("table").get_by_role("row")
    new_row = rows.filter(has_text="Bordeaux dock")
    expect(new_row.get_by_role("cell").first).to_have_text("3")
    page.get_by_role("button", name="Move Bordeaux dock to the top").click()
    expect(page.get_by_role("status")).to_have_text("Priority changed.")
    first = page.get_by_role("table").get_by_role("row").nth(1)  # after the header row
    assert first.get_by_role("rowheader").text_content().strip() == "Bordeaux dock"
    expect(first.get_by_role("cell").first).to_have_text("1")
    assert page.get_by_role("button", name="Move Bordeaux dock to the top").is_disabled()

    from colis.locations.models import Location

    assert list(Location.objects.order_by("priority").values_list("name", flat=True)) == [
        "Bordeaux dock",
        "Paris WH",
        "Lyon WH",
    ]


def test_a_location_without_its_name_is_refused_next_to_the_field(page, make_user):
    LocationFactory(name="Paris WH", is_default=True, priority=1)
    sign_in(page, make_user("manager"))
    page.goto("/app/settings/locations/new/")
    page.get_by_label("City").fill("Bordeaux")
    page.get_by_label("Country").select_option("FR")
    # The browser's own check would stop an empty required field: send it blank past it.
    page.get_by_label("Name", exact=True).evaluate("el => el.removeAttribute('required')")
    page.get_by_role("button", name="Add location").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.get_by_label("Name", exact=True).get_attribute("aria-invalid") == "true"

    from colis.locations.models import Location

    assert Location.objects.count() == 1


def test_drag_a_location_row_above_another(page, make_user):
    LocationFactory(name="Paris WH", is_default=True, priority=1)
    LocationFactory(name="Lyon WH", priority=2)
    LocationFactory(name="Lille WH", priority=3)
    sign_in(page, make_user("owner"))
    page.goto("/app/settings/locations/")
    lille = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Lille WH"))
    paris = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Paris WH"))
    lille.drag_to(paris)
    expect(page.get_by_role("status")).to_have_text("Priority changed.")
    names = page.get_by_role("table").get_by_role("rowheader").all_text_contents()
    assert [n.strip() for n in names] == ["Lille WH", "Paris WH", "Lyon WH"]

    from colis.locations.models import Location

    assert list(Location.objects.order_by("priority").values_list("name", flat=True)) == [
        "Lille WH",
        "Paris WH",
        "Lyon WH",
    ]
