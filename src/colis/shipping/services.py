"""Carrier registry and package presets: create, update, seed. The resolvers the fulfillment
engine calls (`tracking_resolve`, `package_resolve`) live in `resolve.py` and are exported here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.locks import lock_by_pk
from colis.core.patch import UNSET, Given
from colis.core.timeline import event_record
from colis.shipping.models import Carrier, PackagePreset
from colis.shipping.resolve import (
    MAX_DIMENSION_MM,
    MAX_WEIGHT_GRAMS,
    ResolvedTracking,
    package_resolve,
    tracking_resolve,
)
from colis.shipping.seed import carriers_apply
from colis.shipping.selectors import OTHER, registry_forget
from colis.shipping.tracking import tracking_data

__all__ = [
    "UNSET",
    "CarrierData",
    "PackageData",
    "ResolvedTracking",
    "carrier_create",
    "carrier_update",
    "carriers_seed",
    "package_create",
    "package_resolve",
    "package_update",
    "tracking_resolve",
]

CHANNELS = ("shopify", "bigcommerce", "amazon", "ebay")
_CODE = re.compile(r"[a-z0-9][a-z0-9_]{0,49}")
_REF = re.compile(r"[a-z0-9_]{1,50}(:[A-Za-z0-9_]{1,50})?")


@dataclass(frozen=True, kw_only=True)
class CarrierData(Given):
    code: str = UNSET
    name: str = UNSET
    tracking_url_template: str = UNSET
    data_courier_codes: list[str] = UNSET
    channel_codes: dict[str, str] = UNSET
    active: bool = UNSET


@dataclass(frozen=True, kw_only=True)
class PackageData(Given):
    name: str = UNSET
    length_mm: int = UNSET
    width_mm: int = UNSET
    height_mm: int = UNSET
    weight_grams: int = UNSET
    is_default: bool = UNSET
    active: bool = UNSET


# --- carriers -----------------------------------------------------------------------------------


def _carrier_clean(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    problems: dict[str, Any] = {}
    if "code" in out:
        out["code"] = (out["code"] or "").strip().lower()
        if not _CODE.fullmatch(out["code"]):
            problems["code"] = "1 to 50 lower-case letters, digits or underscores."
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
        if not 1 <= len(out["name"]) <= 100:
            problems["name"] = "Between 1 and 100 characters."
    if "tracking_url_template" in out:
        out["tracking_url_template"] = template = (out["tracking_url_template"] or "").strip()
        if template and not _template_ok(template):
            problems["tracking_url_template"] = (
                "An http(s) URL of up to 500 characters with one {number} placeholder."
            )
    if "data_courier_codes" in out:
        refs, problem = _refs_clean(out["data_courier_codes"] or [])
        out["data_courier_codes"] = refs
        if problem:
            problems["data_courier_codes"] = problem
    if "channel_codes" in out:
        codes = {k: (v or "").strip() for k, v in (out["channel_codes"] or {}).items()}
        for key, value in codes.items():
            if key not in CHANNELS:
                problems[f"channel_codes.{key}"] = f"Channels are {', '.join(CHANNELS)}."
            elif len(value) > 100:
                problems[f"channel_codes.{key}"] = "At most 100 characters."
        out["channel_codes"] = {k: v for k, v in codes.items() if v}
    if problems:
        raise ValidationError("The carrier is not valid.", code="invalid_carrier", fields=problems)
    return out


def _template_ok(template: str) -> bool:
    if len(template) > 500 or template.count("{number}") != 1:
        return False
    parts = urlsplit(template.replace("{number}", "X"))
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and "{" not in parts.geturl()


def _refs_clean(refs: list[str]) -> tuple[list[str], str]:
    """Tidy refs; say what is wrong with them ("" when nothing is)."""
    cleaned = list(dict.fromkeys(str(r).strip() for r in refs if str(r).strip()))
    if len(cleaned) > 20 or not all(_REF.fullmatch(r) for r in cleaned):
        return cleaned, "Up to 20 entries like 'ups', 'dhl:dhl_express' or 's10:US'."
    known = tracking_data().couriers
    unknown = [r for r in cleaned if known and r.partition(":")[0] not in known]
    if unknown:
        return cleaned, f"Not in the tracking-number data: {', '.join(unknown)}."
    return cleaned, ""


def _name_taken(name: str, exclude_pk: int | None) -> None:
    others = Carrier.objects.exclude(pk=exclude_pk) if exclude_pk else Carrier.objects.all()
    if others.filter(name__iexact=name).exists() or others.filter(code=name.lower()).exists():
        raise Conflict(
            f"Another carrier is already called {name!r}.",
            code="carrier_name_taken",
            fields={"name": "Taken by another carrier's name or code."},
        )


def _registry_changed() -> None:
    # Now for this transaction's own reads, and again once the change is visible to all.
    registry_forget()
    transaction.on_commit(registry_forget)


def _carrier_event(carrier: Carrier, kind: str, actor: Actor, data: dict[str, Any]) -> None:
    _registry_changed()
    event_record(subject_type="carrier", subject_id=carrier.pk, kind=kind, actor=actor, data=data)


def carrier_create(*, data: CarrierData, actor: Actor) -> Carrier:
    """Add a carrier. Raises ValidationError `invalid_carrier` (code and name are required),
    Conflict `carrier_code_taken` or `carrier_name_taken`."""
    values = _carrier_clean(data.given())
    missing = {f: "This field is required." for f in ("code", "name") if f not in values}
    if missing:
        raise ValidationError("The carrier is not valid.", code="invalid_carrier", fields=missing)
    with transaction.atomic():
        if Carrier.objects.filter(code=values["code"]).exists():
            raise Conflict(
                f"A carrier with the code {values['code']!r} exists.",
                code="carrier_code_taken",
                fields={"code": "Taken."},
            )
        _name_taken(values["name"], None)
        carrier = Carrier.objects.create(**values)
        _carrier_event(carrier, "carrier_created", actor, {"code": carrier.code})
    return carrier


def carrier_update(*, code: str, data: CarrierData, actor: Actor) -> Carrier:
    """Change a carrier; its code never changes and "other" stays active. Raises NotFound
    `carrier_not_found`, ValidationError `invalid_carrier` or `carrier_code_immutable`, Conflict
    `carrier_name_taken` or `carrier_other_required`."""
    values = _carrier_clean(data.given())
    with transaction.atomic():
        key = (code or "").strip().lower()
        pk = Carrier.objects.filter(code=key).values_list("pk", flat=True).first()
        carrier = lock_by_pk(Carrier.objects.all(), [pk]).get(pk) if pk else None
        if carrier is None:
            raise NotFound(f"No carrier has the code {code!r}.", code="carrier_not_found")
        if values.pop("code", carrier.code) != carrier.code:
            raise ValidationError(
                "A carrier's code cannot change.",
                code="carrier_code_immutable",
                fields={"code": "Cannot change."},
            )
        if carrier.code == OTHER and values.get("active") is False:
            raise Conflict(
                'The "other" carrier cannot be deactivated.',
                code="carrier_other_required",
                fields={"active": "Always active."},
            )
        if "name" in values and values["name"].lower() != carrier.name.lower():
            _name_taken(values["name"], carrier.pk)
        changed = {k: v for k, v in values.items() if getattr(carrier, k) != v}
        for key, value in changed.items():
            setattr(carrier, key, value)
        if changed:
            carrier.save()
            _carrier_event(
                carrier, "carrier_updated", actor, {"code": carrier.code, "fields": sorted(changed)}
            )
    return carrier


def carriers_seed(*, actor: Actor) -> list[Carrier]:
    """Create the standard carriers that are missing (the data migration does this once; this
    repairs an installation where some were removed). Rows that exist are left as edited."""
    with transaction.atomic():
        before = set(Carrier.objects.values_list("pk", flat=True))
        carriers_apply(Carrier)
        _registry_changed()
        created = list(Carrier.objects.exclude(pk__in=before).order_by("pk"))
        for carrier in created:
            _carrier_event(carrier, "carrier_created", actor, {"code": carrier.code, "seed": True})
    return created


# --- package presets ----------------------------------------------------------------------------


def _package_clean(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    problems: dict[str, str] = {}
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
        if not 1 <= len(out["name"]) <= 100:
            problems["name"] = "Between 1 and 100 characters."
    for dim in ("length_mm", "width_mm", "height_mm"):
        if dim in out and not _whole(out[dim], 1, MAX_DIMENSION_MM):
            problems[dim] = f"A whole number of millimetres from 1 to {MAX_DIMENSION_MM:,}."
    if "weight_grams" in out and not _whole(out["weight_grams"], 0, MAX_WEIGHT_GRAMS):
        problems["weight_grams"] = f"A whole number of grams from 0 to {MAX_WEIGHT_GRAMS:,}."
    if problems:
        raise ValidationError(
            "The package preset is not valid.", code="invalid_package_preset", fields=problems
        )
    return out


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _package_name_free(name: str, exclude_pk: int | None) -> None:
    others = PackagePreset.objects.exclude(pk=exclude_pk) if exclude_pk else PackagePreset.objects
    if others.filter(name__iexact=name).exists():
        raise Conflict(
            f"A package preset is already called {name!r}.",
            code="package_preset_name_taken",
            fields={"name": "Taken."},
        )


def _package_event(preset: PackagePreset, kind: str, actor: Actor, data: dict[str, Any]) -> None:
    _registry_changed()
    event_record(
        subject_type="package_preset", subject_id=preset.pk, kind=kind, actor=actor, data=data
    )


def _default_take(preset: PackagePreset) -> None:
    """Make `preset` the only default; the caller's transaction covers both writes."""
    if not preset.active:
        raise Conflict(
            "An inactive package preset cannot be the default.",
            code="package_preset_inactive",
            fields={"is_default": "Inactive."},
        )
    PackagePreset.objects.filter(is_default=True).exclude(pk=preset.pk).update(is_default=False)
    preset.is_default = True
    preset.save(update_fields=["is_default", "updated_at"])


