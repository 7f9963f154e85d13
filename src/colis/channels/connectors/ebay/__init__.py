"""eBay through the Sell Fulfillment API v1: orders read with getOrders/getOrder, each package
pushed with createShippingFulfillment, user access tokens minted from the seller's refresh
token."""
