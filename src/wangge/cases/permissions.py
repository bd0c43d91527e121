"""Who may act on a case, by the workflow's ``Who`` (see ``cases.workflow``).

Scope says which cases a user sees; these predicates say which actions they may take on a
case they see. Both are checked by every service.
"""

from __future__ import annotations

from typing import Any

from wangge.cases.models import Case
from wangge.cases.workflow import TRANSITIONS, Who
from wangge.core.roles import Capability
from wangge.core.scope import has_capability, scope_for
from wangge.places.models import PlaceKind

GRID_KINDS = (PlaceKind.GRID, PlaceKind.MICRO_GRID)


def _covers(user: Any, capability: str, path: str) -> bool:
    return bool(path) and has_capability(user, capability, path)


def is_dispatcher(user: Any, case: Case) -> bool:
    """The owning unit's desk, or a desk above it. Cases owned by a department or a
    property company are dispatched by the territorial desk over the case's place (the
    street office is the hub)."""
    path = case.owner_place_path or case.place_path
    if _covers(user, Capability.CASE_DISPATCH, path):
        return True
    # A grid's own staff are its desk: they take or share out what their grid owns.
    owner = case.owner_place
    return owner is not None and owner.kind in GRID_KINDS and _covers(user, Capability.CASE_HANDLE, path)


def is_handler(user: Any, case: Case) -> bool:
    scope = scope_for(user)
    if scope.user_id is None:
        return False
    if scope.is_admin or (case.handler_id is not None and case.handler_id == scope.user_id):
        return True
    if case.handler_department_id and case.handler_department_id in scope.department_ids:
        return has_capability(user, Capability.CASE_HANDLE)
    if case.handler_property_company_id and case.handler_property_company_id in scope.property_company_ids:
        return has_capability(user, Capability.CASE_HANDLE)
    if case.handler_place_id is not None and case.handler is None:
        handler_path = case.handler_place.path if case.handler_place else ""
        return _covers(user, Capability.CASE_HANDLE, handler_path)
    if case.handler_place_id is not None:
        # Taken by a person: their superiors in the territory may still act.
        return _covers(user, Capability.CASE_DISPATCH, case.handler_place.path if case.handler_place else "")
    return False


def is_assistant(user: Any, case: Case) -> bool:
    if is_handler(user, case):
        return True
    scope = scope_for(user)
    for assist in case.assists.all():
        if assist.user_id is not None and assist.user_id == scope.user_id:
            return True
        if assist.department_id and assist.department_id in scope.department_ids:
            return True
        if assist.property_company_id and assist.property_company_id in scope.property_company_ids:
            return True
        if assist.place is not None and _covers(user, Capability.CASE_HANDLE, assist.place.path):
            return True
    return False


def is_supervisor(user: Any, case: Case) -> bool:
    return _covers(user, Capability.CASE_SUPERVISE, case.place_path)


def is_reporter(user: Any, case: Case) -> bool:
    scope = scope_for(user)
    if scope.user_id is None:
        return False
    return case.reporter_id == scope.user_id or case.reporters.filter(user_id=scope.user_id).exists()


CHECKS = {
    Who.DISPATCHER: is_dispatcher,
    Who.HANDLER: is_handler,
    Who.ASSISTANT: is_assistant,
    Who.OWNER_OR_HANDLER: lambda user, case: is_dispatcher(user, case) or is_handler(user, case),
    Who.SUPERVISOR: is_supervisor,
    Who.REPORTER: is_reporter,
    Who.SYSTEM: lambda user, case: False,
}


def may(user: Any, action: str, case: Case) -> bool:
    """Whether ``user`` may take ``action`` on ``case`` in its current state."""
    t = TRANSITIONS[action]
    if case.state not in t.sources:
        return False
    return bool(CHECKS[t.who](user, case))


def actions_for(user: Any, case: Case, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if may(user, name, case)]
