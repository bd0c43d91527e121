"""Exporting a filtered list of residents to .xlsx (台账导出), with flat memory.

The rows come from ``selectors.resident_filter`` (the resident search: scope, place subtree,
care group, age band, registration, text), read with ``values()`` and ``iterator()`` so no
model instances are built, and written by openpyxl in write-only mode to a temporary file
that is then streamed. Related details (phone, emergency contact, care groups) are fetched
once per chunk of rows. ID and phone numbers are masked; health notes and sensitive care
groups appear only where the actor holds ``pii.view_sensitive`` at the resident's place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.db.models import OuterRef, Subquery
from django.http import FileResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook

from wangge.core import audit, clock
from wangge.core.errors import PermissionDenied
from wangge.core.models import User
from wangge.core.pii import decrypt, mask_id_number, mask_phone
from wangge.core.roles import Capability
from wangge.core.scope import has_capability, scope_for
from wangge.people import selectors
from wangge.people.ledger import ETHNICITIES, GENDERS, HOUSE_USES, REGISTRATIONS, RELATIONS
from wangge.people.models import CareGroupMembership, EmergencyContact, ResidentPhone, ResidentStatus
from wangge.places.models import Place
from wangge.places.selectors import place_get

CHUNK = 2000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUSES = {
    ResidentStatus.ACTIVE: "在住",
    ResidentStatus.MOVED_OUT: "已迁出",
    ResidentStatus.DECEASED: "已故",
}


def _reverse(table: Mapping[str, str]) -> dict[str, str]:
    return {str(code): label for label, code in table.items()}


LABELS = {
    "gender": _reverse(GENDERS),
    "registration": _reverse(REGISTRATIONS),
    "relation_to_head": _reverse(RELATIONS),
    "ethnicity": _reverse(ETHNICITIES),
    "use": _reverse(HOUSE_USES),
    "status": {str(k): v for k, v in STATUSES.items()},
}


@dataclass(frozen=True)
class ExportFilters:
    """The resident search's filters; ``place_id`` and ``care_group`` are resolved through scope."""

    q: str = ""
    place_id: int | None = None
    care_group: str = ""
    age_min: int | None = None
    age_max: int | None = None
    registration: str = ""
    gender: str = ""
    status: str = ResidentStatus.ACTIVE  # or "all"

    def for_audit(self) -> dict[str, Any]:
        """The filters without identifiers: a searched ID or phone number is masked."""
        data = {k: v for k, v in asdict(self).items() if v not in ("", None)}
        if any(ch.isdigit() for ch in self.q):
            digits = "".join(ch for ch in self.q if ch.isdigit() or ch in "xX")
            data["q"] = mask_id_number(digits) if len(digits) > 11 else mask_phone(digits)
        return data


HEADERS: tuple[tuple[str, str], ...] = (
    ("house_code", "房屋编码"),
    ("house", "房号"),
    ("household_number", "户号"),
    ("relation", "与户主关系"),
    ("name", "姓名"),
    ("gender", "性别"),
    ("birth_date", "出生日期"),
    ("age", "年龄"),
    ("ethnicity", "民族"),
    ("id_number", "身份证号"),
    ("phone", "手机号"),
    ("registration", "户籍类型"),
    ("status", "状态"),
    ("moved_in_on", "迁入日期"),
    ("moved_in_reason", "迁入原因"),
    ("care_groups", "重点人群"),
    ("contact_name", "紧急联系人"),
    ("contact_relation", "紧急联系人关系"),
    ("contact_phone", "紧急联系人电话"),
    ("house_use", "房屋用途"),
    ("area", "面积"),
)
SENSITIVE_HEADERS: tuple[tuple[str, str], ...] = (("health_notes", "健康状况"),)


def _plain(value: Any) -> str:
    """A decrypted value whether the database driver already converted it or not."""
    if not value:
        return ""
    text = str(value)
    if text.startswith("k") and ":" in text[:8]:
        try:
            return decrypt(text)
        except ValueError:
            return ""
    return text


def check_can_export(actor: User) -> None:
    scope = scope_for(actor)
    if not (scope.is_admin or scope.territorial_paths):
        raise PermissionDenied(_("Your role may not export residents"))


