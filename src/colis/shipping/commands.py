"""`colis import-tracking FILE [--dry-run]`: a carrier's file of tracking numbers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SHOWN_ERRORS = 200


def cmd_import_tracking(args: argparse.Namespace) -> int:
    from colis.cli import _err, _setup

    _setup()
    from colis.core.actor import Actor
    from colis.core.errors import DomainError
    from colis.shipping.tracking_import import (
        MAX_BYTES,
        tracking_import_apply,
        tracking_import_check,
    )

    path = Path(args.file)
    try:
        if path.stat().st_size > MAX_BYTES:
            return _err(f"{path} is larger than {MAX_BYTES // 2**20} MB; split it")
        data = path.read_bytes()
    except OSError as exc:
        return _err(f"cannot read {path}: {exc.strerror or exc}")
    actor = Actor.system("cli import-tracking")
    service = tracking_import_check if args.dry_run else tracking_import_apply
    try:
        report = service(data=data, actor=actor)
    except DomainError as exc:
        return _err(f"{exc.code}: {exc.message}")
    for issue in report.errors[:SHOWN_ERRORS]:
        print(f"row {issue.row}: {issue.code}: {issue.message}")
    if len(report.errors) > SHOWN_ERRORS:
        print(f"... and {len(report.errors) - SHOWN_ERRORS} more errors")
    if args.verbose:
        for issue in report.skipped:
            print(f"row {issue.row}: {issue.code}: {issue.message}")
    verb = "would create" if report.dry_run else "created"
    made = len(report.shipments) if report.dry_run else report.created_shipments
    print(
        f"{report.rows} rows: {report.ok} ok, {len({e.row for e in report.errors})} with errors, "
        f"{len(report.skipped)} already applied; {verb} {made} shipments"
        + (" (dry run: nothing changed)" if report.dry_run else "")
    )
    sys.stdout.flush()
    return 1 if report.errors else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the tracking-import command to the `colis` parser."""
    command = sub.add_parser(
        "import-tracking",
        help="create shipments from a CSV of tracking numbers",
        description="Columns by header: order_number or channel_order_id, tracking_number, "
        "carrier, service, ship_date, sku, quantity, notes (BigCommerce shipment exports too).",
    )
    command.add_argument("file", help="the CSV file (UTF-8, comma or semicolon)")
    command.add_argument(
        "--dry-run", action="store_true", help="report what would happen; change nothing"
    )
    command.add_argument(
        "-v", "--verbose", action="store_true", help="also list the rows already applied"
    )
    command.set_defaults(func=cmd_import_tracking)
