"""Reads of the Open311 app: what a caller, with or without an API key, may see.

Open311 callers are connected systems, not users, so the user scope of ``core.scope`` does
not apply. The publication rule is this, and every read here starts from ``readable_cases``:

- anyone may read the requests whose category is public (``Category.is_public``: matters of
  public space, the city-management event classes), cut down to what may be published
  (``present.request_item``);
- a client with a valid key may also read the requests it filed itself, in full, and the
  requests those were merged into (cut down, since they were someone else's);
- a client limited to an area reads only within that area.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from wangge.cases.models import OPEN_STATES, Case, Category
from wangge.cases.selectors import categories_active
from wangge.core.errors import NotFound, ValidationError
from wangge.open311 import present
from wangge.open311.models import Open311Client, Open311Request
from wangge.open311.params import RequestFilter

MAX_RESULTS = 1000  # the spec's default page
RELATED = (
    "category",
    "sla_policy",
    "place",
    "owner_place",
    "owner_department",
    "owner_property_company",
    "duplicate_of",
)


def services() -> list[dict[str, Any]]:
    return [present.service(c) for c in categories_active()]


def service_definition(code: str) -> dict[str, Any]:
    category = categories_active().filter(code=code).first()
    if category is None:
        raise NotFound(_("Not found"))
    return present.service_definition(category)


def readable_cases(client: Open311Client | None) -> QuerySet[Case]:
    """The cases the caller may read (see the module's docstring)."""
    public = Q(category__is_public=True)
    if client is None:
        return Case.objects.filter(public)
    own = Open311Request.objects.filter(client=client).values("case_id")
    merged_into = Case.objects.filter(pk__in=own, duplicate_of__isnull=False).values("duplicate_of_id")
    qs = Case.objects.filter(public | Q(pk__in=own) | Q(pk__in=merged_into))
    if client.place is not None:
        qs = qs.filter(place_path__under=client.place.path)
    return qs


def _present(client: Open311Client | None, cases: list[Case]) -> list[dict[str, Any]]:
    own: set[int] = set()
    if client is not None and cases:
        own = set(
            Open311Request.objects.filter(client=client, case_id__in=[c.pk for c in cases]).values_list(
                "case_id", flat=True
            )
        )
    places = present.public_places(cases)
    reasons = present.cancel_reasons(cases)
    return [
        present.request_item(c, own=c.pk in own, place=places[c.place_path], reasons=reasons) for c in cases
    ]


def requests(client: Open311Client | None, f: RequestFilter) -> list[dict[str, Any]]:
    """GET requests: the readable cases matching the filters, newest first, at most 1000."""
    qs = readable_cases(client).select_related(*RELATED)
    if f.ids:
        qs = qs.filter(number__in=f.ids)
    else:
        if f.service_codes:
            known = set(Category.objects.filter(code__in=f.service_codes).values_list("code", flat=True))
            unknown = [c for c in f.service_codes if c not in known]
            if unknown:
                raise ValidationError(
                    _("Unknown service_code: %(code)s") % {"code": ", ".join(unknown)},
                    code="bad_service_code",
                )
            qs = qs.filter(category__code__in=f.service_codes)
        if f.statuses and set(f.statuses) != {"open", "closed"}:
            qs = (
                qs.filter(state__in=OPEN_STATES)
                if "open" in f.statuses
                else qs.exclude(state__in=OPEN_STATES)
            )
        if f.start is not None:
            qs = qs.filter(created_at__gte=f.start)
        if f.end is not None:
            qs = qs.filter(created_at__lte=f.end)
    cases = list(qs.order_by("-created_at", "-pk")[:MAX_RESULTS])
    return _present(client, cases)


def request_one(client: Open311Client | None, number: str) -> list[dict[str, Any]]:
    """GET requests/{id}: the one request as a one-element list, or NotFound if not readable."""
    case = readable_cases(client).select_related(*RELATED).filter(number=number[:64]).first()
    if case is None:
        raise NotFound(_("Not found"))
    return _present(client, [case])


def token(value: str) -> list[dict[str, Any]]:
    """GET tokens/{token}: the id of the request a token was given for (the token is the secret)."""
    found = Open311Request.objects.select_related("case").filter(token=value[:64]).first()
    if found is None:
        raise NotFound(_("Not found"))
    return [present.token_item(found.case.number, found.token)]
