"""The inbox (消息中心) pages: the user's own notifications, unread first. Thin: parse →
selector or service → template. Someone else's notification answers 404 like a missing one.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from wangge.core import notify
from wangge.core.errors import NotFound
from wangge.core.models import User

PAGE_SIZE = 30


def _actor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required has let only users in
        raise Http404
    return user


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread", "") in {"1", "true", "on"}
    page = Paginator(notify.inbox_list(request.user, unread_only=unread_only), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "notifications": page.object_list,
        "unread_only": unread_only,
        "unread_count": notify.inbox_unread_count(request.user),
    }
    return render(request, "core/inbox.html", context)


@require_POST
@login_required
def mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read; with ``go`` set, then follow its link."""
    try:
        notification = notify.notification_mark_read(actor=_actor(request), notification_id=notification_id)
    except NotFound:
        raise Http404 from None
    if request.POST.get("go") and notification.url:
        safe = url_has_allowed_host_and_scheme(
            notification.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        if safe:
            return HttpResponseRedirect(notification.url)
    if _is_htmx(request):
        context = {"n": notification, "oob": True, "unread_count": notify.inbox_unread_count(request.user)}
        return render(request, "core/_inbox_item.html", context)
    return HttpResponseRedirect(reverse("inbox:list"))


@require_POST
@login_required
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = notify.notifications_mark_all_read(actor=_actor(request))
    messages.success(
        request,
        ngettext("%(count)d notification marked read.", "%(count)d notifications marked read.", count)
        % {"count": count},
    )
    return HttpResponseRedirect(reverse("inbox:list"))


# Route walkers (the generated scope test) read this: these answer POST only.
mark_read.http_methods = ("POST",)  # type: ignore[attr-defined]
mark_all_read.http_methods = ("POST",)  # type: ignore[attr-defined]
