"""The pure halves of the refund pushes: a Colis refund as each vendor's request, and an earlier
attempt recognised among the refunds a vendor shows."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from colis.channels.connectors.base import (
    NotSupported,
    PermanentError,
    RefundLine,
    RefundPackage,
    money_places,
)
from colis.channels.connectors.bigcommerce import mapping as bigcommerce
from colis.channels.connectors.ebay import mapping as ebay
from colis.channels.connectors.shopify import mapping as shopify

ORDER = "gid://shopify/Order/5400000001"
LINE = RefundLine(external_line_id="10000000001", quantity=1, amount=Decimal("19.90"))


def package(**fields) -> RefundPackage:
    values = {
        "refund_id": 7,
        "marker": "Colis refund 7",
        "order_external_id": "12-34567-89012",
        "order_refs": {"order_address_id": 55},
        "currency": "USD",
        "amount": Decimal("19.90"),
        "shipping_amount": Decimal(0),
        "lines": (LINE,),
        "reason": "damaged",
    }
    values.update(fields)
    return RefundPackage(**values)


# -- eBay -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "return_reasons", "expected"),
    [
        ("", ("defective",), "ITEM_NOT_AS_DESCRIBED"),
        ("wrong_item", (), "ITEM_NOT_AS_DESCRIBED"),
        ("", ("size_or_fit",), "BUYER_RETURN"),
        ("Parcel not received", (), "ITEM_NOT_RECEIVED"),
        ("goodwill", (), "OTHER_ADJUSTMENT"),
    ],
)
def test_ebay_reason_for_refund_follows_the_reason_and_the_return(reason, return_reasons, expected):
    refund = package(reason=reason, return_reasons=return_reasons)

    assert ebay.refund_reason(refund) == expected


def test_ebay_refund_of_shipping_alone_passes_on_a_shipping_discount():
    refund = package(lines=(), amount=Decimal("4.99"), shipping_amount=Decimal("4.99"), reason="")

    assert ebay.refund_reason(refund) == "SHIPPING_DISCOUNT"


def test_ebay_refunds_per_line_when_every_line_has_its_money_and_nothing_else():
    body = ebay.refund_body(package())

    assert body["refundItems"] == [
        {"lineItemId": "10000000001", "refundAmount": {"value": "19.90", "currency": "USD"}}
    ]
    assert "orderLevelRefundAmount" not in body
    assert body["comment"] == "Colis refund 7: damaged"


def test_ebay_refunds_the_order_level_amount_with_shipping_or_unpriced_lines():
    with_shipping = package(amount=Decimal("24.89"), shipping_amount=Decimal("4.99"))
    unpriced = package(lines=(replace(LINE, amount=Decimal(0)),))

    for refund in (with_shipping, unpriced):
        body = ebay.refund_body(refund)
        assert "refundItems" not in body
        assert body["orderLevelRefundAmount"]["value"] == str(refund.amount)


def test_ebay_comment_is_cut_to_a_hundred_characters():
    assert len(ebay.refund_comment(package(reason="x" * 300))) == ebay.COMMENT_LENGTH


def test_an_earlier_ebay_refund_is_one_of_the_amount_that_no_other_refund_claims():
    order = {
        "paymentSummary": {
            "refunds": [
                {"refundId": "A", "amount": {"value": "19.90"}, "refundStatus": "REFUNDED"},
                {"refundId": "B", "amount": {"value": "19.90"}, "refundStatus": "FAILED"},
                {"refundReferenceId": "C", "amount": {"value": "5.00"}},
            ]
        },
        "lineItems": [
            {"lineItemId": "1", "refunds": [{"refundId": "D", "amount": {"value": "10.00"}}]},
            {"lineItemId": "2", "refunds": [{"refundId": "D", "amount": {"value": "9.90"}}]},
        ],
    }

    assert ebay.refunds_on_order(order) == {
        "A": Decimal("19.90"),
        "C": Decimal("5.00"),
        "D": Decimal("19.90"),
    }
    assert ebay.matching_refund(order, package()) == ("A", Decimal("19.90"))
    assert ebay.matching_refund(order, package(claimed=frozenset({"A"})))[0] == "D"
    assert ebay.matching_refund(order, package(claimed=frozenset({"A", "D"}))) is None


# -- Shopify ----------------------------------------------------------------------------------


def _tx(tx_id, kind, amount, parent=None, status="SUCCESS"):
    return {
        "id": tx_id,
        "kind": kind,
        "status": status,
        "gateway": "shopify_payments",
        "amountSet": {"shopMoney": {"amount": amount}},
        "parentTransaction": {"id": parent} if parent else None,
    }


def test_shopify_money_goes_back_through_what_is_left_of_each_payment():
    transactions = [
        _tx("T1", "SALE", "15.00"),
        _tx("T2", "REFUND", "10.00", parent="T1"),
        _tx("T3", "AUTHORIZATION", "50.00"),
        _tx("T4", "CAPTURE", "30.00"),
    ]

    chosen = shopify.refund_transactions(ORDER, transactions, package())

    assert [(t["parentId"], t["amount"]) for t in chosen] == [("T1", "5.00"), ("T4", "14.90")]
    assert {t["kind"] for t in chosen} == {"REFUND"} and chosen[0]["orderId"] == ORDER


def test_shopify_refuses_a_refund_above_what_the_payments_leave():
    with pytest.raises(PermanentError, match="less than 19.90"):
        shopify.refund_transactions(ORDER, [_tx("T1", "SALE", "10.00")], package())


def test_shopify_refund_input_names_the_lines_without_restock_and_the_shipping():
    refund = package(
        lines=(replace(LINE, external_line_id="gid://shopify/LineItem/1"),),
        amount=Decimal("24.89"),
        shipping_amount=Decimal("4.99"),
        notify_buyer=True,
    )

    body = shopify.refund_input(refund, ORDER, [_tx("T1", "SALE", "100.00")])

    assert body["refundLineItems"] == [
        {"lineItemId": "gid://shopify/LineItem/1", "quantity": 1, "restockType": "NO_RESTOCK"}
    ]
    assert body["shipping"] == {"amount": "4.99"} and body["notify"] is True
    assert body["note"] == "Colis refund 7: damaged"
    assert shopify.matching_refund([{"note": "Colis refund 70: x"}], refund) is None
    assert shopify.matching_refund([{"note": body["note"]}], refund) == {"note": body["note"]}


# -- BigCommerce ------------------------------------------------------------------------------

QUOTE = {
    "total_refund_amount": 19.9,
    "total_refund_tax_amount": 0,
    "refund_methods": [
        [{"provider_id": "braintree", "amount": 19.9, "offline": False}],
        [{"provider_id": "custom", "amount": 19.9, "offline": True}],
    ],
}


def test_bigcommerce_items_are_products_by_quantity_and_shipping_by_amount():
    refund = package(amount=Decimal("24.89"), shipping_amount=Decimal("4.99"))

    items = bigcommerce.refund_items(refund)

    reason = "Colis refund 7: damaged"
    assert items == [
        {"item_type": "PRODUCT", "item_id": 10000000001, "quantity": 1, "reason": reason},
        {"item_type": "SHIPPING", "item_id": 55, "amount": 4.99, "reason": reason},
    ]


def test_bigcommerce_takes_no_refund_without_items():
    with pytest.raises(NotSupported, match="names no line and no shipping"):
        bigcommerce.refund_items(package(lines=()))


def test_bigcommerce_pays_by_the_first_quoted_method_or_overrides_the_total():
    exact = bigcommerce.refund_body(package(), [], QUOTE)
    partial = bigcommerce.refund_body(package(amount=Decimal("12.00")), [], QUOTE)

    assert exact["payments"] == [{"provider_id": "braintree", "amount": 19.9, "offline": False}]
    assert "merchant_calculated_override" not in exact
    assert partial["payments"][0]["amount"] == 12.0
    assert partial["merchant_calculated_override"] == {"total_amount": 12.0, "total_tax": 0.0}


def test_bigcommerce_finds_an_earlier_attempt_by_its_items_reasons():
    refunds = [{"id": 1, "reason": "", "items": [{"reason": "Colis refund 7: damaged"}]}]

    assert bigcommerce.matching_refund(refunds, package())["id"] == 1
    assert bigcommerce.matching_refund(refunds, package(marker="Colis refund 8")) is None


def test_money_is_rounded_to_the_currencys_minor_unit():
    assert money_places(Decimal("19.905"), "USD") == Decimal("19.91")
    assert money_places(Decimal("1999.5"), "JPY") == Decimal("2000")
