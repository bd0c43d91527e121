"""The demo's request history (``demo.cases``): every request tells a consistent story.

Each timeline starts with its receipt and chains state to state; the milestones on the row
match the state; owners are the routing's (or the escalations' on the timeline); deadlines are
the working-day deadlines of ``cases.sla``; the rates land where a well-run community's do;
and the demo has work waiting at the community desk, in grid 1 and for the resident.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Q

from tests.conftest import DEMO_SEED
from wangge.cases import metrics, routing, selectors, sla
from wangge.cases.models import (
    DONE_STATES,
    OPEN_STATES,
    Case,
    CaseEvent,
    CaseReporter,
    Channel,
    Extension,
    State,
)
from wangge.core import clock
from wangge.demo import names
from wangge.demo.cases import COUNT_KEYS, HISTORY_DAYS, load_demo_cases
from wangge.places.models import Place

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(demo_db: None) -> list[Case]:
    """The demo communities' requests: loaded with the demo, or loaded here."""
    leshan = Place.objects.get(code=names.LESHAN_CODE)
    if not Case.objects.filter(place_path__under=leshan.path).exists():
        counts = load_demo_cases(seed=DEMO_SEED)
        assert set(counts) == set(COUNT_KEYS)
        assert counts["cases"] > 0
    donghu = Place.objects.get(code=names.DONGHU_CODE)
    return list(
        Case.objects.filter(Q(place_path__under=leshan.path) | Q(place_path__under=donghu.path))
        .select_related("category", "place", "sla_policy", "owner_place")
        .order_by("pk")
    )


def _events(cases: list[Case]) -> dict[int, list[CaseEvent]]:
    by_case: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in CaseEvent.objects.filter(case_id__in=[c.pk for c in cases]).order_by("at", "pk"):
        by_case[event.case_id].append(event)
    return by_case


def test_a_realistic_number_over_the_last_120_days(history: list[Case]) -> None:
    now = clock.now()
    assert 600 <= len(history) <= 1000
    assert all(now - timedelta(days=HISTORY_DAYS + 1) <= c.created_at <= now for c in history)
    assert {c.place_path[:15] for c in history} >= {
        Place.objects.get(code=names.LESHAN_CODE).path,
        Place.objects.get(code=names.DONGHU_CODE).path,
    }
    # Spread over every grid of both communities.
    grids = {c.place_path.split(".")[3] for c in history}
    assert len(grids) == 6
    assert all(len(c.number) == 15 and c.number.isdigit() for c in history)
    assert all(c.number.startswith(f"{c.created_at.astimezone(clock.LOCAL_TZ):%Y%m%d}") for c in history)


def test_channels_have_their_shares(history: list[Case]) -> None:
    shares = {k: v / len(history) for k, v in Counter(c.channel for c in history).items()}
    targets = {
        Channel.WEB: 0.35,
        Channel.PATROL: 0.30,
        Channel.HOTLINE: 0.20,
        Channel.WALK_IN: 0.10,
        Channel.CO_BUILDING: 0.05,
    }
    for channel, target in targets.items():
        assert abs(shares.get(channel, 0) - target) <= 0.05, (channel, shares)


def test_every_timeline_starts_with_its_receipt_and_chains_state_to_state(history: list[Case]) -> None:
    events = _events(history)
    now = clock.now()
    for case in history:
        timeline = events[case.pk]
        assert timeline[0].action == "receive", case.number
        assert timeline[0].at == case.created_at
        assert [e.action for e in timeline].count("receive") == 1
        state = ""
        for event in timeline:
            assert event.from_state == state, (case.number, event.action, event.from_state, state)
            state = event.to_state
            assert event.at <= now
        assert state == case.state, case.number
        assert case.updated_at == timeline[-1].at
        assert case.version == len(timeline)


def test_states_match_their_milestones(history: list[Case]) -> None:
    for c in history:
        if c.state in DONE_STATES:
            assert c.resolved_at is not None, c.number
            assert c.first_resolved_at is not None
            assert c.reply
            assert c.first_resolved_at <= c.resolved_at
            assert c.resolved_on_time is not None
        if c.state in OPEN_STATES:
            assert c.resolved_at is None, c.number
            assert c.closed_at is None
        if c.state == State.RECEIVED:
            assert c.handler_id is None, c.number
            assert c.handler_place_id is None
            assert c.handler_department_id is None
        if c.state in (State.DISPATCHED, State.ACCEPTED, State.IN_PROGRESS):
            assert (
                c.handler_id or c.handler_place_id or c.handler_department_id or c.handler_property_company_id
            )
            assert c.dispatched_at is not None
        if c.state in (State.ACCEPTED, State.IN_PROGRESS):
            assert c.responded_at is not None
        if c.responded_at is not None:
            assert c.responded_on_time == (c.responded_at <= c.respond_due_at), c.number
        if c.state == State.RATED:
            assert c.rating
            assert c.rated_at is not None
        if c.state in (State.CLOSED, State.CANCELLED):
            assert c.closed_at is not None
        if c.resolved_on_time:
            assert not c.overdue
            assert c.resolved_at is not None
            assert c.resolved_at <= c.due_at
        if c.overdue:
            assert c.overdue_at is not None
            assert c.warned
        # The sweep still has something to do: a deadline ahead, a rating or archive to wait for.
        if (c.state in OPEN_STATES and not c.overdue) or c.state in (State.RESOLVED, State.RATED):
            assert c.next_sweep_at is not None, c.number


