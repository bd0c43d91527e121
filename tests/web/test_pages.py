"""The web shell and the place browser through Django's test client, on the demo community.

Flat given / when / then tests with the named demo users. Out-of-scope places answer 404 and
leak nothing; Chinese is the default language and English one switch away.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from wangge.core import audit
from wangge.core.models import User
from wangge.org.models import Assignment
from wangge.places.models import Place

pytestmark = pytest.mark.django_db

GRID_NAMES = ("第一网格", "第二网格", "第三网格", "第四网格", "第五网格", "第六网格")
PageClient = Callable[[str], Client]


def leshan() -> Place:
    return Place.objects.get(kind="community", name="乐山小区社区")


def grid_of(username: str) -> Place:
    return Assignment.objects.get(user__username=username, role="grid_worker", is_active=True).place


def text(response: Any) -> str:
    return response.content.decode()


# --- sign-in and language -----------------------------------------------------------------


def test_login_page_is_chinese_by_default(demo_db: None) -> None:
    response = Client().get("/login/")

    assert response.status_code == 200
    body = text(response)
    assert '<html lang="zh-CN">' in body
    assert "登录" in body
    assert "用户名" in body
    assert "密码" in body
    assert "Sign in" not in body


def test_login_page_is_english_after_set_language(demo_db: None) -> None:
    client = Client()

    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    response = client.get("/login/")

    assert switched.status_code == 302
    assert switched["Location"] == "/login/"
    body = text(response)
    assert '<html lang="en">' in body
    assert "Sign in" in body
    assert "Username" in body
    assert "Password" in body
    assert "登录" not in body


def test_language_switch_back_to_chinese(page_client: PageClient) -> None:
    client = page_client("community")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Places in my area" in text(client.get("/"))

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    body = text(client.get("/"))

    assert "我负责区域内的地点" in body
    assert "Places in my area" not in body


def test_shell_has_language_switch_logout_and_csrf_header(page_client: PageClient) -> None:
    body = text(page_client("community").get("/"))

    assert 'action="/i18n/setlang/"' in body
    assert 'name="language" value="en"' in body
    assert re.search(r'<form class="wg-logout" action="/logout/" method="post">', body)
    assert re.search(r"hx-headers='\{\"X-CSRFToken\": \"[A-Za-z0-9]+\"\}'", body)
    assert "/static/vendor/htmx/htmx.min.js" in body
    # Nothing is loaded from another host.
    assert not re.search(r"""(src|href)=["']https?://""", body)


def test_wrong_password_shows_a_chinese_error(demo_db: None) -> None:
    response = Client().post("/login/", {"username": "community", "password": "not-the-password1"})

    assert response.status_code == 200
    assert "用户名或密码错误" in text(response)
    assert "_auth_user_id" not in response.client.session


