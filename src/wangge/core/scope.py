"""Who may see what: the one narrowing every selector starts from.

A user acts through assignments ``(user, role, place)``. What they may see is the union of
the subtrees of their assignment places. Departments and property companies see what is
assigned to them; residents see their own records. Models declare how a row maps onto that
with a ``scope_spec`` class attribute, and ``visible_to(queryset, user)`` applies it, so no
page and no endpoint can forget it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q, QuerySet

from wangge.core import clock
from wangge.core.errors import NotFound
from wangge.core.fields import collapse_prefixes
from wangge.core.roles import CAPABILITIES, TERRITORIAL_ROLES, Role


@dataclass(frozen=True)
class ScopeSpec:
    """How a model's rows map onto scope.

    place_path: lookup from the row to its place's materialised path (``"path"`` on
        places themselves, ``"place__path"`` for records that happen somewhere).
    personal: the rows hold personal data, so only territorial roles see them by place;
        departments, property companies and residents then see only rows assigned to them.
    department: lookup to the department the row is assigned to, if any.
    property_company: lookup to the property company the row is assigned to, if any.
    owner: lookup to the user whose own record this is (a resident's request), if any.

    Each may be a tuple of lookups: a row is visible when any of them matches.
    """

    place_path: str | tuple[str, ...] | None
    personal: bool = True
    department: str | tuple[str, ...] | None = None
    property_company: str | tuple[str, ...] | None = None
    owner: str | tuple[str, ...] | None = None


class Scoped(Protocol):
    scope_spec: ScopeSpec


@dataclass(frozen=True)
class Grant:
    role: str
    path: str
    place_id: int
    department_id: int | None = None
    property_company_id: int | None = None


@dataclass(frozen=True)
class UserScope:
    user_id: int | None
    is_admin: bool
    grants: tuple[Grant, ...] = ()
    territorial_paths: tuple[str, ...] = ()
    all_paths: tuple[str, ...] = ()
    department_ids: tuple[int, ...] = ()
    property_company_ids: tuple[int, ...] = ()
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_resident_only(self) -> bool:
        return not self.is_admin and self.roles <= {Role.RESIDENT}


NOBODY = UserScope(user_id=None, is_admin=False)
_CACHE_ATTR = "_wangge_scope"


def scope_for(user: Any) -> UserScope:
    """The user's scope, computed once per user object (one query)."""
    if user is None or isinstance(user, AnonymousUser) or not getattr(user, "is_authenticated", False):
        return NOBODY
    cached: UserScope | None = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    from wangge.org.models import Assignment  # org owns assignments; core reads them

    today = clock.local_now().date()
    rows = (
        Assignment.objects.filter(user_id=user.pk, is_active=True)
        .filter(Q(start_date__isnull=True) | Q(start_date__lte=today))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .values_list("role", "place__path", "place_id", "department_id", "property_company_id")
    )
    grants = tuple(Grant(r, p, pid, d, c) for r, p, pid, d, c in rows)
    roles = frozenset(g.role for g in grants)
    is_admin = bool(user.is_superuser) or Role.PLATFORM_ADMIN in roles
    scope = UserScope(
        user_id=user.pk,
        is_admin=is_admin,
        grants=grants,
        territorial_paths=collapse_prefixes([g.path for g in grants if g.role in TERRITORIAL_ROLES]),
        all_paths=collapse_prefixes([g.path for g in grants]),
        department_ids=tuple(sorted({g.department_id for g in grants if g.department_id})),
        property_company_ids=tuple(sorted({g.property_company_id for g in grants if g.property_company_id})),
        roles=roles,
    )
    setattr(user, _CACHE_ATTR, scope)
    return scope


def forget_scope(user: Any) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


M = TypeVar("M", bound=models.Model)


def visible_to(qs: QuerySet[M], user: Any) -> QuerySet[M]:
    """Narrow ``qs`` to the rows ``user`` may see, by the model's ``scope_spec``."""
    spec: ScopeSpec | None = getattr(qs.model, "scope_spec", None)
    if spec is None:
        raise TypeError(f"{qs.model.__name__} has no scope_spec; it cannot be shown to users")
    scope = scope_for(user)
    if scope.is_admin:
        return qs
    if scope.user_id is None:
        return qs.none()
    condition = Q(pk__in=[])
    paths = scope.territorial_paths if spec.personal else scope.all_paths
    for lookup in _lookups(spec.place_path):
        for prefix in paths:
            condition |= Q(**{f"{lookup}__under": prefix})
    if scope.department_ids:
        for lookup in _lookups(spec.department):
            condition |= _related(qs, f"{lookup}__in", scope.department_ids)
    if scope.property_company_ids:
        for lookup in _lookups(spec.property_company):
            condition |= _related(qs, f"{lookup}__in", scope.property_company_ids)
    for lookup in _lookups(spec.owner):
        condition |= _related(qs, lookup, scope.user_id)
    return qs.filter(condition)


def _lookups(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else value


def _related(qs: QuerySet[Any], lookup: str, value: Any) -> Q:
    if "__" in lookup.removesuffix("__in"):
        # Through a relation that may be to-many (a household's members, a case's
        # reporters): a subquery, so rows are not repeated once per match.
        matched = qs.model._default_manager.filter(**{lookup: value}).values("pk")
        return Q(pk__in=matched)
    return Q(**{lookup: value})


def access(qs: QuerySet[M], user: Any, **lookup: Any) -> M:
    """Fetch one row the user may see, or raise NotFound (never telling the two apart)."""
    try:
        return visible_to(qs, user).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound("Not found") from None


def can_see_path(user: Any, path: str, *, personal: bool = False) -> bool:
    scope = scope_for(user)
    if scope.is_admin:
        return True
    paths = scope.territorial_paths if personal else scope.all_paths
    return any(path.startswith(p) for p in paths)


def has_capability(user: Any, capability: str, path: str | None = None) -> bool:
    """Whether one of the user's roles grants ``capability`` at ``path`` (or anywhere)."""
    scope = scope_for(user)
    if scope.is_admin:
        return True
    for grant in scope.grants:
        if capability in CAPABILITIES.get(grant.role, frozenset()) and (
            path is None or path.startswith(grant.path)
        ):
            return True
    return False


class ScopedQuerySet(models.QuerySet[M]):
    """Default queryset of every scoped model: ``Model.objects.visible_to(user)``."""

    def visible_to(self, user: Any) -> ScopedQuerySet[M]:
        return visible_to(self, user)  # type: ignore[return-value]
