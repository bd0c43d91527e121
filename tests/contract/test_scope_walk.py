"""The generated scope test: every route of the API and of the pages, walked from the URL
configuration, so a route added later is covered without anyone remembering to.

For every route:
- without signing in, it answers 401 (API), 403, or a redirect to a sign-in page, unless it
  is on the explicit ``PUBLIC`` list;
- with an id in its path, ``grid1`` asking for an object of ``grid2``'s grid gets 404 or 403,
  the answer does not name the object, and a write changes nothing.

A route whose path holds a parameter that ``PARAMS`` does not know fails the test: whoever
adds it says here how to find an object its caller must not see.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

from wangge.api import api as ninja_api
from wangge.cases import services as case_services
from wangge.cases.models import Attachment, Case, Category, Extension
from wangge.core import clock
from wangge.core.models import AuditEvent, Notification, OutboxEvent, User
from wangge.core.roles import Role
from wangge.org.models import Assignment
from wangge.people import services as people_services
from wangge.people.models import House, Household, LedgerJob, Resident
from wangge.places.models import Place, PlaceKind

pytestmark = pytest.mark.usefixtures("demo_db")

API_PREFIX = "/api/v1/"
ADMIN_PREFIX = "/admin/"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Routes anyone may call, as "METHOD /route" ("*" for every method), each with its reason.
PUBLIC: dict[str, str] = {
    "GET /healthz": "liveness probe (contract)",
    "GET /readyz": "readiness probe (contract)",
    "POST /api/v1/auth/token": "signing in (contract)",
    "GET /api/v1/openapi.json": "the API schema (contract)",
    "GET /api/v1/docs": "the API documentation (contract)",
    "* /login/": "the sign-in page",
    "* /logout/": "signing out needs no session",
    "* /i18n/setlang/": "choosing the language",
    "* /admin/login/": "the admin sign-in page",
    "* /admin/logout/": "signing out needs no session",
    "GET /api/v1/cases/track/{code}": "a reporter without an account follows a request by its tracking code",
    "POST /api/v1/cases/track/{code}/rate": "a reporter without an account rates by tracking code",
    "GET /api/v1/cases/track/{code}/attachments/{attachment_id}": "photos on the public timeline, by code",
    "GET /open311/v2/discovery.{fmt}": "Open311 discovery (contract)",
    "GET /open311/v2/services.{fmt}": "Open311 service list (contract)",
    "GET /open311/v2/services/{code}.{fmt}": "Open311 service definition (contract)",
    "GET /open311/v2/requests.{fmt}": "Open311 public requests; a client's own with its API key (contract)",
    "GET /open311/v2/requests/{number}.{fmt}": "Open311 request; a client's own with a key (contract)",
    "GET /open311/v2/tokens/{value}.{fmt}": "Open311 token to request id; the token is the client's secret",
    "POST /open311/v2/requests.{fmt}": "Open311 clients file with an API key, not a session (contract)",
    "* /open311/v2/{rest}": "anything else under Open311 is a 404 in the spec's format",
    "* /report/": "residents report a matter without an account (with a phone number)",
    "GET /report/done/": "the tracking code shown after a report (from the reporter's own session)",
    "GET /report/similar/": "'me too' candidates: public facts of open matters only",
    "GET /report/places/": "the street → community → building menus (place names only)",
    "* /track/": "the tracking-code form",
    "GET /track/{code}/": "a reporter follows a request by tracking code",
    "POST /track/{code}/rate/": "a reporter rates by tracking code",
    "GET /track/{code}/attachments/{attachment_id}/": "photos on the public timeline, by tracking code",
}
# Routes that exist only as a prefix for others and answer 404 to everybody.
NOT_ROUTES = {"/api/v1/"}


# --- the world the test asks about ----------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One value for a path parameter: the id, and the name a denied answer must not show."""

    value: str
    name: str = ""
    snapshot: Callable[[], Any] = field(default=lambda: None, compare=False)


