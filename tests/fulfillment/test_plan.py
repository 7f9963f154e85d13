"""The routing rules as a pure function."""

from __future__ import annotations

from colis.fulfillment.plan import MOST_STOCK, Site, Want, route_plan

A, B = Site(location_id=1, priority=1), Site(location_id=2, priority=2)


def _plan(wants, stock, sites=(A, B), strategy="priority"):
    allocations = route_plan(wants=wants, sites=list(sites), stock=stock, strategy=strategy)
    return {(a.location_id, a.out_of_stock): a.lines for a in allocations}


def test_one_location_for_everything_when_one_can_even_if_it_is_not_first():
    wants = [Want(line_id=10, product_id=1, quantity=2), Want(line_id=11, product_id=2, quantity=1)]
    stock = {(1, 1): 5, (2, 1): 0, (1, 2): 2, (2, 2): 1}
    assert _plan(wants, stock) == {(2, False): {10: 2, 11: 1}}
    assert stock[(1, 2)] == 0 and stock[(2, 2)] == 0


def test_ties_go_to_priority_or_to_the_most_stock():
    wants = [Want(line_id=10, product_id=1, quantity=1)]
    assert _plan(wants, {(1, 1): 1, (1, 2): 9}) == {(1, False): {10: 1}}
    assert _plan(wants, {(1, 1): 1, (1, 2): 9}, strategy=MOST_STOCK) == {(2, False): {10: 1}}


def test_whole_lines_before_splitting_a_line():
    wants = [Want(line_id=10, product_id=1, quantity=3), Want(line_id=11, product_id=2, quantity=2)]
    stock = {(1, 1): 3, (2, 1): 1, (1, 2): 0, (2, 2): 2}
    assert _plan(wants, stock) == {(1, False): {10: 3}, (2, False): {11: 2}}


def test_a_line_is_split_when_no_location_has_it_all_and_the_rest_waits_out_of_stock():
    wants = [Want(line_id=10, product_id=1, quantity=10)]
    stock = {(1, 1): 3, (1, 2): 4}
    assert _plan(wants, stock) == {(1, False): {10: 3}, (2, False): {10: 4}, (1, True): {10: 3}}
    assert stock == {(1, 1): 0, (1, 2): 0}


def test_demand_for_one_product_over_two_lines_is_summed():
    wants = [Want(line_id=10, product_id=1, quantity=2), Want(line_id=11, product_id=1, quantity=2)]
    stock = {(1, 1): 3, (1, 2): 4}
    assert _plan(wants, stock) == {(2, False): {10: 2, 11: 2}}


def test_a_location_that_sells_beyond_its_stock_covers_anything():
    dropship = Site(location_id=3, priority=3, unlimited=True)
    wants = [Want(line_id=10, product_id=1, quantity=50)]
    assert _plan(wants, {(1, 1): 1}, sites=(A, dropship)) == {(3, False): {10: 50}}


def test_nothing_to_route_or_nowhere_to_route_gives_nothing():
    assert _plan([], {}) == {}
    assert _plan([Want(line_id=1, product_id=1, quantity=1)], {}, sites=()) == {}
