"""The staff pages for requests and work orders, through Django's test client on the demo.

Given a request in Leshan grid 1, each page answers the users who should see it and refuses
the others: a case outside the user's scope is a 404 (never telling it apart from a missing
one), a page for a capability the user lacks is a 403, anonymous users go to the sign-in page.
Actions carry the version the page showed, so a stale page gets a conflict, not a second action.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from PIL import Image

from wangge.cases import services
from wangge.cases.models import Case, CaseEvent, Category, Channel, Extension, State
from wangge.core import clock
from wangge.core.scope import scope_for
from wangge.org.models import Department
from wangge.places.models import Place

pytestmark = pytest.mark.django_db

PageClient = Callable[[str], Client]


def jpeg(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, format="JPEG")
    return out.getvalue()


def upload(name: str = "photo.jpg", color: str = "red") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, jpeg(color), content_type="image/jpeg")


def home_of(user: Any) -> Place:
    return Place.objects.get(path=scope_for(user).grants[0].path)


def grid(n: int) -> Place:
    return Place.objects.get(kind="grid", name=["第一网格", "第二网格"][n - 1], path__startswith="370103.")


def file_case(users: dict[str, Any], *, code: str = "1999", photos: tuple[bytes, ...] = ()) -> Case:
    """A resident's request in grid 1, owned by the Leshan community desk."""
    result = services.case_intake(
        actor=users["resident"],
        channel=Channel.WEB,
        category=Category.objects.get(code=code),
        description="楼道灯坏了，晚上看不见台阶",
        place=home_of(users["resident"]),
        photos=photos,
    )
    return result.case


def dispatched_to_grid1(users: dict[str, Any], **kw: Any) -> Case:
    case = file_case(users, **kw)
    return services.case_dispatch(actor=users["community"], case=case, to=services.Target(place=grid(1)))


def text(response: Any) -> str:
    return response.content.decode()


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


