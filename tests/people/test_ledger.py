"""The Excel ledger import (台账导入): template, validation, upsert by ID number, all-or-nothing,
dry runs and scope. Flat given / when / then tests against the demo's houses."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook, load_workbook

from wangge.core.errors import PermissionDenied, ValidationError
from wangge.core.models import AuditEvent, User
from wangge.core.pii import blind_index
from wangge.core.roles import Role
from wangge.org.models import Assignment
from wangge.people.identity import id_check_digit
from wangge.people.ledger import COLUMNS, LedgerReport, error_report_xlsx, ledger_import, ledger_template
from wangge.people.models import (
    CareGroupMembership,
    EmergencyContact,
    House,
    Household,
    Resident,
    ResidentMove,
    ResidentPhone,
)
from wangge.places.models import Place, PlaceKind

pytestmark = pytest.mark.usefixtures("demo_db")

HEADERS = [c.header for c in COLUMNS]


def make_id(born: date, seq: int, *, male: bool = True) -> str:
    order = (seq * 2 + (1 if male else 0)) % 1000
    first17 = f"469027{born:%Y%m%d}{order:03d}"
    return first17 + id_check_digit(first17)


def grid_of(username: str) -> Place:
    found = (
        Assignment.objects.select_related("place")
        .filter(user__username=username, role=Role.GRID_WORKER, is_active=True)
        .order_by("place__path")
        .first()
    )
    assert found is not None
    return found.place


def houses_in(grid: Place, count: int, *, skip: int = 0) -> list[Place]:
    """Houses of a grid where the demo registered nobody, so counts start from zero."""
    qs = Place.objects.filter(path__under=grid.path, kind=PlaceKind.HOUSE, households__isnull=True)
    return list(qs.order_by("-path")[skip : skip + count])


def workbook(rows: list[dict[str, Any]], *, headers: list[str] | None = None, english: bool = True) -> bytes:
    """A ledger workbook: the Chinese header row, the English one, then ``rows`` by header."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "台账"
    heads = headers or HEADERS
    ws.append(heads)
    if english:
        ws.append([next((c.english for c in COLUMNS if c.header == h), h) for h in heads])
    for row in rows:
        ws.append([row.get(h) for h in heads])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def person(house: Place, name: str, id_number: str, **extra: Any) -> dict[str, Any]:
    return {"房屋编码": house.code, "姓名": name, "身份证号": id_number, **extra}


@pytest.fixture
def grid1(users: dict[str, User]) -> User:
    return users["grid1"]


@pytest.fixture
def family(grid1: User) -> tuple[list[Place], list[dict[str, Any]]]:
    """Three residents in two houses of grid 1: a couple (one household) and a woman living alone."""
    h1, h2 = houses_in(grid_of("grid1"), 2)
    rows = [
        person(
            h1,
            "张三",
            make_id(date(1950, 3, 8), 1),
            户号="L-001",
            与户主关系="户主",
            手机号="13800138001",
            户籍类型="户籍",
            民族="汉族",
            迁入日期="2001-05-01",
            迁入原因="购房",
            紧急联系人="张小三",
            紧急联系人关系="儿子",
            紧急联系人电话="13900139001",
            房屋用途="自住",
            面积=89.5,
        ),
        person(h1, "李四", make_id(date(1952, 7, 1), 2, male=False), 户号="L-001", 与户主关系="配偶"),
        person(
            h2,
            "王五",
            make_id(date(1938, 1, 20), 3, male=False),
            与户主关系="户主",
            手机号="13800138003",
            重点人群="独居老人",
            房屋用途="出租",
        ),
    ]
    return [h1, h2], rows


def snapshot() -> tuple[int, ...]:
    return (
        Resident.objects.count(),
        Household.objects.count(),
        House.objects.count(),
        ResidentPhone.objects.count(),
        EmergencyContact.objects.count(),
        CareGroupMembership.objects.count(),
        ResidentMove.objects.count(),
        AuditEvent.objects.count(),
    )


# --- the template ---------------------------------------------------------------------------


