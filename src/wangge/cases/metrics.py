"""Request metrics (诉求考评指标): the rates units are judged on, over any place subtree,
department or handler and any period.

Every formula is written down in ``docs/cases/metrics.md``; the code below implements
exactly those. The figures come from the milestones kept on each ``Case`` row
(``responded_on_time``, ``first_resolved_at``, ``resolved_on_time``, ``rating``,
``reopen_count``, ``extension_count``…), so the whole set is one aggregate query with
conditional counts, plus one grouping query by category and two by day for the chart.

Who may see them: scope first. ``metrics_filter`` resolves the requested place, department
and handler inside the actor's scope (a place or department outside it is a 404, exactly
like one that does not exist) and checks the ``cases.metrics`` capability at that place.
Department staff, who hold no territory, see their own department's figures only.
``case_metrics`` then counts only cases the actor may see (``Case.objects.visible_to``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Avg, Count, DateField, FloatField, Func, Q, QuerySet
from django.db.models.sql.compiler import SQLCompiler
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from wangge.cases import routing
from wangge.cases.models import (
    DONE_STATES,
    OPEN_STATES,
    Case,
    Category,
    Channel,
    Rating,
    State,
)
from wangge.core import clock
from wangge.core.errors import NotFound, PermissionDenied, ValidationError
from wangge.core.models import User
from wangge.core.roles import CAPABILITIES, Capability
from wangge.core.scope import has_capability, scope_for
from wangge.org.models import Assignment, Department
from wangge.places.models import Place, PlaceKind

MAX_ID = 2**63 - 1
# The longest period one request may ask for (a daily series of three years).
MAX_PERIOD_DAYS = 1100
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 1, 1)
# Merged duplicates and requests not accepted (不予受理) are not work done by anyone.
EXCLUDED_STATES = (State.MERGED, State.CANCELLED)
RATED_STATES = (State.RATED, State.CLOSED)
# Kinds the place picker offers (buildings and houses are too small to judge a unit by).
PICKER_KINDS = (PlaceKind.COUNTY, PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.GRID, PlaceKind.MICRO_GRID)
PICKER_LIMIT = 500
HANDLER_LIMIT = 300

RATE_NAMES = (
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "on_time_rate",
    "rework_rate",
    "extension_rate",
)


@dataclass(frozen=True)
class RateInfo:
    """What a rate is called and how it is computed, for the page, the export and the API."""

    name: str
    label: str | Promise
    numerator: str | Promise
    denominator: str | Promise


RATE_INFO: dict[str, RateInfo] = {
    info.name: info
    for info in (
        RateInfo(
            "response_rate",
            _("Response rate"),
            _("accepted within the response time"),
            _("cases whose response time has been settled (accepted, or the time has run out)"),
        ),
        RateInfo(
            "resolution_rate",
            _("Resolution rate"),
            _("resolved and not finally rated unsatisfied"),
            _("cases resolved or past their deadline"),
        ),
        RateInfo(
            "satisfaction_rate",
            _("Satisfaction rate"),
            _("final rating satisfied or basically satisfied"),
            _("cases with a final rating"),
        ),
        RateInfo(
            "on_time_rate",
            _("On-time rate"),
            _("resolved by the deadline"),
            _("cases resolved or past their deadline"),
        ),
        RateInfo(
            "rework_rate",
            _("Rework rate"),
            _("reopened at least once"),
            _("cases resolved at least once"),
        ),
        RateInfo(
            "extension_rate",
            _("Extension rate"),
            _("given at least one extension"),
            _("cases received"),
        ),
    )
}


# --- the results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    name: str
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """numerator / denominator, or None when nothing counts yet (never 0 % by default)."""
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent(self) -> str:
        """ "85.7%", or "—" when the rate is undefined."""
        value = self.value
        return "—" if value is None else f"{value * 100:.1f}%"

    @property
    def info(self) -> RateInfo:
        return RATE_INFO[self.name]


@dataclass(frozen=True)
class Tally:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Day:
    day: date
    received: int
    resolved: int


@dataclass(frozen=True)
class MetricsFilter:
    """What to count: a period of local dates [date_from, date_to) and, optionally, a place
    subtree, a department (owner or lead handler) and a handler. Build it with
    ``metrics_filter``, which checks each part against the actor's scope."""

    date_from: date
    date_to: date
    place: Place | None = None
    department: Department | None = None
    handler: User | None = None
    # Department staff without the metrics capability see their own department only.
    department_pinned: bool = False

    @property
    def start(self) -> datetime:
        return datetime.combine(self.date_from, time.min, tzinfo=clock.LOCAL_TZ)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.date_to, time.min, tzinfo=clock.LOCAL_TZ)

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days

    def query(self) -> dict[str, str]:
        """The filter as query-string parameters (for links: the export, the API)."""
        params = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat()}
        if self.place is not None:
            params["place_id"] = str(self.place.pk)
        if self.department is not None and not self.department_pinned:
            params["department_id"] = str(self.department.pk)
        if self.handler is not None:
            params["handler_id"] = str(self.handler.pk)
        return params


