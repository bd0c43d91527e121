"""The demo's request history (诉求历史): about 800 requests over the last 120 days in the two
demo communities, with their reporters, timelines and extensions.

Each request is played through the workflow as it would have gone: received from a channel
(web 35 %, patrol 30 %, 12345 hotline 20 %, walk-in 10 %, co-building riders 5 %), owned by
the unit ``cases.routing.default_owner`` names, given the deadlines of ``cases.sla`` on
China's working calendar, dispatched by the owner's desk (or whistled to a department,
or taken at once by the grid worker who found it), accepted, worked on, resolved, rated and
archived. The SLA sweep's steps happen at their moments too: late responses, warnings,
overdue marks and the escalation one level up that follows. Anything due after ``now`` has
not happened yet, so recent requests are still open. A few stories are pinned so the demo
always has work waiting: requests at the Leshan community desk, work orders sent to grid 1,
and the demo resident's own requests, one answered and waiting for a rating.

The rows are written with ``bulk_create`` (seed data, like the demo's residents): no
notifications, audit rows or outbox events are made for a history nobody lived through.
The same seed and ``now`` give the same history (tracking codes apart, which are random).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from wangge.cases import routing, sla
from wangge.cases.models import (
    OPEN_STATES,
    Case,
    CaseEvent,
    CaseReporter,
    Category,
    Channel,
    Extension,
    OwnerLevel,
    Priority,
    Rating,
    SlaPolicy,
    SlaUnit,
    State,
    WhistleKind,
)
from wangge.cases.services import new_tracking_code
from wangge.cases.workflow import TRANSITIONS
from wangge.core import clock, pii, workcal
from wangge.core.models import User
from wangge.core.roles import Role
from wangge.demo import names
from wangge.org.models import Assignment, Department, PropertyCompany
from wangge.places.models import Place, PlaceKind

logger = logging.getLogger("wangge.demo")

DEFAULT_COUNT = 800
HISTORY_DAYS = 120
COUNT_KEYS = ("cases", "case_reporters", "case_events", "case_extensions")
SYSTEM = "system"


def _table(spec: str) -> tuple[tuple[str, float], ...]:
    """ "1101:9 1102:12" → (("1101", 9.0), ("1102", 12.0))."""
    return tuple((key, float(weight)) for key, weight in (item.split(":") for item in spec.split()))


CHANNELS: tuple[tuple[str, float], ...] = (
    (Channel.WEB, 35),
    (Channel.PATROL, 30),
    (Channel.HOTLINE, 20),
    (Channel.WALK_IN, 10),
    (Channel.CO_BUILDING, 5),
)
# What each channel brings in: subcategory code and weight.
RESIDENT_MATTERS = _table(
    "1101:9 1102:12 1103:5 1201:8 1202:4 1203:3 1301:4 1302:3 1303:2 1304:5 1401:2 1402:2 "
    "1501:2 1502:2 1601:3 1602:2 1701:5 1702:3 1901:4 1999:4 0101:3 0301:3 0303:1 0402:3"
)
WALK_IN_MATTERS = (*RESIDENT_MATTERS, *_table("1401:6 1402:4 1901:8"))
PATROL_MATTERS = _table(
    "0101:6 0103:3 0104:4 0201:6 0202:2 0302:2 0401:5 0402:5 0403:6 0502:2 0503:1 1502:2 "
    "1601:8 1602:5 1603:4 1701:6 1702:3"
)
RIDER_MATTERS = _table("0101:3 0201:2 0302:2 0401:3 0402:4 0403:3 0501:1 0502:2 0503:2")
MATTERS: dict[str, tuple[tuple[str, float], ...]] = {
    Channel.WEB: RESIDENT_MATTERS,
    Channel.HOTLINE: RESIDENT_MATTERS,
    Channel.WALK_IN: WALK_IN_MATTERS,
    Channel.PATROL: PATROL_MATTERS,
    Channel.CO_BUILDING: RIDER_MATTERS,
}
# Matters that are usually urgent (the category's urgent policy applies, if it has one).
URGENT = frozenset({"1303", "1602", "0501", "0503"})
# The community calls the department in (吹哨) for these duties, sometimes.
WHISTLE_DUTIES = frozenset({"water_power_gas_heating", "public_security", "disputes", "illegal_construction"})

# What residents write (「/」 between variants; {b}: the building) and what the handlers answer.
_TEXTS = """
0101 {b}东侧路边有暴露垃圾，无人清理/{b}门口垃圾桶满溢，垃圾散落一地 | 已联系环卫清运，现场已清理干净
0102 {b}一楼住户在公共绿地私搭棚子 | 已会同执法队员现场核查，当事人已自行拆除
0103 {b}附近道路油污严重，行人容易滑倒 | 已安排保洁人员冲洗路面
0104 {b}南侧空地堆放装修建材，占用通道 | 已联系业主清运建材，通道恢复畅通
0201 {b}单元门口贴满小广告/{b}墙面被喷涂办证广告 | 已组织志愿者清理小广告并覆盖喷涂
0202 {b}临街商户私设广告牌，有坠落隐患 | 已督促商户拆除违规广告牌
0301 {b}旁边工地夜间施工，噪音扰民 | 已约谈施工单位，晚十点后停止高噪音作业
0302 渣土车在{b}路口遗撒泥土 | 已通知运输单位清扫路面并加盖苫布
0303 {b}附近有人开挖路面，未见施工许可公示 | 经核查已取得许可，已督促补设公示牌
0401 {b}门口流动摊贩占道经营，影响通行 | 已劝离摊贩，引导到便民市场经营
0402 {b}消防通道有机动车长期停放/{b}门口车辆乱停，救护车进不来 | 已联系车主挪车，并张贴温馨提示
0403 {b}楼道口电动车、自行车乱停乱放 | 已组织清理，划设非机动车停放区
0501 {b}北侧路面出现塌陷坑 | 已设置围挡，市政维修队已完成修复
0502 雨后{b}附近道路积水严重 | 已疏通雨水篦子，积水已排除
0503 {b}旁边雨水井盖缺失，存在安全隐患 | 已设置警示并更换新井盖
1101 {b}电梯频繁停运，老人上下楼困难/{b}电梯困人，请尽快维修 | 物业已联系维保单位更换控制板，电梯恢复运行
1102 {b}楼道灯坏了，晚上看不见/{b}单元门禁损坏，门关不上 | 物业已完成维修，恢复正常使用
1103 {b}保洁不及时，楼道卫生差 | 已督促物业加密保洁频次，每日巡查
1201 {b}楼上住户深夜噪音扰民 | 网格员上门沟通，双方已达成谅解
1202 {b}楼上漏水到我家天花板，协商不成 | 经调解，楼上住户已修复防水层并赔偿损失
1203 {b}有人遛狗不牵绳，吓到孩子 | 已上门劝导文明养犬
1301 {b}突然停水，没有提前通知 | 已联系供水公司抢修管道，已恢复供水
1302 {b}单元停电，影响正常生活 | 已联系供电公司检修线路，已恢复供电
1303 {b}楼道有燃气味道 | 燃气公司已到场检测并更换老化软管
1304 {b}暖气不热，室温只有十几度 | 已联系热力公司排气调压，室温已达标
1401 {b}独居老人希望申请助餐服务 | 已为老人办理助餐服务，每天送餐上门
1402 {b}一位独居老人几天没出门，请帮忙看看 | 网格员已上门探望，老人身体无碍
1501 {b}附近有陌生人挨家推销 | 已联系社区民警处置
1502 {b}单元门禁长期损坏，外来人员随意进出 | 已联系物业修复门禁
1601 {b}楼道堆放杂物，堵塞通道 | 已通知住户清理楼道杂物
1602 {b}有人从楼上拉线给电动车充电 | 已劝导住户使用集中充电桩并拆除飞线
1603 {b}消防通道被车辆堵塞 | 已联系车主挪车，通道已畅通
1701 {b}垃圾站清运不及时，有异味 | 已协调环卫增加清运频次
1702 {b}树枝遮挡窗户，希望修剪 | 已安排园林工人修剪树枝
1901 咨询高龄津贴的申领条件 | 已电话答复申领条件和办理流程
1999 {b}附近健身器材损坏 | 已报修并更换损坏部件
"""
TEXTS: dict[str, tuple[list[str], str]] = {
    line[:4]: (line[5:].split(" | ")[0].split("/"), line.split(" | ")[1])
    for line in _TEXTS.strip().splitlines()
}
UNSATISFIED_COMMENTS = ("问题没有彻底解决", "处理太慢了", "只是临时处理，过几天又出现了")
PRAISE = ("处理及时，谢谢", "网格员很负责", "", "", "")
CANCEL_REASON = "不属于受理范围，已告知反映人向相关部门咨询"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
RIDERS = ("外卖骑手", "快递小哥")

# Shares that shape the history.
SELF_HANDLE = 0.6  # patrol findings of a grid-level matter taken at once by the finder
LATE_RESPONSE = 0.05
LATE_RESOLUTION = 0.06
# Of the last month's requests: stuck past the deadline and still open (for the overdue board).
STUCK = 0.05
EXTENSION = 0.05
WHISTLE = 0.25  # of community-owned matters with a department duty, in Leshan
CANCEL = 0.01
ME_TOO = 0.03
RATED = 0.85
UNSATISFIED_FIRST = 0.10
UNSATISFIED_AGAIN = 0.45


def weighted(rng: random.Random, table: Sequence[tuple[str, float]]) -> str:
    """A key drawn by weight."""
    total = sum(w for _k, w in table)
    pick = rng.random() * total
    for key, weight in table:
        pick -= weight
        if pick < 0:
            return key
    return table[-1][0]


# --- the world the stories happen in ---------------------------------------------------------


@dataclass
class Staff:
    """Who does what where (user ids by place path, department or company)."""

    users: dict[int, User]
    by_place_role: dict[tuple[str, str], list[int]]
    by_department: dict[int, list[int]]
    by_company: dict[int, list[int]]
    riders: dict[str, list[int]]  # street path → co-building supervisors

    def first(self, path: str, *roles: str) -> User | None:
        for role in roles:
            ids = self.by_place_role.get((path, role))
            if ids:
                return self.users[ids[0]]
        return None

    @classmethod
    def load(cls) -> Staff:
        rows = list(
            Assignment.objects.filter(is_active=True)
            .order_by("user__username")
            .values_list("user_id", "role", "place__path", "department_id", "property_company_id")
        )
        by_place_role: dict[tuple[str, str], list[int]] = {}
        by_department: dict[int, list[int]] = {}
        by_company: dict[int, list[int]] = {}
        riders: dict[str, list[int]] = {}
        supervisors = {Role.TRAFFIC_SUPERVISOR, Role.FACILITIES_SUPERVISOR, Role.APPEARANCE_SUPERVISOR}
        # The company's own staff first, then grid workers it employs (物业兼职网格员).
        rows.sort(key=lambda r: r[1] != Role.PROPERTY_STAFF)
        for user_id, role, path, department_id, company_id in rows:
            by_place_role.setdefault((path, role), []).append(user_id)
            if department_id:
                by_department.setdefault(department_id, []).append(user_id)
            if company_id:
                by_company.setdefault(company_id, []).append(user_id)
            if role in supervisors or role == Role.COMMUNITY_VOLUNTEER:
                riders.setdefault(path, []).append(user_id)
        users = User.objects.in_bulk({r[0] for r in rows})
        return cls(users, by_place_role, by_department, by_company, riders)


@dataclass
class Area:
    """One demo community: its street, grids and buildings."""

    community: Place
    street: Place
    grids: list[Place]
    buildings: dict[int, list[Place]]  # grid id → buildings under it
    grid_of: dict[int, Place]  # building id → its grid


class Routes:
    """``cases.routing`` and ``cases.sla`` answers, remembered (the same few questions recur)."""

    def __init__(self) -> None:
        self._workdays: dict[date, bool] = {}
        self.opens, self.closes = workcal.office_hours()
        self._owners: dict[tuple[str, str, int], routing.Owner] = {}
        self._policies: dict[tuple[int, str], SlaPolicy] = {}
        self._next: dict[int, Place | None] = {}
        self._street: dict[int, Place] = {}
        self._departments: dict[tuple[str, int], Department | None] = {}

    def workday(self, day: date) -> bool:
        if day not in self._workdays:
            self._workdays[day] = workcal.is_workday(day)
        return self._workdays[day]

    def office(self, moment: datetime) -> datetime:
        """``moment`` if it falls in office hours on a working day, else the next opening."""
        local = moment.astimezone(clock.LOCAL_TZ)
        day = local.date()
        if self.workday(day):
            opens = datetime.combine(day, self.opens, tzinfo=clock.LOCAL_TZ)
            if local < opens:
                return opens
            if local < datetime.combine(day, self.closes, tzinfo=clock.LOCAL_TZ):
                return moment
        day += timedelta(days=1)
        while not self.workday(day):
            day += timedelta(days=1)
        return datetime.combine(day, self.opens, tzinfo=clock.LOCAL_TZ)

    def owner(self, category: Category, place: Place, grid: Place | None) -> routing.Owner:
        """``routing.default_owner``. Only a property company depends on the building itself;
        every other level is the same for all places of one grid."""
        unit = place if category.owner_level == OwnerLevel.PROPERTY or grid is None else grid
        key = (category.owner_level, category.duty, unit.pk)
        if key not in self._owners:
            self._owners[key] = routing.default_owner(category, place)
        return self._owners[key]

    def policy(self, category: Category, priority: str) -> SlaPolicy:
        key = (category.pk, priority)
        if key not in self._policies:
            self._policies[key] = sla.policy_for(category, priority)
        return self._policies[key]

    def next_level(self, place: Place) -> Place | None:
        if place.pk not in self._next:
            self._next[place.pk] = routing.next_level(place)
        return self._next[place.pk]

    def street_of(self, place: Place) -> Place:
        if place.pk not in self._street:
            self._street[place.pk] = routing.street_of(place)
        return self._street[place.pk]

    def department(self, duty: str, place: Place) -> Department | None:
        key = (duty, place.pk)
        if key not in self._departments:
            self._departments[key] = routing.department_for(duty, place)
        return self._departments[key]


@dataclass
class Plan:
    """One request to play: when, what, where, from which channel. A pinned plan is held at a
    step (``hold``) so the demo always has that kind of work waiting."""

    hold: str  # "" (played to now) | "desk" | "dispatched" | "working" | "resolved"
    created: datetime
    code: str
    channel: str
    area: Area
    place: Place
    by_resident: bool = False


@dataclass
class Reporter:
    user: User | None
    name: str
    phone: str
    channel: str
    at: datetime


@dataclass
class Story:
    """One request played through the workflow up to ``now``."""

    case: Case
    area: Area
    routes: Routes
    staff: Staff
    rng: random.Random
    now: datetime
    # The moment of the story's last step.
    t: datetime
    reporters: list[Reporter] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)
    hold: str = ""
    stopped: bool = False
    planned_resolve: datetime | None = None
    rounds: int = 0
    whistle_late: bool = False
    late: bool = False
    stuck: bool = False

    # -- bookkeeping ---------------------------------------------------------------------

    def event(
        self,
        at: datetime,
        action: str,
        actor: User | None,
        /,
        *,
        from_state: str,
        note: str = "",
        **data: Any,
    ) -> None:
        self.events.append(
            {
                "at": at,
                "actor": actor,
                "actor_label": (actor.get_username() if actor is not None else SYSTEM)[:150],
                "action": action,
                "from_state": from_state,
                "to_state": self.case.state,
                "note": note,
                "public": TRANSITIONS[action].public,
                "data": data,
            }
        )

    @property
    def open(self) -> bool:
        return self.case.state in OPEN_STATES

    def escalatable(self) -> bool:
        c = self.case
        if not c.sla_policy.escalate_when_overdue:
            return False
        if c.owner_department_id or c.owner_property_company_id:
            return True
        return c.owner_place is not None and self.routes.next_level(c.owner_place) is not None

    def _sweep_moments(self) -> list[tuple[datetime, str]]:
        c = self.case
        if not self.open:
            return []
        moments: list[tuple[datetime, str]] = []
        if c.whistle_due_at and not c.whistle_reported_at and not c.whistle_missed:
            moments.append((c.whistle_due_at, "whistle_missed"))
        if c.responded_at is None and c.responded_on_time is None:
            moments.append((c.respond_due_at, "response_late"))
        if not c.warned and c.warn_at < c.due_at:
            moments.append((c.warn_at, "sla_warning"))
        if not c.overdue or self.escalatable():
            moments.append((c.due_at, "overdue"))
        return sorted(moments, key=lambda m: m[0])

    def reach(self, moment: datetime) -> bool:
        """Let the sweep do what falls due before ``moment``; True when ``moment`` is not
        after ``now`` and the state was not changed meanwhile by an escalation."""
        limit = min(moment, self.now)
        state = self.case.state
        while True:
            due = self._sweep_moments()
            if not due:
                break
            at, what = due[0]
            swept = at + timedelta(seconds=30)  # the sweep runs every minute
            if swept > limit:
                break
            self._sweep(swept, what)
            if self.case.state != state:  # escalated: the new owner's desk acts next
                return False
        if moment > self.now:
            self.stopped = True
            return False
        return self.case.state == state

    def _sweep(self, at: datetime, what: str) -> None:
        c = self.case
        if what == "whistle_missed":
            c.whistle_missed = True
            self.event(at, what, None, from_state=c.state, department=str(c.whistle_department or ""))
        elif what == "response_late":
            c.responded_on_time = False
            self.event(at, what, None, from_state=c.state)
        elif what == "sla_warning":
            c.warned = True
            if c.due_at > at:
                self.event(at, what, None, from_state=c.state, due_at=c.due_at.isoformat())
        elif what == "overdue":
            c.warned = True
            if not c.overdue:
                c.overdue = True
                c.overdue_at = at
                self.event(at, what, None, from_state=c.state, due_at=c.due_at.isoformat())
            if self.escalatable():
                self._escalate(at)

    def _escalate(self, at: datetime) -> None:
        c = self.case
        before, before_label = c.state, c.owner_label
        upper = self.routes.next_level(c.owner_place) if c.owner_place is not None else None
        if upper is None:
            upper = self.routes.street_of(c.place)
        c.owner_place, c.owner_place_path = upper, upper.path
        c.owner_department = None
        c.owner_property_company = None
        self._clear_handler()
        c.state = State.RECEIVED
        c.escalation_level += 1
        c.due_at = max(c.due_at, sla.grace(c.sla_policy, at))
        self.planned_resolve = None
        self.t = at
        self.event(
            at,
            "escalate",
            None,
            from_state=before,
            note=_("Overdue: escalated by the deadline sweep"),
            **{"from": before_label, "to": upper.name, "level": c.escalation_level, "system": True},
        )

    def _clear_handler(self) -> None:
        c = self.case
        c.handler_place = None
        c.handler_department = None
        c.handler_property_company = None
        c.handler = None

    # -- helpers for times ------------------------------------------------------------------

    def _wall_clock(self) -> bool:
        return bool(self.hold) or self.case.sla_policy.resolve_unit in (SlaUnit.MINUTES, SlaUnit.HOURS)

    def _work_minutes(self, start: datetime, minutes: float) -> datetime:
        """``minutes`` later, in office hours unless the policy counts wall-clock time (or the
        story is pinned): at night, the next morning."""
        if self._wall_clock():
            return start + timedelta(minutes=minutes)
        return self.routes.office(self.routes.office(start) + timedelta(minutes=minutes))

    def _share_of_window(self, start: datetime, share: float) -> datetime:
        """About when ``share`` of the time from ``start`` to the deadline has passed (in
        office hours for working-time policies)."""
        c = self.case
        if c.due_at <= start:
            return start + timedelta(hours=1 + self.rng.random() * 4)
        moment = start + (c.due_at - start) * share
        if self._wall_clock():
            return moment
        snapped = self.routes.office(moment)
        if snapped != moment:
            snapped += timedelta(minutes=self.rng.random() * 90)
        return moment if share <= 1 and snapped >= c.due_at else snapped

    def _daytime(self, moment: datetime) -> datetime:
        """People rate in the daytime: a moment at night moves to the next morning."""
        local = moment.astimezone(clock.LOCAL_TZ)
        if 7 <= local.hour < 22:
            return moment
        day = local.date() + timedelta(days=1 if local.hour >= 22 else 0)
        return datetime.combine(day, time(7), tzinfo=clock.LOCAL_TZ) + timedelta(
            minutes=self.rng.random() * 180
        )

    def _pace(self) -> float:
        """Minutes a desk or a handler typically takes, by the policy's response time."""
        code = self.case.sla_policy.code
        return 6.0 if code == settings.CASES_EMERGENCY_POLICY else 18.0 if code == "utility" else 38.0

    # -- who ----------------------------------------------------------------------------------

    def _desk(self) -> User | None:
        c = self.case
        path = c.owner_place_path
        if c.owner_place is not None and c.owner_place.kind == PlaceKind.GRID:
            return self.staff.first(path, Role.GRID_LEADER, Role.COMMUNITY_STAFF)
        if c.owner_place is not None and c.owner_place.kind == PlaceKind.COMMUNITY:
            return self.staff.first(path, Role.COMMUNITY_STAFF, Role.PARTY_SECRETARY)
        return self.staff.first(path, Role.STREET_STAFF)

    def _taker(self) -> User | None:
        """Who accepts the work order."""
        c = self.case
        if c.handler is not None:
            return c.handler
        if c.handler_place is not None:
            kind = c.handler_place.kind
            roles = (
                (Role.GRID_WORKER, Role.GRID_WORKER_PART_TIME, Role.GRID_LEADER)
                if kind == PlaceKind.GRID
                else (Role.COMMUNITY_STAFF, Role.STREET_STAFF)
            )
            return self.staff.first(c.handler_place.path, *roles)
        if c.handler_department_id:
            ids = self.staff.by_department.get(c.handler_department_id, [])
            return self.staff.users[ids[0]] if ids else None
        if c.handler_property_company_id:
            ids = self.staff.by_company.get(c.handler_property_company_id, [])
            return self.staff.users[ids[0]] if ids else None
        return None

    # -- the story ------------------------------------------------------------------------------

    def play(self, intake_actor: User | None, *, self_handle: bool) -> None:
        c = self.case
        t = c.created_at
        self.event(
            t,
            "receive",
            intake_actor,
            from_state="",
            note=c.description if c.channel != Channel.WEB else "",
            channel=c.channel,
            owner=c.first_owner_label,
            ticket=c.hotline_ticket,
        )
        if c.owner_department is not None or c.owner_property_company is not None:
            self._dispatch(
                t,
                None,
                place=None,
                user=None,
                department=c.owner_department,
                company=c.owner_property_company,
            )
        elif self_handle and intake_actor is not None:
            grid = self.area.grid_of.get(c.place.pk)
            if grid is not None:
                self._dispatch(t, intake_actor, place=grid, user=intake_actor, self_handled=True)
                self._accept(t, intake_actor)
        self._me_too()
        while not self.stopped and c.state not in (State.CLOSED, State.CANCELLED):
            self._step()

    def _me_too(self) -> None:
        if self.rng.random() >= ME_TOO or self.case.channel not in (Channel.WEB, Channel.HOTLINE):
            return
        for _i in range(self.rng.choice((1, 1, 2))):
            self.reporters.append(
                Reporter(
                    user=None,
                    name=self._name(),
                    phone=self._phone(),
                    channel=self.rng.choice((Channel.WEB, Channel.HOTLINE)),
                    at=self.case.created_at + timedelta(hours=1 + self.rng.random() * 30),
                )
            )

    def _step(self) -> None:
        c = self.case
        state = c.state
        if state in (State.RECEIVED, State.RETURNED):
            if self.hold == "desk":
                self.stopped = True
                return
            at = self._work_minutes(self.t, 2 + self.rng.expovariate(1 / self._pace()))
            if not self.reach(at):
                return
            self._desk_step(at)
        elif state == State.DISPATCHED:
            if self.hold == "dispatched":
                self.stopped = True
                return
            late = self.rng.random() < LATE_RESPONSE
            if c.whistle_due_at and c.whistle_reported_at is None:
                minutes = 35 + self.rng.random() * 60 if self.whistle_late else 5 + self.rng.random() * 20
                at = self.t + timedelta(minutes=minutes)
            elif late and c.responded_at is None:
                at = max(c.respond_due_at, self.t) + timedelta(minutes=10 + self.rng.random() * 180)
            else:
                at = self._work_minutes(self.t, 2 + self.rng.expovariate(1 / self._pace()))
            if not self.reach(at):
                return
            self._accept(at, self._taker())
        elif state == State.ACCEPTED:
            at = self.t + timedelta(minutes=self.rng.random() * 90)
            if self.rng.random() < 0.8:
                if not self.reach(at):
                    return
                before = c.state
                c.state = State.IN_PROGRESS
                self.t = at
                self.event(at, "start", c.handler or self._taker(), from_state=before)
            else:
                self._work(at)
        elif state == State.IN_PROGRESS:
            self._work(self.t)
        elif state == State.RESOLVED:
            self._rate_or_archive()
        elif state == State.RATED:
            at = (c.rated_at or self.t) + timedelta(days=settings.CASES_ARCHIVE_DAYS, seconds=30)
            if not self.reach(at):
                return
            self._close(at)

    def _desk_step(self, at: datetime) -> None:
        c = self.case
        desk = self._desk()
        resident_channel = c.channel in (Channel.WEB, Channel.HOTLINE, Channel.WALK_IN)
        if self.rounds == 0 and c.escalation_level == 0 and resident_channel and self.rng.random() < CANCEL:
            before = c.state
            c.state = State.CANCELLED
            c.closed_at = at
            self.t = at
            self.event(at, "cancel", desk, from_state=before, note=CANCEL_REASON)
            return
        owner = c.owner_place
        grid = self.area.grid_of.get(c.place.pk)
        if owner is None:  # pragma: no cover - escalations always give a place
            owner = self.area.street
        if owner.kind == PlaceKind.GRID:
            worker = self.staff.first(owner.path, Role.GRID_WORKER) if self.rng.random() < 0.3 else None
            self._dispatch(at, desk, place=owner, user=worker)
            return
        if owner.kind == PlaceKind.COMMUNITY:
            department = None
            if c.escalation_level == 0 and c.category.duty in WHISTLE_DUTIES and self.rng.random() < WHISTLE:
                department = self.routes.department(c.category.duty, c.place)
            if department is not None:
                self._whistle(at, desk, department)
            elif c.escalation_level == 0 and grid is not None and self.rng.random() < 0.8:
                self._dispatch(at, desk, place=grid, user=None)
            else:
                self._dispatch(at, desk, place=owner, user=desk)
            return
        # The street office: to the community of the place.
        community = self.area.community
        self._dispatch(at, desk, place=community, user=None)

    def _dispatch(
        self,
        at: datetime,
        actor: User | None,
        *,
        place: Place | None,
        user: User | None,
        department: Department | None = None,
        company: PropertyCompany | None = None,
        self_handled: bool = False,
    ) -> None:
        c = self.case
        before = c.state
        c.handler_place = place
        c.handler_department = department
        c.handler_property_company = company
        c.handler = user
        c.state = State.DISPATCHED
        c.dispatched_at = c.dispatched_at or at
        self.t = at
        parts = [str(u) for u in (place, department, company) if u is not None]
        if user is not None:
            parts.append(user.label)
        data: dict[str, Any] = {"to": " · ".join(parts)}
        if self_handled:
            data["self"] = True
        self.event(at, "dispatch", actor, from_state=before, **data)

    def _whistle(self, at: datetime, actor: User | None, department: Department) -> None:
        c = self.case
        before = c.state
        self._clear_handler()
        c.handler_department = department
        c.state = State.DISPATCHED
        c.dispatched_at = c.dispatched_at or at
        c.whistle_kind = WhistleKind.DAILY
        c.whistle_department = department
        c.whistle_due_at = at + timedelta(minutes=settings.CASES_WHISTLE_MINUTES)
        self.t = at
        self.whistle_late = self.rng.random() < 0.1
        self.event(
            at,
            "whistle",
            actor,
            from_state=before,
            note=f"请{department.short_name or department.name}到场处置",
            department=department.name,
            kind=WhistleKind.DAILY,
            report_by=c.whistle_due_at.isoformat(),
        )

    def _accept(self, at: datetime, actor: User | None) -> None:
        c = self.case
        before = c.state
        if c.handler is None and c.handler_place is not None and actor is not None:
            c.handler = actor
        if c.responded_at is None:
            c.responded_at = at
            c.responded_on_time = at <= c.respond_due_at
        data: dict[str, Any] = {}
        if c.whistle_due_at and c.whistle_reported_at is None and c.handler_department_id:
            c.whistle_reported_at = at
            called = c.whistle_due_at - timedelta(minutes=settings.CASES_WHISTLE_MINUTES)
            data["reported_in_minutes"] = round((at - called).total_seconds() / 60, 1)
        c.state = State.ACCEPTED
        self.t = at
        self.event(at, "accept", actor, from_state=before, **data)

    def _work(self, since: datetime) -> None:
        c = self.case
        worker = c.handler or self._taker()
        if self.hold == "working":
            self.stopped = True
            return
        if (
            not self.hold
            and self.rounds == 0
            and c.extension_count == 0
            and c.escalation_level == 0
            and c.sla_policy.code != settings.CASES_EMERGENCY_POLICY
            and self.rng.random() < EXTENSION
            and worker is not None
        ):
            self._extend(since, worker)
            if self.stopped or not self.open:
                return
            since = self.t
        if self.stuck:
            self.reach(self.now + timedelta(days=1))  # the sweep's steps up to now, nothing more
            return
        if self.planned_resolve is None and self.hold == "resolved":
            # A pinned answer waiting for its rating: given two hours ago.
            self.planned_resolve = max(since + timedelta(minutes=20), self.now - timedelta(hours=2))
        if self.planned_resolve is None:
            if c.escalation_level or self.rounds:
                share = 0.2 + self.rng.random() * 0.6
            elif self.late:
                share = 1.05 + self.rng.random() * 0.5
            else:
                share = 0.05 + self.rng.betavariate(1.4, 3.0) * 0.9
            self.planned_resolve = max(self._share_of_window(since, share), since + timedelta(minutes=20))
        at = self.planned_resolve
        if not self.reach(at):
            return
        self._resolve(at, worker)

    def _extend(self, since: datetime, worker: User) -> None:
        c = self.case
        policy = c.sla_policy
        asked = self._share_of_window(since, 0.3 + self.rng.random() * 0.3)
        if not self.reach(asked):
            return
        unit = policy.resolve_unit
        amount = min(policy.max_extension, self.rng.randint(2, 5) if unit == SlaUnit.WORKING_DAYS else 8)
        before = c.state
        ext = Extension(
            requested_by=worker,
            requested_at=asked,
            amount=amount,
            unit=unit,
            reason="需要协调相关单位共同处置",
        )
        self.extensions.append(ext)
        self.t = asked
        self.event(
            asked, "request_extension", worker, from_state=before, note=ext.reason, amount=amount, unit=unit
        )
        decided = asked + timedelta(hours=1 + self.rng.random() * 3)
        if not self.reach(decided):
            return
        decider = self._supervisor()
        ext.status = Extension.Status.APPROVED
        ext.decided_by = decider
        ext.decided_at = decided
        ext.decision_note = "同意延期"
        old_due = c.due_at
        c.due_at = sla.add(c.due_at, amount, unit)
        c.extension_count += 1
        c.warned = False
        c.warn_at = sla.share_point(decided, c.due_at, unit, policy.warn_at_percent)
        self.t = decided
        self.event(
            decided,
            "approve_extension",
            decider,
            from_state=c.state,
            note=ext.decision_note,
            **{"from": old_due.isoformat(), "to": c.due_at.isoformat()},
        )

    def _supervisor(self) -> User | None:
        community = self.area.community
        return self.staff.first(community.path, Role.COMMUNITY_STAFF) or self.staff.first(
            self.area.street.path, Role.STREET_STAFF
        )

    def _resolve(self, at: datetime, worker: User | None) -> None:
        c = self.case
        before = c.state
        if c.responded_at is None:
            c.responded_at = at
            c.responded_on_time = at <= c.respond_due_at
        c.state = State.RESOLVED
        c.reply = TEXTS.get(c.category.code, TEXTS["1999"])[1]
        c.resolved_at = at
        c.first_resolved_at = c.first_resolved_at or at
        c.resolved_on_time = not c.overdue and at <= c.due_at
        c.rating = ""
        c.rating_comment = ""
        c.rated_at = None
        self.t = at
        self.planned_resolve = None
        self.event(at, "resolve", worker, from_state=before, note=c.reply)

    def _rate_or_archive(self) -> None:
        c = self.case
        assert c.resolved_at is not None
        rates = c.channel in (Channel.WEB, Channel.HOTLINE, Channel.WALK_IN)
        if self.hold == "resolved":
            self.stopped = True
            return
        if rates and self.rng.random() < RATED:
            at = self._daytime(c.resolved_at + timedelta(hours=0.5 + self.rng.expovariate(1 / 14)))
            at = min(at, c.resolved_at + timedelta(days=settings.CASES_RATING_DAYS, seconds=-60))
            if not self.reach(at):
                return
            self._rate(at)
            return
        at = c.resolved_at + timedelta(days=settings.CASES_RATING_DAYS, seconds=30)
        if not self.reach(at):
            return
        self._close(at, note=_("Not rated in time: archived"))

    def _rate(self, at: datetime) -> None:
        c = self.case
        first = self.reporters[0]
        unsatisfied = self.rng.random() < (UNSATISFIED_FIRST if c.reopen_count == 0 else UNSATISFIED_AGAIN)
        if unsatisfied:
            rating, comment = Rating.UNSATISFIED, self.rng.choice(UNSATISFIED_COMMENTS)
        else:
            rating = Rating.SATISFIED if self.rng.random() < 0.9 else Rating.BASIC
            comment = self.rng.choice(PRAISE)
        c.rating, c.rating_comment, c.rated_at = rating, comment, at
        c.state = State.RATED
        self.t = at
        self.event(
            at,
            "rate",
            first.user,
            from_state=State.RESOLVED,
            note=comment,
            rating=rating,
            round=c.reopen_count + 1,
        )
        if rating != Rating.UNSATISFIED:
            return
        if c.reopen_count == 0:
            self._reopen(at)
        else:
            c.supervised = True
            c.supervised_at = at

    def _reopen(self, at: datetime) -> None:
        c = self.case
        before = c.state
        c.state = (
            State.DISPATCHED
            if c.handler_place_id or c.handler_department_id or c.handler_property_company_id or c.handler_id
            else State.RECEIVED
        )
        c.reopen_count += 1
        c.resolved_at = None
        c.resolved_on_time = None
        limits = sla.deadlines(c.sla_policy, at)
        c.due_at, c.warn_at = limits.due_at, limits.warn_at
        c.warned = False
        c.overdue = False
        c.overdue_at = None
        self.rounds += 1
        self.planned_resolve = None
        self.event(
            at,
            "reopen",
            None,
            from_state=before,
            note=_("The reporter was not satisfied: reopened for rework"),
            round=c.reopen_count + 1,
        )

    def _close(self, at: datetime, note: str = "") -> None:
        c = self.case
        before = c.state
        c.state = State.CLOSED
        c.closed_at = at
        self.t = at
        self.event(at, "close", None, from_state=before, note=note)

    # -- people ---------------------------------------------------------------------------------

    def _name(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(("先生", "女士", "阿姨", "大爷"))

    def _phone(self) -> str:
        return "1" + self.rng.choice("3578") + "".join(self.rng.choice("0123456789") for _ in range(9))

    def finish(self) -> None:
        """The row's last touches: update time, version, when the sweep looks next."""
        c = self.case
        c.updated_at = max(e["at"] for e in self.events)
        c.version = len(self.events)
        c.reporter_count = len(self.reporters)
        moments: list[datetime] = []
        if c.state in OPEN_STATES:
            moments = [m for m, _what in self._sweep_moments()]
        elif c.state == State.RESOLVED and c.resolved_at:
            moments = [c.resolved_at + timedelta(days=settings.CASES_RATING_DAYS)]
        elif c.state == State.RATED and c.rated_at:
            moments = [c.rated_at + timedelta(days=settings.CASES_ARCHIVE_DAYS)]
        c.next_sweep_at = min(moments) if moments else None


# --- building the history ----------------------------------------------------------------------


def _areas() -> list[Area]:
    areas = []
    for code in (names.LESHAN_CODE, names.DONGHU_CODE):
        community = Place.objects.defer("boundary").filter(code=code).first()
        if community is None:
            continue
        street = routing.street_of(community)
        grids = list(
            Place.objects.defer("boundary").filter(parent=community, kind=PlaceKind.GRID).order_by("path")
        )
        buildings: dict[int, list[Place]] = {}
        grid_of: dict[int, Place] = {}
        everything = (
            Place.objects.defer("boundary")
            .filter(path__under=community.path, kind=PlaceKind.BUILDING)
            .order_by("path")
        )
        for building in everything:
            grid = next((g for g in grids if building.path.startswith(g.path)), None)
            if grid is None:
                continue
            buildings.setdefault(grid.pk, []).append(building)
            grid_of[building.pk] = grid
        areas.append(Area(community, street, [g for g in grids if g.pk in buildings], buildings, grid_of))
    return areas


def _created_times(rng: random.Random, now: datetime, count: int) -> list[datetime]:
    """Moments over the last HISTORY_DAYS days: more on weekdays, mostly in the daytime."""
    local_now = now.astimezone(clock.LOCAL_TZ)
    hours = [0.2] * 7 + [2.0, 5.0, 6.0, 5.0, 4.0, 2.5, 3.5, 5.0, 5.0, 4.5, 3.5, 2.0, 2.5, 2.0, 1.2, 0.6, 0.3]
    moments: list[datetime] = []
    while len(moments) < count:
        day = (local_now - timedelta(days=rng.randint(0, HISTORY_DAYS - 1))).date()
        if day.weekday() >= 5 and rng.random() < 0.4:
            continue
        hour = int(weighted(rng, [(str(h), w) for h, w in enumerate(hours)]))
        moment = datetime(
            day.year, day.month, day.day, hour, rng.randint(0, 59), rng.randint(0, 59), tzinfo=clock.LOCAL_TZ
        )
        if moment < now - timedelta(minutes=10):
            moments.append(moment)
    return sorted(moments)


def _pins(areas: list[Area], resident_home: Place | None, now: datetime) -> list[Plan]:
    """Stories the demo relies on: desk work at Leshan, grid 1's work orders, the resident's."""
    if not areas:
        return []
    leshan = areas[0]
    grid1 = leshan.grids[0]
    here = leshan.buildings[grid1.pk]
    b = [here[i % len(here)] for i in range(7)]
    pins = [
        Plan("desk", now - timedelta(minutes=25), "1999", Channel.WALK_IN, leshan, b[1]),
        Plan("desk", now - timedelta(minutes=70), "1401", Channel.HOTLINE, leshan, b[2]),
        Plan("desk", now - timedelta(minutes=95), "1901", Channel.WEB, leshan, b[3]),
        Plan("dispatched", now - timedelta(hours=2), "1201", Channel.WEB, leshan, b[0]),
        Plan("dispatched", now - timedelta(hours=3), "1601", Channel.HOTLINE, leshan, b[4]),
        Plan("dispatched", now - timedelta(hours=5), "1702", Channel.WALK_IN, leshan, b[5]),
        Plan("working", now - timedelta(hours=26), "1203", Channel.WEB, leshan, b[2]),
        Plan("working", now - timedelta(hours=30), "1201", Channel.HOTLINE, leshan, b[6]),
    ]
    if resident_home is not None:
        pins += [
            Plan("resolved", now - timedelta(hours=52), "1102", Channel.WEB, leshan, resident_home, True),
            Plan("working", now - timedelta(hours=28), "1701", Channel.WEB, leshan, resident_home, True),
            Plan("", now - timedelta(days=18, hours=3), "1201", Channel.WEB, leshan, resident_home, True),
            Plan("", now - timedelta(days=41, hours=5), "1304", Channel.WEB, leshan, resident_home, True),
            Plan("", now - timedelta(days=66, hours=2), "1999", Channel.WEB, leshan, resident_home, True),
            Plan("", now - timedelta(days=97, hours=6), "1101", Channel.WEB, leshan, resident_home, True),
        ]
    return pins


def load_demo_cases(*, seed: int, now: datetime | None = None, count: int = DEFAULT_COUNT) -> dict[str, int]:
    """Write the request history once (nothing when the demo communities already have
    requests, or are not loaded); return the numbers of rows written."""
    now = now or clock.now()
    areas = _areas()
    if not areas or Case.objects.filter(place_path__under=areas[0].community.path).exists():
        return dict.fromkeys(COUNT_KEYS, 0)
    rng = random.Random(f"{seed}:cases")
    staff = Staff.load()
    routes = Routes()
    categories = {c.code: c for c in Category.objects.select_related("parent", "sla_policy")}
    resident_row = (
        Assignment.objects.filter(role=Role.RESIDENT, is_active=True, user__username="resident")
        .select_related("user", "place")
        .first()
    )
    resident = resident_row.user if resident_row is not None else None
    resident_home = resident_row.place if resident_row is not None else None

    plans: list[Plan] = []
    pins = _pins(areas, resident_home, now)
    for moment in _created_times(rng, now, max(0, count - len(pins))):
        channel = weighted(rng, CHANNELS)
        area = areas[0] if rng.random() < 0.6 or len(areas) == 1 else areas[1]
        grid = rng.choice(area.grids)
        building = rng.choice(area.buildings[grid.pk])
        plans.append(Plan("", moment, weighted(rng, MATTERS[channel]), channel, area, building))
    plans += pins
    plans.sort(key=lambda p: p.created)

    stories: list[Story] = []
    for ticket, plan in enumerate(plans, start=1):
        story = _story(
            plan, rng, now, staff, routes, categories, resident if plan.by_resident else None, ticket
        )
        stories.append(story)
    return _write(stories)


def _story(
    plan: Plan,
    rng: random.Random,
    now: datetime,
    staff: Staff,
    routes: Routes,
    categories: dict[str, Category],
    resident: User | None,
    ticket: int,
) -> Story:
    category = categories[plan.code]
    place = plan.place
    grid = plan.area.grid_of.get(place.pk) or next(
        (g for g in plan.area.grids if place.path.startswith(g.path)), None
    )
    if grid is not None:
        plan.area.grid_of.setdefault(place.pk, grid)
    priority = Priority.URGENT if plan.code in URGENT and rng.random() < 0.7 else Priority.NORMAL
    policy = routes.policy(category, priority)
    owner = routes.owner(category, place, grid)
    limits = sla.deadlines(policy, plan.created)
    building = next(
        (b for bs in plan.area.buildings.values() for b in bs if place.path.startswith(b.path)), None
    )
    building_name = building.name if building is not None else place.name
    description = rng.choice(TEXTS.get(plan.code, TEXTS["1999"])[0]).format(b=building_name)
    local = plan.created.astimezone(clock.LOCAL_TZ)
    jitter = (rng.random() - 0.5) * 0.0006
    case = Case(
        number=f"demo-{ticket:07d}",
        title=description[:30],
        description=description,
        category=category,
        channel=plan.channel,
        priority=priority,
        state=State.RECEIVED,
        place=place,
        place_path=place.path,
        lat=(place.lat + jitter) if place.lat is not None else None,
        lng=(place.lng - jitter) if place.lng is not None else None,
        address=f"{plan.area.community.name}{building_name}",
        hotline_ticket=f"{local:%Y%m%d}{ticket:05d}" if plan.channel == Channel.HOTLINE else "",
        owner_place=owner.place,
        owner_place_path=owner.place.path if owner.place else "",
        owner_department=owner.department,
        owner_property_company=owner.property_company,
        first_owner_label=owner.label[:100],
        sla_policy=policy,
        respond_due_at=limits.respond_due_at,
        due_at=limits.due_at,
        warn_at=limits.warn_at,
        created_at=plan.created,
        updated_at=plan.created,
    )
    story = Story(
        case=case,
        area=plan.area,
        routes=routes,
        staff=staff,
        rng=rng,
        now=now,
        t=plan.created,
        hold=plan.hold,
    )
    story.late = not plan.hold and rng.random() < LATE_RESOLUTION
    story.stuck = not plan.hold and plan.created > now - timedelta(days=30) and rng.random() < STUCK
    intake_actor, first = _first_reporter(plan, story, staff, resident, grid)
    case.reporter = first.user
    story.reporters.append(first)
    self_handle = (
        plan.channel == Channel.PATROL
        and category.owner_level == "grid"
        and not plan.hold
        and rng.random() < SELF_HANDLE
    )
    if plan.hold == "dispatched" and grid is not None:
        # Sent to the grid a quarter of an hour after it came in, not yet taken.
        desk = story._desk()
        story.event(
            plan.created,
            "receive",
            intake_actor,
            from_state="",
            channel=plan.channel,
            owner=case.first_owner_label,
            ticket=case.hotline_ticket,
        )
        story._dispatch(plan.created + timedelta(minutes=15), desk, place=grid, user=None)
        story.stopped = True
    else:
        story.play(intake_actor, self_handle=self_handle)
    story.events.sort(key=lambda e: e["at"])
    _add_me_too(story, first)
    story.finish()
    return story


def _add_me_too(story: Story, first: Reporter) -> None:
    """Later reporters of the same matter (我也遇到), while the request was still open."""
    kept = [first]
    timeline = list(story.events)  # in time order
    for extra in story.reporters[1:]:
        if extra.at > story.now:
            continue
        state = next((e["to_state"] for e in reversed(timeline) if e["at"] <= extra.at), "")
        if state not in OPEN_STATES:
            continue
        kept.append(extra)
        story.events.append(
            {
                "at": extra.at,
                "actor": None,
                "actor_label": SYSTEM,
                "action": "me_too",
                "from_state": state,
                "to_state": state,
                "note": "",
                "public": TRANSITIONS["me_too"].public,
                "data": {},
            }
        )
    story.reporters = kept
    story.events.sort(key=lambda e: e["at"])


def _first_reporter(
    plan: Plan, story: Story, staff: Staff, resident: User | None, grid: Place | None
) -> tuple[User | None, Reporter]:
    """The intake's actor and the first reporter, as each channel has them."""
    rng = story.rng
    area = plan.area
    if plan.channel == Channel.WEB:
        if resident is not None:
            return resident, Reporter(resident, resident.label, "", plan.channel, plan.created)
        return None, Reporter(None, story._name(), story._phone(), plan.channel, plan.created)
    if plan.channel == Channel.PATROL:
        worker = staff.first(grid.path, Role.GRID_WORKER, Role.GRID_WORKER_PART_TIME) if grid else None
        if worker is not None:
            return worker, Reporter(worker, worker.label, "", plan.channel, plan.created)
        return None, Reporter(None, story._name(), story._phone(), plan.channel, plan.created)
    if plan.channel in (Channel.HOTLINE, Channel.WALK_IN):
        desk = staff.first(area.community.path, Role.COMMUNITY_STAFF)
        return desk, Reporter(None, story._name(), story._phone(), plan.channel, plan.created)
    riders = staff.riders.get(area.street.path, [])
    if riders:
        rider = staff.users[rng.choice(riders)]
        return rider, Reporter(rider, rider.label, "", plan.channel, plan.created)
    name = rng.choice(RIDERS) + rng.choice(SURNAMES) + "师傅"
    return None, Reporter(None, name, story._phone(), plan.channel, plan.created)


@transaction.atomic
def _write(stories: list[Story]) -> dict[str, int]:
    cases = [s.case for s in stories]
    Case.objects.bulk_create(cases, batch_size=500)
    for case in cases:
        case.number = f"{case.created_at.astimezone(clock.LOCAL_TZ):%Y%m%d}{case.pk:07d}"
    Case.objects.bulk_update(cases, ["number"], batch_size=500)

    reporters: list[CaseReporter] = []
    for story in stories:
        for r in story.reporters:
            reporters.append(
                CaseReporter(
                    case=story.case,
                    user=r.user,
                    name=r.name,
                    phone=r.phone,
                    phone_hash=pii.blind_index("phone", r.phone) if r.phone else "",
                    channel=r.channel,
                    tracking_code=new_tracking_code(),
                    created_at=r.at,
                )
            )
    CaseReporter.objects.bulk_create(reporters, batch_size=1000)
    first_reporter: dict[int, int] = {}
    for reporter in reporters:
        first_reporter.setdefault(reporter.case_id, reporter.pk)

    events: list[CaseEvent] = []
    extensions: list[Extension] = []
    for story in stories:
        for e in story.events:
            data = dict(e["data"])
            if e["action"] == "rate":
                data["reporter"] = first_reporter.get(story.case.pk)
            events.append(
                CaseEvent(
                    case=story.case,
                    at=e["at"],
                    actor=e["actor"],
                    actor_label=e["actor_label"],
                    action=e["action"],
                    from_state=e["from_state"],
                    to_state=e["to_state"],
                    note=e["note"],
                    public=e["public"],
                    data=data,
                )
            )
        for ext in story.extensions:
            ext.case = story.case
            extensions.append(ext)
    CaseEvent.objects.bulk_create(events, batch_size=2000)
    Extension.objects.bulk_create(extensions, batch_size=500)
    counts = {
        "cases": len(cases),
        "case_reporters": len(reporters),
        "case_events": len(events),
        "case_extensions": len(extensions),
    }
    logger.info(
        "Loaded the demo's request history: %(cases)d requests, %(case_events)d timeline entries.", counts
    )
    return counts
