"""`colis print ...`: packing slips, pick lists and labels as one PDF."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the document commands to the `colis` parser."""
