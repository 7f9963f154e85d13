"""Stock adjustments and levels through the HTTP API."""

from __future__ import annotations

import pytest

from colis.core.models import Event
from colis.inventory.models import InventoryLevel, StockMovement
from colis.inventory.services import StockChange, inventory_apply
from tests.factories import ACTOR, LocationFactory, ProductFactory
from tests.inventory.helpers import assert_ledger_matches, level_of

pytestmark = pytest.mark.django_db

ADJUST = "/api/v1/inventory/adjustments"
LEVELS = "/api/v1/inventory/levels"


def _adjust(api, product, location, **fields):
    body = {"sku": product.sku, "location_id": location.pk, "reason": "correction"} | fields
    return api.post(ADJUST, body)


def _adjusted_events(level):
    return list(
        Event.objects.filter(
            subject_type="inventory_level", subject_id=level.pk, kind="inventory_adjusted"
        ).order_by("pk")
    )


# --- delta and set_on_hand ----------------------------------------------------------------------


def test_a_delta_adds_to_on_hand_with_a_ledger_row_and_an_event(api, location):
    # given
    product = ProductFactory(sku="Mug-01")

    # when
    response = _adjust(api, product, location, reason="received", delta=12, note="PO 77")

    # then: the answer
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["sku"] == "Mug-01"
    assert out["location_id"] == location.pk
    assert (out["on_hand"], out["committed"], out["available"]) == (12, 0, 12)

    # and the level, its ledger and its timeline
    level = level_of(product.pk, location.pk)
    assert (level.on_hand, level.committed) == (12, 0)
    (movement,) = StockMovement.objects.filter(level=level)
    assert (movement.delta_on_hand, movement.on_hand_after, movement.reason) == (12, 12, "received")
    assert movement.note == "PO 77"
    assert movement.actor_kind == "user"
    (event,) = _adjusted_events(level)
    assert event.data["delta"] == 12
    assert event.data["on_hand"] == 12
    assert event.data["reason"] == "received"
    assert_ledger_matches(level)


def test_a_negative_delta_takes_stock_away(api, location, stocked):
    product = stocked(qty=10)

    response = _adjust(api, product, location, reason="damaged", delta=-3)

    assert response.status_code == 201, response.content
    assert response.json()["on_hand"] == 7
    level = level_of(product.pk, location.pk)
    assert level.on_hand == 7
    last = StockMovement.objects.filter(level=level).latest("pk")
    assert (last.delta_on_hand, last.reason) == (-3, "damaged")
    assert_ledger_matches(level)


def test_set_on_hand_counts_the_level_and_records_the_difference(api, location, stocked):
    # given
    product = stocked(qty=10)

    # when
    response = _adjust(api, product, location, reason="cycle_count", set_on_hand=4)

    # then
    assert response.status_code == 201, response.content
    assert response.json()["on_hand"] == 4
    level = level_of(product.pk, location.pk)
    last = StockMovement.objects.filter(level=level).latest("pk")
    assert (last.delta_on_hand, last.on_hand_after, last.reason) == (-6, 4, "cycle_count")
    event = _adjusted_events(level)[-1]
    assert event.data["set_on_hand"] == 4
    assert event.data["delta"] is None
    assert_ledger_matches(level)


def test_set_on_hand_creates_a_level_that_did_not_exist(api, location):
    product = ProductFactory()

    response = _adjust(api, product, location, set_on_hand=9)

    assert response.status_code == 201, response.content
    level = level_of(product.pk, location.pk)
    assert level.on_hand == 9
    assert_ledger_matches(level)


def test_the_sku_is_matched_whatever_its_case(api, location, stocked):
    product = stocked(sku="Mug-01", qty=5)

    response = api.post(
        ADJUST, {"sku": " mug-01 ", "location_id": location.pk, "reason": "received", "delta": 1}
    )

    assert response.status_code == 201, response.content
    assert level_of(product.pk, location.pk).on_hand == 6


# --- refusals -----------------------------------------------------------------------------------


