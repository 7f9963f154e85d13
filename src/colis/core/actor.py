"""Who does something: passed explicitly to every service and written on every event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ActorKind = Literal["user", "token", "system", "channel", "supplier", "service"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Actor:
    kind: ActorKind
    id: int | None = None
    label: str = ""
    role: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind="system", label=label, role="owner")


SYSTEM = Actor.system()