def residents_export_file(
    *, actor: User, filters: ExportFilters, on_row: Callable[[int], None] | None = None
) -> tuple[Path, int]:
    """Write the filtered residents to a temporary .xlsx; returns its path and the row count.

    The caller deletes the file. ``on_row`` is told the running count after each chunk.
    """
    check_can_export(actor)
    place: Place | None = place_get(actor, filters.place_id) if filters.place_id is not None else None
    group = selectors.care_group_get(actor, filters.care_group) if filters.care_group else None
    qs = selectors.resident_filter(
        actor,
        q=filters.q,
        place=place,
        care_group=group,
        age_min=filters.age_min,
        age_max=filters.age_max,
        registration=filters.registration or None,
        gender=filters.gender or None,
        status=None if filters.status == "all" else filters.status,
    )
    may_see = selectors.sensitive_checker(actor)
    sensitive_column = has_capability(actor, Capability.VIEW_SENSITIVE)
    phone = (
        ResidentPhone.objects.filter(resident=OuterRef("pk"))
        .order_by("-is_primary", "pk")
        .values("phone")[:1]
    )
    fields = [
        "id",
        "place__code",
        "place__name",
        "place__path",
        "household__number",
        "relation_to_head",
        "name",
        "gender",
        "birth_date",
        "ethnicity",
        "id_number",
        "registration",
        "status",
        "moved_in_on",
        "moved_in_reason",
        "place__house__use",
        "place__house__area_m2",
    ]
    if sensitive_column:
        fields.append("health_notes")
    rows = qs.annotate(primary_phone=Subquery(phone)).values(*fields, "primary_phone")
    headers = HEADERS + (SENSITIVE_HEADERS if sensitive_column else ())

    handle, name = tempfile.mkstemp(prefix="wangge-export-", suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    today = selectors.local_today()
    count = 0
    try:
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("居民台账")
        ws.append([h for _k, h in headers])
        buffer: list[dict[str, Any]] = []

        def flush() -> None:
            nonlocal count
            ids = [r["id"] for r in buffer]
            groups: dict[int, list[str]] = {}
            for rid, group_name, sensitive, grade, path_ in (
                CareGroupMembership.objects.filter(selectors._active_on(today), resident_id__in=ids)
                .order_by("group__sort_order", "group__code")
                .values_list(
                    "resident_id", "group__name", "group__is_sensitive", "grade", "resident__place__path"
                )
            ):
                if sensitive and not may_see(path_):
                    continue
                label = f"{group_name}（{grade}）" if grade and may_see(path_) else group_name
                groups.setdefault(rid, []).append(label)
            contacts: dict[int, tuple[str, str, str]] = {}
            for rid, c_name, c_relation, c_phone in (
                EmergencyContact.objects.filter(resident_id__in=ids)
                .order_by("sort_order", "pk")
                .values_list("resident_id", "name", "relation", "phone")
            ):
                contacts.setdefault(rid, (c_name, c_relation, _plain(c_phone)))
            for r in buffer:
                contact = contacts.get(r["id"], ("", "", ""))
                id_number = _plain(r["id_number"])
                primary = _plain(r["primary_phone"])
                line = [
                    r["place__code"],
                    r["place__name"],
                    r["household__number"] or "",
                    LABELS["relation_to_head"].get(r["relation_to_head"], ""),
                    r["name"],
                    LABELS["gender"].get(r["gender"], ""),
                    r["birth_date"],
                    selectors.age_on(r["birth_date"], today),
                    LABELS["ethnicity"].get(r["ethnicity"], r["ethnicity"]),
                    mask_id_number(id_number) if id_number else "",
                    mask_phone(primary) if primary else "",
                    LABELS["registration"].get(r["registration"], ""),
                    LABELS["status"].get(r["status"], ""),
                    r["moved_in_on"],
                    r["moved_in_reason"],
                    "、".join(groups.get(r["id"], [])),
                    contact[0],
                    contact[1],
                    mask_phone(contact[2]) if contact[2] else "",
                    LABELS["use"].get(r["place__house__use"] or "", ""),
                    float(r["place__house__area_m2"]) if r["place__house__area_m2"] is not None else None,
                ]
                if sensitive_column:
                    line.append(_plain(r["health_notes"]) if may_see(r["place__path"]) else "")
                ws.append(line)
            count += len(buffer)
            buffer.clear()
            if on_row is not None:
                on_row(count)

        for row in rows.iterator(chunk_size=CHUNK):
            buffer.append(row)
            if len(buffer) >= CHUNK:
                flush()
        if buffer:
            flush()
        wb.save(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    audit.record(
        actor=actor,
        action="people.ledger_exported",
        object_type="people.resident",
        object_label=_("Export of %(count)d residents") % {"count": count},
        place_path=place.path if place is not None else "",
        changes={"filters": filters.for_audit(), "rows": count},
    )
    return path, count


def export_residents(user: User, filters: ExportFilters) -> FileResponse:
    """The filtered residents as a streamed .xlsx download (memory stays flat)."""
    path, _count = residents_export_file(actor=user, filters=filters)
    handle = path.open("rb")
    path.unlink()  # the open handle keeps the data until the response has been sent
    filename = f"居民台账-{clock.local_now():%Y%m%d-%H%M}.xlsx"
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX)
