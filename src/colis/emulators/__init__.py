"""Local emulators of the vendors' APIs (test support and demo): `colis emulate <vendor>`."""

from __future__ import annotations

from importlib import import_module
from typing import Any

EMULATORS = {
    "amazon": "colis.emulators.amazon:AmazonEmulator",
    "ebay": "colis.emulators.ebay:EbayEmulator",
    "shopify": "colis.emulators.shopify:ShopifyEmulator",
    "bigcommerce": "colis.emulators.bigcommerce:BigCommerceEmulator",
}


def emulator_class(kind: str) -> Any:
    module, name = EMULATORS[kind].split(":")
    return getattr(import_module(module), name)
