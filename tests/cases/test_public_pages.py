"""The resident's pages: report a matter (signed in or not), follow it by tracking code, rate
it, and the list of one's own requests.

A report without an account needs a phone number and gets a tracking code; the same form
sent twice makes one case; the tracking page shows only the public timeline, without staff
names; a resident sees only their own requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.cases.test_pages import dispatched_to_grid1, file_case, fresh, grid, home_of, jpeg, text, upload
from wangge.cases import services
from wangge.cases.models import Case, CaseReporter, Category, Channel, State
from wangge.cases.public_views import PAGE_SIZE
from wangge.places.models import Place

pytestmark = pytest.mark.django_db

PageClient = Callable[[str], Client]


def leshan() -> Place:
    return Place.objects.get(kind="community", name="乐山小区社区")


def a_building() -> Place:
    found = Place.objects.filter(kind="building", path__startswith=grid(1).path).order_by("path").first()
    assert found is not None
    return found


def report_form(**extra: Any) -> dict[str, Any]:
    form = {
        "idempotency_key": "report-key-1",
        "category": "1701",
        "place": a_building().pk,
        "description": "垃圾桶满了两天没人清运",
        "reporter_phone": "13912345678",
        "reporter_name": "张女士",
    }
    form.update(extra)
    return form


def tracking_code(response: Any) -> str:
    found = re.search(r'data-testid="tracking-code">([0-9A-Z]+)<', text(response))
    assert found, "the result page shows a tracking code"
    return found.group(1)


# --- report ----------------------------------------------------------------------------------------


def test_report_page_works_without_signing_in(demo_db: None) -> None:
    response = Client().get("/report/")

    body = text(response)
    assert response.status_code == 200
    assert 'name="reporter_phone"' in body
    assert 'name="idempotency_key"' in body
    assert 'data-testid="street-select"' in body
    assert 'accept="image/*"' in body


def test_anonymous_report_without_phone_is_refused(demo_db: None) -> None:
    before = Case.objects.count()

    response = Client().post("/report/", report_form(reporter_phone=""))

    assert response.status_code == 400
    assert "请留下手机号" in text(response) or "phone" in text(response)
    assert Case.objects.count() == before


def test_anonymous_report_with_a_photo_sent_twice_makes_one_case(demo_db: None) -> None:
    client = Client()

    first = client.post("/report/", report_form(photos=[upload()]), follow=True)
    second = client.post("/report/", report_form(photos=[upload()]), follow=True)

    cases = Case.objects.filter(description="垃圾桶满了两天没人清运")
    assert cases.count() == 1
    case = cases.get()
    assert case.channel == Channel.WEB
    assert case.reporter is None
    assert case.attachments.count() == 1
    code = tracking_code(first)
    assert tracking_code(second) == code
    assert 'data-testid="report-done"' in text(second)
    assert CaseReporter.objects.get(case=case).tracking_code == code
    assert "13912345678" not in text(first)


def test_report_with_an_unreadable_photo_is_refused(demo_db: None) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("photo.jpg", b"not a picture", content_type="image/jpeg")

    response = Client().post("/report/", report_form(photos=[bad]))

    assert response.status_code == 400
    assert not Case.objects.filter(description="垃圾桶满了两天没人清运").exists()


def test_report_without_a_place_or_location_is_refused(demo_db: None) -> None:
    response = Client().post("/report/", report_form(place=""))

    assert response.status_code == 400
    assert 'data-testid="form-error"' in text(response)


def test_report_by_shared_location_is_placed_by_the_locator(demo_db: None) -> None:
    building = a_building()
    assert building.lat is not None

    response = Client().post("/report/", report_form(place="", lat=building.lat, lng=building.lng))

    assert response.status_code == 302
    case = Case.objects.get(description="垃圾桶满了两天没人清运")
    assert case.place_path.startswith(leshan().path)


def test_signed_in_resident_reports_as_themselves(users: dict[str, Any], page_client: PageClient) -> None:
    client = page_client("resident")
    home = home_of(users["resident"])

    page = text(client.get("/report/"))
    before = text(client.get("/my/requests/")).count('data-testid="my-request"')
    response = client.post("/report/", report_form(place=home.pk, reporter_phone="", category="1999"))

    assert f'<option value="{home.pk}"' in page
    assert 'name="reporter_phone"' not in page
    assert response.status_code == 302
    case = Case.objects.get(description="垃圾桶满了两天没人清运")
    assert case.reporter == users["resident"]
    assert case.place == home
    assert text(client.get("/my/requests/")).count('data-testid="my-request"') == before + 1


def test_signed_in_resident_cannot_name_a_building_of_another_community(
    users: dict[str, Any], page_client: PageClient
) -> None:
    donghu = Place.objects.filter(kind="building", path__startswith="370902.").first()
    assert donghu is not None

    response = page_client("resident").post("/report/", report_form(place=donghu.pk))

    assert response.status_code == 400
    assert not Case.objects.filter(description="垃圾桶满了两天没人清运").exists()


def test_place_cascade_offers_communities_then_buildings(demo_db: None) -> None:
    community = leshan()
    street = community.parent
    assert street is not None
    client = Client()

    communities = text(client.get("/report/places/", {"level": "community", "street": street.pk}))
    buildings = text(client.get("/report/places/", {"level": "building", "community": community.pk}))

    assert "乐山小区社区" in communities
    assert f'<option value="{a_building().pk}"' in buildings
    assert "1-0302" not in buildings  # buildings only, never houses


def test_me_too_candidates_show_public_facts_only(users: dict[str, Any]) -> None:
    case = services.case_intake(
        actor=None,
        channel=Channel.WEB,
        category=Category.objects.get(code="1701"),
        description="垃圾桶满了",
        place=a_building(),
        reporter_name="王大爷",
        reporter_phone="13700001234",
    ).case

    body = text(Client().get("/report/similar/", {"category": "1701", "place": a_building().pk}))

    assert f'value="{case.number}"' in body
    assert "王大爷" not in body
    assert "13700001234" not in body
    assert "1234" not in body.replace(case.number, "")
    assert "/cases/" not in body


def test_joining_a_me_too_candidate_adds_a_reporter(users: dict[str, Any]) -> None:
    case = services.case_intake(
        actor=None,
        channel=Channel.WEB,
        category=Category.objects.get(code="1701"),
        description="垃圾桶满了",
        place=a_building(),
        reporter_phone="13700001234",
    ).case

    response = Client().post("/report/", report_form(me_too=case.number), follow=True)

    assert 'data-testid="report-done"' in text(response)
    assert fresh(case).reporter_count == 2
    assert not Case.objects.filter(description="垃圾桶满了两天没人清运").exists()


def test_joining_a_case_that_is_not_a_candidate_is_refused(users: dict[str, Any]) -> None:
    other = file_case(users)  # category 1999, not 1701

    response = Client().post("/report/", report_form(me_too=other.number))

    assert response.status_code == 400
    assert fresh(other).reporter_count == 1


# --- tracking ---------------------------------------------------------------------------------------


def test_tracking_form_redirects_to_the_tracking_page(users: dict[str, Any]) -> None:
    case = file_case(users)
    code = case.reporters.get().tracking_code

    response = Client().post("/track/", {"code": code.lower()})

    assert response.status_code == 302
    assert response["Location"] == f"/track/{code}/"


def test_unknown_tracking_code_is_404(demo_db: None) -> None:
    response = Client().get("/track/ZZZZZZZZZZZZ/")

    assert response.status_code == 404
    assert 'data-testid="track-not-found"' in text(response)


def test_tracking_page_hides_internal_entries_and_staff_names(users: dict[str, Any]) -> None:
    case = file_case(users)
    code = case.reporters.get().tracking_code
    case = services.case_dispatch(
        actor=users["community"], case=case, to=services.Target(place=grid(1)), note="内部：请网格员尽快上门"
    )
    case = services.case_accept(actor=users["grid1"], case=case, version=case.version)
    services.case_progress(
        actor=users["grid1"], case=case, note="已联系电工，明天上午到", version=case.version
    )

    body = text(Client().get(f"/track/{code}/"))

    assert 'data-action="receive"' in body
    assert 'data-action="accept"' in body
    assert 'data-action="dispatch"' not in body
    assert 'data-action="progress"' not in body
    assert "内部" not in body
    assert "电工" not in body
    for staff in ("community", "grid1"):
        user = users[staff]
        assert user.label not in body
        assert f">{user.username}<" not in body
    assert users["resident"].label not in body


def test_tracking_page_shows_reply_and_rates_through_the_code(users: dict[str, Any]) -> None:
    case = dispatched_to_grid1(users)
    code = case.reporters.get().tracking_code
    case = services.case_accept(actor=users["grid1"], case=case, version=case.version)
    services.case_resolve(actor=users["grid1"], case=case, reply="灯已修好", version=case.version)
    client = Client()

    page = text(client.get(f"/track/{code}/"))
    no_comment = client.post(f"/track/{code}/rate/", {"rating": "unsatisfied"})
    state_after_no_comment = fresh(case).state
    unsatisfied = client.post(f"/track/{code}/rate/", {"rating": "unsatisfied", "comment": "二楼还是黑的"})

    assert "灯已修好" in page
    assert 'data-testid="rating-form"' in page
    assert no_comment.status_code == 400
    assert state_after_no_comment == State.RESOLVED
    assert unsatisfied.status_code == 302
    reopened = fresh(case)
    assert reopened.state == State.DISPATCHED
    assert reopened.reopen_count == 1
    assert 'data-testid="rating-form"' not in text(client.get(f"/track/{code}/"))


def test_rating_before_the_answer_is_refused(users: dict[str, Any]) -> None:
    case = dispatched_to_grid1(users)
    code = case.reporters.get().tracking_code

    response = Client().post(f"/track/{code}/rate/", {"rating": "satisfied"})

    assert response.status_code == 409
    assert fresh(case).state == State.DISPATCHED


def test_tracking_photos_are_public_entries_only(users: dict[str, Any]) -> None:
    case = dispatched_to_grid1(users, photos=(jpeg(),))
    code = case.reporters.get().tracking_code
    case = services.case_accept(actor=users["grid1"], case=case, version=case.version)
    services.case_progress(
        actor=users["grid1"], case=case, note="现场照片", photos=(jpeg("blue"),), version=case.version
    )
    public_photo = case.attachments.get(event__action="receive")
    internal_photo = case.attachments.get(event__action="progress")
    client = Client()

    shown = client.get(f"/track/{code}/attachments/{public_photo.pk}/")
    hidden = client.get(f"/track/{code}/attachments/{internal_photo.pk}/")
    wrong_code = client.get(f"/track/ZZZZZZZZZZZZ/attachments/{public_photo.pk}/")

    assert shown.status_code == 200
    assert shown["Content-Type"] == "image/jpeg"
    assert "private" in shown["Cache-Control"]
    assert hidden.status_code == 404
    assert wrong_code.status_code == 404


# --- my requests -------------------------------------------------------------------------------------


def test_my_requests_needs_signing_in(demo_db: None) -> None:
    response = Client().get("/my/requests/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_resident_sees_only_own_requests(users: dict[str, Any], page_client: PageClient) -> None:
    mine = file_case(users)
    theirs = services.case_intake(
        actor=None,
        channel=Channel.WEB,
        category=Category.objects.get(code="1999"),
        description="别人反映的事",
        place=home_of(users["resident"]),
        reporter_phone="13600001111",
    ).case
    client = page_client("resident")

    body = text(client.get("/my/requests/"))

    assert f'data-number="{mine.number}"' in body
    assert theirs.number not in body
    assert client.get(f"/cases/{mine.number}/").status_code == 200
    assert client.get(f"/cases/{theirs.number}/").status_code == 404


def test_resident_detail_shows_the_public_timeline_only(
    users: dict[str, Any], page_client: PageClient
) -> None:
    case = file_case(users)
    services.case_dispatch(
        actor=users["community"], case=case, to=services.Target(place=grid(1)), note="内部：请网格员尽快上门"
    )

    body = text(page_client("resident").get(f"/cases/{case.number}/"))

    assert 'data-action="dispatch"' not in body
    assert "内部" not in body
    assert 'data-testid="case-actions"' not in body
    assert users["community"].label not in body


def test_staff_my_requests_lists_what_they_reported(users: dict[str, Any], page_client: PageClient) -> None:
    case = file_case(users)
    own = CaseReporter.objects.filter(user=users["grid2"]).count()

    body = text(page_client("grid2").get("/my/requests/"))

    assert case.number not in body
    if own:
        assert body.count('data-testid="my-request"') == min(own, PAGE_SIZE)
    else:
        assert 'data-testid="my-requests-empty"' in body
