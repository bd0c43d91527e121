"""Sign-in for API clients: ``POST /api/v1/auth/token`` (contract)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from wangge.core import audit
from wangge.core.auth import token_issue, token_revoke
from wangge.core.errors import DomainError
from wangge.core.models import AuditEvent, User
from wangge.core.roles import Role
from wangge.core.scope import scope_for
from wangge.core.services import live_test_send

router = Router(tags=["auth"])


class TokenIn(Schema):
    username: str
    password: str


class TokenOut(Schema):
    token: str


class ErrorOut(Schema):
    detail: str
    code: str | None = None


class ValidationErrorOut(Schema):
    """Request validation failures (422): ``detail`` lists what was wrong with which field."""

    detail: list[dict[str, Any]] | str
    code: str | None = None


# The error answers every operation documents: reads, and writes (which may also conflict).
READ_ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    422: ValidationErrorOut,
}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 409: ErrorOut}


def api_user(request: HttpRequest) -> User:
    """The signed-in caller of an operation that requires authentication."""
    user = request.user
    assert isinstance(user, User), "the API authenticates every request"
    return user


class GrantOut(Schema):
    role: str
    role_label: str
    place_id: int
    place_path: str
    department_id: int | None = None
    property_company_id: int | None = None


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    is_admin: bool
    assignments: list[GrantOut]


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"


@router.post("/token", auth=None, response={200: TokenOut, 401: ErrorOut, 429: ErrorOut})
def token_create(request: HttpRequest, data: TokenIn) -> TokenOut:
    """Exchange a username and password for a bearer token."""
    user = authenticate(request, username=data.username[:150], password=data.password[:512])
    if user is None:
        # After 5 failures the lockout middleware answers 429 instead of this 401.
        raise InvalidCredentials("Invalid username or password")
    assert isinstance(user, User)
    key = token_issue(user=user, user_agent=request.META.get("HTTP_USER_AGENT", ""))
    audit.record(actor=user, action="auth.token_issued", obj=user)
    return TokenOut(token=key)


@router.delete("/token", response={204: None})
def token_delete(request: HttpRequest) -> HttpResponse:
    """Revoke the bearer token this request was made with."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("bearer "):
        token_revoke(key=header[7:].strip())
        user = request.user if isinstance(request.user, User) else None
        audit.record(actor=user, action="auth.token_revoked", obj=user, result=AuditEvent.Result.OK)
    return HttpResponse(status=204)


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> MeOut:
    """Who the token belongs to and where they act."""
    user = request.user
    assert isinstance(user, User)
    scope = scope_for(user)
    return MeOut(
        id=user.pk,
        username=user.username,
        display_name=user.label,
        is_admin=scope.is_admin,
        assignments=[
            GrantOut(
                role=g.role,
                role_label=str(Role(g.role).label) if g.role in Role.values else g.role,
                place_id=g.place_id,
                place_path=g.path,
                department_id=g.department_id,
                property_company_id=g.property_company_id,
            )
            for g in scope.grants
        ],
    )


live_router = Router(tags=["live"])


class LiveTestOut(Schema):
    queued: bool
    event_id: int


@live_router.post("/test", response={202: LiveTestOut})
def live_test(request: HttpRequest) -> Status[LiveTestOut]:
    """Send a test message to the caller's own live screens, through the outbox and the worker.

    Monitoring rooms press this to check that a screen really receives pushes.
    """
    user = request.user
    assert isinstance(user, User)
    event = live_test_send(actor=user)
    return Status(202, LiveTestOut(queued=True, event_id=event.pk))