def package_create(*, data: PackageData, actor: Actor) -> PackagePreset:
    """Add a package preset; `is_default` takes the flag from the previous default. Raises
    ValidationError `invalid_package_preset`, Conflict `package_preset_name_taken` or
    `package_preset_inactive` (an inactive preset cannot be the default)."""
    values = _package_clean(data.given())
    required = ("name", "length_mm", "width_mm", "height_mm")
    missing = {f: "This field is required." for f in required if f not in values}
    if missing:
        raise ValidationError(
            "The package preset is not valid.", code="invalid_package_preset", fields=missing
        )
    make_default = values.pop("is_default", False)
    with transaction.atomic():
        # Locking the current default serialises two presets claiming it at once (PostgreSQL).
        list(PackagePreset.objects.select_for_update().filter(is_default=True))
        _package_name_free(values["name"], None)
        preset = PackagePreset.objects.create(**values)
        if make_default:
            _default_take(preset)
        _package_event(preset, "package_preset_created", actor, {"name": preset.name})
    return preset


def package_update(*, package_id: int, data: PackageData, actor: Actor) -> PackagePreset:
    """Change a preset. Deactivating the default clears its flag. Raises NotFound
    `package_preset_not_found`, ValidationError `invalid_package_preset`, Conflict
    `package_preset_name_taken` or `package_preset_inactive`."""
    values = _package_clean(data.given())
    make_default = values.pop("is_default", None)
    with transaction.atomic():
        list(PackagePreset.objects.select_for_update().filter(is_default=True))
        preset = lock_by_pk(PackagePreset.objects.all(), [package_id]).get(package_id)
        if preset is None:
            raise NotFound("No such package preset.", code="package_preset_not_found")
        if "name" in values and values["name"].lower() != preset.name.lower():
            _package_name_free(values["name"], preset.pk)
        changed = {k: v for k, v in values.items() if getattr(preset, k) != v}
        if values.get("active") is False and preset.is_default:
            changed["is_default"] = False
        for key, value in changed.items():
            setattr(preset, key, value)
        if changed:
            preset.save()
        if make_default is not None and make_default != preset.is_default:
            if make_default:
                _default_take(preset)
            else:
                preset.is_default = False
                preset.save(update_fields=["is_default", "updated_at"])
            changed["is_default"] = make_default
        if changed:
            _package_event(preset, "package_preset_updated", actor, {"fields": sorted(changed)})
    return preset