@dataclass
class Metrics:
    filter: MetricsFilter
    computed_at: datetime
    # Cases received in the period, without merged duplicates and requests not accepted.
    received: int
    # Every case received in the period, merged and not accepted ones included.
    received_all: int
    rates: dict[str, Rate]
    # Cases resolved (resolved, rated or archived) and their mean handling time in hours.
    handled: int
    avg_handling_hours: float | None
    by_state: list[Tally] = field(default_factory=list)
    by_channel: list[Tally] = field(default_factory=list)
    by_category: list[Tally] = field(default_factory=list)
    daily: list[Day] = field(default_factory=list)

    @property
    def avg_handling_text(self) -> str:
        return "—" if self.avg_handling_hours is None else f"{self.avg_handling_hours:.1f}"

    def rate_list(self) -> list[Rate]:
        return [self.rates[name] for name in RATE_NAMES]


# --- database expressions -------------------------------------------------------------------


class HoursBetween(Func):
    """(end - start) in hours as a float, computed by the database itself.

    SQLite stores UTC timestamps as text; ``julianday`` reads them natively (Django's own
    duration arithmetic there goes through a Python function per row).
    """

    output_field = FloatField()
    arity = 2
    template = "(EXTRACT(EPOCH FROM (%(expressions)s)) / 3600.0)"
    arg_joiner = " - "

    def as_sqlite(self, compiler: SQLCompiler, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 24.0)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


class LocalDate(Func):
    """The local (Asia/Shanghai) calendar date of a timestamp, computed by the database.

    China has kept UTC+8 all year since 1991, so on SQLite a fixed offset is exact (and
    native, unlike ``TruncDate`` there, which calls Python once per row).
    """

    output_field = DateField()
    arity = 1

    def as_sqlite(self, compiler: SQLCompiler, connection: Any, **extra_context: Any) -> Any:
        offset = datetime(2000, 1, 1, tzinfo=clock.LOCAL_TZ).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        return self.as_sql(
            compiler, connection, template=f"date(%(expressions)s, '{minutes:+d} minutes')", **extra_context
        )

    def as_postgresql(self, compiler: SQLCompiler, connection: Any, **extra_context: Any) -> Any:
        # The zone name is the project's fixed local zone, never user input.
        zone = str(clock.LOCAL_TZ).replace("'", "")
        return self.as_sql(
            compiler, connection, template=f"((%(expressions)s) AT TIME ZONE '{zone}')::date", **extra_context
        )


# --- who may see what -----------------------------------------------------------------------


def this_month(today: date | None = None) -> tuple[date, date]:
    """[the first of this month, the first of the next) in local dates."""
    today = today or clock.local_now().date()
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def _check_period(date_from: date, date_to: date) -> None:
    if not (EARLIEST <= date_from < LATEST and EARLIEST < date_to <= LATEST):
        raise ValidationError(
            _("Choose dates between %(a)s and %(b)s") % {"a": EARLIEST.isoformat(), "b": LATEST.isoformat()},
            code="bad_period",
        )
    if date_to <= date_from:
        raise ValidationError(_("The end of the period must be after its start"), code="bad_period")
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise ValidationError(
            _("A period is at most %(n)d days long") % {"n": MAX_PERIOD_DAYS}, code="bad_period"
        )


def _valid_id(value: int | None) -> bool:
    return value is not None and 0 < value <= MAX_ID


