"""Time limits in working time: which policy applies, and the deadlines it gives.

Rules (docs/cases/sla.md): a policy counts in wall-clock hours, working hours or working
days on China's calendar (``core.workcal``). The warning falls when the given share of the
resolution time, counted the same way, has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from wangge.cases.models import Category, CategoryPolicy, Priority, SlaPolicy, SlaUnit
from wangge.core import workcal


@dataclass(frozen=True)
class Deadlines:
    respond_due_at: datetime
    due_at: datetime
    warn_at: datetime


def add(start: datetime, amount: int, unit: str) -> datetime:
    if unit == SlaUnit.MINUTES:
        return start + timedelta(minutes=amount)
    if unit == SlaUnit.HOURS:
        return start + timedelta(hours=amount)
    if unit == SlaUnit.WORKING_HOURS:
        return workcal.add_working_hours(start, amount)
    if unit == SlaUnit.WORKING_DAYS:
        return workcal.add_working_days(start, amount)
    raise ValueError(f"unknown SLA unit {unit!r}")


def share_point(start: datetime, end: datetime, unit: str, percent: int) -> datetime:
    """The moment ``percent`` % of the time from ``start`` to ``end`` has passed, in ``unit``'s time."""
    if end <= start:
        return end
    if unit in (SlaUnit.MINUTES, SlaUnit.HOURS):
        return start + (end - start) * percent / 100
    total = workcal.working_seconds_between(start, end)
    return workcal.add_working_seconds(start, total * percent / 100)


def policy_for(category: Category, priority: str) -> SlaPolicy:
    """The most specific policy: this category at this priority, then its parents', then the
    category's default; an emergency never waits longer than the emergency policy."""
    node: Category | None = category
    while node is not None:
        found = (
            CategoryPolicy.objects.select_related("sla_policy")
            .filter(category=node, priority=priority)
            .first()
        )
        if found is not None:
            return found.sla_policy
        node = node.parent
    if priority == Priority.EMERGENCY:
        emergency = SlaPolicy.objects.filter(code=settings.CASES_EMERGENCY_POLICY).first()
        if emergency is not None:
            return emergency
    return category.sla_policy


def deadlines(policy: SlaPolicy, start: datetime) -> Deadlines:
    due = add(start, policy.resolve_within, policy.resolve_unit)
    respond = min(add(start, policy.respond_within, policy.respond_unit), due)
    warn = share_point(start, due, policy.resolve_unit, policy.warn_at_percent)
    return Deadlines(respond_due_at=respond, due_at=due, warn_at=warn)


def grace(policy: SlaPolicy, start: datetime) -> datetime:
    """The new deadline after an escalation."""
    return add(start, max(1, policy.escalation_grace), policy.escalation_grace_unit)
