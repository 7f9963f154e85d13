"""A packing slip as an HTML page, for printing one from a browser. Same markup as the PDF."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from reportlab.graphics import renderSVG
from reportlab.graphics.barcode import createBarcodeDrawing

from colis.documents.logo import HtmlLogo
from colis.documents.markup import Element, markup_parse

STYLE = """
body{font-family:Helvetica,Arial,sans-serif;font-size:10pt;margin:0}
.slip{max-width:190mm;margin:12mm auto;page-break-after:always;position:relative}
h1{font-size:18pt;margin:0 0 8pt}.logo{display:block;margin:0 0 10pt}
.barcode{position:absolute;right:0;top:0;text-align:center;font-family:Courier,monospace}
.blocks{display:flex;gap:24pt;margin:8pt 0}.blocks div{flex:1}.blocks b{display:block}
dl{display:grid;grid-template-columns:90pt auto;margin:4pt 0}dt{font-weight:bold;font-size:9pt}
dd{margin:0}table{width:100%;border-collapse:collapse;margin:6pt 0;font-size:9pt}
th{text-align:left;border-bottom:1px solid #000}td{padding:2pt 0}
hr{border:0;border-top:1px solid #000}.space{height:8pt}small{font-size:8pt}
footer{font-style:italic;text-align:center;margin-top:16pt;font-size:9pt}
@media print{.slip{margin:0 auto}}
"""


def _barcode_svg(value: str) -> str:
    try:
        drawing = createBarcodeDrawing(
            "Code128", value=value, barHeight=38, barWidth=1.2, humanReadable=False
        )
    except (ValueError, KeyError, TypeError):
        return ""
    svg = renderSVG.drawToString(drawing)
    return svg[svg.find("<svg") :]


def _logo_img(logo: HtmlLogo) -> str:
    size = f"width:{logo.width:.1f}pt;height:{logo.height:.1f}pt"
    return f'<img class="logo" src="{logo.data_url}" style="{size}" alt="">'


def slip_html(elements: Sequence[Element], logo: HtmlLogo | None = None) -> str:
    out: list[str] = ['<section class="slip">']
    barcodes = [e.text for e in elements if e.kind == "barcode"]
    if barcodes:
        out.append(
            f'<div class="barcode">{_barcode_svg(barcodes[0])}<br>{escape(barcodes[0])}</div>'
        )
    if logo is not None:
        out.append(_logo_img(logo))
    i = 0
    while i < len(elements):
        e = elements[i]
        if e.kind in ("from", "to"):
            j = i
            while j < len(elements) and elements[j].kind in ("from", "to"):
                j += 1
            out.append('<div class="blocks">')
            for kind in ("from", "to"):
                lines = [escape(x.text) for x in elements[i:j] if x.kind == kind]
                if lines:
                    lines[0] = f"<b>{lines[0]}</b>"
                out.append(f"<div>{'<br>'.join(lines)}</div>")
            out.append("</div>")
            i = j
            continue
        if e.kind == "table":
            out.append("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in e.parts))
            out.append("</tr>")
            i += 1
            while i < len(elements) and elements[i].kind == "row":
                cells = elements[i].parts
                out.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
                i += 1
            out.append("</table>")
            continue
        out.append(_one(e))
        i += 1
    out.append("</section>")
    return "".join(out)


def _one(e: Element) -> str:
    text = escape(e.text)
    if e.kind == "title":
        return f"<h1>{text}</h1>"
    if e.kind == "field":
        value = escape(" | ".join(e.parts[1:]))
        return f"<dl><dt>{escape(e.parts[0])}</dt><dd>{value}</dd></dl>"
    if e.kind == "heading":
        return f"<h3>{text}</h3>"
    if e.kind == "text":
        return f"<p>{text}</p>"
    if e.kind == "small":
        return f"<p><small>{text}</small></p>"
    if e.kind == "rule":
        return "<hr>"
    if e.kind == "space":
        return '<div class="space"></div>'
    if e.kind == "footer":
        return f"<footer>{text}</footer>"
    return ""


def slips_html(markups: Sequence[str], title: str, logo: HtmlLogo | None = None) -> str:
    """The slips as one page; `logo` (drawn at the top left of each) is embedded as a data: URL
    in every slip."""
    body = "".join(slip_html(markup_parse(m), logo) for m in markups)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )
