"""Tracking-number formats, read at run time from the tracking-number data files.

The data (one JSON file per courier, `couriers/*.json`) lives outside the package; its folder is
the `COLIS_TRACKING_DATA_DIR` setting, or else the first of `_default_dirs()` that exists. It is
read and compiled once per folder. Without it no format is known: every number is accepted and
none is detected.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings

import colis
from colis.shipping.checksums import CHECKSUMS, Checksum

logger = logging.getLogger(__name__)

_WHITESPACE = re.compile(r"\s+")
# PCRE/Ruby named groups `(?<Name>...)`; lookbehinds `(?<=` and `(?<!` are left alone.
_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")


@dataclass(frozen=True, kw_only=True, slots=True)
class Lookup:
    """One `additional` table: the value of a regex group looked up in a list of known values."""

    name: str
    group: str
    values: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]

    def knows(self, value: str) -> bool:
        return value in self.values or any(p.search(value) for p in self.patterns)


@dataclass(frozen=True, kw_only=True, slots=True)
class TrackingFormat:
    courier_code: str
    courier_name: str
    format_id: str
    name: str
    pattern: re.Pattern[str]
    checksum: Checksum | None
    checksum_spec: Mapping[str, Any]
    prepend_if: tuple[re.Pattern[str], str] | None
    required_lookups: tuple[Lookup, ...]
    tracking_url: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class TrackingData:
    source: Path | None
    formats: tuple[TrackingFormat, ...]
    couriers: Mapping[str, str]
    problems: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        return bool(self.formats)


@dataclass(frozen=True, kw_only=True, slots=True)
class TrackingMatch:
    """A number that fits one format of the data, check digit included."""

    courier_code: str
    courier_name: str
    format_id: str
    tracking_name: str
    number: str
    tracking_url: str | None
    country: str = ""
    proven: bool = False

    @property
    def refs(self) -> frozenset[str]:
        """The names a carrier's `data_courier_codes` may use to claim this match."""
        refs = {self.courier_code, f"{self.courier_code}:{self.format_id}"}
        if self.country:
            refs.add(f"{self.courier_code}:{self.country}")
        return frozenset(refs)


def tracking_normalize(number: str) -> str:
    """The number as stored and compared: no whitespace anywhere, upper case."""
    return _WHITESPACE.sub("", number or "").upper()


def _default_dirs() -> list[Path]:
    checkout = Path(colis.__file__).resolve().parents[2].parent
    return [
        checkout / "shared" / "specs" / "tracking-number-data",
        Path("/work/shared/specs/tracking-number-data"),
    ]


def _couriers_dir(path: Path) -> Path | None:
    if (path / "couriers").is_dir():
        return path / "couriers"
    if path.is_dir() and any(path.glob("*.json")):
        return path
    return None


def tracking_data_dir() -> Path | None:
    """The folder of courier files in use, or None when there is none. Looked for once per
    setting value: data installed later is seen after a restart."""
    return _find_dir(getattr(settings, "COLIS_TRACKING_DATA_DIR", None) or "")


@lru_cache(maxsize=8)
def _find_dir(configured: str) -> Path | None:
    candidates = [Path(configured)] if configured else _default_dirs()
    for candidate in candidates:
        found = _couriers_dir(candidate)
        if found is not None:
            return found
    return None


def tracking_data() -> TrackingData:
    """The compiled formats of the configured folder (empty when there is no folder)."""
    folder = tracking_data_dir()
    return _load(str(folder) if folder else "")


