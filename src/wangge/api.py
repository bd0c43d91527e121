"""The REST API under /api/v1/: one NinjaAPI, each app adds its router."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError
from ninja.security import APIKeyCookie, HttpBearer

from wangge.core.auth import token_authenticate
from wangge.core.errors import DomainError


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is None:
            return None
        request.user = user
        return user


class SessionCookieAuth(APIKeyCookie):
    """The page session, so the pages' own scripts can call the API (CSRF-checked)."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


bearer = BearerAuth()
session = SessionCookieAuth()
AUTH = [bearer, session]

api = NinjaAPI(
    title="wangge API",
    version="1",
    description="Grid-based community governance (网格化社会治理). Send `Authorization: Bearer <token>` "
    "from `POST /api/v1/auth/token`.",
    auth=AUTH,
    urls_namespace="api",
)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message, "code": exc.code}, status=exc.status)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(
        request, {"detail": "Authentication required", "code": "unauthenticated"}, status=401
    )


@api.exception_handler(AuthorizationError)
def unauthorised(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": "Forbidden", "code": "forbidden"}, status=403)


def _register() -> None:
    from wangge.cases.api import public_router as case_track_router
    from wangge.cases.api import router as cases_router
    from wangge.cases.metrics_api import router as case_metrics_router
    from wangge.core.api import live_router
    from wangge.core.api import router as core_router
    from wangge.core.inbox_api import inbox_router
    from wangge.org.api import router as org_router
    from wangge.people.api import router as people_router
    from wangge.people.ledger_api import router as ledger_router
    from wangge.places.api import router as places_router

    api.add_router("/auth/", core_router)
    api.add_router("/live/", live_router)
    api.add_router("/inbox/", inbox_router)
    api.add_router("/places/", places_router)
    api.add_router("/org/", org_router)
    api.add_router("/people/ledger/", ledger_router)
    api.add_router("/people/", people_router)
    api.add_router("/cases/track/", case_track_router)
    api.add_router("/cases/metrics/", case_metrics_router)
    api.add_router("/cases/", cases_router)


_register()
