"""Health checks, sign-in, the home page and the audit log."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from wangge.core import clock, selectors
from wangge.core.auth import lockout_minutes
from wangge.core.errors import PermissionDenied
from wangge.core.scope import scope_for

AUDIT_PAGE_SIZE = 50


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return JsonResponse({"status": "unavailable", "database": type(exc).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


class LoginForm(AuthenticationForm):
    """Django's sign-in form with messages a community worker can act on."""

    error_messages = {
        "invalid_login": _(
            "Wrong username or password. Please check them and try again (letters are case-sensitive)."
        ),
        "inactive": _("This account has been disabled. Please ask your administrator."),
    }


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["timed_out"] = self.request.session.pop("wangge_timed_out", False)
        context["lockout_failures"] = settings.AXES_FAILURE_LIMIT
        context["lockout_minutes"] = lockout_minutes()
        context["idle_minutes"] = int(settings.IDLE_TIMEOUT.total_seconds() // 60)
        return context


def greeting(hour: int) -> str:
    if 5 <= hour < 12:
        return str(_("Good morning"))
    if 12 <= hour < 18:
        return str(_("Good afternoon"))
    return str(_("Good evening"))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "summary": selectors.home_summary(request.user),
        "scope": scope_for(request.user),
        "greeting": greeting(clock.local_now().hour),
    }
    return render(request, "core/home.html", context)


def _parse_date(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


@require_GET
@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """The audit log, newest first, for users who may read it (read-only)."""
    filters = selectors.AuditFilters(
        action=request.GET.get("action", "").strip()[:64],
        actor=request.GET.get("actor", "").strip()[:150],
        date_from=_parse_date(request.GET.get("date_from")),
        date_to=_parse_date(request.GET.get("date_to")),
    )
    try:
        events = selectors.audit_events(request.user, filters)
        actions = selectors.audit_actions(request.user)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "events": page.object_list,
        "filters": filters,
        "actions": actions,
        "filter_query": query.urlencode(),
    }
    return render(request, "core/audit_list.html", context)