@dataclass(frozen=True)
class World:
    grid1: User
    grid2: User
    grid1_grid: Place
    grid2_grid: Place
    grid2_building: Place
    grid1_building: Place


def _assignment_place(username: str, role: str) -> Place:
    assignment = (
        Assignment.objects.select_related("place")
        .filter(user__username=username, role=role, is_active=True)
        .order_by("place__path")
        .first()
    )
    assert assignment is not None, f"the demo has no {role} assignment for {username}"
    return assignment.place


def _first_under(place: Place, kind: str) -> Place:
    found = Place.objects.filter(path__under=place.path, kind=kind).order_by("path").first()
    assert found is not None, f"the demo has no {kind} under {place.name}"
    return found


@pytest.fixture
def world(users: dict[str, User]) -> World:
    grid1_grid = _assignment_place("grid1", Role.GRID_WORKER)
    grid2_grid = _assignment_place("grid2", Role.GRID_WORKER)
    assert not grid2_grid.path.startswith(grid1_grid.path)
    assert not grid1_grid.path.startswith(grid2_grid.path)
    return World(
        grid1=users["grid1"],
        grid2=users["grid2"],
        grid1_grid=grid1_grid,
        grid2_grid=grid2_grid,
        grid2_building=_first_under(grid2_grid, PlaceKind.BUILDING),
        grid1_building=_first_under(grid1_grid, PlaceKind.BUILDING),
    )


def _row(model: type[Model], pk: int) -> Callable[[], Any]:
    return lambda: list(model._default_manager.filter(pk=pk).values())


def _place_target(place: Place) -> Target:
    return Target(str(place.pk), place.name, _row(Place, place.pk))


@dataclass(frozen=True)
class Param:
    """How to fill one path parameter: values grid1 must not reach, and one it may."""

    outside: Callable[[World], list[Target]]
    inside: Callable[[World], Target | None] = lambda world: None


def _resident_in(grid: Place) -> Resident:
    """A resident living in the grid: the demo's first, or one made for the test."""
    found = Resident.objects.filter(place__path__under=grid.path).order_by("place__path", "pk").first()
    if found is not None:
        return found
    house = _first_under(grid, PlaceKind.HOUSE)
    household = people_services.household_create(actor=None, place=house)
    return people_services.resident_create(
        actor=None, place=house, name="走查居民", household=household, relation_to_head="head"
    )


def _resident_target(grid: Place) -> Target:
    person = _resident_in(grid)
    return Target(str(person.pk), person.name, _row(Resident, person.pk))


def _household_target(grid: Place) -> Target:
    person = _resident_in(grid)
    assert person.household_id is not None, f"the resident of {grid.name} has no household"
    return Target(str(person.household_id), person.name, _row(Household, person.household_id))


def _house_target(grid: Place) -> Target:
    house = House.objects.filter(place__path__under=grid.path).order_by("place__path").first()
    if house is None:
        house = people_services.house_create(actor=None, place=_first_under(grid, PlaceKind.HOUSE))
    return Target(str(house.pk), "", _row(House, house.pk))


def _ledger_job_target(owner: User) -> Target:
    filename = f"{owner.username}-台账.xlsx"
    job = LedgerJob.objects.create(created_by=owner, filename=filename, created_at=clock.now())
    return Target(str(job.pk), filename, _row(LedgerJob, job.pk))


def _case_in(grid: Place, reporter: User) -> Case:
    """A request filed on patrol in the grid by its worker, with a photo and an extension
    request: one per grid and test, so a case's number and its photo's id go together."""
    from tests.cases.helpers import jpeg

    description = f"走查：{grid.name}楼道堆物"
    found = Case.objects.filter(place_path__under=grid.path, description=description).first()
    if found is not None:
        return found
    result = case_services.case_intake(
        actor=reporter,
        channel="patrol",
        category=Category.objects.get(code="1601"),
        place=_first_under(grid, PlaceKind.BUILDING),
        description=description,
        photos=[jpeg()],
        handle_myself=True,
    )
    case_services.case_request_extension(actor=reporter, case=result.case, amount=1, reason="走查延期")
    return result.case


