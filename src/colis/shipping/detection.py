"""Which carrier a typed tracking number belongs to, for a form that fills the carrier in."""

from __future__ import annotations

from dataclasses import dataclass

from colis.shipping.resolve import carriers_for, tracking_url_for
from colis.shipping.tracking import tracking_data, tracking_matches, tracking_normalize


@dataclass(frozen=True, kw_only=True, slots=True)
class DetectedCarrier:
    """`code` and `name` of the one registry carrier the number fits (blank when none or
    several); `candidates` the codes that fit; `valid` false when format data is installed and
    no format fits."""

    number: str
    code: str
    name: str
    candidates: tuple[str, ...]
    valid: bool
    tracking_url: str


def carrier_detect(*, number: str) -> DetectedCarrier:
    """The same detection a shipment uses when no carrier is named (see `tracking_resolve`)."""
    number = tracking_normalize(number)[:100]
    matches = tracking_matches(number) if number else []
    candidates = carriers_for(matches)
    chosen = candidates[0] if len(candidates) == 1 else None
    url = (tracking_url_for(chosen, number) if chosen else None) or (
        matches[0].tracking_url if matches else None
    )
    return DetectedCarrier(
        number=number,
        code=chosen.code if chosen else "",
        name=chosen.name if chosen else "",
        candidates=tuple(c.code for c in candidates),
        valid=bool(matches) or not tracking_data().available,
        tracking_url=url or "",
    )