def test_the_template_opens_with_both_header_rows_choice_lists_and_instructions() -> None:
    wb = load_workbook(io.BytesIO(ledger_template()))

    ws = wb["台账"]
    first = [c.value for c in ws[1]]
    second = [c.value for c in ws[2]]
    assert first[: len(HEADERS)] == HEADERS
    assert {
        "房屋编码",
        "户号",
        "与户主关系",
        "姓名",
        "性别",
        "出生日期",
        "民族",
        "身份证号",
        "手机号",
    } <= set(first)
    assert {
        "户籍类型",
        "迁入日期",
        "迁入原因",
        "重点人群",
        "紧急联系人",
        "紧急联系人电话",
        "房屋用途",
        "面积",
    } <= set(first)
    assert "ID number" in second
    lists = [str(dv.sqref) for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert len(lists) == 5  # relation, gender, ethnicity, registration, house use
    codes = wb["代码表"]
    code_values = {c.value for row in codes.iter_rows() for c in row}
    assert {"男", "女", "户籍", "常住", "流动", "户主", "空置", "出租", "汉族", "独居老人"} <= code_values
    assert "填表说明" in wb.sheetnames


def test_the_template_imports_as_an_empty_ledger(grid1: User) -> None:
    report = ledger_import(actor=grid1, file=ledger_template(), dry_run=True)

    assert (report.rows, report.bad, report.new) == (0, 0, 0)


# --- importing ------------------------------------------------------------------------------


def test_a_small_workbook_creates_exactly_the_expected_rows(grid1: User, family: Any) -> None:
    (h1, h2), rows = family
    before = snapshot()

    report = ledger_import(actor=grid1, file=workbook(rows), dry_run=False)

    assert (report.status, report.committed, report.bad) == ("done", True, 0)
    assert (report.new, report.updated, report.unchanged) == (3, 0, 0)
    after = snapshot()
    assert after[0] - before[0] == 3  # residents
    assert after[1] - before[1] == 2  # households: L-001 in h1, one in h2
    assert after[3] - before[3] == 2  # phones
    assert after[4] - before[4] == 1  # emergency contacts
    assert after[5] - before[5] == 1  # care groups
    assert after[6] - before[6] == 1  # one move in (the row with a date)
    assert after[7] - before[7] == 1  # one summary audit row
    zhang = Resident.objects.get(id_hash=blind_index("id_number", rows[0]["身份证号"]))
    li = Resident.objects.get(id_hash=blind_index("id_number", rows[1]["身份证号"]))
    wang = Resident.objects.get(id_hash=blind_index("id_number", rows[2]["身份证号"]))
    assert (zhang.name, zhang.gender, zhang.birth_date, zhang.ethnicity) == (
        "张三",
        "male",
        date(1950, 3, 8),
        "01",
    )
    assert (zhang.name_pinyin, zhang.name_initials) == ("zhangsan", "zs")
    assert zhang.household_id == li.household_id
    assert zhang.household is not None
    assert zhang.household.number == "L-001"
    assert zhang.household.head_id == zhang.pk
    assert li.relation_to_head == "spouse"
    assert li.gender == "female"
    assert zhang.place_id == h1.pk
    assert wang.place_id == h2.pk
    assert zhang.phones.get().phone == "13800138001"
    assert zhang.emergency_contacts.get().phone == "13900139001"
    assert wang.care_groups.get().group.code == "elderly_alone"
    assert House.objects.get(place=h1).area_m2 == pytest.approx(89.5)
    assert House.objects.get(place=h2).use == "rented"
    event = AuditEvent.objects.order_by("-pk").first()
    assert event is not None
    assert event.action == "people.ledger_imported"
    assert event.changes["new"] == 3
    text = str(event.changes) + event.object_label
    assert rows[0]["身份证号"] not in text
    assert "13800138001" not in text


def test_the_database_holds_only_ciphertext(grid1: User, family: Any) -> None:
    _houses, rows = family
    ledger_import(actor=grid1, file=workbook(rows), dry_run=False)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number FROM people_resident WHERE id_hash = %s",
            [blind_index("id_number", rows[0]["身份证号"])],
        )
        (stored_id,) = cursor.fetchone()
        cursor.execute("SELECT phone FROM people_residentphone")
        phones = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT phone FROM people_emergencycontact")
        contacts = [r[0] for r in cursor.fetchall()]

    assert stored_id.startswith("k")
    assert rows[0]["身份证号"] not in stored_id
    assert not any("13800138001" in p or "13800138003" in p for p in phones)
    assert not any("13900139001" in p for p in contacts)


