"""The Simplified Chinese catalogue is complete and its placeholders match the source strings."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

from wangge.core.roles import Role
from wangge.places.models import GridType, PlaceKind

PO_PATH = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{\{\s*\w+\s*\}\}")


def catalogue() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def test_every_message_is_translated_and_none_is_fuzzy() -> None:
    po = catalogue()

    assert len(po) > 100
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


@pytest.mark.parametrize("entry", catalogue(), ids=lambda e: e.msgid[:40])
def test_placeholders_survive_translation(entry: polib.POEntry) -> None:
    expected = sorted(PLACEHOLDER.findall(entry.msgid))
    translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]

    for text in translations:
        assert sorted(PLACEHOLDER.findall(text)) == expected


def test_roles_kinds_and_grid_types_have_chinese_names() -> None:
    with translation.override("zh-hans"):
        names = [str(c.label) for c in [*Role, *PlaceKind, *GridType]]

    assert all(re.search(r"[\u4e00-\u9fff]", name) for name in names), names
    assert str(Role.GRID_LEADER.label) != "Grid leader"
