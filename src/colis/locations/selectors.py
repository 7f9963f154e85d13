from __future__ import annotations

from django.db.models import QuerySet

from colis.core.errors import NotFound
from colis.locations.models import Location


def location_get(*, location_id: int) -> Location:
    location = Location.objects.filter(pk=location_id).first()
    if location is None:
        raise NotFound("No such location.", code="location_not_found")
    return location


def location_list(*, active: bool | None = None) -> QuerySet[Location]:
    qs = Location.objects.order_by("priority", "pk")
    if active is not None:
        qs = qs.filter(active=active)
    return qs
