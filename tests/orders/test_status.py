"""Order statuses: BigCommerce's fifteen ids, one transition table, the derived
fulfillment status."""

from __future__ import annotations

import itertools

import pytest

from colis.core.errors import Conflict
from colis.orders.status import (
    INITIAL_STATUS,
    STATUS_BY_NAME,
    STATUS_NAMES,
    TERMINAL,
    TRANSITIONS,
    FinancialStatus,
    FulfillmentStatus,
    LineQuantities,
    OrderStatus,
    fulfillment_status_derive,
    status_transition_check,
)

S = OrderStatus
DESIGN_IDS = {
    0: "incomplete",
    1: "pending",
    2: "shipped",
    3: "partially_shipped",
    4: "refunded",
    5: "cancelled",
    6: "declined",
    7: "awaiting_payment",
    8: "awaiting_pickup",
    9: "awaiting_shipment",
    10: "completed",
    11: "awaiting_fulfillment",
    12: "manual_verification_required",
    13: "disputed",
    14: "partially_refunded",
}
ALL_PAIRS = list(itertools.product(OrderStatus, OrderStatus))


def test_the_fifteen_statuses_carry_bigcommerce_ids():
    assert {s.value: s.name.lower() for s in OrderStatus} == DESIGN_IDS
    assert STATUS_NAMES == DESIGN_IDS
    assert {name: s.value for name, s in STATUS_BY_NAME.items()} == {
        name: sid for sid, name in DESIGN_IDS.items()
    }


def test_every_status_has_a_row_in_the_transition_table():
    assert set(TRANSITIONS) == set(OrderStatus)
    for status, targets in TRANSITIONS.items():
        assert targets <= set(OrderStatus), status
        assert status not in targets, f"{status.name} lists itself"


@pytest.mark.parametrize(
    ("current", "target"), ALL_PAIRS, ids=[f"{a.name}->{b.name}" for a, b in ALL_PAIRS]
)
def test_the_check_follows_the_table_for_every_pair(current, target):
    # given a pair of statuses
    allowed = target in TRANSITIONS[current]
    if allowed:
        # when the table lists the move, then the check lets it through
        status_transition_check(int(current), int(target))
        return
    # when it does not, then a Conflict with a stable code names both ends and the way out
    with pytest.raises(Conflict) as caught:
        status_transition_check(int(current), int(target))
    assert caught.value.code == "invalid_status_transition"
    assert caught.value.http_status == 409
    detail = caught.value.fields["status"]
    assert detail["from"] == STATUS_NAMES[current]
    assert detail["to"] == STATUS_NAMES[target]
    assert detail["allowed"] == sorted(STATUS_NAMES[s] for s in TRANSITIONS[current])


@pytest.mark.parametrize("status", [S.CANCELLED, S.DECLINED])
def test_cancelled_and_declined_have_no_way_out(status):
    assert TRANSITIONS[status] == frozenset()
    for target in OrderStatus:
        with pytest.raises(Conflict):
            status_transition_check(int(status), int(target))


def test_every_status_named_terminal_has_no_way_out():
    assert {s: TRANSITIONS[s] for s in TERMINAL} == {s: frozenset() for s in TERMINAL}


def test_the_automatic_path_of_a_paid_order_is_allowed_step_by_step():
    # awaiting payment -> paid -> packed -> first partial shipment -> all shipped -> delivered
    path = [
        S.AWAITING_PAYMENT,
        S.AWAITING_FULFILLMENT,
        S.AWAITING_SHIPMENT,
        S.PARTIALLY_SHIPPED,
        S.SHIPPED,
        S.COMPLETED,
    ]
    for current, target in itertools.pairwise(path):
        status_transition_check(int(current), int(target))
    # and a single shipment of everything may skip partially_shipped
    status_transition_check(int(S.AWAITING_FULFILLMENT), int(S.SHIPPED))


@pytest.mark.parametrize(
    "status",
    [
        S.INCOMPLETE,
        S.PENDING,
        S.AWAITING_PAYMENT,
        S.MANUAL_VERIFICATION_REQUIRED,
        S.AWAITING_FULFILLMENT,
        S.AWAITING_SHIPMENT,
        S.AWAITING_PICKUP,
    ],
)
def test_an_order_that_has_not_shipped_can_be_cancelled(status):
    status_transition_check(int(status), int(S.CANCELLED))


