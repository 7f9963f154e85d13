"""BigCommerce: orders read and shipments pushed through the Orders v2 REST API."""
