"""Cases and categories as GeoReport v2 objects (plain dicts in the spec's field order).

What an anonymous caller sees of a case is cut down to what may be published: no reporter,
no free-text address, the place no finer than the building, the point rounded to 4 decimals
(about 10 m), and phone numbers, ID numbers and e-mail addresses blanked out of the texts.
A client sees its own requests as it filed them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from wangge.cases.models import OPEN_STATES, Case, CaseEvent, Category, SlaPolicy, State
from wangge.core.clock import LOCAL_TZ
from wangge.places.models import Place, PlaceKind

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this implementation of the endpoints last changed (discovery's changeset).
CHANGESET = "2026-11-22T00:00:00+08:00"
FORMATS = ("text/xml", "application/json")
COORDINATE_DECIMALS = 4
REDACTED = "***"
# Finer than a building is someone's home.
PRIVATE_KINDS = frozenset({PlaceKind.HOUSE, PlaceKind.UNIT})
_PERSONAL_PATTERNS = (
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # e-mail addresses
    re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])"),  # resident ID numbers
    re.compile(r"(?<!\d)1[3-9]\d[ -]\d{4}[ -]\d{4}(?!\d)"),  # mobiles written in groups
    re.compile(r"\+?\d{7,}"),  # any other long number: phones, IDs, account numbers
)


def english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def local_iso(value: datetime | None) -> str | None:
    """ISO 8601 with the Asia/Shanghai offset, to the second (2026-11-22T10:05:00+08:00)."""
    if value is None:
        return None
    return value.astimezone(LOCAL_TZ).isoformat(timespec="seconds")


def redact(text: str) -> str:
    """The text with phone numbers, ID numbers and e-mail addresses blanked out."""
    for pattern in _PERSONAL_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def _name(obj: Category | SlaPolicy) -> str:
    return (obj.name_en or obj.name) if english() else obj.name


# --- discovery and services -------------------------------------------------------------------


def discovery(base_url: str) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": _("Write to the platform administrator of this installation."),
        "key_service": _(
            "API keys are issued by the platform administrator (administration, Open311 clients)."
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url,
                "changeset": CHANGESET,
                "type": "test" if settings.DEMO else "production",
                "formats": list(FORMATS),
            }
        ],
    }


def service(category: Category) -> dict[str, Any]:
    group = category.parent if category.parent_id else category
    return {
        "service_code": category.code,
        "service_name": _name(category),
        "description": _("Answered by default by: %(owner)s. Time limit: %(sla)s.")
        % {"owner": category.get_owner_level_display(), "sla": _name(category.sla_policy)},
        "metadata": False,
        "type": "realtime",
        "keywords": category.keywords,
        "group": _name(group) if group is not None else "",
    }


def service_definition(category: Category) -> dict[str, Any]:
    return {"service_code": category.code, "attributes": []}


def service_notice(case: Case) -> str:
    return _("Time limit: %(sla)s") % {"sla": _name(case.sla_policy)}


# --- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicPlace:
    code: str
    label: str
    lat: float | None
    lng: float | None


def _prefixes(path: str) -> list[str]:
    parts = path.split(".")[:-1]
    return [".".join(parts[:i]) + "." for i in range(1, len(parts) + 1)]


def public_places(cases: Sequence[Case]) -> dict[str, PublicPlace]:
    """For each case's place path: the place as it may be published (one query for all)."""
    paths = {p for case in cases for p in _prefixes(case.place_path)}
    by_path = {
        p.path: p
        for p in Place.objects.filter(path__in=paths).only("path", "kind", "name", "code", "lat", "lng")
    }
    found: dict[str, PublicPlace] = {}
    for case in cases:
        if case.place_path in found:
            continue
        chain = [by_path[p] for p in reversed(_prefixes(case.place_path)) if p in by_path]  # nearest first
        shown = next((p for p in chain if p.kind not in PRIVATE_KINDS), None)
        if shown is None:
            found[case.place_path] = PublicPlace(code="", label="", lat=None, lng=None)
            continue
        community = next((p for p in chain if p.kind == PlaceKind.COMMUNITY), None)
        below_community = shown.kind in (PlaceKind.GRID, PlaceKind.MICRO_GRID, PlaceKind.BUILDING)
        label = f"{community.name} {shown.name}" if community is not None and below_community else shown.name
        found[case.place_path] = PublicPlace(code=shown.code, label=label, lat=shown.lat, lng=shown.lng)
    return found


def cancel_reasons(cases: Iterable[Case]) -> dict[int, str]:
    """The reason given when each cancelled case was declined (one query for all)."""
    ids = [c.pk for c in cases if c.state == State.CANCELLED]
    if not ids:
        return {}
    reasons: dict[int, str] = {}
    for case_id, note in (
        CaseEvent.objects.filter(case_id__in=ids, action="cancel")
        .order_by("at", "pk")
        .values_list("case_id", "note")
    ):
        reasons[case_id] = note  # the latest wins
    return reasons


def status_notes(case: Case, reasons: dict[int, str], *, public: bool) -> str:
    """The reply when resolved, the reason when declined, the request it was merged into."""
    if case.state in OPEN_STATES:
        return ""
    if case.state == State.MERGED:
        into = case.duplicate_of.number if case.duplicate_of is not None else ""
        return (
            _("Merged into request %(number)s") % {"number": into}
            if into
            else _("Merged into another request")
        )
    text = reasons.get(case.pk, "") if case.state == State.CANCELLED else case.reply
    return redact(text) if public else text


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, COORDINATE_DECIMALS)


def request_item(case: Case, *, own: bool, place: PublicPlace, reasons: dict[int, str]) -> dict[str, Any]:
    """One case as a GeoReport v2 request: in full for its own client, else cut down (see above)."""
    notes = status_notes(case, reasons, public=not own)
    description = case.description
    if own:
        address = case.address or place.label
        address_id = case.place.code
        lat = case.lat if case.lat is not None else case.place.lat
        lng = case.lng if case.lng is not None else case.place.lng
    else:
        description = redact(description)
        address, address_id = place.label, place.code
        lat = _round(case.lat if case.lat is not None else place.lat)
        lng = _round(case.lng if case.lng is not None else place.lng)
    return {
        "service_request_id": case.number,
        "status": "open" if case.state in OPEN_STATES else "closed",
        "status_notes": notes,
        "service_name": _name(case.category),
        "service_code": case.category.code,
        "description": description,
        "agency_responsible": case.owner_label,
        "service_notice": service_notice(case),
        "requested_datetime": local_iso(case.created_at),
        "updated_datetime": local_iso(case.updated_at),
        "expected_datetime": local_iso(case.due_at),
        "address": address,
        "address_id": address_id,
        "zipcode": "",
        "lat": lat,
        "long": lng,
        "media_url": "",
    }


def submitted(case: Case, token: str) -> dict[str, Any]:
    return {
        "service_request_id": case.number,
        "token": token,
        "service_notice": service_notice(case),
        "account_id": None,
    }


def token_item(number: str, token: str) -> dict[str, Any]:
    return {"service_request_id": number, "token": token}
