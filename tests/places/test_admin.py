"""Admin screens for places, users, the audit log and the outbox: superusers only, writes audited."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from tests.places.factories import Territory, assign, make_territory, make_user
from wangge.core import clock
from wangge.core.models import AuditEvent, OutboxEvent, User
from wangge.core.pii import blind_index
from wangge.core.roles import Role
from wangge.places.geo import rectangle
from wangge.places.models import LocatorState, Place

pytestmark = pytest.mark.usefixtures("db")

ADMIN_LISTS = [
    "/admin/places/place/",
    "/admin/core/user/",
    "/admin/core/auditevent/",
    "/admin/core/outboxevent/",
    "/admin/org/department/",
    "/admin/org/propertycompany/",
    "/admin/org/cobuildingunit/",
    "/admin/org/partyorganization/",
    "/admin/org/assignment/",
]


@pytest.fixture
def territory() -> Territory:
    return make_territory()


@pytest.fixture
def superuser() -> User:
    return make_user("root-admin", superuser=True)


@pytest.fixture
def site(superuser: User) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def test_every_screen_opens_for_a_superuser(site: Client, territory: Territory) -> None:
    for url in ADMIN_LISTS:
        response = site.get(url)

        assert response.status_code == 200, url
    assert site.get(f"/admin/places/place/{territory.grid_a.pk}/change/").status_code == 200
    assert site.get("/admin/places/place/add/").status_code == 200
    assert site.get("/admin/places/place/import-boundaries/").status_code == 200


def test_staff_who_are_not_superusers_are_kept_out(territory: Territory) -> None:
    user = assign(make_user("staff-not-root"), Role.COMMUNITY_STAFF, territory.community)
    User.objects.filter(pk=user.pk).update(is_staff=True)
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))

    index = client.get("/admin/")
    for url in [*ADMIN_LISTS, "/admin/places/place/import-boundaries/"]:
        response = client.get(url)

        assert response.status_code == 403, url
    assert index.status_code == 200
    assert index.context["app_list"] == []


def test_the_place_list_searches_and_filters(site: Client, territory: Territory) -> None:
    by_name = site.get("/admin/places/place/", {"q": "甲二庭院"})
    by_code = site.get("/admin/places/place/", {"q": territory.building.code})
    grids = site.get("/admin/places/place/", {"kind__exact": "grid", "q": "测试"})

    assert [p.pk for p in by_name.context["cl"].result_list] == [territory.micro_a2.pk]
    assert territory.building.pk in [p.pk for p in by_code.context["cl"].result_list]
    assert [p.pk for p in grids.context["cl"].result_list] == [territory.grid_a.pk, territory.grid_b.pk]


def test_adding_a_place_goes_through_the_service(site: Client, territory: Territory) -> None:
    response = site.post(
        "/admin/places/place/add/",
        {
            "parent": territory.micro_a2.pk,
            "kind": "building",
            "name": "后台楼",
            "segment": "",
            "grid_type": "",
            "boundary": json.dumps(rectangle(120.15, 40.15, 120.16, 40.16)),
            "lat": "",
            "lng": "",
            "sort_order": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    place = Place.objects.get(name="后台楼")
    assert place.code == territory.micro_a2.code + "001"
    assert place.lat == pytest.approx(40.155)
    assert AuditEvent.objects.filter(
        action="place.created", object_id=str(place.pk), actor__username="root-admin"
    ).exists()


def test_a_bad_place_is_refused_with_a_form_error(site: Client, territory: Territory) -> None:
    count = Place.objects.count()

    response = site.post(
        "/admin/places/place/add/",
        {
            "parent": territory.micro_a2.pk,
            "kind": "street",
            "name": "错层",
            "sort_order": "0",
            "boundary": "",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Place.objects.count() == count


def test_editing_a_boundary_goes_through_the_service_and_bumps_the_locator(
    site: Client, territory: Territory
) -> None:
    version = LocatorState.objects.get(pk=1).version
    new = rectangle(120.05, 40.05, 120.07, 40.07)

    response = site.post(
        f"/admin/places/place/{territory.building.pk}/change/",
        {"name": "改楼", "boundary": json.dumps(new), "lat": "40.06", "lng": "120.06"},
    )

    assert response.status_code == 302
    building = Place.objects.get(pk=territory.building.pk)
    assert (building.name, building.boundary, building.lat) == ("改楼", new, 40.06)
    assert LocatorState.objects.get(pk=1).version == version + 1
    assert AuditEvent.objects.filter(action="place.updated", object_id=str(building.pk)).exists()


def test_code_and_path_cannot_be_edited(site: Client, territory: Territory) -> None:
    site.post(
        f"/admin/places/place/{territory.grid_a.pk}/change/",
        {
            "name": "甲",
            "code": "1",
            "path": "1.",
            "kind": "house",
            "boundary": json.dumps(territory.grid_a.boundary),
        },
    )

    grid = Place.objects.get(pk=territory.grid_a.pk)
    assert (grid.code, grid.path, grid.kind) == (territory.grid_a.code, territory.grid_a.path, "grid")


def test_places_cannot_be_deleted_from_the_admin(site: Client, territory: Territory) -> None:
    response = site.post(f"/admin/places/place/{territory.house.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Place.objects.filter(pk=territory.house.pk).exists()


def test_the_import_page_dry_run_changes_nothing_and_reports(site: Client, territory: Territory) -> None:
    data = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": territory.grid_a.code},
                "geometry": rectangle(120, 40, 120.15, 40.2),
            },
            {
                "type": "Feature",
                "properties": {"code": "404404"},
                "geometry": rectangle(120, 40, 120.1, 40.1),
            },
        ],
    }
    before = list(Place.objects.values_list("pk", "boundary"))

    dry = site.post(
        "/admin/places/place/import-boundaries/",
        {
            "file": SimpleUploadedFile("b.geojson", json.dumps(data).encode()),
            "dry_run": "on",
            "skip_invalid": "on",
        },
    )

    assert dry.status_code == 200
    report = dry.context["report"]
    assert (report.dry_run, report.matched, [e.index for e in report.errors]) == (True, 1, [1])
    assert "404404" in dry.content.decode()
    assert list(Place.objects.values_list("pk", "boundary")) == before

    real = site.post(
        "/admin/places/place/import-boundaries/",
        {"file": SimpleUploadedFile("b.geojson", json.dumps(data).encode()), "skip_invalid": "on"},
    )

    assert real.context["report"].applied
    assert Place.objects.get(pk=territory.grid_a.pk).boundary == rectangle(120, 40, 120.15, 40.2)


def test_the_import_page_refuses_a_file_that_is_not_json(site: Client) -> None:
    response = site.post(
        "/admin/places/place/import-boundaries/",
        {"file": SimpleUploadedFile("b.geojson", b"\xff\xfe garbage")},
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["report"] is None


def test_the_export_action_gives_an_importable_feature_collection(site: Client, territory: Territory) -> None:
    response = site.post(
        "/admin/places/place/",
        {"action": "export_geojson", "_selected_action": [territory.grid_a.pk, territory.house.pk]},
    )

    body = json.loads(response.content)
    assert response["Content-Disposition"] == 'attachment; filename="boundaries.geojson"'
    assert [f["properties"]["code"] for f in body["features"]] == [territory.grid_a.code]
    assert body["features"][0]["geometry"] == territory.grid_a.boundary


# --- users ------------------------------------------------------------------------------------


def test_users_show_a_masked_phone_never_the_number_or_its_ciphertext(site: Client) -> None:
    user = make_user("phone-owner", phone="13812345678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM core_user WHERE id = %s", [user.pk])
        raw = cursor.fetchone()[0]

    listing = site.get("/admin/core/user/", {"q": "phone-owner"}).content.decode()
    change = site.get(f"/admin/core/user/{user.pk}/change/").content.decode()

    assert raw.startswith("k")
    assert "13812345678" not in raw
    for page in (listing, change):
        assert "138****5678" in page
        assert "13812345678" not in page
        assert raw not in page


def test_a_new_phone_is_stored_encrypted_with_its_lookup_hash(site: Client) -> None:
    user = make_user("phone-change", phone="13812345678")
    form = site.get(f"/admin/core/user/{user.pk}/change/").context["adminform"].form
    data = {
        k: v
        for k, v in form.initial.items()
        if v is not None and k not in ("groups", "user_permissions", "password")
    }
    data.update({"new_phone": "139 0000 1111", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})

    response = site.post(f"/admin/core/user/{user.pk}/change/", {**data, "groups": []})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.phone == "13900001111"
    assert user.phone_hash == blind_index("phone", "13900001111")
    event = AuditEvent.objects.filter(action="admin.core_user.changed", object_id=str(user.pk)).get()
    assert "13900001111" not in json.dumps(event.changes)
    assert site.get("/admin/core/user/", {"q": "13900001111"}).context["cl"].result_list[0].pk == user.pk


# --- audit log and outbox ---------------------------------------------------------------------


def test_the_audit_log_is_read_only_even_for_superusers(site: Client, territory: Territory) -> None:
    event = AuditEvent.objects.order_by("-pk").first()
    assert event is not None
    count = AuditEvent.objects.count()

    add = site.get("/admin/core/auditevent/add/")
    change = site.post(f"/admin/core/auditevent/{event.pk}/change/", {"action": "forged"})
    delete = site.post(f"/admin/core/auditevent/{event.pk}/delete/", {"post": "yes"})
    listing = site.get("/admin/core/auditevent/")
    view = site.get(f"/admin/core/auditevent/{event.pk}/change/")

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert listing.context["action_form"] is None  # no bulk actions, so no bulk delete
    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()
    assert AuditEvent.objects.count() == count
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


def test_failed_outbox_deliveries_are_visible_by_status(site: Client) -> None:
    now = clock.now()
    failed = OutboxEvent.objects.create(
        topic="notify",
        created_at=now,
        next_attempt_at=now,
        status=OutboxEvent.Status.FAILED,
        last_error="timeout",
    )
    done = OutboxEvent.objects.create(
        topic="notify", created_at=now, next_attempt_at=now, status=OutboxEvent.Status.DONE
    )

    response = site.get("/admin/core/outboxevent/", {"status__exact": "failed"})

    shown = [e.pk for e in response.context["cl"].result_list]
    assert failed.pk in shown
    assert done.pk not in shown
    assert "timeout" in response.content.decode()
    assert site.post(f"/admin/core/outboxevent/{failed.pk}/delete/", {"post": "yes"}).status_code == 403
    assert OutboxEvent.objects.filter(pk=failed.pk).exists()
