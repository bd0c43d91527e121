"""The case workflow as one table: every action, the states it starts from, where it goes,
and who may take it. ``cases.services`` applies it; pages and the API read it to offer
only the actions that the user may take now.

    received 受理 ──dispatch──▶ dispatched 派单 ──accept──▶ accepted 签收 ──start──▶ in progress 处置
        ▲   │                      │      ▲                    │                        │
        │   └─hand_on/escalate     │      └──reopen (不满意)    └────────resolve─────────┴──▶ resolved 办结
        │                          │                                                       │
        └──────recall──────────────┘  return 退单 ──▶ returned ──dispatch──▶ …    rate ▼
                                                                         rated 评价 ──close──▶ closed 归档

Flags that do not change the state: supervise 督办, extensions 延期, assisting handlers 协办,
whistles 吹哨 (a dispatch to a department that must report in), SLA warnings and overdue marks.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from wangge.cases.models import OPEN_STATES, State


class Who:
    """Who may take an action on a case (see ``cases.permissions``)."""

    DISPATCHER = "dispatcher"  # the owning unit's desk (派单员): community, street, grid leader
    HANDLER = "handler"  # the lead handler: the person, or staff of the handling unit
    ASSISTANT = "assistant"  # the lead handler or an assisting one
    OWNER_OR_HANDLER = "owner_or_handler"
    SUPERVISOR = "supervisor"  # above the owner: community over grid, street over community
    REPORTER = "reporter"  # a reporter signed in, or holding the tracking code
    SYSTEM = "system"  # the SLA sweep, intake


@dataclass(frozen=True)
class Transition:
    name: str
    label: str | Promise
    sources: frozenset[str]
    # None: the state does not change (a flag, a note).
    target: str | None
    who: str
    note_required: bool = False
    # Shown to the reporter on the tracking page.
    public: bool = False


_ACTIVE = frozenset(OPEN_STATES)
_WORKING = frozenset({State.ACCEPTED, State.IN_PROGRESS})
_DESK = frozenset({State.RECEIVED, State.RETURNED})

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("receive", _("Received"), frozenset(), State.RECEIVED, Who.SYSTEM, public=True),
        Transition("me_too", _("Reported again (me too)"), _ACTIVE, None, Who.SYSTEM, public=True),
        Transition("dispatch", _("Dispatch"), _DESK, State.DISPATCHED, Who.DISPATCHER),
        Transition(
            "recall", _("Recall the dispatch"), frozenset({State.DISPATCHED}), State.RECEIVED, Who.DISPATCHER
        ),
        Transition(
            "hand_on", _("Hand on to another unit"), _DESK, State.RECEIVED, Who.DISPATCHER, note_required=True
        ),
        Transition(
            "accept", _("Accept"), frozenset({State.DISPATCHED}), State.ACCEPTED, Who.HANDLER, public=True
        ),
        Transition("start", _("Start work"), frozenset({State.ACCEPTED}), State.IN_PROGRESS, Who.HANDLER),
        Transition("progress", _("Add a progress note"), _ACTIVE, None, Who.ASSISTANT, note_required=True),
        Transition(
            "resolve",
            _("Resolve and reply"),
            _WORKING,
            State.RESOLVED,
            Who.HANDLER,
            note_required=True,
            public=True,
        ),
        Transition(
            "return",
            _("Return to the dispatcher"),
            frozenset({State.DISPATCHED, *_WORKING}),
            State.RETURNED,
            Who.HANDLER,
            note_required=True,
        ),
        Transition(
            "escalate",
            _("Escalate"),
            _ACTIVE,
            State.RECEIVED,
            Who.OWNER_OR_HANDLER,
            note_required=True,
            public=True,
        ),
        Transition(
            "whistle",
            _("Blow the whistle to a department"),
            _ACTIVE,
            State.DISPATCHED,
            Who.DISPATCHER,
            note_required=True,
        ),
        Transition("assist", _("Add an assisting handler"), _ACTIVE, None, Who.DISPATCHER),
        Transition(
            "supervise",
            _("Supervise"),
            frozenset({*_ACTIVE, State.RESOLVED, State.RATED}),
            None,
            Who.SUPERVISOR,
            note_required=True,
        ),
        Transition(
            "request_extension", _("Request an extension"), _WORKING, None, Who.HANDLER, note_required=True
        ),
        Transition("approve_extension", _("Approve the extension"), _ACTIVE, None, Who.SUPERVISOR),
        Transition(
            "refuse_extension", _("Refuse the extension"), _ACTIVE, None, Who.SUPERVISOR, note_required=True
        ),
        Transition("rate", _("Rate"), frozenset({State.RESOLVED}), State.RATED, Who.REPORTER, public=True),
        Transition(
            "reopen",
            _("Reopen (rework)"),
            frozenset({State.RESOLVED, State.RATED}),
            State.DISPATCHED,
            Who.SUPERVISOR,
            note_required=True,
            public=True,
        ),
        Transition(
            "close",
            _("Archive"),
            frozenset({State.RESOLVED, State.RATED}),
            State.CLOSED,
            Who.DISPATCHER,
            public=True,
        ),
        Transition(
            "cancel",
            _("Do not accept"),
            _DESK,
            State.CANCELLED,
            Who.DISPATCHER,
            note_required=True,
            public=True,
        ),
        Transition("merge", _("Merge into another case"), _ACTIVE, State.MERGED, Who.DISPATCHER, public=True),
        Transition("sla_warning", _("Deadline approaching"), _ACTIVE, None, Who.SYSTEM),
        Transition("overdue", _("Overdue"), _ACTIVE, None, Who.SYSTEM),
        Transition("response_late", _("Not accepted in time"), _ACTIVE, None, Who.SYSTEM),
        Transition("whistle_missed", _("Department did not report in"), _ACTIVE, None, Who.SYSTEM),
    )
}

# Actions people take from a page or the API (the rest are taken by the system or come
# with their own forms: rating, extension decisions, merging).
USER_ACTIONS = (
    "dispatch",
    "recall",
    "hand_on",
    "accept",
    "start",
    "progress",
    "resolve",
    "return",
    "escalate",
    "whistle",
    "assist",
    "supervise",
    "request_extension",
    "reopen",
    "close",
    "cancel",
)