def test_right_password_signs_in_and_lands_on_home(demo_db: None) -> None:
    client = Client()

    response = client.post("/login/", {"username": "community", "password": "wangge-demo"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "社区工作人员" in text(client.get("/"))


def test_repeated_failures_lock_the_account_with_429(demo_db: None) -> None:
    client = Client()
    for _ in range(5):
        client.post("/login/", {"username": "grid2", "password": "wrong-password1"})

    response = client.post("/login/", {"username": "grid2", "password": "wangge-demo"})

    assert response.status_code == 429
    body = text(response)
    assert "锁定" in body
    assert 'data-testid="login-locked"' in body
    assert "_auth_user_id" not in client.session


def test_idle_session_is_signed_out_with_a_note(page_client: PageClient) -> None:
    client = page_client("grid1")
    session = client.session
    session["wangge_last_seen"] = time.time() - 3 * 3600
    session.save()

    response = client.get("/", follow=True)

    assert response.redirect_chain[-1][0].startswith("/login/")
    assert 'data-testid="login-timed-out"' in text(response)
    assert "未操作" in text(response)


def test_logout_needs_post_and_ends_the_session(page_client: PageClient) -> None:
    client = page_client("grid1")

    response = client.post("/logout/")

    assert response.status_code == 302
    assert client.get("/").status_code == 302


# --- every page needs a signed-in user ------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/places/", "/places/{id}/", "/places/{id}/children/", "/audit/"])
def test_pages_require_login(demo_db: None, path: str) -> None:
    url = path.format(id=leshan().pk)

    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


# --- home ----------------------------------------------------------------------------------


def test_home_shows_assignments_and_counts_in_scope(page_client: PageClient) -> None:
    response = page_client("grid1").get("/")

    body = text(response)
    assert response.status_code == 200
    assert "专职网格员" in body
    assert grid_of("grid1").name in body
    counts = re.search(r'data-testid="place-counts">(.*?)</dl>', body, re.S)
    assert counts is not None
    # A grid worker's area is one grid: no community or street is counted.
    assert "社区" not in counts.group(1)
    assert "网格" in counts.group(1)


def test_community_home_counts_leshan(page_client: PageClient) -> None:
    body = text(page_client("community").get("/"))

    counts = re.search(r'data-testid="place-counts">(.*?)</dl>', body, re.S)
    assert counts is not None
    grids = re.search(r"<dt>网格</dt><dd>(\d+)</dd>", counts.group(1))
    assert grids is not None
    assert grids.group(1) == "6"
    assert "乐山小区社区" in body


# --- place browser -------------------------------------------------------------------------


def test_community_sees_leshans_tree_and_map(page_client: PageClient) -> None:
    place = leshan()

    response = page_client("community").get("/places/")

    body = text(response)
    assert response.status_code == 200
    assert response.context["place"] == place
    tree = re.search(r'data-testid="place-tree".*?</details>', body, re.S)
    assert tree is not None
    for name in GRID_NAMES:
        assert name in tree.group(0)
    assert "东湖社区" not in body
    assert f'data-geojson-url="/api/v1/places/{place.pk}/geojson"' in body
    assert "/static/vendor/leaflet/leaflet.js" in body
    assert 'data-testid="stat-code">370103' in body


def test_leshans_geojson_has_six_grid_polygons_for_the_map(page_client: PageClient) -> None:
    place = leshan()

    data = page_client("community").get(f"/api/v1/places/{place.pk}/geojson").json()

    grids = [f for f in data["features"] if f["properties"]["kind"] == "grid"]
    assert len(grids) == 6
    assert {f["properties"]["parent_id"] for f in grids} == {place.pk}
    assert all(f["geometry"]["type"] in {"Polygon", "MultiPolygon"} for f in grids)


def test_tree_children_fragment_lists_the_grids(page_client: PageClient) -> None:
    place = leshan()

    response = page_client("community").get(f"/places/{place.pk}/children/", HTTP_HX_REQUEST="true")

    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body
    assert body.count('class="wg-tree-node') == 6
    for name in GRID_NAMES:
        assert name in body


def test_place_page_shows_breadcrumbs_details_and_responsible_people(page_client: PageClient) -> None:
    grid = grid_of("grid1")

    response = page_client("community").get(f"/places/{grid.pk}/")

    body = text(response)
    assert response.status_code == 200
    crumbs = re.search(r'<nav class="wg-crumbs".*?</nav>', body, re.S)
    assert crumbs is not None
    assert "乐山小区社区" in crumbs.group(0)
    # Community staff cannot see above their community: no street or county in the crumbs.
    assert "杆石桥街道" not in crumbs.group(0)
    assert "网格类型" in body
    responsible = re.search(r'data-testid="responsible">(.*?)</section>\s*</div>', body, re.S)
    assert responsible is not None
    assert "网格长" in responsible.group(1)
    assert "专职网格员" in responsible.group(1)
    assert 'href="tel:' in responsible.group(1)


def test_grid_worker_gets_404_for_the_other_grid(page_client: PageClient) -> None:
    other = grid_of("grid2")
    client = page_client("grid1")

    page = client.get(f"/places/{other.pk}/")
    fragment = client.get(f"/places/{other.pk}/children/")

    assert page.status_code == 404
    assert fragment.status_code == 404
    assert other.name not in text(page)
    assert other.name not in text(fragment)
    assert "页面不存在" in text(page)


def test_grid_worker_gets_404_for_places_inside_the_other_grid(page_client: PageClient) -> None:
    inside = Place.objects.filter(path__startswith=grid_of("grid2").path, kind="building").first()
    assert inside is not None

    response = page_client("grid1").get(f"/places/{inside.pk}/")

    assert response.status_code == 404
    assert inside.name not in text(response)


def test_grid_worker_tree_starts_at_their_grid(page_client: PageClient) -> None:
    own, other = grid_of("grid1"), grid_of("grid2")

    response = page_client("grid1").get("/places/")

    assert response.context["place"] == own
    body = text(response)
    assert f'href="/places/{other.pk}/"' not in body
    assert "乐山小区社区" not in re.search(r'data-testid="place-tree".*?</details>', body, re.S).group(0)  # type: ignore[union-attr]


def test_a_house_without_boundary_maps_its_building(page_client: PageClient) -> None:
    house = Place.objects.filter(path__startswith=grid_of("grid1").path, kind="house").first()
    assert house is not None

    response = page_client("grid1").get(f"/places/{house.pk}/")

    assert response.status_code == 200
    shown = response.context["map"]["shown"]
    assert shown is not None
    assert shown.kind in {"building", "unit"}
    assert f"?kinds={shown.kind}" in response.context["map"]["url"]


def test_phones_are_masked_for_roles_that_may_not_see_them(page_client: PageClient) -> None:
    staff = Assignment.objects.filter(role="property_staff", is_active=True).select_related("user").first()
    assert staff is not None

    body = text(page_client(staff.user.username).get(f"/places/{leshan().pk}/"))

    responsible = re.search(r'data-testid="responsible">(.*?)</section>\s*</div>', body, re.S)
    assert responsible is not None
    assert "wg-phone--masked" in responsible.group(1)
    assert 'href="tel:' not in responsible.group(1)
    assert not re.search(r"1[3-9]\d{9}", responsible.group(1))


def test_place_page_query_count_is_bounded(
    page_client: PageClient, django_assert_max_num_queries: Any
) -> None:
    client = page_client("community")
    house = Place.objects.filter(path__startswith=leshan().path, kind="house").first()
    assert house is not None
    client.get("/")  # session and scope warm-up

    with django_assert_max_num_queries(20):
        response = client.get(f"/places/{house.pk}/")

    assert response.status_code == 200


def test_residents_have_no_places_menu(page_client: PageClient) -> None:
    body = text(page_client("resident").get("/"))

    assert 'href="/places/"' not in body


# --- audit log -----------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["grid1", "community", "resident"])
def test_audit_log_is_closed_to_staff_without_the_capability(page_client: PageClient, username: str) -> None:
    response = page_client(username).get("/audit/")

    assert response.status_code in {403, 404}
    assert 'data-testid="audit-table"' not in text(response)
    assert 'href="/audit/"' not in text(page_client(username).get("/"))


def test_audit_log_lists_newest_first_for_admin(page_client: PageClient, users: dict[str, User]) -> None:
    audit.record(actor=users["grid1"], action="web.test_first", object_type="x", object_label="first")
    audit.record(actor=users["grid2"], action="web.test_second", object_type="x", object_label="second")

    response = page_client("admin").get(reverse("audit:list"))

    body = text(response)
    assert response.status_code == 200
    table = body[body.index('data-testid="audit-table"') :]
    assert table.index("web.test_second") < table.index("web.test_first")
    assert 'href="/audit/"' in body  # the navigation entry


def test_audit_log_filters_by_action_actor_and_date(page_client: PageClient, users: dict[str, User]) -> None:
    for _ in range(3):
        audit.record(actor=users["grid1"], action="web.filter_me", object_label="by grid1")
    audit.record(actor=users["grid2"], action="web.filter_me", object_label="by grid2")
    client = page_client("admin")

    by_action = client.get("/audit/", {"action": "web.filter_me"})
    by_actor = client.get("/audit/", {"action": "web.filter_me", "actor": "grid2"})
    future = client.get("/audit/", {"action": "web.filter_me", "date_from": "2999-01-01"})

    assert by_action.context["page"].paginator.count == 4
    assert by_actor.context["page"].paginator.count == 1
    assert "by grid2" in text(by_actor)
    assert "by grid1" not in text(by_actor)
    assert future.context["page"].paginator.count == 0
    assert "没有符合筛选条件的记录" in text(future)


def test_audit_log_is_paginated(page_client: PageClient, users: dict[str, User]) -> None:
    for i in range(55):
        audit.record(actor=users["admin"], action="web.page", object_label=f"row {i}")
    client = page_client("admin")

    first = client.get("/audit/", {"action": "web.page"})
    second = client.get("/audit/", {"action": "web.page", "page": 2})

    assert len(first.context["events"]) == 50
    assert len(second.context["events"]) == 5
    assert "action=web.page&amp;page=2" in text(first)


def test_audit_log_is_read_only(page_client: PageClient) -> None:
    response = page_client("admin").post("/audit/", {"action": "x"})

    assert response.status_code == 405


# --- error pages ---------------------------------------------------------------------------


def test_error_pages_render_in_the_shell(page_client: PageClient) -> None:
    not_found = page_client("grid1").get("/no-such-page/")

    assert not_found.status_code == 404
    assert "wg-topbar" in text(not_found)
    assert "返回首页" in text(not_found)


def test_500_page_renders_without_a_request() -> None:
    html = render_to_string("500.html")

    assert "500" in html
    assert "wg-topbar" in html


def test_expired_form_gets_the_friendly_csrf_page(demo_db: None) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post("/login/", {"username": "community", "password": "wangge-demo"})

    assert response.status_code == 403
    assert "表单已过期" in text(response)
    assert "wg-topbar" in text(response)


def test_audit_page_query_count_is_bounded(
    page_client: PageClient, users: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    for i in range(60):
        audit.record(actor=users["grid1"], action="web.count", object_label=f"row {i}")
    client = page_client("admin")
    client.get("/")

    with django_assert_max_num_queries(12):
        response = client.get("/audit/")

    assert len(response.context["events"]) == 50
