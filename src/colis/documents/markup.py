"""The packing slip's merchant-editable wording: a Liquid template rendering a line-oriented
markup that the PDF and HTML renderers lay out.

One element per line, `kind: content`:

    page: a4 | letter          paper size (default a4)
    title: Packing slip        large heading
    barcode: 1042              Code 128 at the top right, with its text under it
    from: ...  /  to: ...      two side-by-side blocks (first line of each in bold)
    field: Label | value       a label and its value (skipped when the value is empty)
    table: SKU | Item | Qty    a table's headings; `row: a | b | c` its rows
    heading: / text: / small:  paragraphs
    rule:  /  space:           a line across the page; some room
    footer: ...                at the bottom of every page of the slip

Blank lines are ignored; an element with nothing after its colon is skipped. The template runs
in the email templates' sandbox (`colis.notifications.render`), so it cannot run code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from liquid import BoundTemplate
from liquid.exceptions import LiquidError

from colis.notifications.render import sandbox_env

KINDS = frozenset(
    {"page", "title", "barcode", "from", "to", "field", "table", "row", "heading", "text",
     "small", "rule", "space", "footer"}
)  # fmt: skip
# Elements that mean something without content.
BARE = frozenset({"rule", "space"})
MAX_SOURCE = 20_000

PACKING_SLIP_DEFAULT = """\
title: Packing slip
barcode: {{ order.number }}
from: {{ shop.name }}
{% for line in shop.address_lines %}from: {{ line }}
{% endfor %}to: Ship to
{% for line in order.shipping_address_lines %}to: {{ line }}
{% endfor %}space:
field: Order | #{{ order.number }}
field: Date | {{ order.date }}
field: Shipping | {{ order.shipping_method }}
{% if fulfillment_order %}field: Ships from | {{ fulfillment_order.location }}
{% endif %}space:
table: SKU | Item | Bin | Qty | Ordered
{% for item in items %}row: {{ item.sku }} | {{ item.title }} | {{ item.bin }} | \
{{ item.quantity }} | {{ item.ordered }}
{% endfor %}rule:
{% if order.note != blank %}heading: Notes
text: {{ order.note }}
{% endif %}space:
heading: Returns
text: Something not right? Write to us within 30 days with your order number and we will \
arrange a return.
footer: Thank you for your order from {{ shop.name }}.
"""

SAMPLE_CONTEXT: dict[str, Any] = {
    "shop": {"name": "Atelier Colis", "address_lines": ["8 rue du Faubourg", "75011 Paris", "FR"]},
    "order": {
        "id": 1, "number": "1042", "date": "2026-11-27", "email": "jeanne@example.com",
        "phone": "", "buyer_name": "Jeanne Martin", "shipping_method": "Colissimo",
        "note": "Gift: please leave out the invoice.", "tags": [],
        "shipping_address": {
            "name": "Jeanne Martin", "company": "", "line1": "12 rue de la Paix", "line2": "",
            "city": "Paris", "region": "", "postal_code": "75002", "country": "FR",
        },
        "shipping_address_lines": ["Jeanne Martin", "12 rue de la Paix", "75002 Paris", "FR"],
    },
    "fulfillment_order": {"id": 1, "location": "Main warehouse"},
    "items": [
        {"sku": "TEE-BLK-M", "title": "Organic cotton tee, black, M", "quantity": 2,
         "ordered": 2, "bin": "A-01-3"},
        {"sku": "MUG-01", "title": "Stoneware mug", "quantity": 1, "ordered": 1, "bin": ""},
    ],
    "total_quantity": 3,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Element:
    kind: str
    parts: tuple[str, ...]

    @property
    def text(self) -> str:
        return " | ".join(self.parts)


class MarkupError(Exception):
    """A problem in a template, with the line it is on (1-based, 0 when unknown)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@lru_cache(maxsize=64)
def template_compile(source: str) -> BoundTemplate:
    """Parse once per distinct source (a print run parses its template once). Raises
    MarkupError naming the line."""
    try:
        return sandbox_env(False).from_string(source)
    except LiquidError as exc:
        raise _liquid_error(exc, source) from None


def _liquid_error(exc: LiquidError, source: str) -> MarkupError:
    first = (str(exc).splitlines() or ["template error"])[0]
    index = getattr(getattr(exc, "token", None), "start_index", -1)
    if isinstance(index, int) and index >= 0:
        return MarkupError(first, source.count("\n", 0, index) + 1)
    # Unclosed blocks are found at the end of the source.
    return MarkupError(first, source.rstrip("\n").count("\n") + 1)


def markup_render(template: BoundTemplate, context: dict[str, Any], source: str = "") -> str:
    try:
        return template.render(**context)
    except LiquidError as exc:
        raise _liquid_error(exc, source) from None


def markup_parse(text: str, *, strict: bool = False) -> list[Element]:
    """The elements of rendered markup. A line that is not `kind: ...` is text, or, when
    `strict`, a MarkupError naming its line."""
    out: list[Element] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        kind, sep, rest = line.partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in KINDS:
            if strict:
                raise MarkupError(
                    f"{line[:40]!r} is not an element (one of {', '.join(sorted(KINDS))}, "
                    "then a colon)",
                    number,
                )
            out.append(Element("text", (line,)))
            continue
        rest = rest.strip()
        if not rest and kind not in BARE:
            continue
        if kind in ("field", "table", "row"):
            parts = tuple(p.strip() for p in rest.split("|"))
            if kind == "field" and (len(parts) < 2 or not parts[1]):
                continue
            out.append(Element(kind, parts))
        else:
            out.append(Element(kind, (rest,)))
    return out


def template_check(source: str) -> None:
    """Refuse a template that does not parse, renders badly with sample data, or renders
    something that is not markup. Raises MarkupError naming the template's line."""
    if len(source) > MAX_SOURCE:
        raise MarkupError(f"At most {MAX_SOURCE:,} characters.")
    text = markup_render(template_compile(source), SAMPLE_CONTEXT, source)
    try:
        markup_parse(text, strict=True)
    except MarkupError as exc:
        raise MarkupError(exc.message, _source_line(source, text, exc.line)) from None


def _source_line(source: str, rendered: str, line: int) -> int:
    """The template line that produced a rendered line: the first source line with the same
    leading word, else the rendered line number."""
    wanted = rendered.splitlines()[line - 1].strip()
    head = wanted.split(":", 1)[0].split()[0] if wanted.split() else ""
    for number, raw in enumerate(source.splitlines(), start=1):
        if head and raw.strip().startswith(head):
            return number
    return line