def test_reimporting_the_same_file_changes_nothing(grid1: User, family: Any) -> None:
    _houses, rows = family
    data = workbook(rows)
    ledger_import(actor=grid1, file=data, dry_run=False)
    before = snapshot()
    stamps = dict(Resident.objects.values_list("pk", "updated_at"))
    household_stamps = dict(Household.objects.values_list("pk", "updated_at"))
    house_stamps = dict(House.objects.values_list("pk", "updated_at"))

    report = ledger_import(actor=grid1, file=data, dry_run=False)

    assert (report.new, report.updated, report.unchanged, report.bad) == (0, 0, 3, 0)
    assert snapshot() == before  # no rows, no audit row
    assert dict(Resident.objects.values_list("pk", "updated_at")) == stamps
    assert dict(Household.objects.values_list("pk", "updated_at")) == household_stamps
    assert dict(House.objects.values_list("pk", "updated_at")) == house_stamps


def test_a_changed_phone_updates_that_one_resident(grid1: User, family: Any) -> None:
    _houses, rows = family
    ledger_import(actor=grid1, file=workbook(rows), dry_run=False)
    stamps = dict(Resident.objects.values_list("pk", "updated_at"))
    phones = ResidentPhone.objects.count()
    rows[0]["手机号"] = "13700137000"

    report = ledger_import(actor=grid1, file=workbook(rows), dry_run=False)

    assert (report.new, report.updated, report.unchanged) == (0, 1, 2)
    assert report.preview[0]["changes"] == ["phone"]
    zhang = Resident.objects.get(id_hash=blind_index("id_number", rows[0]["身份证号"]))
    assert [p.phone for p in zhang.phones.all()] == ["13700137000"]
    assert ResidentPhone.objects.count() == phones
    changed = {pk for pk, at in Resident.objects.values_list("pk", "updated_at") if stamps.get(pk) != at}
    assert changed == {zhang.pk}


def test_bad_rows_are_reported_with_row_column_and_reason(grid1: User, family: Any) -> None:
    (h1, _h2), rows = family
    grid2_house = houses_in(grid_of("grid2"), 1)[0]
    good_id = make_id(date(1980, 1, 1), 11)
    bad_check = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")
    rows += [
        person(h1, "赵六", bad_check),  # row 6
        {
            "房屋编码": "999999999999999999",
            "姓名": "钱七",
            "身份证号": make_id(date(1981, 1, 1), 12),
        },  # row 7
        person(h1, "孙八", make_id(date(1982, 1, 1), 13), 迁入日期="2020-13-45"),  # row 8
        person(grid2_house, "周九", make_id(date(1983, 1, 1), 14)),  # row 9: exists, but in grid 2
        person(h1, "吴十", rows[0]["身份证号"]),  # row 10: the same ID as row 3
    ]
    before = snapshot()

    report = ledger_import(actor=grid1, file=workbook(rows), dry_run=False)

    errors = {e.row: e for e in report.errors}
    assert report.status == "rejected"
    assert not report.committed
    assert report.bad == 5
    assert errors[6].column == "身份证号"
    assert "校验" in errors[6].reason or "check digit" in errors[6].reason
    assert errors[6].value != bad_check
    assert errors[6].value.startswith(bad_check[:4])
    assert errors[7].column == "房屋编码"
    assert errors[8].column == "迁入日期"
    assert errors[9].column == "房屋编码"
    assert errors[9].reason == errors[7].reason  # never tells that grid 2's house exists
    assert errors[10].column == "身份证号"
    assert "3" in errors[10].reason
    assert snapshot() == before  # all or nothing


def test_the_error_report_workbook_lists_the_errors_masked(grid1: User, family: Any) -> None:
    (h1, _h2), _rows = family
    bad_phone_row = person(h1, "赵六", make_id(date(1980, 1, 1), 21), 手机号="12345")
    report = ledger_import(actor=grid1, file=workbook([bad_phone_row]), dry_run=True)

    ws = load_workbook(io.BytesIO(error_report_xlsx(report))).active
    assert ws is not None
    lines = [[c.value for c in row] for row in ws.iter_rows()]
    assert lines[0] == ["行号", "列", "内容", "原因"]
    assert lines[2][:2] == [3, "手机号"]
    assert lines[2][2] != "12345"
    assert lines[2][3]


