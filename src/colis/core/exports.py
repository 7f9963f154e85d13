"""Writing tables as CSV or XLSX, streamed, with every text cell made safe for spreadsheets.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (and a leading tab
or carriage return can hide one), so a buyer's name like `=HYPERLINK(...)` would become a link
in the merchant's Excel. Such text gets a leading single quote (OWASP's "CSV injection"
advice). Numbers are written as numbers: a negative total is not a formula.

Both writers take rows lazily and hold only a chunk at a time: CSV goes out as it is written;
XLSX is built by openpyxl's write-only mode in a temporary file (its rows go to disk as they
come), then read back out in chunks.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_BYTES = 64 * 1024
# What XML 1.0 cannot hold (openpyxl refuses it): control characters other than tab, LF, CR.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def cell_text(value: Any) -> str:
    """A value as the text of a CSV cell: escaped when it would start a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return text_escape(str(value))


def text_escape(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """UTF-8 CSV (comma, CRLF line ends as RFC 4180 has them), in chunks of about 64 KB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([text_escape(h) for h in header])
    for row in rows:
        writer.writerow([cell_text(v) for v in row])
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _xlsx_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        # Spreadsheets have no time zones: UTC, written out so nobody has to guess.
        return value.isoformat()
    if isinstance(value, date):
        return value
    return text_escape(_XML_ILLEGAL.sub("", str(value)))


def xlsx_stream(
    title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Iterator[bytes]:
    """One worksheet named `title`, header row first, in chunks of about 64 KB."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([_xlsx_value(h) for h in header])
    for row in rows:
        sheet.append([_xlsx_value(v) for v in row])
    with tempfile.TemporaryFile() as out:
        workbook.save(out)
        out.seek(0)
        while chunk := out.read(CHUNK_BYTES):
            yield chunk
