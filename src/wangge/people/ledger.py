"""Excel ledgers (台账): the import template, the import service and its error report.

``ledger_import`` reads a workbook in streaming mode, checks it row by row and writes
residents, households and houses in batches: one query per chunk of rows for each kind of
lookup, ``bulk_create`` / ``bulk_update`` for the writes.

- Re-importing updates residents by ID number (through the blind index) and never duplicates
  them; a row that matches what is stored changes nothing, not even ``updated_at``.
- A file with any invalid row imports nothing, unless the caller chose to import the valid
  rows (the bad ones are then skipped and reported).
- A fatal error (not a workbook, wrong headers, a database error) rolls everything back: the
  writes run in one transaction.
- A dry run checks everything and reports what would happen, writing nothing.

Who may import: the actor must be able to see the house and hold ``pii.reveal`` there.
Registering a resident means typing in their ID and phone numbers in plain text, which is the
same trust as revealing them; the roles that hold that capability (community staff, party
secretary, grid leader, full-time grid worker) are exactly the ones that register residents.
A house the actor may not register residents in is reported as an unknown house code, so the
report never tells whether it exists.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, cast

from django.db import models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from wangge.core import audit, clock
from wangge.core.errors import DomainError, PermissionDenied, ValidationError
from wangge.core.models import User
from wangge.core.pii import blind_index, mask_id_number, mask_phone
from wangge.core.roles import Capability
from wangge.core.scope import has_capability, scope_for
from wangge.people.identity import id_birth_date, id_gender, name_keys, validate_id_number, validate_phone
from wangge.people.models import (
    CareGroup,
    CareGroupMembership,
    EmergencyContact,
    Gender,
    House,
    Household,
    HouseUse,
    Registration,
    Relation,
    Resident,
    ResidentMove,
    ResidentPhone,
)
from wangge.places.bulk import common_path
from wangge.places.models import Place, PlaceKind

CHUNK = 1000
MAX_ROWS = 50_000
MAX_ERRORS = 10_000
PREVIEW_ROWS = 20
DATA_SHEET = "台账"
CODES_SHEET = "代码表"
HELP_SHEET = "填表说明"

# --- the file format (fixed Chinese labels: the workbook is the same whatever the UI language) --

GENDERS = {"男": Gender.MALE, "女": Gender.FEMALE, "未知": Gender.UNKNOWN}
REGISTRATIONS = {
    "户籍": Registration.REGISTERED,
    "常住": Registration.RESIDENT,
    "流动": Registration.FLOATING,
}
RELATIONS = {
    "户主": Relation.HEAD,
    "配偶": Relation.SPOUSE,
    "子女": Relation.CHILD,
    "父母": Relation.PARENT,
    "孙子女": Relation.GRANDCHILD,
    "祖父母": Relation.GRANDPARENT,
    "兄弟姐妹": Relation.SIBLING,
    "儿媳女婿": Relation.CHILD_IN_LAW,
    "其他": Relation.OTHER,
}
HOUSE_USES = {
    "自住": HouseUse.OWNER_OCCUPIED,
    "出租": HouseUse.RENTED,
    "空置": HouseUse.VACANT,
    "商用": HouseUse.COMMERCIAL,
    "其他": HouseUse.OTHER,
}
# GB/T 3304 ethnic group codes, in the standard's order (01 汉族 … 56 基诺族).
_ETHNIC_NAMES = (
    *("汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白"),
    *("土家", "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西"),
    *("景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌"),
    *("普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔"),
    *("独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺"),
)
ETHNICITIES: dict[str, str] = {f"{n}族": f"{i:02d}" for i, n in enumerate(_ETHNIC_NAMES, start=1)}
ETHNICITIES["其他"] = "97"
ETHNICITIES["外国血统中国籍人士"] = "98"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    english: str
    width: int
    choices: tuple[str, ...] = ()
    note: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("house_code", "房屋编码", "House code", 20, note="房屋的地点编码；或填写楼栋编码和房号"),
    Column("building_code", "楼栋编码", "Building code", 16, note="没有房屋编码时，用楼栋编码加房号找到房屋"),
    Column("room", "房号", "Room number", 10, note="如 1-0302（单元-楼层门牌）"),
    Column("household_number", "户号", "Household number", 12, note="空白：该房屋的第一户"),
    Column("relation", "与户主关系", "Relation to head", 12, tuple(RELATIONS)),
    Column("name", "姓名", "Name", 10, note="必填"),
    Column("gender", "性别", "Gender", 8, tuple(GENDERS), note="空白：按身份证号"),
    Column("birth_date", "出生日期", "Date of birth", 12, note="如 1950-03-08；空白：按身份证号"),
    Column("ethnicity", "民族", "Ethnicity", 10, tuple(ETHNICITIES)),
    Column("id_number", "身份证号", "ID number", 22, note="必填，18 位，请设为文本格式"),
    Column("phone", "手机号", "Phone", 14),
    Column("registration", "户籍类型", "Registration", 10, tuple(REGISTRATIONS)),
    Column("moved_in_on", "迁入日期", "Moved in on", 12),
    Column("moved_in_reason", "迁入原因", "Reason for moving in", 16),
    Column(
        "care_groups",
        "重点人群",
        "Care groups",
        20,
        note="多个用逗号分隔，填名称或代码；等级写在括号里，如 残疾人（二级）",
    ),
    Column("contact_name", "紧急联系人", "Emergency contact", 12),
    Column("contact_relation", "紧急联系人关系", "Contact's relation", 12),
    Column("contact_phone", "紧急联系人电话", "Contact's phone", 14),
    Column("house_use", "房屋用途", "House use", 10, tuple(HOUSE_USES)),
    Column("area", "面积", "Area (m²)", 10, note="平方米"),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
MASKED_COLUMNS = {"id_number": mask_id_number, "phone": mask_phone, "contact_phone": mask_phone}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_SPLIT = re.compile(r"[,，、;；]+")
# Names repeat (王芳, 李伟…): pinyin keys are computed once per distinct name.
_name_keys = lru_cache(maxsize=50_000)(name_keys)
_GRADE = re.compile(r"^(?P<name>[^(（:：]+)[(（:：]\s*(?P<grade>[^)）]*)[)）]?$")


# --- the template ---------------------------------------------------------------------------


def ledger_template() -> bytes:
    """The import template: the data sheet with both header rows, choice lists, instructions."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = DATA_SHEET
    codes = wb.create_sheet(CODES_SHEET)
    help_ws = wb.create_sheet(HELP_SHEET)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="FCE4E4")
    for index, column in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=index, value=column.header)
        cell.font = bold
        cell.fill = head_fill
        if column.note:
            cell.comment = Comment(column.note, "wangge")
        ws.cell(row=2, column=index, value=column.english).font = Font(italic=True, color="666666")
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = column.width
        if column.key in ("id_number", "phone", "contact_phone", "house_code", "building_code", "room"):
            for row in range(3, 2003):
                ws.cell(row=row, column=index).number_format = "@"
        if column.choices:
            codes.cell(row=1, column=index, value=column.header).font = bold
            for r, label in enumerate(column.choices, start=2):
                codes.cell(row=r, column=index, value=label)
            ref = f"'{CODES_SHEET}'!${letter}$2:${letter}${len(column.choices) + 1}"
            validation = DataValidation(type="list", formula1=ref, allow_blank=True)
            validation.error = "请从列表中选择"
            validation.add(f"{letter}3:{letter}100000")
            ws.add_data_validation(validation)
    groups = list(CareGroup.objects.filter(is_active=True).order_by("sort_order", "code"))
    col = len(COLUMNS) + 2
    codes.cell(row=1, column=col, value="重点人群名称").font = bold
    codes.cell(row=1, column=col + 1, value="代码").font = bold
    for r, group in enumerate(groups, start=2):
        codes.cell(row=r, column=col, value=group.name)
        codes.cell(row=r, column=col + 1, value=group.code)
    ws.freeze_panes = "A3"
    lines = [
        "居民台账导入说明",
        "",
        "1. 在“台账”表填写，每行一位居民；第 1 行是列名，第 2 行是英文列名，请勿改动。数据从第 3 行开始。",
        "2. 姓名、身份证号必填；房屋用“房屋编码”，或“楼栋编码”加“房号”指定，只能填写您负责范围内的房屋。",
        "3. 身份证号须为 18 位且校验位正确；请把身份证号、电话所在列设为文本格式，",
        "   避免被 Excel 改成科学计数法。",
        "4. 再次导入同一身份证号会更新该居民，不会重复登记；与系统中相同的行不会做任何修改。",
        "5. 空白单元格表示“不修改”；重点人群只会增加，结束某个重点人群请在系统中操作。",
        "6. 有任何一行出错时整个文件都不导入，除非选择“只导入正确的行”；出错的行可下载错误报告查看。",
        "7. 日期格式为 2024-03-08；性别、户籍类型、与户主关系、房屋用途、民族请从下拉列表中选择（代码表）。",
        "8. 先“预检”可以看到将新增、更新、不变和出错的行数，确认后再正式导入。",
    ]
    for r, line in enumerate(lines, start=1):
        help_ws.cell(row=r, column=1, value=line).alignment = Alignment(wrap_text=False)
    help_ws["A1"].font = Font(bold=True, size=14)
    help_ws.column_dimensions["A"].width = 110
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- the report -------------------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    column: str
    value: str
    reason: str


