"""The UI's translations: `locale/<area>/<lang>/LC_MESSAGES/django.po` in this package, compiled
with Babel into the data folder (settings.LOCALE_PATHS) when the application starts, so the
repository holds only the sources and an install needs no gettext tools."""

from __future__ import annotations

import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings

logger = logging.getLogger(__name__)
SOURCE = Path(__file__).parent / "locale"


def catalogs_compile(target: Path | None = None) -> list[Path]:
    """Compile every .po whose .mo is missing or older; returns the .mo files written."""
    target = target or Path(settings.HOME) / "locale"
    written = []
    for po in sorted(SOURCE.glob("*/*/LC_MESSAGES/django.po")):
        mo = target / po.relative_to(SOURCE).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parts[-3])
        mo.parent.mkdir(parents=True, exist_ok=True)
        partial = mo.with_suffix(".mo.part")
        with partial.open("wb") as f:
            write_mo(f, catalog)
        partial.replace(mo)
        written.append(mo)
    return written
