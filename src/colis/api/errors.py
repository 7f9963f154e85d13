"""Turning pydantic's errors into our field paths: ("lines", 2, "sku") -> "lines[2].sku"."""

from __future__ import annotations

from typing import Any

import pydantic

_SKIP = {"body", "payload", "query", "path", "filters", "data"}


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts: list[str] = []
    for i, part in enumerate(loc):
        if i < 2 and part in _SKIP:
            continue
        if isinstance(part, int):
            if parts:
                parts[-1] += f"[{part}]"
            else:
                parts.append(f"[{part}]")
        else:
            parts.append(str(part))
    return ".".join(parts) or "body"


def pydantic_fields(errors: list[dict[str, Any]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in errors:
        loc = [
            p for p in err.get("loc", ()) if not (isinstance(p, str) and p.startswith("function-"))
        ]
        path = field_path(loc)
        fields.setdefault(path, err.get("msg", "Invalid value."))
    return fields


def validation_fields(exc: pydantic.ValidationError) -> dict[str, str]:
    return pydantic_fields(exc.errors(include_url=False, include_input=False))  # type: ignore[arg-type]
