"""How a refused write shows on a page: which form, the message at its top, and a message per
field (keys flattened so templates can read them: `shipping_address.city` -> `city`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from colis.core.errors import DomainError


@dataclass(frozen=True, kw_only=True, slots=True)
class FormError:
    form: str
    code: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    status: int = 422


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_text(v) for v in value)
    return str(value)


def field_key(raw: str, strip: tuple[str, ...] = ()) -> str:
    for prefix in strip:
        if raw.startswith(prefix):
            raw = raw[len(prefix) :]
    return re.sub(r"[^a-z0-9]+", "_", raw.lower()).strip("_")


def form_error(
    form: str,
    exc: DomainError,
    *,
    strip: tuple[str, ...] = (),
    rename: dict[str, str] | None = None,
) -> FormError:
    rename = rename or {}
    fields = {}
    for key, value in (exc.fields or {}).items():
        fields[rename.get(key) or field_key(key, strip)] = _text(value)
    return FormError(
        form=form, code=exc.code, message=exc.message, fields=fields, status=exc.http_status
    )


def int_or_none(raw: Any) -> int | None:
    text = str(raw or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    return int(text)
