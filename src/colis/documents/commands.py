"""`colis print ...`: packing slips, pick lists and labels as one PDF."""

from __future__ import annotations

import argparse
import sys
import time

DOCUMENTS = {"packing-slips": "packing_slips", "pick-list": "pick_list", "labels": "labels"}


class ProgressBar:
    """A one-line bar on stderr, redrawn at most ten times a second."""

    def __init__(self, label: str, stream: object = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.shown = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.shown < 0.1:
            return
        self.shown = now
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        print(f"\r{self.label} [{bar}] {done}/{total} orders", end="", file=self.stream)
        if done >= total:
            print(file=self.stream)


def cmd_print(args: argparse.Namespace) -> int:
    from colis.cli import _err, _setup

    _setup()
    from colis.core.actor import Actor
    from colis.core.errors import DomainError
    from colis.documents.markup import MarkupError
    from colis.documents.render import labels_pdf, packing_slips_pdf, pick_list_pdf
    from colis.documents.selectors import document_order_ids
    from colis.documents.services import orders_mark_printed
    from colis.documents.templates import template_source
    from colis.orders.selectors import OrderFilters

    document = DOCUMENTS[args.document]
    try:
        if args.ids:
            ids = document_order_ids(order_ids=[int(x) for x in args.ids.split(",") if x])
        else:
            filters = OrderFilters(
                status=args.status or "",
                channel=args.channel or "",
                location_id=args.location,
            )
            ids = document_order_ids(filters=filters)
    except ValueError:
        return _err("--ids takes order ids separated by commas")
    except DomainError as exc:
        return _err(f"{exc.message} {exc.fields or ''}".strip())
    progress = None if args.quiet else ProgressBar(args.document)
    if document == "packing_slips":
        pieces = packing_slips_pdf(
            ids,
            source=template_source("packing_slip"),
            location_id=args.location,
            group_by=args.group_by,
            progress=progress,
        )
    elif document == "pick_list":
        pieces = pick_list_pdf(ids, location_id=args.location, progress=progress)
    else:
        pieces = labels_pdf(ids, location_id=args.location, progress=progress)
    try:
        with open(args.output, "wb") as out:
            for piece in pieces:
                out.write(piece)
    except MarkupError as exc:
        return _err(f"the packing slip template is not valid: {exc}")
    except OSError as exc:
        return _err(f"cannot write {args.output}: {exc}")
    if args.mark_printed or args.move_to_awaiting_shipment:
        marks = orders_mark_printed(
            order_ids=ids,
            document=document,
            move_to_awaiting_shipment=args.move_to_awaiting_shipment,
            actor=Actor.system("cli"),
        )
        if args.move_to_awaiting_shipment:
            print(f"{len(marks.moved)} orders moved to awaiting shipment", file=sys.stderr)
    print(f"wrote {args.output} ({len(ids)} orders)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the document commands to the `colis` parser."""
    parser = sub.add_parser("print", help="print packing slips, a pick list or labels as a PDF")
    parser.add_argument("document", choices=sorted(DOCUMENTS))
    parser.add_argument("--status", help="order statuses, by name or id, comma-separated")
    parser.add_argument("--channel", help="orders from this channel (name or id)")
    parser.add_argument("--location", type=int, help="only what ships from this location id")
    parser.add_argument("--ids", help="order ids, comma-separated (instead of filters)")
    parser.add_argument(
        "--group-by",
        choices=["fulfillment_order", "order"],
        default="fulfillment_order",
        help="packing slips: one per fulfillment order (default) or per order",
    )
    parser.add_argument("--mark-printed", action="store_true", help="note it on each order")
    parser.add_argument(
        "--move-to-awaiting-shipment",
        action="store_true",
        help="move orders awaiting fulfillment to awaiting shipment",
    )
    parser.add_argument("-o", "--output", required=True, help="the PDF file to write")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=cmd_print)
