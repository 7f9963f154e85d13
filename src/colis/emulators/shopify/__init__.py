"""A Shopify store behind its Admin GraphQL API (2025-01): `store` holds the orders,
`views` shows them as the schema's objects, `emulator` serves them over HTTP. A channel talks
to it with ACCESS_TOKEN and checks its webhooks with WEBHOOK_SECRET."""

from colis.emulators.shopify.emulator import (
    ACCESS_TOKEN,
    API_VERSION,
    SHOP_DOMAIN,
    WEBHOOK_SECRET,
    ShopifyEmulator,
)

__all__ = ["ACCESS_TOKEN", "API_VERSION", "SHOP_DOMAIN", "WEBHOOK_SECRET", "ShopifyEmulator"]
