"""CSV and XLSX writing: formula injection escaped, values typed, output streamed in chunks."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from colis.core import exports
from colis.core.exports import cell_text, csv_stream, xlsx_stream

DANGEROUS = ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd", '=HYPERLINK("http://x")']


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_that_would_start_a_formula_gets_a_leading_quote(text):
    assert cell_text(text) == "'" + text


@pytest.mark.parametrize("text", ["plain", "a=b", " =x", "", "1Z999", "#12"])
def test_other_text_is_left_alone(text):
    assert cell_text(text) == text


def test_numbers_dates_and_empty_values_are_written_as_themselves():
    assert cell_text(-5) == "-5"
    assert cell_text(Decimal("-12.50")) == "-12.50"
    assert cell_text(None) == ""
    assert cell_text(True) == "true"
    assert cell_text(date(2026, 1, 2)) == "2026-01-02"
    assert cell_text(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"


def test_csv_round_trips_with_every_dangerous_cell_escaped():
    # given rows holding formulas, quotes, commas and new lines
    rows = [(1, text, 'say "hi", then\nleave') for text in DANGEROUS]
    # when they are written
    data = b"".join(csv_stream(["id", "name", "note"], rows)).decode()
    # then a CSV reader gets them back, each formula made inert
    read = list(csv.reader(io.StringIO(data, newline="")))
    assert read[0] == ["id", "name", "note"]
    assert [r[1] for r in read[1:]] == ["'" + t for t in DANGEROUS]
    assert all(r[2] == 'say "hi", then\nleave' for r in read[1:])
    assert not any(cell.startswith(exports.FORMULA_STARTS) for r in read for cell in r)


def test_csv_comes_out_in_chunks_without_holding_every_row(monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_BYTES", 100)
    produced = 0

    def rows():
        nonlocal produced
        for i in range(1000):
            produced += 1
            yield (i, "x" * 20)

    stream = csv_stream(["id", "text"], rows())
    next(stream)
    # the first chunk leaves before most rows are even made
    assert produced < 10
    assert sum(len(c) for c in stream) > 20_000


def test_xlsx_holds_escaped_text_typed_numbers_and_no_formula():
    rows = [(1, "=1+1", Decimal("-3.5"), datetime(2026, 1, 2, tzinfo=UTC), "bell\x07 gone")]
    data = b"".join(xlsx_stream("orders", ["id", "name", "total", "at", "note"], rows))
    sheet = load_workbook(io.BytesIO(data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert sheet.title == "orders"
    assert values[0] == ["id", "name", "total", "at", "note"]
    assert values[1] == [1, "'=1+1", -3.5, "2026-01-02T00:00:00+00:00", "bell gone"]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
