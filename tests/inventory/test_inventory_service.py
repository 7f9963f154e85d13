"""The inventory service: all-or-nothing batches, demand summed per level, a ledger that adds up."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colis.core.errors import NotFound, ValidationError
from colis.core.models import Event
from colis.inventory.exceptions import InsufficientStock
from colis.inventory.models import InventoryLevel, StockMovement
from colis.inventory.services import StockChange, inventory_adjust, inventory_apply
from tests.factories import ACTOR, LocationFactory, ProductFactory
from tests.inventory.helpers import assert_ledger_matches, ledger_sum, level_of, on_hand

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _change(product, location, **kw):
    return StockChange(product_id=product.pk, location_id=location.pk, reason="correction", **kw)


def _snapshot():
    return (
        sorted(
            InventoryLevel.objects.values_list("product_id", "location_id", "on_hand", "committed")
        ),
        StockMovement.objects.count(),
        Event.objects.count(),
    )


# --- all or nothing -----------------------------------------------------------------------------


def test_two_short_levels_are_both_listed_and_nothing_changes(location, stocked):
    # given: three products with 5 each; a second location with nothing
    other = LocationFactory()
    a, b, c = stocked(sku="A-1", qty=5), stocked(sku="B-1", qty=5), stocked(sku="C-1", qty=5)
    before = _snapshot()

    # when: one batch takes 3 of A (fine), 6 of B (short), 1 of C elsewhere (short), adds to C
    with pytest.raises(InsufficientStock) as refused:
        inventory_apply(
            changes=[
                _change(a, location, on_hand=-3),
                _change(b, location, on_hand=-6),
                _change(c, other, on_hand=-1),
                _change(c, location, on_hand=+10),
            ],
            actor=ACTOR,
        )

    # then: both short levels are named, with what they hold and what was asked
    shortages = {(s.sku, s.location_id): s for s in refused.value.shortages}
    assert set(shortages) == {("B-1", location.pk), ("C-1", other.pk)}
    assert (
        shortages["B-1", location.pk].on_hand,
        shortages["B-1", location.pk].requested_on_hand,
    ) == (
        5,
        -1,
    )
    assert (shortages["C-1", other.pk].on_hand, shortages["C-1", other.pk].requested_on_hand) == (
        0,
        -1,
    )
    assert refused.value.code == "insufficient_stock"
    assert set(refused.value.fields) == {f"B-1@{location.pk}", f"C-1@{other.pk}"}

    # and nothing at all changed: no level, no ledger row, no event, not even the new level
    assert _snapshot() == before
    assert level_of(c.pk, other.pk) is None
    for product in (a, b, c):
        assert_ledger_matches(level_of(product.pk, location.pk))


def test_demand_for_one_level_is_summed_across_the_changes_of_a_call(location, stocked):
    # given: 5 on hand
    product = stocked(qty=5)
    before = _snapshot()

    # when: two changes each fit alone, together they do not
    with pytest.raises(InsufficientStock) as refused:
        inventory_apply(
            changes=[
                _change(product, location, on_hand=-3),
                _change(product, location, on_hand=-3),
            ],
            actor=ACTOR,
        )

    # then
    (shortage,) = refused.value.shortages
    assert (shortage.on_hand, shortage.requested_on_hand) == (5, -1)
    assert _snapshot() == before


def test_commitments_for_one_level_are_summed_too(location, stocked):
    product = stocked(qty=5)
    before = _snapshot()

    with pytest.raises(InsufficientStock) as refused:
        inventory_apply(
            changes=[
                _change(product, location, committed=3),
                _change(product, location, committed=3),
            ],
            actor=ACTOR,
        )

    (shortage,) = refused.value.shortages
    assert (shortage.committed, shortage.requested_committed) == (0, 6)
    assert _snapshot() == before


def test_a_batch_that_fits_writes_one_ledger_row_per_change(location, stocked):
    # given
    product = stocked(qty=5)
    level = level_of(product.pk, location.pk)
    rows_before = StockMovement.objects.filter(level=level).count()

    # when: -3, -2 and a commitment of 0 leave exactly nothing
    levels = inventory_apply(
        changes=[
            _change(product, location, on_hand=-3, reference="r-1"),
            _change(product, location, on_hand=-2, reference="r-2"),
        ],
        actor=ACTOR,
    )

    # then
    assert levels[(product.pk, location.pk)].on_hand == 0
    rows = list(StockMovement.objects.filter(level=level).order_by("pk"))[rows_before:]
    assert [(r.delta_on_hand, r.on_hand_after, r.reference) for r in rows] == [
        (-3, 2, "r-1"),
        (-2, 0, "r-2"),
    ]
    assert all(r.actor_kind == "system" and r.actor_label == "tests" for r in rows)
    assert_ledger_matches(level)


def test_an_empty_batch_changes_nothing(location):
    before = _snapshot()

    assert inventory_apply(changes=[], actor=ACTOR) == {}

    assert _snapshot() == before


def test_a_level_beyond_the_database_range_is_refused(location):
    product = ProductFactory()

    with pytest.raises(ValidationError) as refused:
        inventory_apply(changes=[_change(product, location, on_hand=2_000_000_001)], actor=ACTOR)

    assert refused.value.code == "quantity_out_of_range"
    assert level_of(product.pk, location.pk) is None


def test_inventory_adjust_refuses_an_unknown_location(location):
    product = ProductFactory()

    with pytest.raises(NotFound):
        inventory_adjust(
            product_id=product.pk, location_id=999_999, reason="received", delta=1, actor=ACTOR
        )

    assert not InventoryLevel.objects.exists()


# --- properties ---------------------------------------------------------------------------------

adjustments = st.lists(
    st.one_of(
        st.tuples(st.just("delta"), st.integers(-30, 30)),
        st.tuples(st.just("set"), st.integers(0, 40)),
    ),
    min_size=1,
    max_size=25,
)


@HYPOTHESIS
@given(ops=adjustments)
def test_any_sequence_of_adjustments_keeps_the_ledger_equal_to_on_hand(location, ops):
    # given: a fresh product at the default location
    product = ProductFactory()
    expected = 0

    # when: each adjustment is applied or refused as a whole
    for kind, n in ops:
        kw = {"delta": n} if kind == "delta" else {"set_on_hand": n}
        after = expected + n if kind == "delta" else n
        if kind == "delta" and n == 0:
            with pytest.raises(ValidationError):
                inventory_adjust(
                    product_id=product.pk,
                    location_id=location.pk,
                    reason="correction",
                    actor=ACTOR,
                    **kw,
                )
        elif after < 0:
            with pytest.raises(InsufficientStock):
                inventory_adjust(
                    product_id=product.pk,
                    location_id=location.pk,
                    reason="correction",
                    actor=ACTOR,
                    **kw,
                )
        else:
            level = inventory_adjust(
                product_id=product.pk,
                location_id=location.pk,
                reason="correction",
                actor=ACTOR,
                **kw,
            )
            expected = after
            assert level.on_hand == expected

    # then: the stored level is the model's, its ledger sums to it, one event per accepted change
    assert on_hand(product.pk, location.pk) == expected
    level = level_of(product.pk, location.pk)
    if level is not None:
        assert_ledger_matches(level)
        assert (
            min(StockMovement.objects.filter(level=level).values_list("on_hand_after", flat=True))
            >= 0
        )
        assert (
            Event.objects.filter(
                subject_type="inventory_level", subject_id=level.pk, kind="inventory_adjusted"
            ).count()
            == StockMovement.objects.filter(level=level).count()
        )


change_specs = st.lists(
    st.tuples(
        st.integers(0, 1),  # product
        st.integers(0, 1),  # location
        st.integers(-8, 10),  # on_hand delta
        st.integers(-3, 4),  # committed delta
        st.one_of(st.none(), st.integers(0, 12)),  # set_on_hand
    ),
    min_size=1,
    max_size=6,
)


@HYPOTHESIS
@given(batches=st.lists(change_specs, min_size=1, max_size=8))
def test_batches_are_applied_whole_or_refused_whole_naming_every_short_level(location, batches):
    # given: two fresh products, the default location and one more
    products = [ProductFactory(), ProductFactory()]
    locations = [location, LocationFactory()]
    model: dict[tuple[int, int], tuple[int, int]] = {}

    for batch in batches:
        # the model: apply in order, then check every touched level
        trial = dict(model)
        changes = []
        for p, loc, d_on_hand, d_committed, set_on_hand in batch:
            key = (products[p].pk, locations[loc].pk)
            have, promised = trial.get(key, (0, 0))
            have = set_on_hand if set_on_hand is not None else have + d_on_hand
            trial[key] = (have, promised + d_committed)
            changes.append(
                StockChange(
                    product_id=key[0],
                    location_id=key[1],
                    reason="correction",
                    on_hand=d_on_hand,
                    committed=d_committed,
                    set_on_hand=set_on_hand,
                )
            )
        touched = {(products[p].pk, locations[loc].pk) for p, loc, *_ in batch}
        short = {
            k for k in touched if trial[k][0] < 0 or trial[k][1] < 0 or trial[k][1] > trial[k][0]
        }
        rows_before = StockMovement.objects.count()

        # when
        if short:
            with pytest.raises(InsufficientStock) as refused:
                inventory_apply(changes=changes, actor=ACTOR)
            # then: every short level is named, and nothing was written
            assert {(s.product_id, s.location_id) for s in refused.value.shortages} == short
            assert StockMovement.objects.count() == rows_before
        else:
            inventory_apply(changes=changes, actor=ACTOR)
            model = trial
            assert StockMovement.objects.count() == rows_before + len(changes)

        # and the database agrees with the model, level by level, ledger by ledger
        for p in products:
            for loc in locations:
                level = level_of(p.pk, loc.pk)
                stored = (level.on_hand, level.committed) if level else (0, 0)
                assert stored == model.get((p.pk, loc.pk), (0, 0))
                if level is not None:
                    assert ledger_sum(level) == stored
