"""The closed loop through the services: intake → dispatch → accept → resolve → rate, with
the returns, escalations, whistles, extensions and reopenings around it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cases.helpers import building_in, category, file_case, grid_of, jpeg
from wangge.cases import services
from wangge.cases.models import Attachment, CaseEvent, Channel, Extension, Rating, State
from wangge.cases.services import Target
from wangge.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from wangge.core.models import AuditEvent, Notification, OutboxEvent
from wangge.org.models import Department, PropertyCompany
from wangge.places.models import PlaceKind

pytestmark = pytest.mark.django_db


def _community(place: Any) -> Any:
    from wangge.cases.routing import unit_of

    return unit_of(place, PlaceKind.COMMUNITY)


def test_the_whole_loop_with_one_rework(users: dict[str, Any]) -> None:
    grid1 = grid_of("grid1")
    case = file_case(actor=users["resident"], code="1999", photos=[jpeg()])
    assert case.state == State.RECEIVED
    assert case.owner_place == _community(case.place)
    assert case.first_owner_label == str(case.owner_place)
    assert case.number.isdigit()
    assert len(case.number) == 15
    assert Attachment.objects.filter(case=case).count() == 1

    services.case_dispatch(actor=users["community"], case=case, to=Target(place=grid1))
    case.refresh_from_db()
    assert (case.state, case.handler_place_id, case.handler_id) == (State.DISPATCHED, grid1.pk, None)

    services.case_accept(actor=users["grid1"], case=case)
    case.refresh_from_db()
    assert (case.state, case.handler_id) == (State.ACCEPTED, users["grid1"].pk)
    assert case.responded_on_time is True

    services.case_resolve(actor=users["grid1"], case=case, reply="已更换灯泡", photos=[jpeg()])
    case.refresh_from_db()
    assert case.state == State.RESOLVED
    assert case.reply == "已更换灯泡"
    assert case.resolved_on_time is True

    services.case_rate(actor=users["resident"], case=case, rating=Rating.UNSATISFIED, comment="还是不亮")
    case.refresh_from_db()
    assert (case.state, case.reopen_count, case.handler_id) == (State.DISPATCHED, 1, users["grid1"].pk)
    assert case.resolved_at is None

    services.case_accept(actor=users["grid1"], case=case)
    services.case_resolve(actor=users["grid1"], case=case, reply="更换了线路")
    services.case_rate(actor=users["resident"], case=case, rating=Rating.SATISFIED)
    case.refresh_from_db()
    assert (case.state, case.rating) == (State.RATED, Rating.SATISFIED)

    actions = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
    assert actions == [
        "receive",
        "dispatch",
        "accept",
        "resolve",
        "rate",
        "reopen",
        "accept",
        "resolve",
        "rate",
    ]
    # Every transition is audited and pushed.
    assert AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk)).count() == len(actions)
    assert OutboxEvent.objects.filter(topic="live", payload__number=case.number).count() >= len(actions)


def test_a_second_unsatisfied_rating_goes_to_the_supervisor(users: dict[str, Any]) -> None:
    case = file_case(actor=users["resident"])
    services.case_dispatch(actor=users["community"], case=case, to=Target(user=users["grid1"]))
    for _round in range(2):
        services.case_accept(actor=users["grid1"], case=case)
        services.case_resolve(actor=users["grid1"], case=case, reply="处理了")
        services.case_rate(actor=users["resident"], case=case, rating=Rating.UNSATISFIED, comment="没解决")
    case.refresh_from_db()
    assert (case.state, case.rating, case.supervised, case.reopen_count) == (
        State.RATED,
        Rating.UNSATISFIED,
        True,
        1,
    )
    street = Notification.objects.filter(user=users["street"], kind="case.unsatisfied_again")
    assert street.exists()


def test_only_a_reporter_rates_and_an_unsatisfied_rating_needs_a_comment(users: dict[str, Any]) -> None:
    case = file_case(actor=users["resident"])
    services.case_dispatch(actor=users["community"], case=case, to=Target(user=users["grid1"]))
    services.case_accept(actor=users["grid1"], case=case)
    services.case_resolve(actor=users["grid1"], case=case, reply="好了")
    with pytest.raises(PermissionDenied):
        services.case_rate(actor=users["community"], case=case, rating=Rating.SATISFIED)
    with pytest.raises(ValidationError):
        services.case_rate(actor=users["resident"], case=case, rating=Rating.UNSATISFIED)
    with pytest.raises(ValidationError):
        services.case_rate(actor=users["resident"], case=case, rating="great")


def test_an_anonymous_reporter_rates_with_the_tracking_code() -> None:
    result = services.case_intake(
        actor=None,
        channel=Channel.WEB,
        category=category("1999"),
        place=building_in(grid_of("grid1")),
        description="路灯不亮",
        reporter_phone="13912345678",
    )
    code = result.reporter.tracking_code
    assert len(code) == 12
    case = result.case
    from wangge.core.models import User

    community = User.objects.get(username="community")
    grid1 = User.objects.get(username="grid1")
    services.case_dispatch(actor=community, case=case, to=Target(user=grid1))
    services.case_accept(actor=grid1, case=case)
    services.case_resolve(actor=grid1, case=case, reply="修好了")
    with pytest.raises(PermissionDenied):
        services.case_rate(actor=None, case=case, rating=Rating.SATISFIED, tracking_code="WRONGCODE123")
    services.case_rate(actor=None, case=case, rating=Rating.BASIC, tracking_code=code.lower())
    case.refresh_from_db()
    assert case.rating == Rating.BASIC


def test_anonymous_reports_need_a_valid_phone() -> None:
    with pytest.raises(ValidationError):
        services.case_intake(
            actor=None,
            channel=Channel.WEB,
            category=category("1999"),
            place=building_in(grid_of("grid1")),
            description="x",
        )
    with pytest.raises(ValidationError):
        services.case_intake(
            actor=None,
            channel=Channel.WEB,
            category=category("1999"),
            place=building_in(grid_of("grid1")),
            description="x",
            reporter_phone="12345",
        )


def test_others_cannot_touch_a_case_outside_their_scope(users: dict[str, Any]) -> None:
    case = file_case(actor=users["resident"])
    services.case_dispatch(actor=users["community"], case=case, to=Target(place=grid_of("grid1")))
    with pytest.raises(NotFound):
        services.case_accept(actor=users["grid2"], case=case)
    with pytest.raises(NotFound):
        services.case_accept(actor=users["dept"], case=case)
    with pytest.raises(PermissionDenied):
        services.case_accept(actor=users["resident"], case=case)
    with pytest.raises(PermissionDenied):
        services.case_recall(actor=users["grid1"], case=case)
    case.refresh_from_db()
    assert case.state == State.DISPATCHED
    assert case.version == 2


def test_a_wrong_state_or_stale_version_is_a_conflict(users: dict[str, Any]) -> None:
    case = file_case(actor=users["resident"])
    with pytest.raises(Conflict) as stale:
        services.case_dispatch(
            actor=users["community"], case=case, to=Target(place=grid_of("grid1")), version=7
        )
    assert stale.value.code == "stale_version"
    services.case_dispatch(actor=users["community"], case=case, to=Target(place=grid_of("grid1")), version=1)
    with pytest.raises(Conflict) as wrong:
        services.case_dispatch(actor=users["community"], case=case, to=Target(place=grid_of("grid2")))
    assert wrong.value.code == "wrong_state"
    assert CaseEvent.objects.filter(case=case, action="dispatch").count() == 1


def test_return_needs_a_reason_and_goes_back_to_the_desk(users: dict[str, Any]) -> None:
    case = file_case(actor=users["resident"])
    services.case_dispatch(actor=users["community"], case=case, to=Target(place=grid_of("grid1")))
    with pytest.raises(ValidationError):
        services.case_return(actor=users["grid1"], case=case, reason=" ")
    services.case_return(actor=users["grid1"], case=case, reason="不属于本网格")
    case.refresh_from_db()
    assert case.state == State.RETURNED
    assert case.handler_place_id is None
    assert Notification.objects.filter(user=users["community"], kind="case.returned").exists()
    services.case_dispatch(actor=users["community"], case=case, to=Target(place=grid_of("grid2")))
    case.refresh_from_db()
    assert case.handler_place_id == grid_of("grid2").pk


def test_a_grid_category_is_owned_by_the_grid_and_escalates_up(users: dict[str, Any]) -> None:
    grid1 = grid_of("grid1")
    case = file_case(actor=users["grid1"], code="1601", channel=Channel.PATROL, photos=[jpeg()])
    assert case.owner_place_id == grid1.pk
    services.case_escalate(actor=users["grid1"], case=case, note="需要社区协调")
    case.refresh_from_db()
    assert case.owner_place == _community(case.place)
    assert case.escalation_level == 1
    services.case_escalate(actor=users["community"], case=case, note="需要街道协调")
    case.refresh_from_db()
    assert case.owner_place is not None
    assert case.owner_place.kind == PlaceKind.STREET
    with pytest.raises(ValidationError) as top:
        services.case_escalate(actor=users["street"], case=case, note="再上报")
    assert top.value.code == "department_required"
    dept = Department.objects.get(assignments__user=users["dept"])
    services.case_escalate(actor=users["street"], case=case, note="请住建局处理", department=dept)
    case.refresh_from_db()
    assert (case.owner_department_id, case.handler_department_id, case.state) == (
        dept.pk,
        dept.pk,
        State.DISPATCHED,
    )
    # The department now sees it and accepts it.
    services.case_accept(actor=users["dept"], case=case)


def test_patrol_reports_only_in_ones_own_grid_and_may_be_handled_at_once(users: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        file_case(actor=users["grid2"], channel=Channel.PATROL, place=building_in(grid_of("grid1")))
    case = file_case(actor=users["grid1"], code="1601", channel=Channel.PATROL, handle_myself=True)
    assert (case.state, case.handler_id) == (State.ACCEPTED, users["grid1"].pk)


def test_residents_cannot_use_staff_channels(users: dict[str, Any]) -> None:
    for channel in (Channel.PATROL, Channel.HOTLINE, Channel.WALK_IN, Channel.CO_BUILDING):
        with pytest.raises(PermissionDenied):
            file_case(actor=users["resident"], channel=channel, hotline_ticket="T1")
    for channel in (Channel.DEVICE, Channel.OPEN311):
        with pytest.raises(PermissionDenied):
            file_case(actor=users["community"], channel=channel)


def test_a_hotline_transfer_needs_its_ticket_once(users: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        file_case(actor=users["community"], channel=Channel.HOTLINE)
    case = file_case(
        actor=users["community"],
        channel=Channel.HOTLINE,
        hotline_ticket="BJ2026112200001",
        reporter_name="王女士",
        reporter_phone="13600000000",
    )
    assert case.hotline_ticket == "BJ2026112200001"
    with pytest.raises(Conflict) as dup:
        file_case(actor=users["community"], channel=Channel.HOTLINE, hotline_ticket="BJ2026112200001")
    assert case.number in dup.value.message


def test_a_property_matter_goes_straight_to_the_property_company(users: dict[str, Any]) -> None:
    place = building_in(grid_of("grid1"))
    company = PropertyCompany.objects.filter(managed_places__path__in=place.ancestor_paths()).first()
    case = file_case(actor=users["resident"], code="1101", place=place)
    if company is None:
        assert case.owner_place is not None
        assert case.owner_place.kind == PlaceKind.STREET
    else:
        assert (case.owner_property_company_id, case.state) == (company.pk, State.DISPATCHED)


def test_me_too_joins_the_open_case_and_tells_every_reporter(users: dict[str, Any]) -> None:
    place = building_in(grid_of("grid1"))
    first = file_case(actor=users["resident"], code="1701", place=place)
    similar = services.similar_open_cases(category=category("1701"), place=place, lat=None, lng=None)
    assert first in similar
    result = services.case_intake(
        actor=None,
        channel=Channel.WEB,
        category=category("1701"),
        place=place,
        description="我也看到了",
        reporter_phone="13700000000",
        me_too_of=first,
    )
    assert result.joined
    assert not result.created
    assert result.case.pk == first.pk
    first.refresh_from_db()
    assert first.reporter_count == 2
    assert first.reporters.count() == 2
    with pytest.raises(Conflict):
        file_case(actor=users["resident"], code="1701", place=place, me_too_of=first)


def test_merging_moves_the_reporters(users: dict[str, Any]) -> None:
    place = building_in(grid_of("grid1"))
    keep = file_case(actor=users["resident"], code="1701", place=place)
    dup = file_case(actor=None, code="1701", place=place, reporter_phone="13500000000")
    services.case_merge(actor=users["community"], case=dup, into=keep)
    keep.refresh_from_db()
    dup.refresh_from_db()
    assert dup.state == State.MERGED
    assert dup.duplicate_of_id == keep.pk
    assert keep.reporter_count == 2
    assert keep.reporters.count() == 2


def test_supervise_flags_and_notifies(users: dict[str, Any]) -> None:
    case = file_case(actor=users["resident"])
    services.case_dispatch(actor=users["community"], case=case, to=Target(user=users["grid1"]))
    with pytest.raises(PermissionDenied):
        services.case_supervise(actor=users["grid1"], case=case, note="快点")
    services.case_supervise(actor=users["street"], case=case, note="请今日办结")
    case.refresh_from_db()
    assert case.supervised
    assert Notification.objects.filter(user=users["grid1"], kind="case.supervised", urgent=True).exists()


def test_extension_requested_and_approved_moves_the_deadline(users: dict[str, Any]) -> None:
    case = file_case(actor=users["resident"])
    services.case_dispatch(actor=users["community"], case=case, to=Target(user=users["grid1"]))
    services.case_accept(actor=users["grid1"], case=case)
    with pytest.raises(ValidationError):
        services.case_request_extension(actor=users["grid1"], case=case, amount=99, reason="需要更多时间")
    ext = services.case_request_extension(actor=users["grid1"], case=case, amount=3, reason="等待配件")
    with pytest.raises(Conflict):
        services.case_request_extension(actor=users["grid1"], case=case, amount=2, reason="再等等")
    with pytest.raises(PermissionDenied):
        services.case_decide_extension(actor=users["grid1"], extension=ext, approve=True)
    before = case.due_at
    services.case_decide_extension(actor=users["community"], extension=ext, approve=True)
    case.refresh_from_db()
    ext.refresh_from_db()
    assert ext.status == Extension.Status.APPROVED
    assert case.extension_count == 1
    assert case.due_at > before
    with pytest.raises(Conflict):
        services.case_decide_extension(actor=users["community"], extension=ext, approve=False, note="不")


def test_a_whistle_calls_the_department_which_reports_in(users: dict[str, Any]) -> None:
    case = file_case(actor=users["resident"])
    dept = Department.objects.get(assignments__user=users["dept"])
    with pytest.raises(ValidationError):
        services.case_whistle(actor=users["community"], case=case, department=dept, note="请来", kind="loud")
    services.case_whistle(actor=users["community"], case=case, department=dept, note="请住建局来现场")
    case.refresh_from_db()
    assert case.state == State.DISPATCHED
    assert case.whistle_due_at is not None
    assert Notification.objects.filter(user=users["dept"], kind="case.whistle", urgent=True).exists()
    services.case_accept(actor=users["dept"], case=case)
    case.refresh_from_db()
    assert case.whistle_reported_at is not None
    assert not case.whistle_missed


def test_cancel_and_close(users: dict[str, Any]) -> None:
    case = file_case(actor=users["resident"])
    services.case_cancel(actor=users["community"], case=case, reason="重复反映")
    case.refresh_from_db()
    assert case.state == State.CANCELLED
    assert case.next_sweep_at is None
    other = file_case(actor=users["resident"])
    services.case_dispatch(actor=users["community"], case=other, to=Target(user=users["grid1"]))
    services.case_accept(actor=users["grid1"], case=other)
    services.case_resolve(actor=users["grid1"], case=other, reply="已办")
    services.case_close(actor=users["community"], case=other)
    other.refresh_from_db()
    assert other.state == State.CLOSED
    assert other.closed_at is not None


def test_photos_are_stripped_of_their_metadata(users: dict[str, Any]) -> None:
    from PIL import Image

    case = file_case(actor=users["resident"], photos=[jpeg(exif_gps=True)])
    attachment = Attachment.objects.get(case=case)
    with attachment.file.open("rb") as fh, Image.open(fh) as image:
        assert not image.getexif()
    with pytest.raises(ValidationError):
        file_case(actor=users["resident"], photos=[b"not an image"])
    with pytest.raises(ValidationError):
        file_case(actor=users["resident"], photos=[jpeg()] * 10)


def test_a_rolled_back_intake_leaves_nothing(users: dict[str, Any]) -> None:
    from wangge.cases.models import Case

    before = Case.objects.count(), OutboxEvent.objects.count(), Notification.objects.count()
    with pytest.raises(ValidationError):
        file_case(actor=users["resident"], photos=[jpeg(), b"broken"])
    assert (Case.objects.count(), OutboxEvent.objects.count(), Notification.objects.count()) == before


def test_a_co_building_supervisor_reports_in_the_street_they_serve(users: dict[str, Any]) -> None:
    from wangge.core.roles import Role
    from wangge.org.models import Assignment

    rider = Assignment.objects.get(role=Role.TRAFFIC_SUPERVISOR, is_active=True).user
    case = file_case(actor=rider, code="0402", channel=Channel.CO_BUILDING, description="消防通道有车乱停")
    assert case.channel == Channel.CO_BUILDING
    assert case.reporters.get().user_id == rider.pk
    # They follow their own report, and nothing else of the territory's cases.
    from wangge.cases.selectors import cases_list

    visible = cases_list(rider)
    assert case in visible
    assert all(c.reporters.filter(user=rider).exists() for c in visible)


def test_a_grid_owned_request_waits_in_the_grid_workers_tasks(users: dict[str, Any]) -> None:
    from wangge.cases.selectors import my_tasks

    case = file_case(actor=users["resident"], code="1601")  # a fire hazard: the grid owns it
    assert case.owner_place_id == grid_of("grid1").pk
    assert case.state == State.RECEIVED
    assert case in my_tasks(users["grid1"])
    assert case not in my_tasks(users["grid2"])
    services.case_dispatch(actor=users["grid1"], case=case, to=Target(user=users["grid1"]))
    services.case_accept(actor=users["grid1"], case=case)
    assert case in my_tasks(users["grid1"])
