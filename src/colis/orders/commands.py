"""`colis redact [--dry-run] [--limit N]`: take out the buyer data of orders past retention."""

from __future__ import annotations

import argparse
import sys


def cmd_redact(args: argparse.Namespace) -> int:
    from colis.cli import _err, _setup

    _setup()
    from django.utils import timezone

    from colis.core.actor import Actor
    from colis.orders.redaction import orders_redact

    if args.limit is not None and args.limit < 1:
        return _err("--limit must be 1 or more")
    report = orders_redact(
        now=timezone.now(), dry_run=args.dry_run, limit=args.limit, actor=Actor.system("cli redact")
    )
    for due in report.orders:
        print(f"{due.number}\t{due.channel}\tdue since {due.due_at:%Y-%m-%d}")
    count = len(report.orders)
    verb = "would be redacted" if report.dry_run else "redacted"
    print(
        f"{count} {'order' if count == 1 else 'orders'} {verb}"
        + (f"; {report.channel_records} channel orders never imported" if report.channel_records
           else "")
        + (" (dry run: nothing changed)" if report.dry_run else "")
    )  # fmt: skip
    sys.stdout.flush()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the redact command to the `colis` parser."""
    command = sub.add_parser(
        "redact",
        help="remove buyer personal data of orders past their retention",
        description="Names, addresses (but the country and region), phones, emails and notes "
        "of orders whose channel's (or the shop's) retention has run out. The worker does this "
        "once a day.",
    )
    command.add_argument(
        "--dry-run", action="store_true", help="list the orders that would be redacted"
    )
    command.add_argument("--limit", type=int, help="redact at most N orders")
    command.set_defaults(func=cmd_redact)
