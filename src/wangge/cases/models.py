"""Requests and work orders (诉求与工单): categories, SLA policies, cases and their timeline.

A case is one matter a resident, a grid worker, the 12345 hotline, a co-building
supervisor, a device or an Open311 client reported. It is owned by the unit that first
received it (首接负责) until that unit hands it on, and handled by the unit or person it
was dispatched to. The workflow itself (which transitions exist, who may take them) is
``cases.workflow``; every write is in ``cases.services``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.core.fields import PathField
from wangge.core.pii import EncryptedTextField
from wangge.core.scope import ScopedQuerySet, ScopeSpec
from wangge.org.models import Department, PropertyCompany
from wangge.places.models import Place


class OwnerLevel(models.TextChoices):
    """Which unit answers a category by default (默认责任层级)."""

    GRID = "grid", _("Grid")
    COMMUNITY = "community", _("Community")
    STREET = "street", _("Street office")
    DEPARTMENT = "department", _("County department")
    PROPERTY = "property", _("Property company")


class Priority(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")
    # Risks to life or property (涉及人身财产安全): the 2-hour rule.
    EMERGENCY = "emergency", _("Emergency")


class Channel(models.TextChoices):
    WEB = "web", _("Resident, web")
    PATROL = "patrol", _("Grid-worker patrol")
    HOTLINE = "hotline", _("12345 hotline transfer")
    CO_BUILDING = "co_building", _("Co-building supervisor")
    DEVICE = "device", _("Device alarm")
    OPEN311 = "open311", _("Open311")
    WALK_IN = "walk_in", _("Walk-in or phone call")


class SlaUnit(models.TextChoices):
    MINUTES = "minutes", _("Minutes")
    HOURS = "hours", _("Hours")
    WORKING_HOURS = "working_hours", _("Working hours")
    WORKING_DAYS = "working_days", _("Working days")


class SlaPolicy(models.Model):
    """A time limit (办理时限): respond within, resolve within, warn at a share of the time."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True, default="")
    respond_unit = models.CharField(_("response unit"), max_length=16, choices=SlaUnit.choices)
    respond_within = models.PositiveIntegerField(_("respond within"))
    resolve_unit = models.CharField(_("resolution unit"), max_length=16, choices=SlaUnit.choices)
    resolve_within = models.PositiveIntegerField(_("resolve within"))
    warn_at_percent = models.PositiveSmallIntegerField(_("warn at % of time used"), default=80)
    escalate_when_overdue = models.BooleanField(_("escalate one level when overdue"), default=True)
    # After an escalation the new owner gets this long before the sweep looks again.
    escalation_grace = models.PositiveIntegerField(_("time given after an escalation"), default=1)
    escalation_grace_unit = models.CharField(
        _("unit of that time"), max_length=16, choices=SlaUnit.choices, default=SlaUnit.WORKING_DAYS
    )
    # The most an extension may add, in the resolution unit.
    max_extension = models.PositiveIntegerField(_("longest extension"), default=7)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(warn_at_percent__gte=1, warn_at_percent__lte=99),
                name="sla_warn_percent_range",
            ),
            models.CheckConstraint(condition=models.Q(resolve_within__gte=1), name="sla_resolve_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A kind of matter (事项分类), in a tree whose codes extend their parent's."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True, default="")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    owner_level = models.CharField(_("default owner"), max_length=16, choices=OwnerLevel.choices)
    # The duty a department answers for (Department.responsibilities), for department-level
    # routing and whistles: the department of that duty in the place's county takes it.
    duty = models.CharField(_("duty"), max_length=32, blank=True, default="")
    sla_policy = models.ForeignKey(SlaPolicy, on_delete=models.PROTECT, related_name="categories")
    # Public-space matters (city management) may be listed on Open311 without a key.
    is_public = models.BooleanField(_("listed publicly"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    keywords = models.CharField(_("keywords"), max_length=200, blank=True, default="")
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CategoryPolicy(models.Model):
    """The SLA policy for one category at one priority (overrides the category's default)."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="priority_policies")
    priority = models.CharField(_("priority"), max_length=16, choices=Priority.choices)
    sla_policy = models.ForeignKey(SlaPolicy, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("SLA policy by priority")
        constraints = [
            models.UniqueConstraint(fields=["category", "priority"], name="category_policy_unique")
        ]

    def __str__(self) -> str:
        return f"{self.category_id} {self.priority}"


class State(models.TextChoices):
    RECEIVED = "received", _("Received")  # 受理
    DISPATCHED = "dispatched", _("Dispatched")  # 派单
    ACCEPTED = "accepted", _("Accepted")  # 签收
    IN_PROGRESS = "in_progress", _("In progress")  # 处置
    RETURNED = "returned", _("Returned")  # 退单
    RESOLVED = "resolved", _("Resolved")  # 办结
    RATED = "rated", _("Rated")  # 评价
    CLOSED = "closed", _("Closed")  # 归档
    MERGED = "merged", _("Merged")  # 合并
    CANCELLED = "cancelled", _("Not accepted")  # 不予受理


OPEN_STATES = frozenset({State.RECEIVED, State.DISPATCHED, State.ACCEPTED, State.IN_PROGRESS, State.RETURNED})
DONE_STATES = frozenset({State.RESOLVED, State.RATED, State.CLOSED})
FINAL_STATES = frozenset({State.CLOSED, State.MERGED, State.CANCELLED})


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")  # 满意
    BASIC = "basic", _("Basically satisfied")  # 基本满意
    UNSATISFIED = "unsatisfied", _("Unsatisfied")  # 不满意


class WhistleKind(models.TextChoices):
    DAILY = "daily", _("Daily whistle")  # 日常哨
    TOUGH = "tough", _("Tough-case whistle")  # 攻坚哨
    EMERGENCY = "emergency", _("Emergency whistle")  # 应急哨


class Case(models.Model):
    """One request or work order (诉求/工单)."""

    number = models.CharField(_("number"), max_length=24, unique=True)
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    priority = models.CharField(
        _("priority"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RECEIVED)

    # Where: the most specific place known, its path (kept for subtree scans), a point.
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="cases")
    place_path = PathField()
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True, default="")

    # Who reported it first (every reporter, merged ones too, is a CaseReporter row).
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reporter_count = models.PositiveIntegerField(_("reporters"), default=1)
    hotline_ticket = models.CharField(_("12345 ticket number"), max_length=40, blank=True, default="")
    source_ref = models.CharField(max_length=64, blank=True, default="")  # a device alarm, an Open311 token

    # Owner (首接负责): exactly one of a place (grid/community/street), a department, a
    # property company. It changes only when the owner hands the case on or it is escalated.
    owner_place = models.ForeignKey(Place, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    owner_place_path = PathField(blank=True, default="")
    owner_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_cases"
    )
    owner_property_company = models.ForeignKey(
        PropertyCompany, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_cases"
    )
    first_owner_label = models.CharField(max_length=100, blank=True, default="")
    escalation_level = models.PositiveSmallIntegerField(default=0)

    # Lead handler (主办): a unit and, once someone takes it, a person.
    handler_place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handler_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="handled_cases"
    )
    handler_property_company = models.ForeignKey(
        PropertyCompany, null=True, blank=True, on_delete=models.PROTECT, related_name="handled_cases"
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # SLA: the policy, the deadlines, and what the sweep has already done.
    sla_policy = models.ForeignKey(SlaPolicy, on_delete=models.PROTECT, related_name="+")
    respond_due_at = models.DateTimeField()
    due_at = models.DateTimeField(_("deadline"))
    warn_at = models.DateTimeField()
    next_sweep_at = models.DateTimeField(null=True, blank=True)
    warned = models.BooleanField(default=False)
    overdue = models.BooleanField(_("overdue"), default=False)
    overdue_at = models.DateTimeField(null=True, blank=True)
    supervised = models.BooleanField(_("supervised"), default=False)
    supervised_at = models.DateTimeField(null=True, blank=True)
    extension_count = models.PositiveSmallIntegerField(default=0)
    reopen_count = models.PositiveSmallIntegerField(default=0)

    # Whistle (吹哨报到): the department called and when it must report in.
    whistle_kind = models.CharField(max_length=16, choices=WhistleKind.choices, blank=True, default="")
    whistle_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="whistled_cases"
    )
    whistle_due_at = models.DateTimeField(null=True, blank=True)
    whistle_reported_at = models.DateTimeField(null=True, blank=True)
    whistle_missed = models.BooleanField(default=False)

    # Milestones, kept for the metrics (docs/cases/metrics.md).
    created_at = models.DateTimeField(_("received at"))
    updated_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    first_resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reply = models.TextField(_("reply to the reporter"), blank=True, default="")
    rating = models.CharField(_("rating"), max_length=16, choices=Rating.choices, blank=True, default="")
    rating_comment = models.CharField(max_length=500, blank=True, default="")
    rated_at = models.DateTimeField(null=True, blank=True)
    responded_on_time = models.BooleanField(null=True, blank=True)
    resolved_on_time = models.BooleanField(null=True, blank=True)

    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    # Optimistic concurrency: every transition bumps it; a stale write is a 409.
    version = models.PositiveIntegerField(default=1)

    objects: ClassVar[ScopedQuerySet[Case]] = ScopedQuerySet.as_manager()  # type: ignore[assignment]
    scope_spec = ScopeSpec(
        place_path=("place_path", "owner_place_path"),
        personal=True,
        department=("owner_department", "handler_department", "whistle_department", "assists__department"),
        property_company=("owner_property_company", "handler_property_company"),
        owner=("reporters__user", "handler", "assists__user"),
    )

    class Meta:
        verbose_name = _("case")
        indexes = [
            # LIKE 'prefix%' on PostgreSQL needs the pattern operator class.
            models.Index(
                fields=["place_path", "created_at"],
                name="case_path_created",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            ),
            models.Index(
                fields=["owner_place_path"], name="case_owner_path", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["state", "due_at"], name="case_state_due"),
            models.Index(fields=["next_sweep_at"], name="case_next_sweep"),
            models.Index(fields=["owner_department", "state"], name="case_owner_dept_state"),
            models.Index(fields=["handler_department", "state"], name="case_handler_dept_state"),
            models.Index(fields=["handler", "state"], name="case_handler_state"),
            models.Index(fields=["category", "state", "created_at"], name="case_category_state"),
            models.Index(fields=["created_at"], name="case_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        owner_place__isnull=False,
                        owner_department__isnull=True,
                        owner_property_company__isnull=True,
                    )
                    | models.Q(
                        owner_place__isnull=True,
                        owner_department__isnull=False,
                        owner_property_company__isnull=True,
                    )
                    | models.Q(
                        owner_place__isnull=True,
                        owner_department__isnull=True,
                        owner_property_company__isnull=False,
                    )
                ),
                name="case_exactly_one_owner",
            ),
            models.UniqueConstraint(
                fields=["hotline_ticket"],
                condition=~models.Q(hotline_ticket=""),
                name="case_hotline_ticket_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def owner_label(self) -> str:
        unit: Any = self.owner_place or self.owner_department or self.owner_property_company
        return str(unit) if unit is not None else ""

    @property
    def handler_label(self) -> str:
        unit: Any = self.handler_place or self.handler_department or self.handler_property_company
        return str(unit) if unit is not None else ""


class CaseReporter(models.Model):
    """Someone who reported the matter (反映人): the first reporter and every "me too"."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reporters")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("name"), max_length=64, blank=True, default="")
    phone = EncryptedTextField(_("phone"), blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    # What the reporter types on the tracking page (查询码). Unique, random, unguessable.
    tracking_code = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField()

    scope_spec = ScopeSpec(
        place_path="case__place_path", personal=True, owner="user", department="case__owner_department"
    )

    class Meta:
        verbose_name = _("reporter")
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.name or self.user_id}"


