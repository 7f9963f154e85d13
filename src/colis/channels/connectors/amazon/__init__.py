"""Amazon Selling Partner API: orders read with Orders 2026-01-01 (`searchOrders`, `getOrder`),
shipments told with Orders v0 `confirmShipment`, one call per package."""