def test_on_hand_cannot_go_negative(api, location, stocked):
    # given
    product = stocked(qty=2)
    level = level_of(product.pk, location.pk)
    movements_before = StockMovement.objects.count()
    events_before = len(_adjusted_events(level))

    # when
    response = _adjust(api, product, location, reason="lost", delta=-3)

    # then
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["fields"] == {
        f"{product.sku}@{location.pk}": {
            "on_hand": 2,
            "committed": 0,
            "on_hand_after": -1,
            "committed_after": 0,
        }
    }
    level.refresh_from_db()
    assert level.on_hand == 2
    assert StockMovement.objects.count() == movements_before
    assert len(_adjusted_events(level)) == events_before


def test_a_location_that_allows_negative_stock_may_go_below_zero(api):
    # given
    oversells = LocationFactory(is_default=True, allow_negative_stock=True)
    product = ProductFactory()

    # when
    response = _adjust(api, product, oversells, reason="correction", delta=-4)

    # then
    assert response.status_code == 201, response.content
    assert response.json()["on_hand"] == -4
    assert response.json()["available"] == -4
    level = level_of(product.pk, oversells.pk)
    assert level.on_hand == -4
    assert_ledger_matches(level)


def test_stock_cannot_drop_below_what_is_committed(api, location, stocked):
    # given: 10 on hand, 8 promised
    product = stocked(qty=10)
    inventory_apply(
        changes=[
            StockChange(
                product_id=product.pk, location_id=location.pk, reason="committed", committed=8
            )
        ],
        actor=ACTOR,
    )

    # when
    response = _adjust(api, product, location, reason="damaged", delta=-3)

    # then
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    level = level_of(product.pk, location.pk)
    assert (level.on_hand, level.committed) == (10, 8)
    assert_ledger_matches(level)


@pytest.mark.parametrize(
    "quantities",
    [{"delta": 3, "set_on_hand": 3}, {}, {"delta": 0}, {"set_on_hand": -1}],
    ids=["both", "neither", "zero-delta", "negative-count"],
)
def test_exactly_one_of_delta_and_set_on_hand_is_required(api, location, stocked, quantities):
    product = stocked(qty=5)
    movements_before = StockMovement.objects.count()

    response = _adjust(api, product, location, **quantities)

    assert response.status_code == 422, response.content
    assert set(response.json()["fields"]) & {"delta", "set_on_hand"}
    assert level_of(product.pk, location.pk).on_hand == 5
    assert StockMovement.objects.count() == movements_before


@pytest.mark.parametrize("reason", ["shipped", "transfer", "committed", "because", ""])
def test_a_reason_a_person_may_not_give_is_refused(api, location, stocked, reason):
    product = stocked(qty=5)
    movements_before = StockMovement.objects.count()

    response = _adjust(api, product, location, reason=reason, delta=1)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_reason"
    assert "reason" in response.json()["fields"]
    assert StockMovement.objects.count() == movements_before


def test_unknown_sku_is_404(api, location):
    response = api.post(
        ADJUST, {"sku": "NOPE", "location_id": location.pk, "reason": "received", "delta": 1}
    )

    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"
    assert "sku" in response.json()["fields"]
    assert not InventoryLevel.objects.exists()
    assert not StockMovement.objects.exists()


def test_unknown_location_is_404(api, location):
    product = ProductFactory()

    response = api.post(
        ADJUST, {"sku": product.sku, "location_id": 999_999, "reason": "received", "delta": 1}
    )

    assert response.status_code == 404
    assert response.json()["code"] == "location_not_found"
    assert "location_id" in response.json()["fields"]
    assert not InventoryLevel.objects.exists()
    assert not StockMovement.objects.exists()


def test_staff_may_adjust_but_readonly_may_not(make_api, location):
    product = ProductFactory()

    staff = _adjust(make_api("staff"), product, location, reason="received", delta=2)
    readonly = _adjust(make_api("readonly"), product, location, reason="received", delta=2)

    assert staff.status_code == 201
    assert readonly.status_code == 403
    assert readonly.json()["code"] == "forbidden_role"
    level = level_of(product.pk, location.pk)
    assert level.on_hand == 2
    assert StockMovement.objects.filter(level=level).count() == 1