def _case_target(grid: Place, reporter: User) -> Target:
    case = _case_in(grid, reporter)
    return Target(case.number, case.description, _row(Case, case.pk))


def _attachment_target(grid: Place, reporter: User) -> Target:
    case = _case_in(grid, reporter)
    attachment = Attachment.objects.get(case=case)
    return Target(str(attachment.pk), "", _row(Attachment, attachment.pk))


def _extension_target(grid: Place, reporter: User) -> Target:
    case = _case_in(grid, reporter)
    ext = Extension.objects.get(case=case)
    return Target(str(ext.pk), ext.reason, _row(Extension, ext.pk))


def _notification_target(owner: User) -> Target:
    note = Notification.objects.create(
        user=owner, kind="test", title=f"{owner.username}的私信", created_at=clock.now()
    )
    return Target(str(note.pk), note.title, _row(Notification, note.pk))


# Path parameter name -> how to get ids. A new parameter name must be added here.
PARAMS: dict[str, Param] = {
    # Notifications belong to the user they were sent to.
    "notification_id": Param(
        outside=lambda w: [_notification_target(w.grid2)],
        inside=lambda w: _notification_target(w.grid1),
    ),
    "number": Param(
        outside=lambda w: [_case_target(w.grid2_grid, w.grid2)],
        inside=lambda w: _case_target(w.grid1_grid, w.grid1),
    ),
    "attachment_id": Param(
        outside=lambda w: [_attachment_target(w.grid2_grid, w.grid2)],
        inside=lambda w: _attachment_target(w.grid1_grid, w.grid1),
    ),
    "extension_id": Param(
        outside=lambda w: [_extension_target(w.grid2_grid, w.grid2)],
        inside=lambda w: _extension_target(w.grid1_grid, w.grid1),
    ),
    "place_id": Param(
        outside=lambda w: [_place_target(w.grid2_grid), _place_target(w.grid2_building)],
        inside=lambda w: _place_target(w.grid1_building),
    ),
    "resident_id": Param(
        outside=lambda w: [_resident_target(w.grid2_grid)],
        inside=lambda w: _resident_target(w.grid1_grid),
    ),
    "household_id": Param(
        outside=lambda w: [_household_target(w.grid2_grid)],
        inside=lambda w: _household_target(w.grid1_grid),
    ),
    "house_id": Param(
        outside=lambda w: [_house_target(w.grid2_grid)],
        inside=lambda w: _house_target(w.grid1_grid),
    ),
    # Import jobs belong to the user who started them.
    "job_id": Param(
        outside=lambda w: [_ledger_job_target(w.grid2)],
        inside=lambda w: _ledger_job_target(w.grid1),
    ),
}
# Path parameters that name no object (a year, a language code): a fixed value, no scope walk.
VALUE_PARAMS: dict[str, str] = {
    # A tracking code is the reporter's secret, not an id in anyone's scope: the routes that
    # take one are public, and an unknown code is a plain 404.
    "code": "UNKNOWNCODE2",
    "action": "accept",
    # Open311: the format extension, a token (the client's secret), anything else.
    "fmt": "json",
    "value": "UNKNOWNTOKEN",
    "rest": "nothing.json",
}
# Request bodies for writes whose smallest schema-valid body the server would refuse before it
# checks scope, as "METHOD /route" -> body; the walk builds the rest from the OpenAPI schema.
BODIES: dict[str, dict[str, Any]] = {
    "POST /api/v1/cases/{number}/merge": {"into": "1"},
}
# The admin site is for platform administrators only; its parameters need real-looking values.
ADMIN_PARAMS: dict[str, Param] = {
    "object_id": Param(outside=lambda w: [_place_target(w.grid2_grid)]),
    "content_type_id": Param(
        outside=lambda w: [Target(str(ContentType.objects.get_for_model(Place).pk))],
    ),
    "app_label": Param(outside=lambda w: [Target(next(iter(admin.site._registry))._meta.app_label)]),
    "url": Param(outside=lambda w: [Target("places/place/")]),
    "id": Param(outside=lambda w: [Target(str(w.grid2.pk), w.grid2.username)]),  # a user's password page
}