def test_owners_follow_routing_and_escalations(history: list[Case]) -> None:
    events = _events(history)
    owners: dict[tuple[int, int], routing.Owner] = {}
    for c in history:
        escalations = [e for e in events[c.pk] if e.action == "escalate"]
        assert len(escalations) == c.escalation_level, c.number
        if c.escalation_level:
            assert c.owner_place is not None
            assert escalations[-1].data["to"] == c.owner_place.name
            continue
        key = (c.category_id, c.place_id)
        if key not in owners:
            owners[key] = routing.default_owner(c.category, c.place)
        owner = owners[key]
        assert (c.owner_place_id, c.owner_department_id, c.owner_property_company_id) == (
            owner.place.pk if owner.place else None,
            owner.department.pk if owner.department else None,
            owner.property_company.pk if owner.property_company else None,
        ), c.number
        assert c.first_owner_label == owner.label


def test_deadlines_are_the_working_day_deadlines(history: list[Case]) -> None:
    checked = 0
    for c in history:
        assert c.sla_policy == sla.policy_for(c.category, c.priority)
        expected = sla.deadlines(c.sla_policy, c.created_at)
        assert c.respond_due_at == expected.respond_due_at, c.number
        if not (c.reopen_count or c.extension_count or c.escalation_level):
            assert (c.due_at, c.warn_at) == (expected.due_at, expected.warn_at), c.number
            checked += 1
    assert checked > len(history) * 0.8


def test_counters_match_the_rows(history: list[Case]) -> None:
    events = _events(history)
    approved = Counter(
        Extension.objects.filter(case__in=history, status=Extension.Status.APPROVED).values_list(
            "case_id", flat=True
        )
    )
    reporters = Counter(CaseReporter.objects.filter(case__in=history).values_list("case_id", flat=True))
    for c in history:
        actions = Counter(e.action for e in events[c.pk])
        assert c.reopen_count == actions["reopen"], c.number
        assert c.extension_count == approved[c.pk] == actions["approve_extension"], c.number
        assert c.reporter_count == reporters[c.pk] == 1 + actions["me_too"], c.number
        assert actions["resolve"] >= (1 if c.first_resolved_at else 0)
    assert sum(c.reopen_count for c in history) > 0
    assert sum(c.extension_count for c in history) > 0
    assert sum(1 for c in history if c.whistle_department_id) > 0
    assert sum(1 for c in history if c.overdue and c.state in OPEN_STATES) > 0
    assert sum(1 for c in history if c.reporter_count > 1) > 0


def test_there_is_work_waiting_for_the_demo_accounts(history: list[Case], users: dict[str, Any]) -> None:
    assert selectors.dispatch_queue(users["community"]).count() >= 3
    assert selectors.my_tasks(users["grid1"]).count() >= 3
    mine = Case.objects.filter(reporters__user=users["resident"])
    assert mine.count() >= 3
    assert mine.filter(state=State.RESOLVED).exists()  # waiting for the resident's rating
    assert all(c.reporter_id == users["resident"].pk for c in mine)


def test_the_rates_are_those_of_a_well_run_community(history: list[Case], users: dict[str, Any]) -> None:
    today = clock.local_now().date()
    f = metrics.metrics_filter(
        users["admin"], date_from=today - timedelta(days=HISTORY_DAYS + 1), date_to=today + timedelta(days=1)
    )
    m = metrics.case_metrics(users["admin"], f)
    assert m.received >= 600
    values = {name: rate.value for name, rate in m.rates.items()}
    bands = {
        "response_rate": (0.88, 0.99),
        "resolution_rate": (0.90, 0.995),
        "satisfaction_rate": (0.90, 0.975),
        "on_time_rate": (0.85, 0.98),
        "rework_rate": (0.02, 0.10),
        "extension_rate": (0.02, 0.08),
    }
    for name, (low, high) in bands.items():
        value = values[name]
        assert value is not None, name
        assert low <= value <= high, (name, value)
    assert m.avg_handling_hours is not None
    assert 24 <= m.avg_handling_hours <= 240


def test_a_second_load_changes_nothing(history: list[Case]) -> None:
    before = Case.objects.count()
    assert load_demo_cases(seed=DEMO_SEED) == dict.fromkeys(COUNT_KEYS, 0)
    assert Case.objects.count() == before