@lru_cache(maxsize=4)
def _load(folder: str) -> TrackingData:
    if not folder:
        return TrackingData(source=None, formats=(), couriers={})
    formats: list[TrackingFormat] = []
    couriers: dict[str, str] = {}
    problems: list[str] = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            courier = json.loads(path.read_text(encoding="utf-8"))
            code, name = str(courier["courier_code"]), str(courier["name"])
            couriers[code] = name
            for spec in courier.get("tracking_numbers") or []:
                try:
                    formats.append(_compile(code, name, spec))
                except (KeyError, TypeError, ValueError, re.error) as exc:
                    problems.append(f"{path.name}: {spec.get('name', '?')}: {exc}")
        except (OSError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}: {exc}")
    for problem in problems:
        logger.warning("tracking-number data skipped: %s", problem)
    return TrackingData(
        source=Path(folder), formats=tuple(formats), couriers=couriers, problems=tuple(problems)
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _regex(spec: Mapping[str, Any]) -> re.Pattern[str]:
    raw = spec["regex"]
    source = "".join(raw) if isinstance(raw, list) else str(raw)
    return re.compile(_NAMED_GROUP.sub("(?P<", source))


def _lookups(spec: Mapping[str, Any], required: list[str]) -> tuple[Lookup, ...]:
    tables = {str(a["name"]): a for a in spec.get("additional") or []}
    lookups = []
    for name in required:
        table = tables[name]
        entries = table.get("lookup") or []
        lookups.append(
            Lookup(
                name=name,
                group=str(table["regex_group_name"]),
                values=frozenset(str(e["matches"]) for e in entries if "matches" in e),
                patterns=tuple(
                    re.compile(str(e["matches_regex"])) for e in entries if "matches_regex" in e
                ),
            )
        )
    return tuple(lookups)


def _compile(code: str, courier_name: str, spec: Mapping[str, Any]) -> TrackingFormat:
    validation = spec.get("validation") or {}
    checksum_spec = validation.get("checksum") or {}
    checksum = None
    if checksum_spec:
        checksum = CHECKSUMS.get(str(checksum_spec.get("name")))
        if checksum is None:
            raise ValueError(f"unknown checksum {checksum_spec.get('name')!r}")
    prepend = (validation.get("serial_number_format") or {}).get("prepend_if")
    unknown = set(validation) - {"checksum", "serial_number_format", "additional"}
    if unknown:
        raise ValueError(f"unknown validation {sorted(unknown)}")
    required = list((validation.get("additional") or {}).get("exists") or [])
    return TrackingFormat(
        courier_code=code,
        courier_name=courier_name,
        format_id=str(spec.get("id") or _slug(str(spec["name"]))),
        name=str(spec["name"]),
        pattern=_regex(spec),
        checksum=checksum,
        checksum_spec=checksum_spec,
        prepend_if=(re.compile(str(prepend["matches_regex"])), str(prepend["content"]))
        if prepend
        else None,
        required_lookups=_lookups(spec, required),
        tracking_url=spec.get("tracking_url") or None,
    )


def _group(match: re.Match[str], name: str) -> str | None:
    if name not in match.re.groupindex:
        return None
    value = match.group(name)
    return None if value is None else tracking_normalize(value)


def format_match(fmt: TrackingFormat, number: str) -> TrackingMatch | None:
    """`number` (normalized) against one format: pattern, check digit and required lookups."""
    match = fmt.pattern.fullmatch(number)
    if match is None:
        return None
    if fmt.checksum is not None:
        serial = _group(match, "SerialNumber")
        check = _group(match, "CheckDigit")
        if serial is None or check is None:
            return None
        if fmt.prepend_if is not None and fmt.prepend_if[0].search(serial):
            serial = fmt.prepend_if[1] + serial
        if not fmt.checksum(serial, check, fmt.checksum_spec):
            return None
    for lookup in fmt.required_lookups:
        value = _group(match, lookup.group)
        if value is None or not lookup.knows(value):
            return None
    return TrackingMatch(
        courier_code=fmt.courier_code,
        courier_name=fmt.courier_name,
        format_id=fmt.format_id,
        tracking_name=fmt.name,
        number=number,
        tracking_url=fmt.tracking_url.replace("%s", quote(number, safe=""))
        if fmt.tracking_url
        else None,
        country=_group(match, "CountryCode") or "",
        proven=_rank(fmt) == 0,
    )


def tracking_matches(number: str) -> list[TrackingMatch]:
    """Every format `number` fits, the most telling first (see `_rank`)."""
    normalized = tracking_normalize(number)
    if not normalized:
        return []
    found = [
        (fmt, m)
        for fmt in tracking_data().formats
        if (m := format_match(fmt, normalized)) is not None
    ]
    found.sort(key=lambda pair: _rank(pair[0]))
    return [m for _, m in found]


def _rank(fmt: TrackingFormat) -> int:
    """Formats proven by a check digit or a lookup beat those that only fit a pattern; among
    equals the data's order stands (the sort is stable)."""
    return 0 if fmt.checksum is not None or fmt.required_lookups else 1


def tracking_detect(number: str) -> TrackingMatch | None:
    """The most likely courier format for `number`, or None (also when no data is available)."""
    matches = tracking_matches(number)
    return matches[0] if matches else None


def tracking_check(number: str, carrier_code: str) -> bool | None:
    """True when `number` fits a format the registry carrier `carrier_code` claims, False when
    the carrier claims formats and none fits, None when it claims none (any number goes).
    Raises NotFound `carrier_not_found`."""
    # The registry sits on top of this module (its selectors read the data loaded here).
    from colis.shipping.selectors import carrier_get_by_code

    carrier = carrier_get_by_code(code=carrier_code)
    return tracking_fits(number, frozenset(str(r) for r in carrier.data_courier_codes))


def tracking_fits(number: str, refs: frozenset[str] | set[str]) -> bool | None:
    """Whether `number` fits a format claimed by `refs` (a carrier's `data_courier_codes`, each
    `courier`, `courier:format_id` or `courier:COUNTRY`). None when the refs name no courier of
    the data, so nothing can be said about the number."""
    couriers = {ref.partition(":")[0] for ref in refs}
    formats = [f for f in tracking_data().formats if f.courier_code in couriers]
    if not formats:
        return None
    normalized = tracking_normalize(number)
    return any((m := format_match(f, normalized)) is not None and m.refs & refs for f in formats)
