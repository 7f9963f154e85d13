"""Rendering buyer emails from Liquid: a sandboxed environment with bounded loops and output.

Liquid cannot run code; templates see only the plain data `context.py` offers (dicts, lists,
strings, numbers), never model instances, settings or files.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from liquid import BoundTemplate, Environment
from liquid.exceptions import LiquidError

from colis.notifications.defaults import DEFAULTS, LOCALES


class _Sandbox(Environment):
    loop_iteration_limit = 10_000
    output_stream_limit = 200_000
    context_depth_limit = 30
    local_namespace_limit = 10_000


@cache
def sandbox_env(html: bool) -> Environment:
    """The Liquid environment every merchant-editable template renders in (bounded loops,
    output and context; no access to anything not offered)."""
    return _Sandbox(autoescape=html)


@lru_cache(maxsize=512)
def _parsed(html: bool, source: str) -> BoundTemplate:
    """Parsed once per process: the defaults and the merchant's current versions stay parsed
    (a changed template is a new source, parsed on first use)."""
    return sandbox_env(html).from_string(source)


@dataclass(frozen=True, kw_only=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def locale_pick(*locales: str) -> str:
    """The first of these (an order's, then the shop's) that has templates, else English."""
    for value in locales:
        short = (value or "").split("-")[0].split("_")[0].lower()
        if short in LOCALES:
            return short
    return "en"


def parts_render(parts: dict[str, str], context: dict[str, Any]) -> RenderedEmail:
    """Render subject, text and html sources. A Liquid error carries `.part`, the part at fault."""
    out = {}
    for part in ("subject", "text", "html"):
        try:
            out[part] = _parsed(part == "html", parts[part]).render(**context)
        except LiquidError as exc:
            exc.part = part  # type: ignore[attr-defined]
            raise
    return RenderedEmail(
        subject=" ".join(out["subject"].split())[:250], text=out["text"], html=out["html"]
    )


def email_render(*, template: str, locale: str, context: dict[str, Any]) -> RenderedEmail:
    """Render a default template. Raises KeyError for an unknown template."""
    return parts_render(DEFAULTS[template][locale], context)
