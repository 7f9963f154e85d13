"""What every merchant UI template sees: what the signed-in user may do, and the navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from colis.accounts.roles import PERMISSIONS


def app_context(request: HttpRequest) -> dict[str, Any]:
    if not request.path.startswith("/app/"):
        return {}
    user = getattr(request, "user", None)
    allowed = (
        PERMISSIONS.get(user.role, frozenset())
        if user is not None and user.is_authenticated
        else frozenset()
    )
    # `can.orders_write`, `can.settings_write`, ...: templates show write controls only then.
    return {"can": {p.replace(".", "_"): True for p in allowed}}
