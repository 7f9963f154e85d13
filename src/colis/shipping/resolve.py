"""What the fulfillment engine asks of shipping: a carrier and checked tracking numbers with
their URLs (`tracking_resolve`), and a package's dimensions and weight (`package_resolve`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from colis.core.errors import ValidationError
from colis.shipping.models import Carrier, PackagePreset
from colis.shipping.selectors import (
    OTHER,
    carrier_find,
    carriers_active_with_formats,
    package_default,
    package_find,
)
from colis.shipping.tracking import (
    TrackingMatch,
    format_match,
    tracking_data,
    tracking_fits,
    tracking_matches,
    tracking_normalize,
)

MAX_NUMBERS = 20
MAX_NUMBER_LENGTH = 100
MAX_URL_LENGTH = 2000
MAX_DIMENSION_MM = 10_000
MAX_WEIGHT_GRAMS = 1_000_000


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolvedTracking:
    """`urls[i]` belongs to `numbers[i]`; `urls` is shorter when no URL can be had for the rest."""

    carrier_code: str
    carrier_name: str
    numbers: tuple[str, ...]
    urls: tuple[str, ...]


def tracking_resolve(
    *,
    carrier: str | None,
    carrier_name: str = "",
    numbers: list[str],
    urls: list[str] | None,
    force: bool,
) -> ResolvedTracking:
    """The registry carrier (by code or name, ignoring case, or detected from the first number)
    with the numbers normalized and checked against its formats, and one URL per number where
    one is given or can be built.

    Raises ValidationError: `invalid_tracking_number` for blank, over-long, duplicate or too many
    numbers, and (unless `force`) for a number that does not fit the carrier's formats;
    `invalid_tracking_url`; `unknown_carrier`, `inactive_carrier`, `carrier_required` (no carrier
    given and none detected, or several fit), `invalid_carrier_name`. Field names are those of
    the shipment body: `carrier`, `carrier_name`, `tracking_numbers[i]`, `tracking_urls[i]`.
    """
    cleaned = _numbers_clean(numbers)
    given_urls = _urls_clean(urls, len(cleaned))
    found = _carrier_pick(carrier, cleaned)
    name = (carrier_name or "").strip()
    if len(name) > 100:
        raise ValidationError(
            "The carrier name is too long.",
            code="invalid_carrier_name",
            fields={"carrier_name": "At most 100 characters."},
        )
    refs = frozenset(str(r) for r in found.data_courier_codes)
    if not force:
        _numbers_check(found, refs, cleaned)
    built: list[str] = []
    for i, number in enumerate(cleaned):
        url = (given_urls[i] if i < len(given_urls) else "") or tracking_url_for(found, number)
        if not url:
            break
        built.append(url)
    return ResolvedTracking(
        carrier_code=found.code,
        carrier_name=(name or found.name) if found.code == OTHER else found.name,
        numbers=tuple(cleaned),
        urls=tuple(built),
    )


def _numbers_clean(numbers: list[str]) -> list[str]:
    if len(numbers) > MAX_NUMBERS:
        raise ValidationError(
            f"At most {MAX_NUMBERS} tracking numbers per shipment.",
            code="invalid_tracking_number",
            fields={"tracking_numbers": f"At most {MAX_NUMBERS}."},
        )
    cleaned: list[str] = []
    problems: dict[str, str] = {}
    for i, raw in enumerate(numbers):
        number = tracking_normalize(raw)
        if not number:
            problems[f"tracking_numbers[{i}]"] = "Blank."
        elif len(number) > MAX_NUMBER_LENGTH:
            problems[f"tracking_numbers[{i}]"] = f"At most {MAX_NUMBER_LENGTH} characters."
        elif not number.isprintable():
            problems[f"tracking_numbers[{i}]"] = "Contains control characters."
        elif number in cleaned:
            problems[f"tracking_numbers[{i}]"] = "Listed twice."
        cleaned.append(number)
    if problems:
        raise ValidationError(
            "A tracking number is not valid.", code="invalid_tracking_number", fields=problems
        )
    return cleaned


def _urls_clean(urls: list[str] | None, count: int) -> list[str]:
    """The given URLs, in order, blank where one is to be built."""
    if not urls:
        return []
    if len(urls) > count:
        raise ValidationError(
            "There are more tracking URLs than tracking numbers.",
            code="invalid_tracking_url",
            fields={"tracking_urls": f"At most one per tracking number ({count})."},
        )
    problems: dict[str, str] = {}
    kept: list[str] = []
    for i, raw in enumerate(urls):
        url = (raw or "").strip()
        parts = urlsplit(url) if len(url) <= MAX_URL_LENGTH else None
        if url and (parts is None or parts.scheme not in {"http", "https"} or not parts.netloc):
            problems[f"tracking_urls[{i}]"] = (
                f"An http or https URL of up to {MAX_URL_LENGTH} characters."
            )
        kept.append(url)
    if problems:
        raise ValidationError(
            "A tracking URL is not valid.", code="invalid_tracking_url", fields=problems
        )
    return kept


def _carrier_pick(carrier: str | None, numbers: list[str]) -> Carrier:
    value = (carrier or "").strip()
    if value:
        found = carrier_find(value=value)
        if found is None:
            raise ValidationError(
                f"No carrier has the code or name {value!r}.",
                code="unknown_carrier",
                fields={"carrier": "Use a code from GET /api/v1/carriers."},
            )
        if not found.active:
            raise ValidationError(
                f"The carrier {found.name} is switched off.",
                code="inactive_carrier",
                fields={"carrier": "Inactive."},
            )
        return found
    candidates = carriers_for(tracking_matches(numbers[0])) if numbers else []
    if len(candidates) == 1:
        return candidates[0]
    detail = (
        f"The number fits several carriers ({', '.join(c.code for c in candidates)}); name one."
        if candidates
        else "Name the carrier (it could not be told from the tracking number)."
    )
    raise ValidationError(
        "A carrier is required.", code="carrier_required", fields={"carrier": detail}
    )


def carriers_for(matches: list[TrackingMatch]) -> list[Carrier]:
    """The active registry carriers that claim the best of `matches`: a carrier claiming a
    format proven by a check digit wins over one claiming a pattern-only format."""
    carriers = carriers_active_with_formats()
    best: list[Carrier] = []
    for proven in (True, False):
        for match in (m for m in matches if m.proven is proven):
            for carrier in carriers:
                if carrier not in best and match.refs & set(carrier.data_courier_codes):
                    best.append(carrier)
        if best:
            return best
    return best


def _numbers_check(carrier: Carrier, refs: frozenset[str], numbers: list[str]) -> None:
    problems = {
        f"tracking_numbers[{i}]": (
            f"{number} does not look like a {carrier.name} tracking number (format or check digit)."
        )
        for i, number in enumerate(numbers)
        if tracking_fits(number, refs) is False
    }
    if problems:
        raise ValidationError(
            f"A tracking number does not match {carrier.name}; check it, or send force=true "
            "to keep it anyway.",
            code="invalid_tracking_number",
            fields=problems,
        )


def tracking_url_for(carrier: Carrier, number: str) -> str | None:
    """The carrier's tracking page for `number`: its template, else the data's URL for the
    format the number fits; None when there is neither."""
    number = tracking_normalize(number)
    refs = frozenset(str(r) for r in carrier.data_courier_codes)
    if carrier.tracking_url_template:
        return carrier.tracking_url_template.replace("{number}", quote(number, safe=""))
    couriers = {ref.partition(":")[0] for ref in refs}
    for fmt in tracking_data().formats:
        if fmt.courier_code in couriers and fmt.tracking_url:
            match = format_match(fmt, number)
            if match is not None and match.refs & refs and match.tracking_url:
                return match.tracking_url
    return None


# --- packages -----------------------------------------------------------------------------------


def package_resolve(
    *,
    preset: str | None,
    length_mm: Any = None,
    width_mm: Any = None,
    height_mm: Any = None,
    weight_grams: Any = None,
) -> dict[str, Any]:
    """The package of a shipment as `{"preset", "length_mm", "width_mm", "height_mm",
    "weight_grams"}`: from the named preset (name, or id as a string), from explicit dimensions,
    or from the default preset when neither is given; `{}` when there is nothing at all.
    Explicit values override the preset's (the weight is then the packed weight).

    Raises ValidationError `unknown_package_preset` or `package_preset_inactive`
    (`package.preset`), `invalid_package` (`package.length_mm`, ... when out of range, or some
    but not all three dimensions given without a preset).
    """
    explicit = {"length_mm": length_mm, "width_mm": width_mm, "height_mm": height_mm}
    _package_values_check({**explicit, "weight_grams": weight_grams})
    base = _package_base(preset, explicit)
    if not base:
        return {} if weight_grams is None else {"preset": None, "weight_grams": weight_grams}
    out = dict(base)
    out.update({k: v for k, v in explicit.items() if v is not None})
    if weight_grams is not None:
        out["weight_grams"] = weight_grams
    return out


def _package_base(preset: str | None, explicit: dict[str, Any]) -> dict[str, Any]:
    name = (preset or "").strip()
    if name:
        found = package_find(value=name)
        if found is None:
            raise ValidationError(
                f"No package preset is called {name!r}.",
                code="unknown_package_preset",
                fields={"package.preset": "Use a name or id from GET /api/v1/packages."},
            )
        if not found.active:
            raise ValidationError(
                f"The package preset {found.name!r} is switched off.",
                code="package_preset_inactive",
                fields={"package.preset": "Inactive."},
            )
        return _preset_values(found)
    given = [k for k, v in explicit.items() if v is not None]
    if given and len(given) < 3:
        raise ValidationError(
            "Give all three dimensions, or a preset.",
            code="invalid_package",
            fields={
                f"package.{k}": "Required with the other dimensions."
                for k in explicit
                if explicit[k] is None
            },
        )
    if given:
        return {"preset": None}
    default = package_default()
    return _preset_values(default) if default is not None else {}


def _preset_values(preset: PackagePreset) -> dict[str, Any]:
    return {
        "preset": preset.name,
        "length_mm": preset.length_mm,
        "width_mm": preset.width_mm,
        "height_mm": preset.height_mm,
        "weight_grams": preset.weight_grams,
    }


def _package_values_check(values: dict[str, Any]) -> None:
    problems: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        low, high = (0, MAX_WEIGHT_GRAMS) if key == "weight_grams" else (1, MAX_DIMENSION_MM)
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        if not ok:
            unit = "grams" if key == "weight_grams" else "millimetres"
            problems[f"package.{key}"] = f"A whole number of {unit} from {low} to {high:,}."
    if problems:
        raise ValidationError("The package is not valid.", code="invalid_package", fields=problems)
