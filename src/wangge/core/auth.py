"""Sign-in: the model backend, password rules, lockout and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from wangge.core import clock
from wangge.core.models import ApiToken, User


class WanggeModelBackend(ModelBackend):
    """Django's backend, except that demo accounts work only in demo mode."""

    def user_can_authenticate(self, user: Any) -> bool:
        if getattr(user, "is_demo", False) and not settings.DEMO and not settings.TESTING:
            return False
        return super().user_can_authenticate(user)


class CharacterClassValidator:
    """MLPS password complexity: letters and digits, at least."""

    def validate(self, password: str, user: Any = None) -> None:
        if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
            raise ValidationError(
                _("The password must contain both letters and digits."), code="password_classes"
            )

    def get_help_text(self) -> str:
        return _("Your password must contain both letters and digits.")


def lockout_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    message = _("Too many failed sign-ins. This account is locked for %(minutes)d minutes.") % {
        "minutes": lockout_minutes()
    }
    retry = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    else:
        response = render(request, "core/login.html", {"locked_out": message, "form": None}, status=429)
    response["Retry-After"] = retry
    return response


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_issue(*, user: User, user_agent: str = "") -> str:
    """Make a bearer token for ``user``. Only its hash is kept."""
    key = secrets.token_urlsafe(32)
    now = clock.now()
    ApiToken.objects.create(
        user=user,
        key_hash=_hash(key),
        created_at=now,
        last_used_at=now,
        expires_at=now + settings.TOKEN_MAX_AGE,
        user_agent=user_agent[:200],
    )
    return key


def token_authenticate(key: str) -> User | None:
    """The active user behind a token, refreshing its idle timer; None if not valid."""
    if not key or len(key) > 100:
        return None
    now = clock.now()
    token = (
        ApiToken.objects.select_related("user").filter(key_hash=_hash(key), revoked_at__isnull=True).first()
    )
    if token is None or token.expires_at <= now or now - token.last_used_at > settings.TOKEN_IDLE_TIMEOUT:
        return None
    user = token.user
    if not user.is_active or not WanggeModelBackend().user_can_authenticate(user):
        return None
    # Refresh at most once a minute, so reads do not turn into writes.
    if now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return user


def token_revoke(*, key: str) -> bool:
    return (
        ApiToken.objects.filter(key_hash=_hash(key), revoked_at__isnull=True).update(revoked_at=clock.now())
        > 0
    )
