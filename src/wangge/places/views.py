"""The place browser: the tree beside a map of the chosen place's boundaries."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from wangge.core.errors import NotFound
from wangge.org.selectors import responsible_for
from wangge.places import selectors
from wangge.places.models import Place


def _get(request: HttpRequest, place_id: int) -> Place:
    try:
        return selectors.place_get(request.user, place_id)
    except NotFound:
        raise Http404 from None


@login_required
def browser(request: HttpRequest, place_id: int | None = None) -> HttpResponse:
    roots = selectors.place_roots(request.user)
    if place_id is None:
        if not roots:
            return render(request, "places/browser.html", {"roots": [], "place": None})
        place = roots[0]
    else:
        place = _get(request, place_id)
    context = {
        "roots": roots,
        "place": place,
        "ancestors": selectors.place_ancestors(request.user, place),
        "children": selectors.place_children(request.user, place),
        "responsible": responsible_for(request.user, place),
    }
    return render(request, "places/browser.html", context)


@login_required
def tree_children(request: HttpRequest, place_id: int) -> HttpResponse:
    """An htmx fragment: the children of one tree node."""
    place = _get(request, place_id)
    return render(
        request,
        "places/_tree_children.html",
        {"children": selectors.place_children(request.user, place), "current_id": None},
    )
