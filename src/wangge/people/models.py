"""The people and houses registry: houses, households, residents, care groups, consent.

ID and phone numbers are encrypted (``core.pii``) with a keyed hash beside them for exact
lookup; health notes and care-group details are shown only to roles that need them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.core.pii import EncryptedTextField
from wangge.core.scope import ScopedQuerySet, ScopeSpec
from wangge.places.models import Place


class HouseUse(models.TextChoices):
    OWNER_OCCUPIED = "owner_occupied", _("Owner-occupied")
    RENTED = "rented", _("Rented")
    VACANT = "vacant", _("Vacant")
    COMMERCIAL = "commercial", _("Commercial")
    OTHER = "other", _("Other")


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")
    UNKNOWN = "unknown", _("Unknown")


class Registration(models.TextChoices):
    REGISTERED = "registered", _("Registered (hukou)")
    RESIDENT = "resident", _("Actual resident")
    FLOATING = "floating", _("Floating population")


class ResidentStatus(models.TextChoices):
    ACTIVE = "active", _("Living here")
    MOVED_OUT = "moved_out", _("Moved out")
    DECEASED = "deceased", _("Deceased")


class Relation(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    GRANDCHILD = "grandchild", _("Grandchild")
    GRANDPARENT = "grandparent", _("Grandparent")
    SIBLING = "sibling", _("Sibling")
    CHILD_IN_LAW = "child_in_law", _("Son- or daughter-in-law")
    OTHER = "other", _("Other")


class House(models.Model):
    """A dwelling in the registry (房屋): room, floor, area and use."""

    place = models.OneToOneField(Place, on_delete=models.PROTECT, related_name="house")
    room_number = models.CharField(_("room number"), max_length=16)
    floor = models.SmallIntegerField(_("floor"), null=True, blank=True)
    area_m2 = models.DecimalField(_("area (m²)"), max_digits=7, decimal_places=2, null=True, blank=True)
    use = models.CharField(_("use"), max_length=16, choices=HouseUse.choices, default=HouseUse.OWNER_OCCUPIED)
    use_changed_on = models.DateField(_("use changed on"), null=True, blank=True)
    owner = models.ForeignKey(
        "Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_houses"
    )
    owner_name = models.CharField(_("owner (not a resident here)"), max_length=64, blank=True, default="")
    tenants: models.ManyToManyField[Resident, Any] = models.ManyToManyField(
        "Resident", blank=True, related_name="rented_houses"
    )
    updated_at = models.DateTimeField()

    objects: ClassVar[ScopedQuerySet[House]] = ScopedQuerySet.as_manager()  # type: ignore[assignment]
    scope_spec = ScopeSpec(place_path="place__path", personal=True)

    class Meta:
        verbose_name = _("house")
        indexes = [models.Index(fields=["use"])]

    def __str__(self) -> str:
        return self.room_number


class Household(models.Model):
    """A household (户): the people registered together in one house."""

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="households")
    number = models.CharField(_("household number"), max_length=32, blank=True, default="")
    head = models.ForeignKey("Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects: ClassVar[ScopedQuerySet[Household]] = ScopedQuerySet.as_manager()  # type: ignore[assignment]
    scope_spec = ScopeSpec(place_path="place__path", personal=True, owner="members__user_id")

    class Meta:
        verbose_name = _("household")

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"


class Resident(models.Model):
    """A resident (居民)."""

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="residents")
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    relation_to_head = models.CharField(
        _("relation to the head"), max_length=16, choices=Relation.choices, default=Relation.HEAD
    )
    name = models.CharField(_("name"), max_length=64)
    # Search keys: full pinyin without spaces ("zhangsan") and initials ("zs").
    name_pinyin = models.CharField(max_length=255, blank=True, default="")
    name_initials = models.CharField(max_length=64, blank=True, default="")
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, default=Gender.UNKNOWN)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=2, blank=True, default="")
    id_number = EncryptedTextField(_("ID number"), blank=True, default="")
    id_hash = models.CharField(max_length=64, blank=True, default="")
    registration = models.CharField(
        _("registration"), max_length=16, choices=Registration.choices, default=Registration.REGISTERED
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ResidentStatus.choices, default=ResidentStatus.ACTIVE
    )
    moved_in_on = models.DateField(_("moved in on"), null=True, blank=True)
    moved_in_reason = models.CharField(_("reason for moving in"), max_length=200, blank=True, default="")
    moved_out_on = models.DateField(_("moved out on"), null=True, blank=True)
    moved_out_reason = models.CharField(_("reason for moving out"), max_length=200, blank=True, default="")
    health_notes = EncryptedTextField(_("health notes"), blank=True, default="")
    # The resident's own account, when they have one: they see their own records.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="resident"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects: ClassVar[ScopedQuerySet[Resident]] = ScopedQuerySet.as_manager()  # type: ignore[assignment]
    scope_spec = ScopeSpec(place_path="place__path", personal=True, owner="user_id")

    class Meta:
        verbose_name = _("resident")
        constraints = [
            models.UniqueConstraint(
                fields=["id_hash"], condition=~models.Q(id_hash=""), name="resident_id_hash_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["name_initials"]),
            models.Index(fields=["name_pinyin"]),
            models.Index(fields=["name"]),
            models.Index(fields=["birth_date"]),
            # Lists and figures are driven by place: (place, status) serves "living here" under
            # a subtree without the planner falling back to a low-selectivity status index.
            models.Index(fields=["place", "status"], name="resident_place_status"),
        ]

    def __str__(self) -> str:
        return self.name


class ResidentPhone(models.Model):
    """A phone number of a resident (联系电话), encrypted."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="phones")
    phone = EncryptedTextField(_("phone"))
    phone_hash = models.CharField(max_length=64, db_index=True)
    label = models.CharField(_("label"), max_length=16, blank=True, default="")
    is_primary = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("phone number")
        constraints = [
            models.UniqueConstraint(fields=["resident", "phone_hash"], name="resident_phone_unique"),
        ]

    def __str__(self) -> str:
        return f"phone of {self.resident_id}"


