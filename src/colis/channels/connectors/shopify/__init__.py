"""Shopify through the Admin GraphQL API (2025-01): orders read with the `orders` query, each
package pushed with `fulfillmentCreate` against the order's open fulfillment orders, orders
cancelled with `orderCancel`, orders/* webhooks checked by their HMAC."""