def metrics_places(user: Any) -> list[Place]:
    """The places whose figures the actor may open (in tree order, for the picker)."""
    scope = scope_for(user)
    qs = Place.objects.visible_to(user).filter(kind__in=PICKER_KINDS).defer("boundary").order_by("path")
    if not scope.is_admin:
        paths = _capability_paths(user)
        if not paths:
            if not scope.department_ids:
                return []
            # Department staff: the territory they see, to narrow their department's figures.
            paths = list(scope.all_paths)
        cond = Q(pk__in=[])
        for path in paths:
            cond |= Q(path__under=path)
        qs = qs.filter(cond)
    return list(qs[:PICKER_LIMIT])


def _capability_paths(user: Any) -> list[str]:
    scope = scope_for(user)
    return sorted(
        {g.path for g in scope.grants if Capability.CASE_METRICS in CAPABILITIES.get(g.role, frozenset())}
    )


def may_see_metrics(user: Any) -> bool:
    """Whether the actor may open the metrics at all (somewhere)."""
    scope = scope_for(user)
    return scope.is_admin or bool(_capability_paths(user)) or bool(scope.department_ids)


def default_place(user: Any) -> Place | None:
    """The top place the actor holds the metrics capability at (None: everything, for
    administrators; or no place, for department staff)."""
    scope = scope_for(user)
    if scope.is_admin:
        return None
    paths = _capability_paths(user)
    if not paths:
        return None
    return Place.objects.defer("boundary").filter(path=paths[0]).first()


def departments_for(user: Any, place: Place | None) -> list[Department]:
    """The departments the actor may narrow the figures to."""
    scope = scope_for(user)
    if not scope.is_admin and not _capability_paths(user):
        return list(Department.objects.filter(pk__in=scope.department_ids).order_by("name"))
    if place is not None:
        return routing.departments_over(place)
    if scope.is_admin:
        return list(
            Department.objects.filter(is_active=True).select_related("place").order_by("place__path", "name")
        )
    return []


def handlers_for(user: Any, place: Place | None, department: Department | None) -> list[User]:
    """People who handle cases under ``place`` (or in ``department``), for the picker."""
    handle_roles = [r for r, caps in CAPABILITIES.items() if Capability.CASE_HANDLE in caps]
    qs = Assignment.objects.visible_to(user).filter(is_active=True, role__in=handle_roles)
    if department is not None:
        qs = qs.filter(department=department)
    elif place is not None:
        qs = qs.filter(place__path__under=place.path)
    else:  # everything an administrator sees: too many to list
        return []
    ids = list(
        qs.order_by("place__path", "user__username").values_list("user_id", flat=True)[: HANDLER_LIMIT * 3]
    )
    seen = list(dict.fromkeys(ids))[:HANDLER_LIMIT]
    users = User.objects.in_bulk(seen)
    return [users[i] for i in seen if i in users]


