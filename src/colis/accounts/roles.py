"""Roles and what each may do. One table; every API write names the permission it needs."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner"
    MANAGER = "manager"
    STAFF = "staff"
    READONLY = "readonly"


READ = "read"
ORDERS_WRITE = "orders.write"
INVENTORY_WRITE = "inventory.write"
CATALOG_WRITE = "catalog.write"
LOCATIONS_WRITE = "locations.write"
SETTINGS_WRITE = "settings.write"
OUTBOX_MANAGE = "outbox.manage"
USERS_MANAGE = "users.manage"
# Giving money back (refunds) is the managers' and the owner's.
REFUNDS_WRITE = "refunds.write"
# What a fulfillment service's scoped token may do: read and answer its own FOs, ship them.
SERVICE_WORK = "service.work"

_STAFF = {READ, ORDERS_WRITE, INVENTORY_WRITE}
_MANAGER = _STAFF | {CATALOG_WRITE, LOCATIONS_WRITE, SETTINGS_WRITE, OUTBOX_MANAGE, REFUNDS_WRITE}
PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(_MANAGER | {USERS_MANAGE}),
    Role.MANAGER: frozenset(_MANAGER),
    Role.STAFF: frozenset(_STAFF),
    Role.READONLY: frozenset({READ}),
    # Not a staff role: the role of a fulfillment service's scoped token.
    "service": frozenset({SERVICE_WORK}),
}


def role_allows(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())