@dataclass
class LedgerReport:
    """What an import did (or, for a dry run, would do)."""

    dry_run: bool
    skip_invalid: bool
    status: str = "done"  # done | rejected
    committed: bool = False
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    bad: int = 0
    households_created: int = 0
    houses_created: int = 0
    houses_updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_truncated: bool = False
    preview: list[dict[str, Any]] = field(default_factory=list)
    place_path: str = ""

    def add_error(self, row: int, column: str, value: Any, reason: str) -> None:
        if len(self.errors) >= MAX_ERRORS:
            self.errors_truncated = True
            return
        header = COLUMN_BY_KEY[column].header if column in COLUMN_BY_KEY else column
        shown = "" if value is None else str(value)
        if column in MASKED_COLUMNS and shown:
            shown = MASKED_COLUMNS[column](shown)
        self.errors.append(RowError(row=row, column=header, value=shown[:100], reason=reason))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LedgerReport:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values["errors"] = [RowError(**e) for e in data.get("errors", [])]
        return cls(**values)


def error_report_xlsx(report: LedgerReport) -> bytes:
    """The downloadable error report: row, column, value (ID and phone masked), reason."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("错误报告")
    ws.append(["行号", "列", "内容", "原因"])
    ws.append(["Row", "Column", "Value", "Reason"])
    for e in report.errors:
        ws.append([e.row, e.column, e.value, e.reason])
    if report.errors_truncated:
        ws.append(["", "", "", _("Only the first %(count)d errors are listed.") % {"count": MAX_ERRORS}])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- reading ----------------------------------------------------------------------------------


class RowInvalid(Exception):
    """A row's cell is wrong: caught per row and turned into a report line."""

    def __init__(self, column: str, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.column, self.value, self.reason = column, value, reason


@dataclass
class Row:
    """One checked row, ready to be matched against the database."""

    row: int
    house_ref: tuple[str, ...]
    household_number: str
    relation: str | None
    name: str
    name_pinyin: str
    name_initials: str
    gender: str | None
    birth_date: date | None
    ethnicity: str | None
    id_number: str
    id_hash: str
    phone: str | None
    phone_hash: str
    registration: str | None
    moved_in_on: date | None
    moved_in_reason: str | None
    care_groups: list[tuple[int, str]]
    contact: tuple[str, str, str, str] | None  # name, relation, phone, phone hash
    house_use: str | None
    area: Decimal | None
    place_id: int = 0
    place_path: str = ""
    place_name: str = ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _choice(column: str, value: Any, table: Mapping[str, str]) -> str | None:
    raw = _text(value)
    if not raw:
        return None
    if raw in table:
        return table[raw]
    lowered = raw.lower()
    for label, code in table.items():
        if lowered == str(code) or lowered == label.lower():
            return code
    raise RowInvalid(
        column, raw, _("Not one of the allowed values: %(values)s") % {"values": "、".join(table)}
    )


def _date(column: str, value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 80000:
        converted = from_excel(value)
        if isinstance(converted, datetime):
            return converted.date()
    raw = _text(value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    raise RowInvalid(column, raw, _("Not a date; write it like 2024-03-08"))


def _phone(column: str, value: Any) -> str | None:
    raw = _text(value)
    if not raw:
        return None
    try:
        return validate_phone(raw)
    except DomainError as exc:
        raise RowInvalid(column, raw, exc.message) from None


class _Groups:
    """Care groups by code, Chinese name and English name, loaded once."""

    def __init__(self) -> None:
        self.by_label: dict[str, CareGroup] = {}
        self.sensitive: set[int] = set()
        for g in CareGroup.objects.filter(is_active=True):
            if g.is_sensitive:
                self.sensitive.add(g.pk)
            for label in (g.code, g.name, g.name_en):
                if label:
                    self.by_label.setdefault(label.strip().lower(), g)

    def parse(self, value: Any) -> list[tuple[CareGroup, str]]:
        found: list[tuple[CareGroup, str]] = []
        for token in _SPLIT.split(_text(value)):
            token = token.strip()
            if not token:
                continue
            grade = ""
            group = self.by_label.get(token.lower())
            if group is None and (m := _GRADE.match(token)):
                group = self.by_label.get(m.group("name").strip().lower())
                grade = m.group("grade").strip()[:16]
            if group is None:
                raise RowInvalid("care_groups", token, _("Unknown care group"))
            if group.pk not in {g.pk for g, _grade in found}:
                found.append((group, grade))
        return found


def _open_sheet(file: bytes | str | Path | IO[bytes]) -> Iterator[tuple[Any, ...]]:
    """The data sheet's rows as tuples of values; a fatal ValidationError if it is not a workbook."""
    source: Any = io.BytesIO(file) if isinstance(file, bytes) else file
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError):
        raise ValidationError(_("This file is not an Excel workbook (.xlsx)"), code="not_xlsx") from None
    try:
        ws = wb[DATA_SHEET] if DATA_SHEET in wb.sheetnames else wb.worksheets[0]
        yield (ws.max_row or 0,)  # the declared size first, for progress
        yield from ws.iter_rows(values_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError):
        raise ValidationError(_("This workbook cannot be read"), code="not_xlsx") from None
    finally:
        wb.close()


def _header_map(header: tuple[Any, ...]) -> dict[str, int]:
    """Column key → index, from the header row (Chinese or English names); fatal if wrong."""
    names = {c.header: c.key for c in COLUMNS} | {c.english.lower(): c.key for c in COLUMNS}
    found: dict[str, int] = {}
    unknown: list[str] = []
    for index, cell in enumerate(header):
        text = _text(cell).replace("*", "").strip()
        if not text:
            continue
        key = names.get(text) or names.get(text.lower())
        if key is None:
            unknown.append(text[:30])
        elif key in found:
            raise ValidationError(
                _("The column %(column)s appears twice") % {"column": text[:30]}, code="headers"
            )
        else:
            found[key] = index
    if unknown:
        raise ValidationError(
            _("Unknown columns: %(columns)s. Use the template's column names.")
            % {"columns": "、".join(unknown)},
            code="headers",
        )
    missing = [COLUMN_BY_KEY[k].header for k in ("name", "id_number") if k not in found]
    if "house_code" not in found and not ("building_code" in found and "room" in found):
        missing.append(COLUMN_BY_KEY["house_code"].header)
    if missing:
        raise ValidationError(
            _("Missing columns: %(columns)s. Use the import template.") % {"columns": "、".join(missing)},
            code="headers",
        )
    return found


class _Context:
    """What the import remembers across chunks: houses, households, IDs seen, capabilities."""

    def __init__(self, actor: User) -> None:
        self.actor = actor
        self.groups = _Groups()
        self.may_register: dict[str, bool] = {}
        self.may_see_sensitive: dict[str, bool] = {}
        self.houses: dict[tuple[str, ...], tuple[int, str, str] | None] = {}
        self.ids_seen: dict[str, int] = {}
        self.heads_seen: dict[tuple[Any, ...], int] = {}
        self.reset_writes()

    def reset_writes(self) -> None:
        # (house place id, number or None for "the house's first household") → household id;
        # a negative id is a household not created yet.
        self.households: dict[tuple[int, str | None], int] = {}
        self.heads: dict[int, int | None] = {}  # household id → head resident id
        self.places_loaded: set[int] = set()
        self.next_placeholder = -1
        self.houses_created: set[int] = set()
        self.house_state: dict[int, dict[str, Any]] = {}
        self.houses_written: set[int] = set()
        self.paths_written: set[str] = set()

    def can_register(self, path: str) -> bool:
        if path not in self.may_register:
            self.may_register[path] = has_capability(self.actor, Capability.REVEAL_PII, path)
        return self.may_register[path]

    def can_see_sensitive(self, path: str) -> bool:
        if path not in self.may_see_sensitive:
            self.may_see_sensitive[path] = has_capability(self.actor, Capability.VIEW_SENSITIVE, path)
        return self.may_see_sensitive[path]


def _parse_row(number: int, cells: dict[str, Any], ctx: _Context) -> Row:
    """Check one row's cells (no database access apart from the loaded care groups)."""
    house_code = _text(cells.get("house_code"))
    building_code = _text(cells.get("building_code"))
    room = _text(cells.get("room"))
    if house_code:
        house_ref: tuple[str, ...] = ("code", house_code)
    elif building_code and room:
        house_ref = ("room", building_code, room)
    else:
        raise RowInvalid("house_code", "", _("Give the house code, or the building code and room number"))

    name = _text(cells.get("name"))
    if not name:
        raise RowInvalid("name", "", _("The name is required"))
    if len(name) > 64:
        raise RowInvalid("name", name, _("The name is longer than 64 characters"))

    raw_id = cells.get("id_number")
    if isinstance(raw_id, float):
        raise RowInvalid(
            "id_number",
            _text(raw_id),
            _("Excel turned the ID number into a number; format the column as text"),
        )
    if not _text(raw_id):
        raise RowInvalid("id_number", "", _("The ID number is required"))
    try:
        id_number = validate_id_number(_text(raw_id))
    except DomainError as exc:
        raise RowInvalid("id_number", _text(raw_id), exc.message) from None
    id_hash = blind_index("id_number", id_number)

    gender = _choice("gender", cells.get("gender"), GENDERS)
    if gender in (Gender.MALE, Gender.FEMALE) and gender != id_gender(id_number):
        raise RowInvalid("gender", _text(cells.get("gender")), _("The gender does not match the ID number"))
    birth_date = _date("birth_date", cells.get("birth_date"))
    if birth_date is not None and birth_date != id_birth_date(id_number):
        raise RowInvalid(
            "birth_date", _text(cells.get("birth_date")), _("The date of birth does not match the ID number")
        )
    if birth_date is None:
        birth_date = id_birth_date(id_number)
    today = clock.local_now().date()
    moved_in_on = _date("moved_in_on", cells.get("moved_in_on"))
    if moved_in_on is not None and (moved_in_on > today or (birth_date and moved_in_on < birth_date)):
        raise RowInvalid(
            "moved_in_on",
            _text(cells.get("moved_in_on")),
            _("The move-in date is in the future or before birth"),
        )

    phone = _phone("phone", cells.get("phone"))
    contact: tuple[str, str, str, str] | None = None
    contact_name = _text(cells.get("contact_name"))
    contact_relation = _text(cells.get("contact_relation"))
    contact_phone = _phone("contact_phone", cells.get("contact_phone"))
    if contact_name or contact_relation or contact_phone:
        if not contact_name:
            raise RowInvalid("contact_name", "", _("An emergency contact needs a name"))
        if not contact_phone:
            raise RowInvalid("contact_phone", "", _("An emergency contact needs a phone number"))
        if len(contact_name) > 64 or len(contact_relation) > 32:
            raise RowInvalid(
                "contact_name", contact_name, _("The emergency contact's name or relation is too long")
            )
        contact = (contact_name, contact_relation, contact_phone, blind_index("phone", contact_phone))

    area: Decimal | None = None
    raw_area = _text(cells.get("area"))
    if raw_area:
        try:
            area = Decimal(raw_area).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise RowInvalid("area", raw_area, _("The area must be a number of square metres")) from None
        if not (0 < area < 100000):
            raise RowInvalid("area", raw_area, _("The area must be between 0 and 100,000 m²"))

    household_number = _text(cells.get("household_number"))
    if len(household_number) > 32:
        raise RowInvalid("household_number", household_number, _("The household number is too long"))
    reason = _text(cells.get("moved_in_reason"))
    if len(reason) > 200:
        raise RowInvalid("moved_in_reason", reason[:50], _("The reason is longer than 200 characters"))
    pinyin, initials = _name_keys(name)
    return Row(
        row=number,
        house_ref=house_ref,
        household_number=household_number,
        relation=_choice("relation", cells.get("relation"), RELATIONS),
        name=name,
        name_pinyin=pinyin[:255],
        name_initials=initials[:64],
        gender=gender or id_gender(id_number),
        birth_date=birth_date,
        ethnicity=_choice("ethnicity", cells.get("ethnicity"), ETHNICITIES),
        id_number=id_number,
        id_hash=id_hash,
        phone=phone,
        phone_hash=blind_index("phone", phone) if phone else "",
        registration=_choice("registration", cells.get("registration"), REGISTRATIONS),
        moved_in_on=moved_in_on,
        moved_in_reason=reason or None,
        care_groups=[(g.pk, grade) for g, grade in ctx.groups.parse(cells.get("care_groups"))]
        if _text(cells.get("care_groups"))
        else [],
        contact=contact,
        house_use=_choice("house_use", cells.get("house_use"), HOUSE_USES),
        area=area,
    )


def _resolve_houses(rows: list[Row], ctx: _Context) -> None:
    """Fill ``place_id``/``place_path`` of each row: one query for codes, two for building + room."""
    codes = {r.house_ref[1] for r in rows if r.house_ref[0] == "code" and r.house_ref not in ctx.houses}
    if codes:
        for code in codes:
            ctx.houses[("code", code)] = None
        found = (
            Place.objects.visible_to(ctx.actor)
            .filter(kind=PlaceKind.HOUSE, code__in=codes)
            .values_list("id", "code", "path", "name")
        )
        for pk, code, path, name in found:
            ctx.houses[("code", code)] = (pk, path, name)
    rooms = {r.house_ref for r in rows if r.house_ref[0] == "room" and r.house_ref not in ctx.houses}
    if rooms:
        for ref in rooms:
            ctx.houses[ref] = None
        buildings = dict(
            Place.objects.visible_to(ctx.actor)
            .filter(kind=PlaceKind.BUILDING, code__in={ref[1] for ref in rooms})
            .values_list("path", "code")
        )
        if buildings:
            wanted = {ref[2] for ref in rooms}
            under = Q(pk__in=[])
            for path in buildings:
                under |= Q(path__under=path)
            houses = (
                Place.objects.visible_to(ctx.actor)
                .filter(under, kind=PlaceKind.HOUSE)
                .filter(Q(name__in=wanted) | Q(house__room_number__in=wanted))
                .values_list("id", "path", "name", "house__room_number")
            )
            for pk, path, name, room_number in houses:
                building_path = next(p for p in buildings if path.startswith(p))
                for label in {name, room_number}:
                    if label and ("room", buildings[building_path], label) in ctx.houses:
                        ctx.houses[("room", buildings[building_path], label)] = (pk, path, name)
    for r in rows:
        found_house = ctx.houses.get(r.house_ref)
        if found_house is not None:
            r.place_id, r.place_path, r.place_name = found_house


# --- matching and writing -------------------------------------------------------------------

RESIDENT_FIELDS = (
    "place_id",
    "household_id",
    "relation_to_head",
    "name",
    "name_pinyin",
    "name_initials",
    "gender",
    "birth_date",
    "ethnicity",
    "registration",
    "moved_in_on",
    "moved_in_reason",
)


@dataclass
class _Plan:
    """The writes one chunk needs; ``household`` ids below zero are households still to create."""

    households: dict[int, Household] = field(default_factory=dict)  # placeholder id → new household
    houses: list[House] = field(default_factory=list)
    changed_houses: dict[int, House] = field(default_factory=dict)
    residents: list[tuple[Row, Resident]] = field(default_factory=list)
    changed_residents: list[Resident] = field(default_factory=list)
    phones: list[ResidentPhone] = field(default_factory=list)
    changed_phones: list[ResidentPhone] = field(default_factory=list)
    phone_flags: list[ResidentPhone] = field(default_factory=list)
    contacts: list[EmergencyContact] = field(default_factory=list)
    changed_contacts: list[EmergencyContact] = field(default_factory=list)
    memberships: list[CareGroupMembership] = field(default_factory=list)
    heads: list[tuple[int, Resident]] = field(default_factory=list)  # household id → its head


class _Chunk:
    """Matches a chunk of checked rows against the database and, when writing, saves them.

    One query each for residents, households, houses, phones, contacts and care groups of the
    whole chunk; then ``bulk_create`` / ``bulk_update`` per table.
    """

    def __init__(self, rows: list[Row], ctx: _Context, report: LedgerReport) -> None:
        self.rows, self.ctx, self.report = rows, ctx, report
        self.now = clock.now()
        self.today = clock.local_now().date()

    def run(self, *, write: bool) -> list[tuple[Row, str, list[str]]]:
        ctx, plan = self.ctx, _Plan()
        existing = {
            e["id_hash"]: e
            for e in Resident.objects.filter(id_hash__in=[r.id_hash for r in self.rows]).values(
                "id", "id_hash", "place__path", *RESIDENT_FIELDS
            )
        }
        rows: list[Row] = []
        for r in self.rows:
            e = existing.get(r.id_hash)
            if e is not None and not ctx.can_register(e["place__path"]):
                self.report.add_error(
                    r.row,
                    "id_number",
                    r.id_number,
                    _("This person is registered outside your area; ask the community office to move them"),
                )
                self.report.bad += 1
            else:
                rows.append(r)
        resident_ids = [existing[r.id_hash]["id"] for r in rows if r.id_hash in existing]
        place_ids = {r.place_id for r in rows}
        self._load_households(place_ids)
        houses: dict[int, dict[str, Any]] = {
            h["place_id"]: cast(dict[str, Any], h)
            for h in House.objects.filter(place_id__in=place_ids).values(
                "id", "place_id", "use", "use_changed_on", "area_m2"
            )
        }
        # A house changed by an earlier chunk of a dry run is read as the run left it.
        houses.update({pid: ctx.house_state[pid] for pid in place_ids if pid in ctx.house_state})
        phones: dict[int, list[dict[str, Any]]] = {}
        for p in (
            ResidentPhone.objects.filter(resident_id__in=resident_ids)
            .order_by("-is_primary", "pk")
            .values("id", "resident_id", "phone_hash", "is_primary")
        ):
            phones.setdefault(p["resident_id"], []).append(cast(dict[str, Any], p))
        contacts: dict[int, dict[str, Any]] = {}
        for c in (
            EmergencyContact.objects.filter(resident_id__in=resident_ids)
            .order_by("sort_order", "pk")
            .values("id", "resident_id", "name", "relation", "phone_hash")
        ):
            contacts.setdefault(c["resident_id"], cast(dict[str, Any], c))
        memberships = set(
            CareGroupMembership.objects.filter(resident_id__in=resident_ids, end_on__isnull=True).values_list(
                "resident_id", "group_id"
            )
        )

        outcomes: list[tuple[Row, str, list[str]]] = []
        for r in rows:
            e = existing.get(r.id_hash)
            changes = self._house(r, houses, plan)
            household_id, created_household = self._household(r, e, plan)
            relation = r.relation
            if e is None and relation is None:
                relation = Relation.HEAD if created_household else Relation.OTHER
            values: dict[str, Any] = {
                "place_id": r.place_id,
                "household_id": household_id,
                "relation_to_head": relation,
                "name": r.name,
                "name_pinyin": r.name_pinyin,
                "name_initials": r.name_initials,
                "gender": r.gender,
                "birth_date": r.birth_date,
                "ethnicity": r.ethnicity,
                "registration": r.registration,
                "moved_in_on": r.moved_in_on,
                "moved_in_reason": r.moved_in_reason,
            }
            if e is None:
                resident = Resident(
                    id_number=r.id_number,
                    id_hash=r.id_hash,
                    created_at=self.now,
                    updated_at=self.now,
                    **{k: v for k, v in values.items() if v is not None},
                )
                plan.residents.append((r, resident))
                if r.phone:
                    plan.phones.append(
                        ResidentPhone(
                            resident=resident, phone=r.phone, phone_hash=r.phone_hash, is_primary=True
                        )
                    )
                if r.contact:
                    plan.contacts.append(self._contact(resident, r.contact))
                plan.memberships += [
                    CareGroupMembership(resident=resident, group_id=g, grade=grade, start_on=self.today)
                    for g, grade in r.care_groups
                ]
                if relation == Relation.HEAD:
                    self._set_head(household_id, resident, plan)
                outcomes.append((r, "new", []))
                continue

            # An existing resident: blank cells keep what is stored.
            rid: int = e["id"]
            merged = {k: e[k] for k in RESIDENT_FIELDS}
            for k, v in values.items():
                if v is not None and v != merged[k]:
                    merged[k] = v
                    changes.append(k)
            related = self._phone(r, rid, phones.get(rid, []), plan)
            related += self._contact_change(r, rid, contacts.get(rid), plan)
            for group_id, grade in r.care_groups:
                if (rid, group_id) not in memberships:
                    memberships.add((rid, group_id))
                    plan.memberships.append(
                        CareGroupMembership(
                            resident_id=rid, group_id=group_id, grade=grade, start_on=self.today
                        )
                    )
                    if "care_groups" not in related:
                        related.append("care_groups")
            if merged["relation_to_head"] == Relation.HEAD and ctx.heads.get(merged["household_id"]) != rid:
                self._set_head(merged["household_id"], Resident(pk=rid), plan)
                related.append("household_head")
            changes += related
            if any(k in RESIDENT_FIELDS for k in changes) or related:
                plan.changed_residents.append(Resident(pk=rid, updated_at=self.now, **merged))
            outcomes.append((r, "updated" if changes else "unchanged", changes))

        if write:
            self._save(plan)
        else:
            self.report.households_created += len(plan.households)
            self.report.houses_created += len(plan.houses)
        ctx.house_state.update({pid: houses[pid] for pid in plan.changed_houses})
        new_changed = set(plan.changed_houses) - ctx.houses_written
        self.report.houses_updated += len(new_changed)
        ctx.houses_written |= new_changed
        return outcomes

    # -- one row's parts --

    def _house(self, r: Row, houses: dict[int, dict[str, Any]], plan: _Plan) -> list[str]:
        """Create the house record if the place has none; apply the row's use and area."""
        house = houses.get(r.place_id)
        if house is None:
            if r.place_id not in self.ctx.houses_created:
                self.ctx.houses_created.add(r.place_id)
                plan.houses.append(
                    House(
                        place_id=r.place_id,
                        room_number=r.place_name[:16],
                        use=r.house_use or HouseUse.OWNER_OCCUPIED,
                        use_changed_on=self.today if r.house_use else None,
                        area_m2=r.area,
                        updated_at=self.now,
                    )
                )
            return []
        changes: list[str] = []
        if r.house_use and r.house_use != house["use"]:
            house["use"], house["use_changed_on"] = r.house_use, self.today
            changes.append("house_use")
        if r.area is not None and r.area != house["area_m2"]:
            house["area_m2"] = r.area
            changes.append("area")
        if changes:
            obj = House(pk=house["id"], place_id=r.place_id, use=house["use"], area_m2=house["area_m2"])
            obj.use_changed_on = house["use_changed_on"]
            obj.updated_at = self.now
            plan.changed_houses[r.place_id] = obj
        return changes

    def _household(self, r: Row, e: dict[str, Any] | None, plan: _Plan) -> tuple[int, bool]:
        """The household id for the row (negative: to be created) and whether this row creates it."""
        if e is not None and not r.household_number and e["place_id"] == r.place_id and e["household_id"]:
            return e["household_id"], False
        key = (r.place_id, r.household_number or None)
        found = self.ctx.households.get(key)
        if found is not None:
            return found, False
        placeholder = self.ctx.next_placeholder
        self.ctx.next_placeholder -= 1
        self.ctx.households[key] = placeholder
        self.ctx.households.setdefault((r.place_id, None), placeholder)
        plan.households[placeholder] = Household(
            place_id=r.place_id, number=r.household_number, created_at=self.now, updated_at=self.now
        )
        return placeholder, True

    def _set_head(self, household_id: int, resident: Resident, plan: _Plan) -> None:
        plan.heads.append((household_id, resident))
        if resident.pk is not None:
            self.ctx.heads[household_id] = resident.pk

    def _phone(self, r: Row, rid: int, own: list[dict[str, Any]], plan: _Plan) -> list[str]:
        """The ledger's phone is the resident's primary phone."""
        if not r.phone or (own and own[0]["is_primary"] and own[0]["phone_hash"] == r.phone_hash):
            return []
        same = next((p for p in own if p["phone_hash"] == r.phone_hash), None)
        primary = next((p for p in own if p["is_primary"]), None)
        if same is not None:
            plan.phone_flags.append(ResidentPhone(pk=same["id"], is_primary=True))
            if primary is not None:
                plan.phone_flags.append(ResidentPhone(pk=primary["id"], is_primary=False))
        elif primary is not None:
            plan.changed_phones.append(
                ResidentPhone(pk=primary["id"], resident_id=rid, phone=r.phone, phone_hash=r.phone_hash)
            )
        else:
            plan.phones.append(
                ResidentPhone(resident_id=rid, phone=r.phone, phone_hash=r.phone_hash, is_primary=True)
            )
        return ["phone"]

    def _contact_change(self, r: Row, rid: int, current: dict[str, Any] | None, plan: _Plan) -> list[str]:
        """The ledger's emergency contact is the resident's first one."""
        if not r.contact:
            return []
        if current is None:
            plan.contacts.append(self._contact(Resident(pk=rid), r.contact))
            return ["emergency_contact"]
        if (current["name"], current["relation"], current["phone_hash"]) == (
            r.contact[0],
            r.contact[1],
            r.contact[3],
        ):
            return []
        obj = self._contact(Resident(pk=rid), r.contact)
        obj.pk = current["id"]
        plan.changed_contacts.append(obj)
        return ["emergency_contact"]

    @staticmethod
    def _contact(resident: Resident, contact: tuple[str, str, str, str]) -> EmergencyContact:
        return EmergencyContact(
            resident=resident, name=contact[0], relation=contact[1], phone=contact[2], phone_hash=contact[3]
        )

    def _load_households(self, place_ids: set[int]) -> None:
        """Households of the chunk's houses not seen yet: by number, and each house's first."""
        ctx = self.ctx
        missing = place_ids - ctx.places_loaded
        if not missing:
            return
        ctx.places_loaded |= missing
        rows = (
            Household.objects.filter(place_id__in=missing)
            .order_by("pk")
            .values_list("id", "place_id", "number", "head_id")
        )
        for pk, place_id, number, head_id in rows:
            ctx.households.setdefault((place_id, None), pk)
            if number:
                ctx.households.setdefault((place_id, number), pk)
            ctx.heads[pk] = head_id

    # -- writing --

    def _save(self, plan: _Plan) -> None:
        ctx, report = self.ctx, self.report
        # Households first: residents point at them. Placeholders become real ids.
        Household.objects.bulk_create(list(plan.households.values()), batch_size=500)
        real = {placeholder: h.pk for placeholder, h in plan.households.items()}
        for key, value in list(ctx.households.items()):
            if value in real:
                ctx.households[key] = real[value]
        report.households_created += len(plan.households)
        House.objects.bulk_create(plan.houses, batch_size=500)
        report.houses_created += len(plan.houses)
        _update_grouped(
            House, list(plan.changed_houses.values()), ["use", "use_changed_on", "area_m2", "updated_at"]
        )
        for resident in [res for _r, res in plan.residents] + plan.changed_residents:
            if resident.household_id is not None and resident.household_id < 0:
                resident.household_id = real[resident.household_id]
        Resident.objects.bulk_create([res for _r, res in plan.residents], batch_size=500)
        if plan.changed_residents:
            Resident.objects.bulk_update(
                plan.changed_residents, [*RESIDENT_FIELDS, "updated_at"], batch_size=500
            )
        for phone in plan.phones:
            phone.resident_id = phone.resident.pk
        if plan.phone_flags:
            ResidentPhone.objects.bulk_update(plan.phone_flags, ["is_primary"], batch_size=500)
        if plan.changed_phones:
            ResidentPhone.objects.bulk_update(plan.changed_phones, ["phone", "phone_hash"], batch_size=500)
        ResidentPhone.objects.bulk_create(plan.phones, batch_size=500)
        for contact in plan.contacts:
            contact.resident_id = contact.resident.pk
        EmergencyContact.objects.bulk_create(plan.contacts, batch_size=500)
        if plan.changed_contacts:
            EmergencyContact.objects.bulk_update(
                plan.changed_contacts, ["name", "relation", "phone", "phone_hash"], batch_size=500
            )
        for membership in plan.memberships:
            membership.resident_id = membership.resident.pk
        CareGroupMembership.objects.bulk_create(plan.memberships, batch_size=500)
        ResidentMove.objects.bulk_create(
            [
                ResidentMove(
                    resident_id=res.pk,
                    place_id=r.place_id,
                    kind=ResidentMove.Kind.IN,
                    on=r.moved_in_on,
                    reason=r.moved_in_reason or "",
                )
                for r, res in plan.residents
                if r.moved_in_on
            ],
            batch_size=500,
        )
        heads = {real.get(hid, hid): res.pk for hid, res in plan.heads}
        ctx.heads.update(heads)
        # A household created here has one head among its members (the file allows no second):
        # one set-based UPDATE; an existing household that changes head is rare, one by one.
        created = {hid for hid in heads if hid in set(real.values())}
        if created:
            first_head = (
                Resident.objects.filter(household_id=OuterRef("pk"), relation_to_head=Relation.HEAD)
                .order_by("pk")
                .values("pk")[:1]
            )
            Household.objects.filter(pk__in=created).update(head_id=Subquery(first_head))
        Household.objects.bulk_update(
            [
                Household(pk=hid, head_id=rid, updated_at=self.now)
                for hid, rid in heads.items()
                if hid not in created
            ],
            ["head", "updated_at"],
            batch_size=500,
        )
        ctx.paths_written |= {r.place_path for r in self.rows}


def _update_grouped(model: type[models.Model], objs: list[Any], fields: list[str]) -> None:
    """Save ``fields`` of ``objs``: one plain UPDATE per distinct set of values when they
    repeat (a ledger gives many houses the same use), else Django's ``bulk_update``."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for obj in objs:
        groups.setdefault(tuple(getattr(obj, f) for f in fields), []).append(obj.pk)
    if len(groups) * 4 > len(objs):
        model._default_manager.bulk_update(objs, fields, batch_size=500)
        return
    for values, pks in groups.items():
        model._default_manager.filter(pk__in=pks).update(**dict(zip(fields, values, strict=True)))


# --- the service ------------------------------------------------------------------------------


def _read(
    file: bytes | str | Path | IO[bytes],
    ctx: _Context,
    report: LedgerReport,
    progress: Callable[[int, int], None] | None,
) -> list[Row]:
    """Stream the sheet, check every row and resolve its house; the good rows, in file order."""
    sheet = _open_sheet(file)
    declared = int(next(sheet)[0])
    try:
        header = next(sheet)
    except StopIteration:
        raise ValidationError(_("The workbook is empty"), code="headers") from None
    columns = _header_map(header)
    english = {c.english.lower() for c in COLUMNS}
    good: list[Row] = []
    pending: list[Row] = []
    total = max(declared - 1, 0)
    seen = 0

    def flush() -> None:
        _resolve_houses(pending, ctx)
        for r in pending:
            if not r.place_id or not ctx.can_register(r.place_path):
                column = "house_code" if r.house_ref[0] == "code" else "room"
                report.add_error(
                    r.row, column, " ".join(r.house_ref[1:]), _("Unknown house code (or not in your area)")
                )
                report.bad += 1
                continue
            if any(g in ctx.groups.sensitive for g, _grade in r.care_groups) and not ctx.can_see_sensitive(
                r.place_path
            ):
                report.add_error(r.row, "care_groups", "", _("Your role may not record this care group"))
                report.bad += 1
                continue
            good.append(r)
        pending.clear()
        if progress is not None:
            progress(seen, 2 * max(total, seen))

    for number, values in enumerate(sheet, start=2):
        cells = {key: values[i] if i < len(values) else None for key, i in columns.items()}
        if all(v is None or _text(v) == "" for v in cells.values()):
            continue
        if number == 2 and {_text(v).lower() for v in cells.values() if v is not None} <= english:
            continue  # the template's English header row
        seen += 1
        if seen > MAX_ROWS:
            raise ValidationError(
                _("The file has more than %(count)d rows; split it into smaller files") % {"count": MAX_ROWS},
                code="too_many_rows",
            )
        report.rows += 1
        try:
            row = _parse_row(number, cells, ctx)
        except RowInvalid as exc:
            report.add_error(number, exc.column, exc.value, exc.reason)
            report.bad += 1
            continue
        first = ctx.ids_seen.setdefault(row.id_hash, number)
        if first != number:
            report.add_error(
                number, "id_number", row.id_number, _("The same ID number is on row %(row)d") % {"row": first}
            )
            report.bad += 1
            continue
        if row.relation == Relation.HEAD:
            key = (row.house_ref, row.household_number)
            head_row = ctx.heads_seen.setdefault(key, number)
            if head_row != number:
                report.add_error(
                    number,
                    "relation",
                    "户主",
                    _("The household already has a head on row %(row)d") % {"row": head_row},
                )
                report.bad += 1
                continue
        pending.append(row)
        if len(pending) >= CHUNK:
            flush()
    flush()
    return good


def _match(
    rows: list[Row],
    ctx: _Context,
    report: LedgerReport,
    *,
    write: bool,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Match the checked rows against the registry, a chunk at a time, writing when asked.

    In all-or-nothing mode a row refused here stops the writing; the caller rolls back.
    """
    ctx.reset_writes()
    total = report.rows
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        writing = write and (report.skip_invalid or not report.bad)
        for r, action, changes in _Chunk(chunk, ctx, report).run(write=writing):
            setattr(report, action, getattr(report, action) + 1)
            if len(report.preview) < PREVIEW_ROWS:
                report.preview.append(
                    {
                        "row": r.row,
                        "action": action,
                        "house": " ".join(r.house_ref[1:]),
                        "name": r.name,
                        "id_number": mask_id_number(r.id_number),
                        "changes": changes,
                    }
                )
        if progress is not None:
            progress(total + min(start + CHUNK, len(rows)), 2 * max(total, 1))
    report.preview.sort(key=lambda p: p["row"])


class _Rollback(Exception):
    """Unwinds the import's transaction when a row is refused in all-or-nothing mode."""


def ledger_import(
    *,
    actor: User,
    file: bytes | str | Path | IO[bytes],
    dry_run: bool,
    skip_invalid: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> LedgerReport:
    """Import a residents ledger (居民台账) workbook; see the module docstring for the rules.

    ``progress(done, total)`` is called after each chunk: reading and checking is the first
    half of ``total``, matching and writing the second. Raises ``ValidationError`` for a file
    that cannot be imported at all and ``PermissionDenied`` when the actor may register nobody;
    then nothing has been written.
    """
    scope = scope_for(actor)
    if not (scope.is_admin or (scope.territorial_paths and has_capability(actor, Capability.REVEAL_PII))):
        raise PermissionDenied(_("Your role may not register residents"))
    report = LedgerReport(dry_run=dry_run, skip_invalid=skip_invalid)
    ctx = _Context(actor)
    rows = _read(file, ctx, report, progress)
    if dry_run or (report.bad and not skip_invalid):
        # Check only: the counts say what a real import would do.
        _match(rows, ctx, report, write=False, progress=progress)
        report.status = "rejected" if report.bad and not skip_invalid and not dry_run else "done"
        return report
    try:
        with transaction.atomic():
            _match(rows, ctx, report, write=True, progress=progress)
            if report.bad and not skip_invalid:
                raise _Rollback
            report.committed = True
            report.place_path = common_path(sorted(ctx.paths_written))
            if report.new or report.updated or report.households_created or report.houses_created:
                _audit(actor, report)
    except _Rollback:
        report.status = "rejected"
        report.committed = False
        report.households_created = report.houses_created = report.houses_updated = 0
    return report


def _audit(actor: User, report: LedgerReport) -> None:
    """One summary row per import; counts and row numbers only, never an identifier."""
    audit.record(
        actor=actor,
        action="people.ledger_imported",
        object_type=Resident._meta.label_lower,
        object_label=_("Ledger import of %(count)d rows") % {"count": report.rows},
        place_path=report.place_path,
        changes={
            "rows": report.rows,
            "new": report.new,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "skipped": report.bad,
            "households_created": report.households_created,
            "houses_created": report.houses_created,
            "houses_updated": report.houses_updated,
            "skipped_rows": [e.row for e in report.errors[:200]],
        },
    )