# --- who may open which page ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/cases/", "/cases/mine/", "/cases/overdue/", "/cases/all/", "/cases/new/"])
def test_anonymous_is_sent_to_sign_in(demo_db: None, path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_anonymous_gets_no_case_detail_or_photo(users: dict[str, Any]) -> None:
    case = file_case(users, photos=(jpeg(),))
    photo = case.attachments.get()

    assert Client().get(f"/cases/{case.number}/").status_code == 302
    assert Client().get(f"/cases/attachments/{photo.pk}/").status_code == 302


@pytest.mark.parametrize(
    ("username", "path", "status"),
    [
        ("community", "/cases/", 200),
        ("street", "/cases/", 200),
        ("grid1", "/cases/", 403),
        ("dept", "/cases/", 403),
        ("resident", "/cases/", 403),
        ("grid1", "/cases/mine/", 200),
        ("dept", "/cases/mine/", 200),
        ("resident", "/cases/mine/", 403),
        ("community", "/cases/overdue/", 200),
        ("grid2", "/cases/overdue/", 403),
        ("dept", "/cases/overdue/", 403),
        ("community", "/cases/all/", 200),
        ("dept", "/cases/all/", 200),
        ("resident", "/cases/all/", 403),
        ("grid1", "/cases/new/", 200),
        ("community", "/cases/new/", 200),
        ("dept", "/cases/new/", 403),
        ("resident", "/cases/new/", 403),
    ],
)
def test_pages_answer_by_capability(page_client: PageClient, username: str, path: str, status: int) -> None:
    assert page_client(username).get(path).status_code == status


def test_navigation_offers_the_pages_by_role(page_client: PageClient) -> None:
    community = text(page_client("community").get("/"))
    grid1 = text(page_client("grid1").get("/"))
    dept = text(page_client("dept").get("/"))
    resident = text(page_client("resident").get("/"))

    assert 'href="/cases/"' in community
    assert 'href="/cases/mine/"' in grid1
    assert 'href="/cases/"' not in grid1
    assert 'href="/cases/mine/"' in dept
    assert 'href="/report/"' in resident
    assert 'href="/my/requests/"' in resident
    assert "/cases/" not in resident


def test_tabs_offer_the_other_request_pages_by_capability(page_client: PageClient) -> None:
    community = text(page_client("community").get("/cases/"))
    grid1 = text(page_client("grid1").get("/cases/mine/"))

    for path in ("/cases/mine/", "/cases/overdue/", "/cases/all/", "/cases/new/"):
        assert f'href="{path}"' in community
    assert 'href="/cases/overdue/"' not in grid1
    assert 'href="/cases/new/"' in grid1


# --- the dispatcher's queue ----------------------------------------------------------------------------


def test_queue_lists_the_request_with_a_countdown_and_a_dispatch_form(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = file_case(users)

    body = text(page_client("community").get("/cases/"))

    assert f'data-number="{case.number}"' in body
    assert 'data-testid="countdown"' in body
    assert 'name="dispatch-version"' in body
    assert f'value="place:{grid(1).pk}"' in body


def test_queue_filters_by_category(users: dict[str, Any], page_client: PageClient) -> None:
    case = file_case(users)
    client = page_client("community")

    shown = text(client.get("/cases/", {"category": "19"}))
    hidden = text(client.get("/cases/", {"category": "13"}))

    assert case.number in shown
    assert case.number not in hidden


def test_queue_dispatch_from_the_row_returns_to_the_queue(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = file_case(users)

    response = page_client("community").post(
        f"/cases/{case.number}/act/dispatch/",
        {"dispatch-version": case.version, "dispatch-target": f"place:{grid(1).pk}", "next": "/cases/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/cases/"
    assert fresh(case).state == State.DISPATCHED
    assert fresh(case).handler_place == grid(1)


def test_street_queue_sees_cases_waiting_at_the_community_desk(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = file_case(users)

    body = text(page_client("street").get("/cases/"))

    # The street office sits above the community desk: it sees the case waiting there.
    assert case.number in body


# --- my tasks -------------------------------------------------------------------------------------------


def test_my_tasks_shows_the_work_order_to_grid1_only(users: dict[str, Any], page_client: PageClient) -> None:
    case = dispatched_to_grid1(users)

    mine = text(page_client("grid1").get("/cases/mine/"))
    other = text(page_client("grid2").get("/cases/mine/"))

    assert f'data-number="{case.number}"' in mine
    assert 'data-testid="action-accept"' in mine
    assert case.number not in other


def test_grid1_accepts_and_resolves_with_a_photo_from_my_tasks(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = dispatched_to_grid1(users)
    client = page_client("grid1")

    accepted = client.post(
        f"/cases/{case.number}/act/accept/", {"accept-version": case.version, "next": "/cases/mine/"}
    )
    case = fresh(case)
    body = text(client.get("/cases/mine/"))
    resolved = client.post(
        f"/cases/{case.number}/act/resolve/",
        {"resolve-version": case.version, "resolve-note": "已更换灯泡", "resolve-photos": [upload()]},
    )

    assert accepted.status_code == 302
    assert 'data-testid="action-resolve"' in body
    assert resolved.status_code == 302
    case = fresh(case)
    assert case.state == State.RESOLVED
    assert case.reply == "已更换灯泡"
    assert case.attachments.filter(event__action="resolve").count() == 1


# --- the overdue board --------------------------------------------------------------------------------


def test_overdue_board_groups_an_overdue_case_and_offers_supervision(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = dispatched_to_grid1(users)

    with time_machine.travel(case.due_at + timedelta(hours=1)):
        body = text(page_client("community").get("/cases/overdue/"))
        supervised = page_client("community").post(
            f"/cases/{case.number}/act/supervise/",
            {"supervise-version": case.version, "supervise-note": "请尽快处理", "next": "/cases/overdue/"},
        )

    overdue = body.split('data-testid="board-overdue"')[1].split("</section>")[0]
    assert case.number in overdue
    assert 'data-testid="action-supervise"' in overdue
    assert supervised.status_code == 302
    assert fresh(case).supervised is True


def test_overdue_board_for_the_administrator(users: dict[str, Any], page_client: PageClient) -> None:
    case = dispatched_to_grid1(users)

    with time_machine.travel(case.due_at + timedelta(hours=1)):
        body = text(page_client("admin").get("/cases/overdue/"))

    assert case.number in body


# --- the list -----------------------------------------------------------------------------------------


def test_list_searches_by_number(users: dict[str, Any], page_client: PageClient) -> None:
    case = file_case(users)
    client = page_client("community")

    found = text(client.get("/cases/all/", {"q": case.number}))
    missed = text(client.get("/cases/all/", {"q": "19990101"}))

    assert f'data-number="{case.number}"' in found
    assert case.number not in missed


def test_department_sees_only_cases_sent_to_it(users: dict[str, Any], page_client: PageClient) -> None:
    housing = Department.objects.get(name="市中区住房和城乡建设局")
    sent = file_case(users, code="1301")
    kept = file_case(users, code="1999")
    services.case_whistle(
        actor=users["community"], case=sent, department=housing, note="请住建局到场", version=sent.version
    )
    client = page_client("dept")

    listed = text(client.get("/cases/all/"))
    tasks = text(client.get("/cases/mine/"))

    assert sent.number in listed
    assert kept.number not in listed
    assert sent.number in tasks
    assert client.get(f"/cases/{sent.number}/").status_code == 200
    assert client.get(f"/cases/{kept.number}/").status_code == 404


# --- the case detail ------------------------------------------------------------------------------------


def test_detail_shows_header_timeline_reporters_and_the_dispatch_form(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = file_case(users, photos=(jpeg(),))

    body = text(page_client("community").get(f"/cases/{case.number}/"))

    assert f'<span data-testid="case-number">{case.number}</span>' in body
    assert 'data-state="received"' in body
    assert 'data-testid="timeline-entry" data-action="receive"' in body
    assert 'data-testid="reporters"' in body
    assert 'data-testid="action-dispatch"' in body
    assert 'name="dispatch-version"' in body
    assert "乐山小区社区" in body
    assert f"/cases/attachments/{case.attachments.get().pk}/" in body


def test_grid2_gets_404_for_a_grid1_case_and_its_photo(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = dispatched_to_grid1(users, photos=(jpeg(),))
    photo = case.attachments.get()
    client = page_client("grid2")

    assert client.get(f"/cases/{case.number}/").status_code == 404
    assert client.get(f"/cases/attachments/{photo.pk}/").status_code == 404
    assert (
        client.post(f"/cases/{case.number}/act/accept/", {"accept-version": case.version}).status_code == 404
    )
    assert fresh(case).state == State.DISPATCHED


def test_photo_is_served_privately_as_jpeg(users: dict[str, Any], page_client: PageClient) -> None:
    case = file_case(users, photos=(jpeg(),))
    photo = case.attachments.get()

    response = page_client("community").get(f"/cases/attachments/{photo.pk}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "private" in response["Cache-Control"]
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_missing_case_is_404(page_client: PageClient) -> None:
    assert page_client("community").get("/cases/209901010000001/").status_code == 404


def test_stale_version_shows_the_conflict_and_acts_once(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = file_case(users)
    page_version = case.version
    client = page_client("community")
    first = client.post(
        f"/cases/{case.number}/act/dispatch/",
        {"dispatch-version": page_version, "dispatch-target": f"place:{grid(1).pk}"},
    )

    second = client.post(
        f"/cases/{case.number}/act/dispatch/",
        {"dispatch-version": page_version, "dispatch-target": f"place:{grid(2).pk}"},
    )

    assert first.status_code == 302
    assert second.status_code == 409
    assert 'data-testid="action-error"' in text(second)
    assert fresh(case).handler_place == grid(1)
    assert CaseEvent.objects.filter(case=case, action="dispatch").count() == 1


def test_invalid_forms_show_messages_and_change_nothing(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = dispatched_to_grid1(users)
    services.case_accept(actor=users["grid1"], case=case, version=case.version)
    case = fresh(case)
    client = page_client("grid1")

    no_reply = client.post(f"/cases/{case.number}/act/resolve/", {"resolve-version": case.version})
    no_version = client.post(f"/cases/{case.number}/act/resolve/", {"resolve-note": "好了"})
    bad_amount = client.post(
        f"/cases/{case.number}/act/request_extension/",
        {
            "request_extension-version": case.version,
            "request_extension-amount": 999,
            "request_extension-note": "x",
        },
    )
    unknown = client.post(f"/cases/{case.number}/act/explode/", {})

    assert no_reply.status_code == 400
    assert 'class="wg-field-error"' in text(no_reply)
    assert no_version.status_code == 400
    assert bad_amount.status_code == 400
    assert unknown.status_code == 404
    after = fresh(case)
    assert after.state == State.ACCEPTED
    assert after.version == case.version
    assert not Extension.objects.filter(case=case).exists()


def test_dispatch_without_a_target_is_refused_with_a_message(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = file_case(users)

    response = page_client("community").post(
        f"/cases/{case.number}/act/dispatch/", {"dispatch-version": case.version, "dispatch-target": ""}
    )

    assert response.status_code == 400
    assert 'class="wg-field-error"' in text(response)
    assert fresh(case).state == State.RECEIVED


def test_dispatch_to_a_place_outside_the_choices_is_refused(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = file_case(users)
    donghu_grid = Place.objects.get(kind="grid", name="第一网格", path__startswith="370902.")

    response = page_client("community").post(
        f"/cases/{case.number}/act/dispatch/",
        {"dispatch-version": case.version, "dispatch-target": f"place:{donghu_grid.pk}"},
    )

    assert response.status_code == 400
    assert fresh(case).state == State.RECEIVED


def test_resident_may_not_act_on_own_request(users: dict[str, Any], page_client: PageClient) -> None:
    case = file_case(users)
    housing = Department.objects.get(name="市中区住房和城乡建设局")

    response = page_client("resident").post(
        f"/cases/{case.number}/act/dispatch/",
        {"dispatch-version": case.version, "dispatch-target": f"dept:{housing.pk}"},
    )

    assert response.status_code in (400, 403)
    assert fresh(case).state == State.RECEIVED


def test_grid1_may_not_dispatch_a_community_case(users: dict[str, Any], page_client: PageClient) -> None:
    case = file_case(users)

    response = page_client("grid1").post(
        f"/cases/{case.number}/act/dispatch/",
        {"dispatch-version": case.version, "dispatch-target": f"place:{grid(1).pk}"},
    )

    assert response.status_code in (400, 403)
    assert fresh(case).state == State.RECEIVED


def test_return_with_reason_goes_back_to_the_desk(users: dict[str, Any], page_client: PageClient) -> None:
    case = dispatched_to_grid1(users)

    response = page_client("grid1").post(
        f"/cases/{case.number}/act/return/",
        {"return-version": case.version, "return-note": "不属于本网格"},
    )

    assert response.status_code == 302
    assert fresh(case).state == State.RETURNED


def test_extension_is_requested_then_approved_on_the_detail_page(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = dispatched_to_grid1(users)
    services.case_accept(actor=users["grid1"], case=case, version=case.version)
    case = fresh(case)
    page_client("grid1").post(
        f"/cases/{case.number}/act/request_extension/",
        {
            "request_extension-version": case.version,
            "request_extension-amount": 2,
            "request_extension-note": "需要等待配件",
        },
    )
    case = fresh(case)
    extension = Extension.objects.get(case=case)
    client = page_client("community")

    body = text(client.get(f"/cases/{case.number}/"))
    approved = client.post(
        f"/cases/{case.number}/act/approve_extension/",
        {"approve_extension-version": case.version, "approve_extension-extension": extension.pk},
    )

    assert 'data-testid="pending-extension"' in body
    assert approved.status_code == 302
    assert Extension.objects.get(pk=extension.pk).status == Extension.Status.APPROVED
    assert fresh(case).due_at > case.due_at


def test_escalate_and_whistle_forms_offer_departments(users: dict[str, Any], page_client: PageClient) -> None:
    case = file_case(users)

    body = text(page_client("community").get(f"/cases/{case.number}/"))

    assert 'data-testid="action-whistle"' in body
    assert 'data-testid="action-escalate"' in body
    assert "市中区住房和城乡建设局" in body


def test_merge_into_another_case(users: dict[str, Any], page_client: PageClient) -> None:
    keep = file_case(users)
    dup = services.case_intake(
        actor=None,
        channel=Channel.WEB,
        category=keep.category,
        description="楼道灯也不亮",
        place=keep.place,
        reporter_phone="13800138000",
    ).case
    if dup.pk == keep.pk:  # pragma: no cover - intake never merges by itself
        pytest.skip("joined automatically")

    response = page_client("community").post(
        f"/cases/{dup.number}/act/merge/",
        {"merge-version": dup.version, "merge-into": keep.number, "merge-note": "同一问题"},
    )

    assert response.status_code == 302
    assert fresh(dup).state == State.MERGED
    assert fresh(keep).reporter_count == 2


def test_signed_in_reporter_rates_on_the_detail_page(users: dict[str, Any], page_client: PageClient) -> None:
    case = dispatched_to_grid1(users)
    services.case_accept(actor=users["grid1"], case=case, version=case.version)
    case = services.case_resolve(actor=users["grid1"], case=case, reply="已修好", version=fresh(case).version)
    client = page_client("resident")

    page = text(client.get(f"/cases/{case.number}/"))
    missing_comment = client.post(f"/cases/{case.number}/rate/", {"rating": "unsatisfied"})
    rated = client.post(f"/cases/{case.number}/rate/", {"rating": "satisfied"})

    assert 'data-testid="rating-form"' in page
    assert "岳建平" not in page  # no staff names on the reporter's view
    assert missing_comment.status_code == 400
    assert rated.status_code == 302
    assert fresh(case).state == State.RATED
    assert fresh(case).rating == "satisfied"


def test_grid2_may_not_rate_a_grid1_case(users: dict[str, Any], page_client: PageClient) -> None:
    case = dispatched_to_grid1(users)

    response = page_client("grid2").post(f"/cases/{case.number}/rate/", {"rating": "satisfied"})

    assert response.status_code == 404


# --- staff intake --------------------------------------------------------------------------------------


def test_patrol_report_handled_myself_is_one_case_even_when_sent_twice(
    users: dict[str, Any], page_client: PageClient
) -> None:
    client = page_client("grid1")
    building = Place.objects.filter(kind="building", path__startswith=grid(1).path).order_by("path").first()
    assert building is not None
    form = {
        "idempotency_key": "patrol-key-1",
        "channel": "patrol",
        "handle_myself": "on",
        "category": "0101",
        "priority": "normal",
        "place": building.pk,
        "description": "楼前有暴露垃圾",
        "photos": [upload()],
    }

    first = client.post("/cases/new/", form)
    form["photos"] = [upload()]
    second = client.post("/cases/new/", form)

    cases = Case.objects.filter(description="楼前有暴露垃圾")
    assert first.status_code == 302
    assert second.status_code == 302
    assert cases.count() == 1
    case = cases.get()
    assert first["Location"] == second["Location"] == f"/cases/{case.number}/"
    assert case.state == State.ACCEPTED
    assert case.handler == users["grid1"]
    assert case.attachments.count() == 1


def test_hotline_transfer_needs_a_ticket(users: dict[str, Any], page_client: PageClient) -> None:
    client = page_client("community")
    form = {
        "idempotency_key": "hotline-1",
        "channel": "hotline",
        "category": "1301",
        "priority": "urgent",
        "place": home_of(users["resident"]).pk,
        "description": "整栋楼停水",
        "reporter_name": "王先生",
        "reporter_phone": "13900001111",
    }

    refused = client.post("/cases/new/", form)
    form["hotline_ticket"] = "12345-20240601-0001"
    form["idempotency_key"] = "hotline-2"
    accepted = client.post("/cases/new/", form)

    assert refused.status_code == 400
    assert 'data-testid="form-error"' in text(refused)
    assert accepted.status_code == 302
    assert Case.objects.get(hotline_ticket="12345-20240601-0001").channel == Channel.HOTLINE


def test_grid1_may_not_register_a_hotline_transfer_or_report_in_grid2(
    users: dict[str, Any], page_client: PageClient
) -> None:
    other = Place.objects.filter(kind="building", path__startswith=grid(2).path).order_by("path").first()
    assert other is not None
    client = page_client("grid1")
    before = Case.objects.count()

    hotline = client.post(
        "/cases/new/",
        {
            "idempotency_key": "k1",
            "channel": "hotline",
            "hotline_ticket": "T-1",
            "category": "1999",
            "priority": "normal",
            "place": home_of(users["resident"]).pk,
            "description": "x",
        },
    )
    elsewhere = client.post(
        "/cases/new/",
        {
            "idempotency_key": "k2",
            "channel": "patrol",
            "category": "1999",
            "priority": "normal",
            "place": other.pk,
            "description": "x",
        },
    )

    assert hotline.status_code == 400
    assert elsewhere.status_code == 400
    assert Case.objects.count() == before


def test_intake_offers_me_too_candidates_and_joins_one(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = file_case(users)
    client = page_client("community")
    home = home_of(users["resident"])

    candidates = text(client.get("/cases/new/similar/", {"category": "1999", "place": home.pk}))
    joined = client.post(
        "/cases/new/",
        {
            "idempotency_key": "walkin-1",
            "channel": "walk_in",
            "category": "1999",
            "priority": "normal",
            "place": home.pk,
            "description": "楼道灯也坏了",
            "reporter_name": "李女士",
            "me_too": case.number,
        },
    )

    assert f'value="{case.number}"' in candidates
    assert joined.status_code == 302
    assert fresh(case).reporter_count == 2


def test_place_search_stays_in_scope(page_client: PageClient) -> None:
    grid1 = text(page_client("grid1").get("/cases/new/places/", {"q": "1号楼"}))
    community = text(page_client("community").get("/cases/new/places/", {"q": "1号楼"}))

    assert grid1.count("<option value=") < community.count("<option value=")
    assert "第二网格" not in grid1


def test_overdue_board_is_empty_before_deadlines(users: dict[str, Any], page_client: PageClient) -> None:
    case = dispatched_to_grid1(users)

    with time_machine.travel(clock.now()):
        body = text(page_client("community").get("/cases/overdue/"))

    assert case.number not in body.split('data-testid="board-overdue"')[1].split("</section>")[0]


def test_the_queue_page_works_out_its_dispatch_choices_once_per_page(
    users: dict[str, Any], page_client: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(5):
        file_case(users)
    client = page_client("community")
    with django_assert_max_num_queries(20):
        response = client.get("/cases/")
    assert response.status_code == 200
    rows = response.content.count(b'data-testid="queue-row"')
    assert rows >= 5
    assert response.content.count(b'data-testid="quick-dispatch"') == rows
