"""Reads of the carrier registry and the package presets."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.db.models.functions import Lower

from colis.core.cache import Snapshot
from colis.core.errors import NotFound
from colis.shipping.models import Carrier, PackagePreset
from colis.shipping.tracking import tracking_data

OTHER = "other"


def carrier_list(*, active: bool | None = None) -> QuerySet[Carrier]:
    """Carriers by name, "Other" last."""
    qs = Carrier.objects.annotate(
        last=Case(When(code=OTHER, then=Value(1)), default=Value(0), output_field=IntegerField())
    ).order_by("last", Lower("name"), "pk")
    if active is not None:
        qs = qs.filter(active=active)
    return qs


def carrier_get_by_code(*, code: str) -> Carrier:
    """The carrier with this code (any case). Raises NotFound `carrier_not_found`."""
    carrier = Carrier.objects.filter(code=(code or "").strip().lower()).first()
    if carrier is None:
        raise NotFound(f"No carrier has the code {code!r}.", code="carrier_not_found")
    return carrier


def _registry_load() -> tuple[list[Carrier], PackagePreset | None]:
    carriers = list(Carrier.objects.order_by("pk"))
    default = PackagePreset.objects.filter(is_default=True, active=True).first()
    return carriers, default


# Every carrier and the default package preset: shipping reads them on every shipment.
_REGISTRY = Snapshot(_registry_load)


def _snapshot() -> tuple[list[Carrier], PackagePreset | None]:
    return _REGISTRY.get()


def registry_forget() -> None:
    _REGISTRY.forget()


def carriers_active_with_formats() -> list[Carrier]:
    return [c for c in _snapshot()[0] if c.active and c.data_courier_codes]


def carrier_find(*, value: str) -> Carrier | None:
    """The carrier whose code or name is `value`, ignoring case; None when there is none."""
    value = (value or "").strip()
    if not value:
        return None
    carriers = _snapshot()[0]
    lowered = value.lower()
    for carrier in carriers:
        if carrier.code == lowered:
            return carrier
    for carrier in carriers:
        if carrier.name.lower() == lowered:
            return carrier
    return None


def carrier_has_formats(carrier: Carrier) -> bool:
    """Whether the tracking-number data holds formats this carrier claims."""
    couriers = tracking_data().couriers
    return any(str(ref).partition(":")[0] in couriers for ref in carrier.data_courier_codes)


def package_list(*, active: bool | None = None) -> QuerySet[PackagePreset]:
    qs = PackagePreset.objects.order_by("pk")
    if active is not None:
        qs = qs.filter(active=active)
    return qs


def package_get(*, package_id: int) -> PackagePreset:
    """Raises NotFound `package_preset_not_found`."""
    preset = PackagePreset.objects.filter(pk=package_id).first()
    if preset is None:
        raise NotFound("No such package preset.", code="package_preset_not_found")
    return preset


def package_find(*, value: str) -> PackagePreset | None:
    """The preset named `value` (ignoring case), else the one whose id is `value`."""
    value = (value or "").strip()
    if not value:
        return None
    by_name = PackagePreset.objects.filter(name__iexact=value).order_by("pk").first()
    if by_name is not None or not value.isdigit() or len(value) > 18:
        return by_name
    return PackagePreset.objects.filter(pk=int(value)).first()


def package_default() -> PackagePreset | None:
    return _snapshot()[1]
