"""Colis: self-hosted order fulfillment for online sellers."""

__version__ = "0.1.0"
