"""Checks and search keys for people's identifiers: ID numbers (GB 11643), phones, names."""

from __future__ import annotations

import re
from datetime import date

from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin

from wangge.core.errors import ValidationError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{9,11}$")


def id_check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise_id_number(value: str) -> str:
    return value.strip().upper().replace(" ", "")


def validate_id_number(value: str) -> str:
    """A valid 18-digit resident ID number (GB 11643), normalised; or a clear error."""
    v = normalise_id_number(value)
    if not _ID_RE.match(v):
        raise ValidationError(_("An ID number has 17 digits and a final digit or X"), code="id_format")
    if id_check_digit(v[:17]) != v[17]:
        raise ValidationError(_("The ID number's check digit is wrong"), code="id_check_digit")
    if id_birth_date(v) is None:
        raise ValidationError(_("The ID number holds an impossible date of birth"), code="id_birth_date")
    return v


def id_birth_date(value: str) -> date | None:
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    return born if date(1880, 1, 1) <= born else None


def id_gender(value: str) -> str:
    return "male" if int(value[16]) % 2 else "female"


def normalise_phone(value: str) -> str:
    digits = re.sub(r"[^\d]", "", value)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def validate_phone(value: str) -> str:
    """A mainland mobile (11 digits) or landline with area code, normalised; or a clear error."""
    digits = normalise_phone(value)
    if _MOBILE_RE.match(digits) or _LANDLINE_RE.match(digits):
        return digits
    raise ValidationError(
        _("A phone number is an 11-digit mobile number or a landline with its area code"), code="phone_format"
    )


def name_keys(name: str) -> tuple[str, str]:
    """Search keys of a Chinese name: full pinyin and initials, lower case (张三 → zhangsan, zs)."""
    syllables = [s.lower() for s in lazy_pinyin(name.strip(), errors="ignore") if s.strip()]
    initials = [s.lower() for s in lazy_pinyin(name.strip(), style=Style.FIRST_LETTER, errors="ignore")]
    return "".join(syllables), "".join(i for i in initials if i.isalnum())