# --- walking the URL configuration ----------------------------------------------------------


@dataclass(frozen=True)
class Route:
    pattern: str  # the joined pattern text, e.g. "places/<int:place_id>/"
    params: tuple[str, ...]
    name: str

    @property
    def path(self) -> str:
        """The route with parameters written as ``{name}``, e.g. ``/places/{place_id}/``."""
        text = _substitute_groups(self.pattern, {p: "{" + p + "}" for p in self.params})
        text = _ROUTE_PARAM.sub(lambda m: "{" + m.group(2) + "}", text)
        return "/" + text.replace("^", "").replace("$", "")

    @property
    def is_api(self) -> bool:
        return self.path.startswith(API_PREFIX)

    @property
    def is_admin(self) -> bool:
        return self.path.startswith(ADMIN_PREFIX)

    def url(self, values: dict[str, str]) -> str:
        text = _substitute_groups(self.pattern, values)
        text = _ROUTE_PARAM.sub(lambda m: values[m.group(2)], text)
        text = "/" + text.replace("^", "").replace("$", "")
        assert not re.search(r"[\\()\[\]*+?|]", text), f"cannot build a URL from {self.pattern!r}: {text}"
        return text


_ROUTE_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _substitute_groups(text: str, values: dict[str, str]) -> str:
    """Replace each ``(?P<name>...)`` regex group with its value, minding nested parentheses."""
    while (start := text.find("(?P<")) >= 0:
        name = text[start + 4 : text.index(">", start)]
        depth, end = 0, start
        for end in range(start, len(text)):
            if text[end] == "(" and text[end - 1 : end] != "\\":
                depth += 1
            elif text[end] == ")" and text[end - 1 : end] != "\\":
                depth -= 1
                if depth == 0:
                    break
        text = text[:start] + values[name] + text[end + 1 :]
    return text


def _walk(
    patterns: list[Any], prefix: str = "", params: tuple[str, ...] = (), ns: str = ""
) -> Iterator[Route]:
    for entry in patterns:
        own = _params_of(entry.pattern)
        text = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner_ns = f"{ns}{entry.namespace}:" if entry.namespace else ns
            yield from _walk(entry.url_patterns, text, params + own, inner_ns)
        elif isinstance(entry, URLPattern):
            yield Route(text, params + own, f"{ns}{entry.name or ''}")


def _params_of(pattern: Any) -> tuple[str, ...]:
    if isinstance(pattern, RoutePattern):
        return tuple(pattern.converters)
    if isinstance(pattern, RegexPattern):
        return tuple(pattern.regex.groupindex)
    raise AssertionError(f"unknown URL pattern type {type(pattern).__name__}")


def all_routes() -> list[Route]:
    """Every route of the site, once each (the API lists one pattern per method)."""
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver().url_patterns):
        seen.setdefault(route.path, route)
    return list(seen.values())


def api_operations() -> dict[str, dict[str, Any]]:
    """OpenAPI path -> {METHOD: operation} for the one NinjaAPI."""
    schema = ninja_api.get_openapi_schema()
    return {path: {method.upper(): op for method, op in ops.items()} for path, ops in schema["paths"].items()}


def methods_for(route: Route, operations: dict[str, dict[str, Any]]) -> list[str]:
    if route.path in operations:
        return sorted(operations[route.path])
    # A page view that answers other methods than GET says so in ``http_methods``.
    try:
        view = resolve(route.url(dict.fromkeys(route.params, "1"))).func
    except (Resolver404, KeyError, AssertionError):
        return ["GET"]
    return sorted(getattr(view, "http_methods", ("GET",)))


def is_public(route: Route, method: str) -> bool:
    return f"{method} {route.path}" in PUBLIC or f"* {route.path}" in PUBLIC


# --- calling a route ----------------------------------------------------------------------