def metrics_filter(
    user: Any,
    *,
    place_id: int | None = None,
    department_id: int | None = None,
    handler_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> MetricsFilter:
    """Resolve the requested figures inside the actor's scope.

    A place, department or handler the actor may not see is a NotFound (404); an actor who
    may not see metrics at all gets PermissionDenied (403); a bad period, ValidationError.
    """
    scope = scope_for(user)
    if scope.user_id is None:
        raise PermissionDenied(_("Sign in to see the metrics"))
    place: Place | None = None
    if place_id is not None:
        if not _valid_id(place_id):
            raise NotFound(_("Place not found"))
        place = Place.objects.visible_to(user).defer("boundary").filter(pk=place_id).first()
        if place is None:
            raise NotFound(_("Place not found"))
    else:
        place = default_place(user)

    capable = has_capability(user, Capability.CASE_METRICS, place.path) if place else scope.is_admin
    pinned = False
    department: Department | None = None
    if capable:
        if department_id is not None:
            if not _valid_id(department_id):
                raise NotFound(_("Department not found"))
            department = _department_visible(user, place, department_id)
    elif scope.department_ids and not _capability_paths(user):
        # Department staff see their own department's figures, never a place's as a whole.
        pinned = True
        wanted = department_id if department_id is not None else scope.department_ids[0]
        if wanted not in scope.department_ids:
            raise NotFound(_("Department not found"))
        department = Department.objects.filter(pk=wanted).first()
        if department is None:  # pragma: no cover - an assignment keeps its department
            raise NotFound(_("Department not found"))
    else:
        raise PermissionDenied(_("You may not see request metrics here"))

    handler: User | None = None
    if handler_id is not None:
        if not _valid_id(handler_id):
            raise NotFound(_("Handler not found"))
        handler = _handler_visible(user, handler_id)
    # The period last: an out-of-scope place is a 404 whatever the dates.
    first, following = this_month()
    date_from = date_from or first
    date_to = date_to or following
    _check_period(date_from, date_to)
    return MetricsFilter(
        date_from=date_from,
        date_to=date_to,
        place=place,
        department=department,
        handler=handler,
        department_pinned=pinned,
    )


def _department_visible(user: Any, place: Place | None, department_id: int) -> Department:
    allowed = {d.pk: d for d in departments_for(user, place)}
    if department_id in allowed:
        return allowed[department_id]
    found = Department.objects.visible_to(user).filter(pk=department_id).first()
    if found is None:
        raise NotFound(_("Department not found"))
    return found


def _handler_visible(user: Any, handler_id: int) -> User:
    scope = scope_for(user)
    qs = User.objects.filter(pk=handler_id)
    if not scope.is_admin and handler_id != scope.user_id:
        qs = qs.filter(pk__in=Assignment.objects.visible_to(user).filter(is_active=True).values("user_id"))
    found = qs.first()
    if found is None:
        raise NotFound(_("Handler not found"))
    return found


# --- the figures ----------------------------------------------------------------------------


def _narrowed(user: Any, f: MetricsFilter) -> QuerySet[Case]:
    """Cases the actor may see, narrowed to the filter's place, department and handler."""
    qs: QuerySet[Case] = Case.objects.visible_to(user)
    if f.place is not None:
        qs = qs.filter(place_path__under=f.place.path)
    if f.department is not None:
        qs = qs.filter(Q(owner_department=f.department) | Q(handler_department=f.department))
    if f.handler is not None:
        qs = qs.filter(handler=f.handler)
    return qs


def _conditions(now: datetime) -> dict[str, Q]:
    """The sets the formulas count (docs/cases/metrics.md), as conditions on one row of the
    cohort (received in the period, neither merged nor not accepted)."""
    done = Q(state__in=DONE_STATES)
    # Resolved, or past its deadline: the cases whose result is due by now.
    settled = done | Q(overdue=True) | Q(state__in=OPEN_STATES, due_at__lt=now)
    rated = Q(state__in=RATED_STATES) & ~Q(rating="")
    ever_resolved = Q(first_resolved_at__isnull=False)
    return {
        "response_rate_num": Q(responded_on_time=True),
        "response_rate_den": Q(responded_on_time__isnull=False),
        "resolution_rate_num": done & ever_resolved & ~Q(rating=Rating.UNSATISFIED),
        "resolution_rate_den": settled,
        "satisfaction_rate_num": rated & Q(rating__in=(Rating.SATISFIED, Rating.BASIC)),
        "satisfaction_rate_den": rated,
        "on_time_rate_num": done & Q(resolved_on_time=True),
        "on_time_rate_den": settled,
        "rework_rate_num": ever_resolved & Q(reopen_count__gt=0),
        "rework_rate_den": ever_resolved,
        "extension_rate_num": Q(extension_count__gt=0),
        "handled": done,
    }


def _check_may(user: Any, f: MetricsFilter) -> None:
    scope = scope_for(user)
    if f.department_pinned:
        if f.department is None or f.department.pk not in scope.department_ids:
            raise PermissionDenied(_("You may not see request metrics here"))
        return
    path = f.place.path if f.place is not None else None
    if not (scope.is_admin or (path is not None and has_capability(user, Capability.CASE_METRICS, path))):
        raise PermissionDenied(_("You may not see request metrics here"))


def case_metrics(user: Any, f: MetricsFilter, *, now: datetime | None = None) -> Metrics:
    """The figures for ``f`` over the cases ``user`` may see, in five queries whatever their
    number: the rates (one aggregate of conditional counts over the cohort), the counts by
    state, channel and category (one grouping, plus the category names), and the two daily
    series (received, resolved)."""
    _check_may(user, f)
    now = now or clock.now()
    scoped = _narrowed(user, f)
    period = scoped.filter(created_at__gte=f.start, created_at__lt=f.end)
    cohort = period.exclude(state__in=EXCLUDED_STATES)
    conditions = _conditions(now)
    aggregates: dict[str, Any] = {"received": Count("pk")}
    aggregates.update({name: Count("pk", filter=cond) for name, cond in conditions.items()})
    aggregates["handling_hours"] = Avg(
        HoursBetween("resolved_at", "created_at"), filter=conditions["handled"]
    )
    row = cohort.aggregate(**aggregates)
    row["extension_rate_den"] = row["received"]
    rates = {
        name: Rate(name=name, numerator=row[f"{name}_num"], denominator=row[f"{name}_den"])
        for name in RATE_NAMES
    }
    hours = row["handling_hours"]
    # Every case received in the period (merged and not accepted too) by state, channel, category.
    groups = list(period.order_by().values_list("state", "channel", "category_id").annotate(n=Count("pk")))
    in_cohort = [g for g in groups if g[0] not in EXCLUDED_STATES]
    return Metrics(
        filter=f,
        computed_at=now,
        received=row["received"],
        received_all=sum(n for _s, _c, _k, n in groups),
        rates=rates,
        handled=row["handled"],
        avg_handling_hours=round(float(hours), 2) if hours is not None else None,
        by_state=_tallies(State.choices, groups, key=0),
        by_channel=_tallies(Channel.choices, in_cohort, key=1),
        by_category=_by_category(in_cohort),
        daily=_daily(f, cohort, scoped),
    )


def _tallies(choices: list[tuple[str, Any]], groups: list[tuple[Any, ...]], *, key: int) -> list[Tally]:
    """Counts of ``groups`` (state, channel, category, n) by the value at ``key``, in choice order."""
    totals: dict[str, int] = {}
    for group in groups:
        totals[group[key]] = totals.get(group[key], 0) + group[-1]
    return [Tally(value, str(label), totals.get(value, 0)) for value, label in choices]


def _by_category(groups: list[tuple[Any, ...]]) -> list[Tally]:
    """Received cases by top-level category (a subcategory counts for its parent)."""
    counts: dict[int, int] = {}
    for _state, _channel, category_id, n in groups:
        counts[category_id] = counts.get(category_id, 0) + n
    if not counts:
        return []
    categories = {c.pk: c for c in Category.objects.select_related("parent").filter(pk__in=counts)}
    totals: dict[int, int] = {}
    tops: dict[int, Category] = {}
    for category_id, n in counts.items():
        category = categories[category_id]
        top = category.parent or category
        tops[top.pk] = top
        totals[top.pk] = totals.get(top.pk, 0) + n
    order = sorted(totals, key=lambda pk: (-totals[pk], tops[pk].code))
    return [Tally(tops[pk].code, tops[pk].name, totals[pk]) for pk in order]


def _daily(f: MetricsFilter, cohort: QuerySet[Case], scoped: QuerySet[Case]) -> list[Day]:
    """Per local day of the period: cases received, and cases resolved that day (whenever
    they were received; the last resolution of a reopened case counts)."""
    received = dict(
        cohort.order_by()
        .annotate(day=LocalDate("created_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    resolved = dict(
        scoped.filter(state__in=DONE_STATES, resolved_at__gte=f.start, resolved_at__lt=f.end)
        .order_by()
        .annotate(day=LocalDate("resolved_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return [
        Day(day=day, received=received.get(day, 0), resolved=resolved.get(day, 0))
        for day in (f.date_from + timedelta(days=i) for i in range(f.days))
    ]


def metrics_for(
    user: Any,
    *,
    place_id: int | None = None,
    department_id: int | None = None,
    handler_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Metrics:
    """``metrics_filter`` and ``case_metrics`` in one call (the API's and the export's entry)."""
    f = metrics_filter(
        user,
        place_id=place_id,
        department_id=department_id,
        handler_id=handler_id,
        date_from=date_from,
        date_to=date_to,
    )
    return case_metrics(user, f)
