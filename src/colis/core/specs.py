"""Where the vendors' published API contracts live (OpenAPI/Swagger files, the Shopify GraphQL
schema, the tracking-number data): `COLIS_SPECS_DIR`, else a `shared/specs` folder beside the
checkout. The files are read as published; nothing here edits them."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import colis


class SpecsMissing(RuntimeError):
    """The contracts folder (or one file in it) is not on this machine."""


def _candidates() -> list[Path]:
    configured = os.environ.get("COLIS_SPECS_DIR", "")
    if configured:
        return [Path(configured)]
    checkout = Path(colis.__file__).resolve().parents[2]
    return [
        checkout.parent / "shared" / "specs",
        checkout / "shared" / "specs",
        Path("/work/shared/specs"),
    ]


@lru_cache(maxsize=4)
def _find(key: str) -> Path | None:
    for candidate in _candidates():
        if candidate.is_dir():
            return candidate
    return None


def specs_dir() -> Path | None:
    """The contracts folder, or None when this machine has none."""
    return _find(os.environ.get("COLIS_SPECS_DIR", ""))


def spec_path(relative: str) -> Path:
    """One contract file (`ebay/sell_fulfillment_v1_oas3.json`). Raises SpecsMissing."""
    folder = specs_dir()
    if folder is None or not (folder / relative).is_file():
        raise SpecsMissing(
            f"The vendor contract {relative} is not here; set COLIS_SPECS_DIR to the folder "
            "that holds the vendors' specs."
        )
    return folder / relative