def _schema_components() -> dict[str, Any]:
    components: dict[str, Any] = ninja_api.get_openapi_schema().get("components", {}).get("schemas", {})
    return components


def minimal_instance(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """The smallest JSON value that a JSON schema accepts (required properties only)."""
    if "$ref" in schema:
        return minimal_instance(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return minimal_instance(options[0], components)
    if "allOf" in schema:
        return minimal_instance(schema["allOf"][0], components)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: minimal_instance(props.get(k, {}), components) for k in schema.get("required", [])}
    if kind == "array":
        return [
            minimal_instance(schema.get("items", {}), components) for _ in range(schema.get("minItems", 0))
        ]
    if kind == "string":
        return "x" * max(1, schema.get("minLength", 1))
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    return None


def request_body(operation: dict[str, Any] | None, key: str = "") -> str:
    if key in BODIES:
        return json.dumps(BODIES[key])
    if not operation or "requestBody" not in operation:
        return ""
    content = operation["requestBody"].get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    return json.dumps(minimal_instance(schema, _schema_components()))


def call(client: Client, method: str, url: str, body: str = "") -> Any:
    """The test client's response (an HttpResponse with ``json()``)."""
    return client.generic(method, url, body, content_type="application/json")


def login_urls() -> tuple[str, ...]:
    return (resolve_url(settings.LOGIN_URL), ADMIN_PREFIX + "login/")


def is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith(login_urls())


def leaks(response: Any, name: str) -> bool:
    if not name:
        return False
    text = response.content.decode("utf-8", errors="replace")
    return name in text or json.dumps(name)[1:-1] in text


def _fixed(value: str) -> Param:
    target = Target(value)
    return Param(outside=lambda world: [target], inside=lambda world: target)


def params_table(route: Route) -> dict[str, Param]:
    """How to fill each parameter of this route."""
    fixed = {name: _fixed(value) for name, value in VALUE_PARAMS.items()}
    return {**fixed, **(ADMIN_PARAMS if route.is_admin else PARAMS)}


def names_objects(route: Route) -> bool:
    return any(p not in VALUE_PARAMS for p in route.params)


def _combinations(route: Route, table: dict[str, Param], world: World) -> list[dict[str, Target]]:
    """One set of values per outside target of each parameter, the others at their first value."""
    targets = {p: table[p].outside(world) for p in route.params}
    first = {p: ts[0] for p, ts in targets.items()}
    combos = [{**first, p: t} for p, ts in targets.items() for t in ts]
    unique: dict[tuple[str, ...], dict[str, Target]] = {}
    for combo in combos:
        unique.setdefault(tuple(combo[p].value for p in route.params), combo)
    return list(unique.values())


# --- the tests ----------------------------------------------------------------------------


def test_the_walk_finds_the_routes_it_must_cover() -> None:
    paths = {r.path for r in all_routes()}

    # A sample of what exists today, so a broken walk cannot pass by finding nothing.
    assert {"/api/v1/places/{place_id}", "/places/{place_id}/", "/healthz", "/"} <= paths
    assert set(api_operations()) <= paths, "every API operation is a route of the URL configuration"


def test_every_path_parameter_has_a_way_to_find_an_out_of_scope_id() -> None:
    unknown = sorted(
        f"{route.path}: {param}"
        for route in all_routes()
        for param in route.params
        if param not in params_table(route)
    )

    assert not unknown, (
        "these routes take path parameters the scope test does not know; add each name to PARAMS in "
        f"tests/contract/test_scope_walk.py with how to find an object its caller must not see: {unknown}"
    )


def test_public_list_names_only_routes_that_exist() -> None:
    paths = {r.path for r in all_routes()}

    assert {entry.split(" ", 1)[1] for entry in PUBLIC} <= paths


def test_every_route_refuses_anonymous_callers(world: World) -> None:
    operations = api_operations()
    anonymous = Client()
    failures: list[str] = []
    checked = 0
    for route in all_routes():
        if route.path in NOT_ROUTES:
            continue
        table = params_table(route)
        if any(p not in table for p in route.params):
            continue  # reported by test_every_path_parameter_has_a_way_to_find_an_out_of_scope_id
        url = route.url({p: table[p].outside(world)[0].value for p in route.params})
        for method in methods_for(route, operations):
            if is_public(route, method):
                continue
            body = request_body(operations.get(route.path, {}).get(method), f"{method} {route.path}")
            response = call(anonymous, method, url, body)
            if response.status_code == 405 and not route.is_api:
                response = call(anonymous, "POST", url)
            checked += 1
            if route.is_api:
                ok = response.status_code == 401 and "detail" in response.json()
            else:
                ok = response.status_code in (401, 403) or is_login_redirect(response)
            if not ok:
                failures.append(f"{method} {url} -> {response.status_code} {response.get('Location', '')}")

    assert checked > 10
    assert not failures, (
        "routes that answer without sign-in (add them to PUBLIC only if meant):\n" + "\n".join(failures)
    )


def test_grid1_cannot_reach_grid2s_objects_through_any_route(world: World) -> None:
    operations = api_operations()
    client = Client()
    client.force_login(world.grid1)
    token_client = _bearer_client(world.grid1)
    failures: list[str] = []
    checked = 0
    for route in all_routes():
        if not names_objects(route):
            continue
        table = params_table(route)
        if any(p not in table for p in route.params):
            continue  # reported by test_every_path_parameter_has_a_way_to_find_an_out_of_scope_id
        caller = token_client if route.is_api else client
        for combo, method in itertools.product(
            _combinations(route, table, world), methods_for(route, operations)
        ):
            url = route.url({p: t.value for p, t in combo.items()})
            operation = operations.get(route.path, {}).get(method)
            before = _snapshot(combo)
            response = call(caller, method, url, request_body(operation, f"{method} {route.path}"))
            if response.status_code == 405 and not route.is_api:
                method = "POST"
                response = call(caller, method, url)
            checked += 1
            problem = ""
            if response.status_code == 422:
                problem = "the body was refused before scope was checked; add a valid one to BODIES"
            elif route.is_admin:
                if not is_login_redirect(response):
                    problem = "the admin site let a grid worker in"
            elif response.status_code not in (403, 404):
                problem = "expected 403 or 404"
            if any(leaks(response, t.name) for t in combo.values()):
                problem += "; the answer names the object"
            if method in WRITE_METHODS and _snapshot(combo) != before:
                problem += "; a denied write changed something"
            if problem:
                failures.append(f"{method} {url} -> {response.status_code}: {problem.lstrip('; ')}")

    assert checked >= 10
    assert not failures, "grid1 reached objects of grid2:\n" + "\n".join(failures)


def test_the_same_routes_answer_grid1_for_its_own_objects(world: World) -> None:
    """The control for the test above: the 404s come from scope, not from broken routes."""
    operations = api_operations()
    client = Client()
    client.force_login(world.grid1)
    token_client = _bearer_client(world.grid1)
    failures: list[str] = []
    checked = 0
    for route in all_routes():
        table = params_table(route)
        if not names_objects(route) or route.is_admin or any(p not in table for p in route.params):
            continue
        inside = {p: table[p].inside(world) for p in route.params}
        if any(t is None for t in inside.values()):
            continue
        url = route.url({p: t.value for p, t in inside.items() if t is not None})
        if "GET" not in methods_for(route, operations) or is_public(route, "GET"):
            continue  # public routes answer by their own rules (a code, a key), not the caller's scope
        response = call(token_client if route.is_api else client, "GET", url)
        checked += 1
        if response.status_code != 200:
            failures.append(f"GET {url} -> {response.status_code}")

    assert checked >= 3
    assert not failures, "grid1 could not read its own objects:\n" + "\n".join(failures)


def test_grid1_cannot_filter_by_grid2s_places_in_query_parameters(world: World) -> None:
    """Query parameters that name an object (``?place_id=``) are scoped too: refused, or nothing shown."""
    token_client = _bearer_client(world.grid1)
    failures: list[str] = []
    checked = 0
    for path, methods in api_operations().items():
        for method, operation in methods.items():
            for param in operation.get("parameters", []):
                if param["in"] != "query" or param["name"] not in PARAMS:
                    continue
                if "{" in path:
                    continue  # the path parameter already decides; covered above
                for target in PARAMS[param["name"]].outside(world):
                    before = _snapshot({"q": target})
                    response = call(
                        token_client,
                        method,
                        f"{path}?{param['name']}={target.value}",
                        request_body(operation),
                    )
                    checked += 1
                    if response.status_code >= 500 or leaks(response, target.name):
                        failures.append(f"{method} {path}?{param['name']}={target.value} -> leaked")
                    if response.status_code == 200 and isinstance(response.json(), list) and response.json():
                        failures.append(f"{method} {path}?{param['name']}={target.value} -> rows shown")
                    if _snapshot({"q": target}) != before:
                        failures.append(f"{method} {path}?{param['name']}={target.value} -> changed data")

    assert checked >= 1
    assert not failures, "\n".join(failures)


def test_a_denied_create_under_grid2_writes_nothing(world: World) -> None:
    client = _bearer_client(world.grid1)
    count = Place.objects.count()
    audits = AuditEvent.objects.count()

    response = client.post(
        "/api/v1/places/",
        {"parent_id": world.grid2_grid.pk, "kind": PlaceKind.BUILDING, "name": "越权楼"},
        content_type="application/json",
    )

    assert response.status_code in (403, 404)
    assert world.grid2_grid.name not in response.content.decode()
    assert Place.objects.count() == count
    assert AuditEvent.objects.count() == audits


def test_a_resident_sees_only_their_own_house(users: dict[str, User], world: World) -> None:
    house = _assignment_place("resident", Role.RESIDENT)
    client = _bearer_client(users["resident"])
    neighbour = Place.objects.filter(parent=house.parent).exclude(pk=house.pk).order_by("path").first()

    roots = client.get("/api/v1/places/")
    own = client.get(f"/api/v1/places/{house.pk}")
    own_subtree = client.get(f"/api/v1/places/{house.pk}/subtree")
    grid = client.get(f"/api/v1/places/{world.grid1_grid.pk}")

    assert roots.status_code == 200
    assert [p["id"] for p in roots.json()] == [house.pk]
    assert own.status_code == 200
    assert {p["id"] for p in own_subtree.json()} == {house.pk}
    assert grid.status_code == 404
    if neighbour is not None:
        assert client.get(f"/api/v1/places/{neighbour.pk}").status_code == 404


def test_a_department_cannot_see_personal_records(users: dict[str, User], world: World) -> None:
    """Departments see places, and personal records only when assigned to them (none yet)."""
    client = _bearer_client(users["dept"])
    resident = Resident.objects.filter(place__path__under=world.grid1_grid.path).order_by("pk").first()
    household = Household.objects.filter(place__path__under=world.grid1_grid.path).order_by("pk").first()
    assert resident is not None
    assert household is not None

    listing = client.get("/api/v1/people/residents")
    detail = client.get(f"/api/v1/people/residents/{resident.pk}")
    card = client.get(f"/api/v1/people/households/{household.pk}")
    place = client.get(f"/api/v1/places/{world.grid1_grid.pk}")

    assert listing.status_code in (200, 403)
    if listing.status_code == 200:
        assert listing.json()["total"] == 0
    assert detail.status_code == 404
    assert resident.name not in detail.content.decode()
    assert card.status_code == 404
    assert place.status_code == 200  # the territory itself is not personal


# --- helpers --------------------------------------------------------------------------------


def _bearer_client(user: User) -> Client:
    from wangge.core.auth import token_issue

    return Client(headers={"Authorization": f"Bearer {token_issue(user=user)}"})


def _snapshot(combo: dict[str, Target]) -> tuple[Any, ...]:
    return (
        AuditEvent.objects.count(),
        OutboxEvent.objects.count(),
        *(t.snapshot() for t in combo.values()),
    )
