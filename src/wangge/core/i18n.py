"""Compile translation catalogues (.po → .mo) without needing GNU gettext installed."""

from __future__ import annotations

from pathlib import Path

import polib  # type: ignore[import-untyped]
from django.conf import settings


def compile_messages(force: bool = False) -> list[Path]:
    written = []
    for base in settings.LOCALE_PATHS:
        for po_path in Path(base).glob("*/LC_MESSAGES/*.po"):
            mo_path = po_path.with_suffix(".mo")
            if force or not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
                polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
                written.append(mo_path)
    return written
