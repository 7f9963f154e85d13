"""Partial-update values: a field left at UNSET was not given (None may be a real value)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

UNSET: Any = object()


class Given:
    """Mixin for frozen dataclasses whose fields default to UNSET."""

    def given(self) -> dict[str, Any]:
        """The fields that were given, by name."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)  # type: ignore[arg-type]
            if getattr(self, f.name) is not UNSET
        }
