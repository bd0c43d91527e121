"""Small helpers for the request pages: countdowns, labels of actions and categories."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils.translation import gettext as _

from wangge.cases.forms import category_name
from wangge.cases.models import OPEN_STATES, Case, Category, Rating
from wangge.cases.workflow import TRANSITIONS
from wangge.core import clock

register = template.Library()

# Timeline entries whose note the reporter sees: the reply, a refusal's reason, rework and
# escalation notes. Other reporters' words ("me too", ratings) stay private.
PUBLIC_NOTE_ACTIONS = frozenset({"resolve", "cancel", "reopen", "escalate", "close"})


def duration_text(delta: timedelta) -> str:
    """At most two units: "2天3小时", "5小时10分钟", "12分钟"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_("%(n)d d") % {"n": days})
    if hours and len(parts) < 2:
        parts.append(_("%(n)d h") % {"n": hours})
    if (mins or not parts) and len(parts) < 2 and not days:
        parts.append(_("%(n)d min") % {"n": mins})
    return " ".join(parts)


def countdown_state(case: Case, now: datetime | None = None) -> dict[str, Any] | None:
    if case.state not in OPEN_STATES:
        return None
    now = now or clock.now()
    left = case.due_at - now
    overdue = case.overdue or left.total_seconds() < 0
    warn = not overdue and (case.warned or now >= case.warn_at)
    if overdue:
        text = _("%(time)s overdue") % {"time": duration_text(now - case.due_at)}
    else:
        text = _("%(time)s left") % {"time": duration_text(left)}
    return {
        "due": case.due_at,
        "warn": case.warn_at,
        "level": "over" if overdue else "warn" if warn else "ok",
        "text": text,
    }


@register.inclusion_tag("cases/_countdown.html")
def countdown(case: Case) -> dict[str, Any]:
    return {"case": case, "cd": countdown_state(case)}


@register.filter
def action_label(action: str) -> str:
    t = TRANSITIONS.get(action)
    return str(t.label) if t else action


@register.filter
def cat_name(category: Category | None) -> str:
    return category_name(category) if category is not None else ""


@register.filter
def rating_label(value: str) -> str:
    try:
        return str(Rating(value).label)
    except ValueError:
        return ""


@register.filter
def event_facts(event: Any, public: bool = False) -> list[tuple[str, str]]:
    """Parts of a timeline entry's data worth showing (ids and internals left out); on the
    reporter's pages only the unit a case went to and the rating."""
    data = getattr(event, "data", None) or {}
    labels = {
        "to": _("Sent to"),
        "from": _("Previous unit"),
        "department": _("Department"),
        "rating": _("Rating"),
        "into": _("Merged into"),
        "merged": _("Merged from"),
        "amount": _("Extra time"),
        "ticket": _("12345 ticket number"),
    }
    allowed = ("to", "rating") if public else tuple(labels)
    out = []
    for key in allowed:
        value = data.get(key)
        if value in (None, ""):
            continue
        if key == "rating":
            value = rating_label(str(value))
        out.append((str(labels[key]), str(value)))
    return out


@register.filter
def public_note(event: Any) -> bool:
    return getattr(event, "action", "") in PUBLIC_NOTE_ACTIONS
