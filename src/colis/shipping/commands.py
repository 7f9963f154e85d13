"""`colis import-tracking FILE [--dry-run]`: a carrier's file of tracking numbers."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the tracking-import command to the `colis` parser."""