def test_importing_the_valid_rows_skips_the_bad_ones(grid1: User, family: Any) -> None:
    (h1, _h2), rows = family
    rows.append(person(h1, "赵六", "123"))
    before = snapshot()

    report = ledger_import(actor=grid1, file=workbook(rows), dry_run=False, skip_invalid=True)

    assert (report.status, report.committed, report.new, report.bad) == ("done", True, 3, 1)
    assert report.errors[0].row == 6
    assert snapshot()[0] - before[0] == 3


def test_a_dry_run_writes_nothing_and_says_what_would_happen(grid1: User, family: Any) -> None:
    _houses, rows = family
    ledger_import(actor=grid1, file=workbook(rows[:1]), dry_run=False)
    rows[0]["手机号"] = "13700137000"
    rows.append({"房屋编码": "nope", "姓名": "无名", "身份证号": make_id(date(1990, 1, 1), 31)})
    before = snapshot()
    stamps = dict(Resident.objects.values_list("pk", "updated_at"))

    report = ledger_import(actor=grid1, file=workbook(rows), dry_run=True)

    assert (report.dry_run, report.committed) == (True, False)
    assert (report.new, report.updated, report.unchanged, report.bad) == (2, 1, 0, 1)
    assert report.households_created == 1  # L-001 exists; the house of 王五 has none
    assert [p["action"] for p in report.preview] == ["updated", "new", "new"]
    assert report.preview[0]["id_number"].count("*") == 10
    assert snapshot() == before
    assert dict(Resident.objects.values_list("pk", "updated_at")) == stamps


def test_fatal_errors_refuse_the_whole_file(grid1: User, family: Any) -> None:
    _houses, rows = family
    before = snapshot()

    with pytest.raises(ValidationError) as not_a_workbook:
        ledger_import(actor=grid1, file=b"PK\x03\x04 not really a zip", dry_run=False)
    with pytest.raises(ValidationError) as wrong_headers:
        ledger_import(actor=grid1, file=workbook(rows, headers=["房屋", "名字"]), dry_run=False)
    with pytest.raises(ValidationError) as missing_id:
        ledger_import(actor=grid1, file=workbook(rows, headers=["房屋编码", "姓名"]), dry_run=False)

    assert not_a_workbook.value.code == "not_xlsx"
    assert wrong_headers.value.code == "headers"
    assert "房屋" in wrong_headers.value.message
    assert missing_id.value.code == "headers"
    assert "身份证号" in missing_id.value.message
    assert snapshot() == before