class EmergencyContact(models.Model):
    """An emergency contact of a resident (紧急联系人)."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="emergency_contacts")
    name = models.CharField(_("name"), max_length=64)
    relation = models.CharField(_("relation"), max_length=32)
    phone = EncryptedTextField(_("phone"))
    phone_hash = models.CharField(max_length=64, db_index=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("emergency contact")
        ordering = ["sort_order", "pk"]

    def __str__(self) -> str:
        return self.name


class Consent(models.Model):
    """A resident's consent to a purpose of processing their data (知情同意), under PIPL."""

    class Channel(models.TextChoices):
        PAPER = "paper", _("Signed on paper")
        APP = "app", _("In the app")
        VERBAL = "verbal", _("Verbally, recorded by staff")
        OTHER = "other", _("Other")

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=200)
    given_on = models.DateField(_("given on"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("consent")

    def __str__(self) -> str:
        return self.purpose


class CareGroup(models.Model):
    """A group that needs care or attention (重点人群), e.g. elderly living alone (独居老人)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True, default="")
    # Sensitive groups (health, disability, income) are shown only to roles that need them.
    is_sensitive = models.BooleanField(_("sensitive"), default=False)
    has_grade = models.BooleanField(_("has a grade"), default=False)
    # How often staff should visit members, in days (field work); empty means no schedule.
    visit_every_days = models.PositiveSmallIntegerField(_("visit every (days)"), null=True, blank=True)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("care group")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class CareGroupMembership(models.Model):
    """A resident's membership of a care group, with its dates and notes."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="care_groups")
    group = models.ForeignKey(CareGroup, on_delete=models.PROTECT, related_name="memberships")
    grade = models.CharField(_("grade"), max_length=16, blank=True, default="")
    start_on = models.DateField(_("from"))
    end_on = models.DateField(_("until"), null=True, blank=True)
    notes = EncryptedTextField(_("notes"), blank=True, default="")

    class Meta:
        verbose_name = _("care-group membership")
        indexes = [models.Index(fields=["group", "end_on"])]

    def __str__(self) -> str:
        return f"{self.resident_id} in {self.group_id}"


class ResidentMove(models.Model):
    """A move in or out (人口迁入迁出), kept for monthly movement figures."""

    class Kind(models.TextChoices):
        IN = "in", _("Moved in")
        OUT = "out", _("Moved out")

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="moves")
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    on = models.DateField()
    reason = models.CharField(max_length=200, blank=True, default="")

    objects: ClassVar[ScopedQuerySet[ResidentMove]] = ScopedQuerySet.as_manager()  # type: ignore[assignment]
    scope_spec = ScopeSpec(place_path="place__path", personal=True)

    class Meta:
        verbose_name = _("move")
        indexes = [models.Index(fields=["kind", "on"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.on}"


class LedgerJob(models.Model):
    """An Excel ledger import run (台账导入), in the background, with its progress and report.

    The uploaded workbook is kept sealed (AES-GCM) under ``MEDIA_ROOT/ledger/`` until the job
    is committed or expires. A job is seen only by the user who started it (and administrators):
    its report names the rows of their own file, including rows refused as outside their scope.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        REJECTED = "rejected", _("Rejected: the file has invalid rows")
        FAILED = "failed", _("Failed")

    dry_run = models.BooleanField(_("dry run"), default=True)
    skip_invalid = models.BooleanField(_("import the valid rows"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    filename = models.CharField(_("file name"), max_length=200, blank=True, default="")
    # Relative to MEDIA_ROOT; emptied when the sealed upload is deleted.
    file = models.CharField(max_length=200, blank=True, default="")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    report = models.JSONField(null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True, default="")
    # The narrowest place covering the houses the import wrote to, once known.
    place = models.ForeignKey(Place, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="commits"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[ScopedQuerySet[LedgerJob]] = ScopedQuerySet.as_manager()  # type: ignore[assignment]
    scope_spec = ScopeSpec(place_path=None, personal=True, owner="created_by_id")

    class Meta:
        verbose_name = _("ledger import")
        indexes = [models.Index(fields=["created_by", "created_at"])]

    def __str__(self) -> str:
        return self.filename or f"#{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.REJECTED, self.Status.FAILED)