class CaseAssist(models.Model):
    """An assisting handler (协办): a unit or person helping the lead handler."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assists")
    place = models.ForeignKey(Place, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    property_company = models.ForeignKey(
        PropertyCompany, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField()

    class Meta:
        verbose_name = _("assisting handler")

    def __str__(self) -> str:
        unit: Any = self.place or self.department or self.property_company or self.user
        return str(unit)


class CaseEvent(models.Model):
    """One row of a case's timeline (办理记录): every transition writes one."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=16, blank=True, default="")
    to_state = models.CharField(max_length=16, blank=True, default="")
    note = models.TextField(blank=True, default="")
    # Shown to the reporter on the tracking page (the reply, the rating, the milestones).
    public = models.BooleanField(default=False)
    data = models.JSONField(default=dict, blank=True)

    scope_spec = ScopeSpec(
        place_path="case__place_path",
        personal=True,
        department="case__handler_department",
        owner="case__handler",
    )

    class Meta:
        verbose_name = _("timeline entry")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["case", "at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"


class Attachment(models.Model):
    """A photo on a case or a timeline entry, served only through scope."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(
        CaseEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to="cases/%Y/%m/")
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("attachment")

    def __str__(self) -> str:
        return self.file.name


class Extension(models.Model):
    """A request for more time (延期申请), approved or refused by the owner or supervisor."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    amount = models.PositiveIntegerField(_("extra time"))
    unit = models.CharField(max_length=16, choices=SlaUnit.choices)
    reason = models.TextField(_("reason"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("extension request")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(status="pending"), name="extension_one_pending_per_case"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} +{self.amount} {self.unit}"
