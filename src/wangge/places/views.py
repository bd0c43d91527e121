"""The place browser: the tree beside a map of the chosen place's boundaries."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from wangge.core.errors import NotFound
from wangge.org.selectors import responsible_for
from wangge.places import selectors
from wangge.places.models import Place, PlaceKind

# Kinds whose code, padded to 12 digits, is the statistical area code.
STAT_CODE_KINDS = frozenset({PlaceKind.STREET, PlaceKind.COMMUNITY})


def _get(request: HttpRequest, place_id: int) -> Place:
    try:
        return selectors.place_get(request.user, place_id)
    except NotFound:
        raise Http404 from None


def _kind_counts(qs: QuerySet[Place]) -> list[dict[str, Any]]:
    """How many places of each kind a (scope-narrowed) queryset holds, in tree order."""
    counts = dict(qs.values_list("kind").annotate(n=Count("id")).order_by())
    return [
        {"kind": kind.value, "label": kind.label, "count": counts[kind.value]}
        for kind in PlaceKind
        if counts.get(kind.value)
    ]


def _tree(
    request: HttpRequest, roots: list[Place], chain: list[Place], place: Place, children: list[Place]
) -> list[dict[str, Any]]:
    """The user's roots, with the branch leading to ``place`` opened (children loaded)."""
    open_ids = {p.pk for p in chain}

    def node(p: Place) -> dict[str, Any]:
        kids: list[Place] | None = None
        if p.pk == place.pk:
            kids = children
        elif p.pk in open_ids:
            kids = selectors.place_children(request.user, p)
        return {
            "place": p,
            "current": p.pk == place.pk,
            "children": [node(k) for k in kids] if kids is not None else None,
        }

    return [node(r) for r in roots]


def _has_boundary(place: Place) -> bool:
    # Tree rows come without the (large) boundary column but with a flag saying whether it is set.
    flag = getattr(place, "has_boundary_flag", None)
    return bool(flag) if flag is not None else place.boundary is not None


def _map_config(place: Place, ancestors: list[Place]) -> dict[str, Any]:
    """What the map draws: the place and its children, or the nearest ancestor's outline."""
    if place.boundary is not None:
        shown = place
        url = reverse("api:place_geojson", kwargs={"place_id": place.pk})
    else:
        with_boundary = [a for a in ancestors if _has_boundary(a)]
        if not with_boundary:
            return {"url": "", "shown": None}
        shown = with_boundary[-1]
        url = reverse("api:place_geojson", kwargs={"place_id": shown.pk}) + f"?kinds={shown.kind}"
    return {"url": url, "shown": shown}


@login_required
def browser(request: HttpRequest, place_id: int | None = None) -> HttpResponse:
    roots = selectors.place_roots(request.user)
    if place_id is None:
        if not roots:
            return render(request, "places/browser.html", {"roots": [], "place": None})
        place = roots[0]
    else:
        place = _get(request, place_id)
    ancestors = selectors.place_ancestors(request.user, place)
    children = selectors.place_children(request.user, place)
    subtree = selectors.place_subtree(request.user, place).exclude(pk=place.pk)
    context = {
        "roots": roots,
        "place": place,
        "ancestors": ancestors,
        "children": children,
        "tree": _tree(request, roots, ancestors, place, children),
        "subtree_counts": _kind_counts(subtree),
        "show_stat_code": place.kind in STAT_CODE_KINDS,
        "responsible": responsible_for(request.user, place),
        "map": _map_config(place, ancestors),
    }
    return render(request, "places/browser.html", context)


@login_required
def tree_children(request: HttpRequest, place_id: int) -> HttpResponse:
    """An htmx fragment: the children of one tree node."""
    place = _get(request, place_id)
    nodes = [
        {"place": p, "current": False, "children": None}
        for p in selectors.place_children(request.user, place)
    ]
    return render(request, "places/_tree_children.html", {"nodes": nodes})
