from __future__ import annotations

import pytest

from colis.cli import main
from colis.core.models import Event
from tests.documents.helpers import pdf_pages
from tests.factories import order_body


@pytest.mark.django_db(transaction=True)
def test_colis_print_writes_the_pdf_with_a_progress_bar(api, shop, tmp_path, capsys):
    # given two orders awaiting fulfillment
    numbers = [api.post("/api/v1/orders", order_body([("BAR-A", 1)])).json()["number"]
               for _ in range(2)]  # fmt: skip
    out = tmp_path / "slips.pdf"
    # when `colis print packing-slips --status awaiting_fulfillment -o FILE` runs
    code = main(["print", "packing-slips", "--status", "awaiting_fulfillment", "--mark-printed",
                 "-o", str(out)])  # fmt: skip
    # then the file holds both slips, the bar ran to the end, the orders are marked
    assert code == 0
    pages = pdf_pages(out.read_bytes())
    assert [f"#{n}" in p for n, p in zip(numbers, pages, strict=True)] == [True, True]
    captured = capsys.readouterr()
    assert "2/2 orders" in captured.err and "wrote" in captured.out
    assert Event.objects.filter(kind="documents_printed").count() == 2
    assert main(["print", "pick-list", "--status", "awaiting_fulfillment", "-q", "-o",
                 str(tmp_path / "pick.pdf")]) == 0  # fmt: skip
    assert "BAR-A" in pdf_pages((tmp_path / "pick.pdf").read_bytes())[0]
    assert main(["print", "labels", "--status", "shipped", "-o", str(tmp_path / "l.pdf")]) == 1
    assert "No order matches" in capsys.readouterr().err