@pytest.mark.parametrize("status", [S.PARTIALLY_SHIPPED, S.SHIPPED, S.COMPLETED, S.REFUNDED])
def test_an_order_that_has_shipped_cannot_be_cancelled(status):
    with pytest.raises(Conflict):
        status_transition_check(int(status), int(S.CANCELLED))


@pytest.mark.parametrize("status", [S.AWAITING_PAYMENT, S.PENDING, S.INCOMPLETE])
def test_an_unpaid_order_cannot_ship(status):
    for shipped in (S.SHIPPED, S.PARTIALLY_SHIPPED, S.COMPLETED):
        with pytest.raises(Conflict):
            status_transition_check(int(status), int(shipped))


def test_the_initial_status_follows_the_financial_status():
    assert set(INITIAL_STATUS) == set(FinancialStatus)
    assert INITIAL_STATUS[FinancialStatus.PAID] == S.AWAITING_FULFILLMENT
    assert INITIAL_STATUS[FinancialStatus.PENDING] == S.AWAITING_PAYMENT


def _line(ordered: int, fulfilled: int = 0, cancelled: int = 0, restocked: int = 0):
    return LineQuantities(
        ordered=ordered, fulfilled=fulfilled, cancelled=cancelled, restocked=restocked
    )


F = FulfillmentStatus


@pytest.mark.parametrize(
    ("lines", "states", "requests", "expected"),
    [
        pytest.param([], (), (), F.UNFULFILLED, id="no lines"),
        pytest.param([_line(2), _line(1)], (), (), F.UNFULFILLED, id="nothing shipped"),
        pytest.param([_line(2, 2), _line(1, 1)], (), (), F.FULFILLED, id="all shipped"),
        pytest.param([_line(2, 1), _line(1)], (), (), F.PARTIALLY_FULFILLED, id="some shipped"),
        pytest.param([_line(3, 2, 1)], (), (), F.FULFILLED, id="shipped what was not cancelled"),
        pytest.param(
            [_line(1, 1), _line(4, 0, 4)],
            (),
            (),
            F.FULFILLED,
            id="a fully cancelled line does not hold the order back",
        ),
        pytest.param([_line(2, 0, 2), _line(1, 0, 1)], (), (), F.UNFULFILLED, id="all cancelled"),
        pytest.param([_line(2, 0, 2, 2)], (), (), F.RESTOCKED, id="all cancelled and restocked"),
        pytest.param([_line(2)], ("on_hold",), (), F.ON_HOLD, id="held"),
        pytest.param([_line(2)], ("in_progress",), (), F.IN_PROGRESS, id="in progress"),
        pytest.param([_line(2)], ("scheduled",), (), F.SCHEDULED, id="scheduled"),
        pytest.param([_line(2)], ("open",), ("rejected",), F.REQUEST_DECLINED, id="rejected"),
        pytest.param(
            [_line(2)],
            ("on_hold", "in_progress", "scheduled"),
            ("rejected",),
            F.REQUEST_DECLINED,
            id="a rejected request comes before a hold",
        ),
        pytest.param(
            [_line(2)],
            ("scheduled", "in_progress", "on_hold"),
            (),
            F.ON_HOLD,
            id="a hold comes before work in progress",
        ),
        pytest.param(
            [_line(2)],
            ("scheduled", "in_progress"),
            (),
            F.IN_PROGRESS,
            id="work in progress comes before a schedule",
        ),
        pytest.param(
            [_line(2, 1)],
            ("on_hold",),
            ("rejected",),
            F.PARTIALLY_FULFILLED,
            id="quantities come before FO states",
        ),
    ],
)
def test_fulfillment_status_is_derived(lines, states, requests, expected):
    assert fulfillment_status_derive(lines, states, requests) == expected


def test_fulfillment_status_derive_accepts_generators():
    lines = (_line(n, n) for n in (1, 2, 3))
    assert fulfillment_status_derive(lines, iter(()), iter(())) == F.FULFILLED
