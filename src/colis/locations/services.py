"""Locations: create, update, reorder priorities, deactivate, delete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max, ProtectedError

from colis.core.actor import Actor
from colis.core.addresses import address_normalize, phone_normalize
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.locks import lock_by_pk
from colis.core.patch import UNSET, Given
from colis.core.timeline import event_record
from colis.locations.models import Location


@dataclass(frozen=True, kw_only=True)
class LocationData(Given):
    name: str = UNSET
    address: dict[str, Any] = UNSET
    phone: str = UNSET
    fulfills_online_orders: bool = UNSET
    active: bool = UNSET
    is_default: bool = UNSET
    allow_negative_stock: bool = UNSET


def _clean(values: dict[str, Any], *, country: str, name: str = "") -> dict[str, Any]:
    out = dict(values)
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
        if not out["name"] or len(out["name"]) > 200:
            raise ValidationError(
                "A location needs a name.",
                code="invalid_location",
                fields={"name": "Between 1 and 200 characters."},
            )
    if "address" in out:
        address = dict(out["address"] or {})
        if not address.get("name") and not address.get("company"):
            address["name"] = out.get("name") or name
        out["address"] = address_normalize(address, prefix="address")
        country = out["address"]["country"]
    if out.get("phone"):
        out["phone"] = phone_normalize(out["phone"], country=country)
    return out


def _event(location: Location, kind: str, actor: Actor, data: dict[str, Any] | None = None) -> None:
    event_record(
        subject_type="location", subject_id=location.pk, kind=kind, actor=actor, data=data or {}
    )


def location_create(*, data: LocationData, actor: Actor) -> Location:
    """A new location goes to the bottom of the priority list; the first one is the default."""
    values = data.given()
    if "address" not in values:
        raise ValidationError(
            "A location needs an address.",
            code="invalid_location",
            fields={"address": "This field is required."},
        )
    values = _clean(values, country="")
    with transaction.atomic():
        # Locking the current default serialises concurrent creations on PostgreSQL.
        list(Location.objects.select_for_update().filter(is_default=True))
        last = Location.objects.aggregate(m=Max("priority"))["m"] or 0
        make_default = values.pop("is_default", False) or not Location.objects.exists()
        location = Location.objects.create(priority=last + 1, **values)
        if make_default:
            _set_default(location)
        _event(location, "location_created", actor, {"name": location.name})
    return location


def _set_default(location: Location) -> None:
    Location.objects.filter(is_default=True).exclude(pk=location.pk).update(is_default=False)
    if not location.active:
        raise Conflict(
            "An inactive location cannot be the default.",
            code="default_location_inactive",
            fields={"is_default": "Inactive."},
        )
    location.is_default = True
    location.save(update_fields=["is_default"])


def location_update(*, location_id: int, data: LocationData, actor: Actor) -> Location:
    """Change a location. Raises NotFound, ValidationError, Conflict."""
    with transaction.atomic():
        location = lock_by_pk(Location.objects.all(), [location_id]).get(location_id)
        if location is None:
            raise NotFound("No such location.", code="location_not_found")
        values = _clean(
            data.given(), country=location.address.get("country", ""), name=location.name
        )
        make_default = values.pop("is_default", None)
        if values.get("active") is False and (location.is_default or make_default):
            raise Conflict(
                "The default location cannot be deactivated; make another the default first.",
                code="default_location_inactive",
                fields={"active": "This is the default location."},
            )
        if make_default is False and location.is_default:
            raise Conflict(
                "Choose another default location instead.",
                code="default_location_required",
                fields={"is_default": "Required."},
            )
        changed = {k: v for k, v in values.items() if getattr(location, k) != v}
        for key, value in changed.items():
            setattr(location, key, value)
        location.save()
        if make_default and not location.is_default:
            _set_default(location)
            changed["is_default"] = True
        if changed:
            _event(location, "location_updated", actor, {"fields": sorted(changed)})
    return location


def location_reorder(*, location_ids: list[int], actor: Actor) -> list[Location]:
    """Set every location's priority at once from a list holding each location exactly once."""
    if len(set(location_ids)) != len(location_ids):
        raise ValidationError(
            "Each location must appear once.",
            code="invalid_priority",
            fields={"location_ids": "Duplicate ids."},
        )
    with transaction.atomic():
        locations = lock_by_pk(
            Location.objects.all(), Location.objects.values_list("pk", flat=True)
        )
        unknown = [i for i in location_ids if i not in locations]
        missing = [i for i in locations if i not in set(location_ids)]
        if unknown or missing:
            raise ValidationError(
                "The list must hold every location exactly once.",
                code="invalid_priority",
                fields={"location_ids": {"unknown": unknown, "missing": missing}},
            )
        for rank, pk in enumerate(location_ids, start=1):
            locations[pk].priority = rank
        Location.objects.bulk_update(locations.values(), ["priority"])
        event_record(
            subject_type="location",
            subject_id=location_ids[0] if location_ids else 0,
            kind="location_priorities_set",
            actor=actor,
            data={"location_ids": location_ids},
        )
    return sorted(locations.values(), key=lambda loc: loc.priority)


def location_delete(*, location_id: int, actor: Actor) -> None:
    """Delete a location that holds no stock and no open work; else Conflict (deactivate it)."""
    from colis.inventory.selectors import location_open_work

    with transaction.atomic():
        location = lock_by_pk(Location.objects.all(), [location_id]).get(location_id)
        if location is None:
            raise NotFound("No such location.", code="location_not_found")
        if location.is_default:
            raise Conflict("The default location cannot be deleted.", code="location_is_default")
        work = location_open_work(location_id=location_id)
        if work:
            raise Conflict(
                "This location holds stock or open work; deactivate it instead.",
                code="location_in_use",
                fields=work,
            )
        _event(location, "location_deleted", actor, {"name": location.name})
        try:
            with transaction.atomic():
                location.delete()
        except ProtectedError:
            raise Conflict(
                "This location has stock history (ledger, receipts or transfers); "
                "deactivate it instead.",
                code="location_has_history",
            ) from None
        remaining = Location.objects.order_by("priority", "pk")
        for rank, loc in enumerate(remaining, start=1):
            if loc.priority != rank:
                Location.objects.filter(pk=loc.pk).update(priority=rank)