def test_an_adjustment_repeated_with_the_same_idempotency_key_applies_once(api, location):
    # given
    product = ProductFactory()
    body = {"sku": product.sku, "location_id": location.pk, "reason": "received", "delta": 5}

    # when
    first = api.post(ADJUST, body, headers={"Idempotency-Key": "adj-1"})
    again = api.post(ADJUST, body, headers={"Idempotency-Key": "adj-1"})

    # then
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    level = level_of(product.pk, location.pk)
    assert level.on_hand == 5
    assert StockMovement.objects.filter(level=level).count() == 1
    assert len(_adjusted_events(level)) == 1


# --- levels -------------------------------------------------------------------------------------


def test_levels_filter_by_sku_and_location_with_available(api, location, stocked):
    # given: two products at two locations, some stock committed
    other = LocationFactory()
    mug = stocked(sku="Mug-01", qty=10)
    tee = stocked(sku="TEE-01", qty=4)
    stocked_elsewhere = stocked(sku="CAP-01", qty=7, at=other)
    inventory_apply(
        changes=[
            StockChange(
                product_id=mug.pk, location_id=location.pk, reason="committed", committed=3
            ),
            StockChange(product_id=mug.pk, location_id=other.pk, reason="received", on_hand=2),
        ],
        actor=ACTOR,
    )

    # when
    by_sku = api.get(LEVELS, sku="mug-01").json()["items"]
    by_location = api.get(LEVELS, location_id=other.pk).json()["items"]
    by_both = api.get(LEVELS, sku="MUG-01", location_id=location.pk).json()["items"]

    # then
    assert {(i["location_id"], i["on_hand"], i["committed"], i["available"]) for i in by_sku} == {
        (location.pk, 10, 3, 7),
        (other.pk, 2, 0, 2),
    }
    assert {i["sku"] for i in by_location} == {"CAP-01", "Mug-01"}
    assert [(i["sku"], i["available"]) for i in by_both] == [("Mug-01", 7)]
    for item in api.get(LEVELS).json()["items"]:
        assert item["available"] == item["on_hand"] - item["committed"]
    assert {p.pk for p in (mug, tee, stocked_elsewhere)} == {
        i["product_id"] for i in api.get(LEVELS).json()["items"]
    }


def test_levels_pages_with_cursors(api, location, stocked):
    for _ in range(5):
        stocked(qty=1)

    first = api.get(LEVELS, limit=2).json()
    second = api.get(LEVELS, limit=2, cursor=first["next_cursor"]).json()
    third = api.get(LEVELS, limit=2, cursor=second["next_cursor"]).json()

    ids = [i["id"] for page in (first, second, third) for i in page["items"]]
    assert ids == sorted(InventoryLevel.objects.values_list("pk", flat=True))
    assert third["next_cursor"] is None


def test_the_ledger_lists_every_change_newest_first(api, location, stocked):
    product = stocked(qty=5)
    _adjust(api, product, location, reason="damaged", delta=-2)

    rows = api.get(ADJUST, sku=product.sku).json()["items"]

    assert [(r["delta_on_hand"], r["on_hand_after"], r["reason"]) for r in rows] == [
        (-2, 3, "damaged"),
        (5, 5, "received"),
    ]


def test_stock_arriving_at_a_level_left_negative_is_not_refused_as_short(api):
    # given: a location that oversold to -5, then stopped allowing it
    oversold = LocationFactory(is_default=True, allow_negative_stock=True)
    product = ProductFactory()
    assert _adjust(api, product, oversold, delta=-5).status_code == 201
    switched_off = api.patch(f"/api/v1/locations/{oversold.pk}", {"allow_negative_stock": False})

    # when: three units are delivered
    response = _adjust(api, product, oversold, reason="received", delta=3)

    # then: either the switch was refused while stock is negative, or the delivery is booked
    assert switched_off.status_code == 409 or response.status_code == 201, response.content
