"""Request context for the audit log, and the idle-session timeout."""

from __future__ import annotations

import contextvars
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class RequestContext:
    ip: str | None
    user_agent: str
    request_id: str


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "wangge_request", default=None
)


def current_request() -> RequestContext | None:
    return _current.get()


def client_ip(request: HttpRequest) -> str | None:
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Keeps who is asking from where in a context variable the audit log reads."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ctx = RequestContext(
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
            request_id=request.META.get("HTTP_X_REQUEST_ID", "")[:36] or str(uuid.uuid4()),
        )
        token = _current.set(ctx)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = ctx.request_id
        return response


class IdleTimeoutMiddleware:
    """Ends a page session after ``IDLE_TIMEOUT`` without a request (MLPS: 30 minutes)."""

    KEY = "wangge_last_seen"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            last = request.session.get(self.KEY)
            if last is not None and now - float(last) > settings.IDLE_TIMEOUT.total_seconds():
                logout(request)
                request.session["wangge_timed_out"] = True
            else:
                request.session[self.KEY] = now
        return self.get_response(request)
