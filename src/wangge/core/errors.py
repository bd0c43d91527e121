"""Coded errors that services raise and the API and pages turn into 4xx answers."""

from __future__ import annotations

from django.utils.functional import Promise


class DomainError(Exception):
    """A refusal with a reason the user can act on. Nothing has been changed."""

    status = 400
    code = "invalid"

    def __init__(self, message: str | Promise, *, code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        if code:
            self.code = code


class NotFound(DomainError):
    """Missing, or outside the actor's scope: the two are never told apart."""

    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class ValidationError(DomainError):
    status = 400
    code = "invalid"
