"""HTTP API: tracking_imports."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["tracking_imports"])
