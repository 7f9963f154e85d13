"""The connectors, one package per vendor, loaded by kind."""

from __future__ import annotations

from importlib import import_module

from colis.channels.connectors.base import Connector

CONNECTORS = {
    "amazon": "colis.channels.connectors.amazon.connector:AmazonConnector",
    "ebay": "colis.channels.connectors.ebay.connector:EbayConnector",
    "shopify": "colis.channels.connectors.shopify.connector:ShopifyConnector",
    "bigcommerce": "colis.channels.connectors.bigcommerce.connector:BigCommerceConnector",
}


def connector_class(kind: str) -> type[Connector]:
    module, name = CONNECTORS[kind].split(":")
    return getattr(import_module(module), name)