def test_a_database_error_rolls_back_everything(
    grid1: User, family: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _houses, rows = family
    before = snapshot()
    from django.db import IntegrityError

    def broken(*args: Any, **kwargs: Any) -> None:
        raise IntegrityError("disk on fire")

    monkeypatch.setattr(EmergencyContact.objects, "bulk_create", broken)

    with pytest.raises(IntegrityError):
        ledger_import(actor=grid1, file=workbook(rows), dry_run=False)

    assert snapshot() == before


# --- scope ----------------------------------------------------------------------------------


def test_grid1_cannot_import_into_grid2(grid1: User) -> None:
    h = houses_in(grid_of("grid2"), 1)[0]
    rows = [person(h, "越权", make_id(date(1970, 1, 1), 41))]
    by_room = [
        {
            "楼栋编码": h.parent.parent.code if h.parent and h.parent.parent else "",
            "房号": h.name,
            "姓名": "越权",
            "身份证号": make_id(date(1970, 1, 1), 42),
        }
    ]
    before = snapshot()

    by_code = ledger_import(actor=grid1, file=workbook(rows), dry_run=False, skip_invalid=True)
    by_building = ledger_import(
        actor=grid1,
        file=workbook(by_room, headers=["楼栋编码", "房号", "姓名", "身份证号"]),
        dry_run=False,
        skip_invalid=True,
    )

    assert (by_code.new, by_code.bad) == (0, 1)
    assert (by_building.new, by_building.bad) == (0, 1)
    assert snapshot() == before


def test_grid2_can_use_building_code_and_room_number(users: dict[str, User]) -> None:
    h = houses_in(grid_of("grid2"), 1)[0]
    building = (
        Place.objects.get(pk=h.parent.parent_id) if h.parent and h.parent.kind == PlaceKind.UNIT else h.parent
    )
    assert building is not None
    rows = [
        {
            "楼栋编码": building.code,
            "房号": h.name,
            "姓名": "楼房号",
            "身份证号": make_id(date(1970, 1, 1), 43),
        }
    ]

    report = ledger_import(
        actor=users["grid2"],
        file=workbook(rows, headers=["楼栋编码", "房号", "姓名", "身份证号"]),
        dry_run=False,
    )

    assert (report.new, report.bad) == (1, 0)
    assert Resident.objects.get(id_hash=blind_index("id_number", rows[0]["身份证号"])).place_id == h.pk


def test_a_resident_registered_in_grid2_cannot_be_moved_by_grid1(users: dict[str, User]) -> None:
    theirs = houses_in(grid_of("grid2"), 1)[0]
    mine = houses_in(grid_of("grid1"), 1)[0]
    id_number = make_id(date(1960, 6, 1), 51)
    ledger_import(actor=users["grid2"], file=workbook([person(theirs, "邻居", id_number)]), dry_run=False)
    before = snapshot()

    report = ledger_import(
        actor=users["grid1"], file=workbook([person(mine, "邻居", id_number)]), dry_run=False
    )

    assert report.status == "rejected"
    assert report.errors[0].column == "身份证号"
    assert snapshot() == before
    assert Resident.objects.get(id_hash=blind_index("id_number", id_number)).place_id == theirs.pk


@pytest.mark.parametrize("username", ["dept", "resident", "street"])
def test_roles_that_do_not_register_residents_are_refused(
    users: dict[str, User], username: str, family: Any
) -> None:
    _houses, rows = family
    before = snapshot()

    with pytest.raises(PermissionDenied):
        ledger_import(actor=users[username], file=workbook(rows), dry_run=True)

    assert snapshot() == before


def test_sensitive_care_groups_need_the_right_to_see_them(users: dict[str, User]) -> None:
    """Community staff hold pii.view_sensitive; a row for a disabled resident imports, with its grade."""
    h = houses_in(grid_of("grid1"), 1, skip=5)[0]
    rows = [person(h, "残疾人甲", make_id(date(1975, 1, 1), 61), 重点人群="残疾人（二级）")]

    report = ledger_import(actor=users["community"], file=workbook(rows), dry_run=False)

    assert (report.new, report.bad) == (1, 0)
    membership = CareGroupMembership.objects.get(
        resident__id_hash=blind_index("id_number", rows[0]["身份证号"])
    )
    assert (membership.group.code, membership.grade) == ("disabled", "二级")


# --- batching -------------------------------------------------------------------------------


def test_lookups_are_batched_not_one_per_row(grid1: User) -> None:
    houses = houses_in(grid_of("grid1"), 40)

    def run(count: int, offset: int) -> tuple[int, int]:
        rows = [
            person(
                houses[i % 40],
                f"批量{i}",
                make_id(date(1960, 1, 1) + timedelta(days=offset + i), 1),
                手机号=f"1380000{offset + i:04d}",
            )
            for i in range(count)
        ]
        with CaptureQueriesContext(connection) as ctx:
            report = ledger_import(actor=grid1, file=workbook(rows), dry_run=False)
        assert report.new == count
        reads = [q for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
        return len(reads), len(ctx.captured_queries)

    run(40, 100)  # every house now has a household and a house record
    small_reads, _small = run(20, 200)
    large_reads, large = run(400, 300)

    assert large_reads == small_reads  # one query per kind of lookup per chunk
    assert large < 400 / 10  # writes go in batches as large as the database allows


def test_the_report_survives_a_round_trip_through_json(grid1: User, family: Any) -> None:
    _houses, rows = family
    rows.append({"房屋编码": "x", "姓名": "无", "身份证号": "1"})
    report = ledger_import(actor=grid1, file=workbook(rows), dry_run=True)

    again = LedgerReport.from_dict(report.to_dict())

    assert again == report
