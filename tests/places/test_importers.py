"""Boundary import: matching by code or id, per-feature errors, all-or-nothing, the command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.places.factories import Territory, assign, make_territory, make_user
from wangge.core.errors import ValidationError
from wangge.core.models import AuditEvent
from wangge.core.roles import Role
from wangge.places import locator
from wangge.places.geo import rectangle
from wangge.places.importers import FeatureProblem, boundaries_import
from wangge.places.models import LocatorState, Place

pytestmark = pytest.mark.usefixtures("db")

# New boundaries: grid A shrinks to its western half, micro A1 keeps its shape moved 1 cm.
SMALLER_A = rectangle(120.0, 40.0, 120.15, 40.2)
BUILDING_EAST = rectangle(120.05, 40.05, 120.07, 40.07)
SELF_CROSSING = {
    "type": "Polygon",
    "coordinates": [[[120, 40], [120.1, 40.1], [120.1, 40], [120, 40.1], [120, 40]]],
}


@pytest.fixture
def territory() -> Territory:
    return make_territory()


def feature(geometry: Any, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def collection(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def snapshot() -> tuple[Any, ...]:
    return (
        list(Place.objects.order_by("pk").values_list("pk", "boundary", "lat", "lng", "updated_at")),
        AuditEvent.objects.count(),
        LocatorState.objects.get(pk=1).version,
    )


def test_features_are_matched_by_code_or_id_and_written(territory: Territory) -> None:
    t = territory
    version = LocatorState.objects.get(pk=1).version
    data = collection(
        feature(SMALLER_A, code=t.grid_a.code, name="甲"),
        feature(BUILDING_EAST, id=t.building.pk),
        feature(t.micro_b1.boundary, code=t.micro_b1.code),
    )

    report = boundaries_import(actor=None, feature_collection=data)

    assert report.ok
    assert report.applied
    assert (report.total, report.matched, report.updated, report.unchanged) == (3, 3, 2, 1)
    assert report.updated_codes == [t.grid_a.code, t.building.code]
    assert Place.objects.get(pk=t.grid_a.pk).boundary == SMALLER_A
    assert Place.objects.get(pk=t.building.pk).boundary == BUILDING_EAST
    assert LocatorState.objects.get(pk=1).version == version + 1
    assert locator.get_locator().locate(40.06, 120.06) == t.building.pk
    per_place = AuditEvent.objects.filter(action="place.boundary_imported").order_by("object_id")
    assert sorted(int(e.object_id) for e in per_place) == sorted([t.grid_a.pk, t.building.pk])
    summary = AuditEvent.objects.get(action="places.boundaries_imported")
    assert summary.changes == {"total": 3, "updated": 2, "unchanged": 1, "skipped": 0}


def test_a_dry_run_changes_nothing(territory: Territory) -> None:
    before = snapshot()
    index = locator.get_locator()

    report = boundaries_import(
        actor=None,
        feature_collection=collection(feature(SMALLER_A, code=territory.grid_a.code)),
        dry_run=True,
    )

    assert report.dry_run
    assert not report.applied
    assert (report.matched, report.updated, report.updated_codes) == (1, 0, [territory.grid_a.code])
    assert snapshot() == before
    assert locator.get_locator() is index


def test_one_bad_feature_stops_the_whole_file_and_is_reported_with_index_and_reason(
    territory: Territory,
) -> None:
    t = territory
    before = snapshot()
    data = collection(
        feature(SMALLER_A, code=t.grid_a.code),
        feature(SELF_CROSSING, code=t.micro_a1.code),
        feature(BUILDING_EAST, code="999999999"),
        {"type": "Feature", "properties": {"code": t.micro_b1.code}},
        feature(BUILDING_EAST),
        "not a feature",
        feature(BUILDING_EAST, code=t.grid_a.code),
        feature(BUILDING_EAST, code=t.building.code, id=t.grid_b.pk),
        feature({"type": "Point", "coordinates": [120, 40]}, code=t.micro_b2.code),
    )

    report = boundaries_import(actor=None, feature_collection=data)

    assert not report.applied
    assert report.updated == 0
    assert [(e.index, e.code) for e in report.errors] == [
        (1, t.micro_a1.code),
        (2, "999999999"),
        (3, t.micro_b1.code),
        (4, ""),
        (5, ""),
        (6, t.grid_a.code),
        (7, t.building.code),
        (8, t.micro_b2.code),
    ]
    assert all(e.reason for e in report.errors)
    assert snapshot() == before


def test_reasons_are_readable_in_english(territory: Territory) -> None:
    from django.utils import translation

    t = territory
    data = collection(
        feature(SELF_CROSSING, code=t.micro_a1.code),
        feature(BUILDING_EAST, code="999999999"),
        feature(None, code=t.micro_b1.code),
        feature(BUILDING_EAST, code=t.micro_a1.code),
    )

    with translation.override("en"):
        report = boundaries_import(actor=None, feature_collection=data)

    assert report.errors == [
        FeatureProblem(
            0,
            t.micro_a1.code,
            "The boundary crosses itself or is otherwise invalid: Self-intersection[120.05 40.05]",
        ),
        FeatureProblem(1, "999999999", "no place with this code that you may edit"),
        FeatureProblem(2, t.micro_b1.code, "the feature has no geometry"),
        FeatureProblem(3, t.micro_a1.code, "the place is already set by feature 0"),
    ]


def test_skip_invalid_writes_the_good_features(territory: Territory) -> None:
    t = territory
    data = collection(feature(SELF_CROSSING, code=t.micro_a1.code), feature(SMALLER_A, code=t.grid_a.code))

    report = boundaries_import(actor=None, feature_collection=data, skip_invalid=True)

    assert report.applied
    assert (report.updated, report.skipped, len(report.errors)) == (1, 1, 1)
    assert Place.objects.get(pk=t.grid_a.pk).boundary == SMALLER_A
    assert Place.objects.get(pk=t.micro_a1.pk).boundary == t.micro_a1.boundary


def test_a_user_may_import_only_where_they_may_edit_places(territory: Territory) -> None:
    t = territory
    worker = assign(make_user("import-worker"), Role.GRID_WORKER, t.grid_a)
    staff = assign(make_user("import-staff"), Role.COMMUNITY_STAFF, t.community)
    outsider_place = Place.objects.exclude(path__startswith=t.county.path).order_by("pk").first()
    before = snapshot()

    as_worker = boundaries_import(
        actor=worker, feature_collection=collection(feature(SMALLER_A, code=t.grid_a.code))
    )
    as_staff = boundaries_import(
        actor=staff,
        feature_collection=collection(
            feature(SMALLER_A, code=t.grid_a.code),
            *([feature(BUILDING_EAST, code=outsider_place.code)] if outsider_place else []),
        ),
    )

    # Same reason for "no such place" and "not yours": a file cannot probe the tree.
    assert [e.reason for e in as_worker.errors] == [_no_place()]
    assert not as_staff.applied
    if outsider_place is not None:
        assert [(e.index, e.reason) for e in as_staff.errors] == [(1, _no_place())]
    assert snapshot() == before


def _no_place() -> str:
    from django.utils.translation import gettext

    return gettext("no place with this code that you may edit")


def test_a_boundary_outside_its_parent_is_written_with_a_warning(territory: Territory) -> None:
    t = territory
    sticking_out = rectangle(120.05, 40.05, 120.5, 40.07)  # runs past the county's east edge

    report = boundaries_import(
        actor=None, feature_collection=collection(feature(sticking_out, code=t.building.code))
    )

    assert report.applied
    assert [(w.index, w.code) for w in report.warnings] == [(0, t.building.code)]


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"type": "Feature"},
        {"type": "FeatureCollection"},
        {"type": "FeatureCollection", "features": {"a": 1}},
        "FeatureCollection",
    ],
)
def test_something_that_is_not_a_feature_collection_is_refused(territory: Territory, data: Any) -> None:
    with pytest.raises(ValidationError):
        boundaries_import(actor=None, feature_collection=data)


# --- the command ------------------------------------------------------------------------------


def _write(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "boundaries.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_the_command_imports_a_file(
    territory: Territory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, collection(feature(SMALLER_A, code=territory.grid_a.code)))

    call_command("import_boundaries", path)

    out = capsys.readouterr().out
    assert "1 feature(s), 1 matched, 1 updated, 0 unchanged, 0 bad" in out
    assert Place.objects.get(pk=territory.grid_a.pk).boundary == SMALLER_A


def test_the_command_dry_run_changes_nothing(
    territory: Territory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, collection(feature(SMALLER_A, code=territory.grid_a.code)))
    before = snapshot()

    call_command("import_boundaries", path, "--dry-run", "--json")

    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is True
    assert report["updated_codes"] == [territory.grid_a.code]
    assert snapshot() == before


def test_the_command_fails_on_a_bad_feature_and_names_it(
    territory: Territory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        collection(feature(SMALLER_A, code=territory.grid_a.code), feature(SELF_CROSSING, code="12")),
    )
    before = snapshot()

    with pytest.raises(CommandError, match="1 bad feature"):
        call_command("import_boundaries", path)

    assert "feature 1 [12]" in capsys.readouterr().err
    assert snapshot() == before


def test_the_command_refuses_unreadable_files(territory: Territory, tmp_path: Path) -> None:
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")

    with pytest.raises(CommandError, match="is not JSON"):
        call_command("import_boundaries", str(broken))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_boundaries", str(tmp_path / "missing.geojson"))
    with pytest.raises(CommandError, match="no active user"):
        call_command("import_boundaries", _write(tmp_path, collection()), "--user", "nobody-here")
