"""`colis redact [--dry-run] [--limit N]`: lists the orders past retention, then redacts them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from colis.cli import main
from colis.fulfillment.models import Shipment
from colis.orders.models import Order
from tests.orders.test_redaction import amazon, delivered, imported, later, no_window  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_dry_run_lists_what_the_command_then_redacts(api, amazon, no_window, capsys):  # noqa: F811
    # given two Amazon orders delivered 31 days ago and one delivered yesterday
    old = [delivered(api, imported(amazon, f"111-0000001-000000{i}")) for i in (1, 2)]
    recent = delivered(api, imported(amazon, "111-0000001-0000003"))
    Shipment.objects.filter(order__in=old).update(delivered_at=later(-31))
    Shipment.objects.filter(order=recent).update(delivered_at=later(-1))

    assert main(["redact", "--dry-run"]) == 0
    dry = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in dry[:-1]] == [o.number for o in old]
    assert dry[-1] == "2 orders would be redacted (dry run: nothing changed)"
    assert not Order.objects.filter(redacted_at__isnull=False).exists()

    assert main(["redact", "--limit", "1"]) == 0
    due = Shipment.objects.get(order=old[0]).delivered_at + timedelta(days=30)
    assert capsys.readouterr().out.splitlines() == [
        f"{old[0].number}\tAmazon FR\tdue since {due:%Y-%m-%d}",
        "1 order redacted",
    ]
    assert main(["redact"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 order redacted"
    assert main(["redact"]) == 0
    assert capsys.readouterr().out == "0 orders redacted\n"
    assert set(Order.objects.filter(redacted_at__isnull=True)) == {recent}


def test_a_limit_below_one_is_refused(db, capsys):
    assert main(["redact", "--limit", "0"]) == 1
    assert "--limit" in capsys.readouterr().err
