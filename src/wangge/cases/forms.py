"""Forms of the request pages: filters, intake (staff and resident), the workflow actions, rating.

Forms only parse and check the shape of the input; every rule about who may do what, and
every write, is in ``cases.services`` (its ``DomainError`` is shown as a form error).
Choices that name other records (where to send a case, which building) are built from what
the user may see, so an id from outside that set is refused here already.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.validators import MaxValueValidator
from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from wangge.cases import routing, selectors
from wangge.cases.models import (
    Case,
    Category,
    Channel,
    Priority,
    Rating,
    SlaUnit,
    State,
    WhistleKind,
)
from wangge.cases.services import Target
from wangge.cases.workflow import TRANSITIONS
from wangge.core import clock
from wangge.core.models import User
from wangge.core.roles import CAPABILITIES, CO_BUILDING_SUPERVISOR_ROLES, TERRITORIAL_ROLES, Capability
from wangge.core.scope import has_capability, scope_for
from wangge.org.models import Assignment, Department, PropertyCompany
from wangge.places.models import Place, PlaceKind

TEXTAREA = {"rows": 3, "maxlength": 2000}
# Kinds a case is sent to, and kinds a reporter may point at.
UNIT_KINDS = (PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.GRID, PlaceKind.MICRO_GRID)
REPORT_KINDS = (
    PlaceKind.STREET,
    PlaceKind.COMMUNITY,
    PlaceKind.GRID,
    PlaceKind.MICRO_GRID,
    PlaceKind.BUILDING,
    PlaceKind.UNIT,
    PlaceKind.HOUSE,
)
MAX_TARGETS = 300


def _choices(form: forms.Form, name: str, choices: Any) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def new_key() -> str:
    return uuid.uuid4().hex


def category_name(category: Category) -> str:
    """A category's name in the page's language (the configured name is Chinese)."""
    language = get_language() or ""
    if not language.startswith("zh") and category.name_en:
        return category.name_en
    return category.name


def category_choices() -> list[tuple[Any, Any]]:
    """Two levels: each top category a group of its children (a childless one stands alone)."""
    cats = list(selectors.categories_active())
    children: dict[int, list[Category]] = {}
    for cat in cats:
        if cat.parent_id:
            children.setdefault(cat.parent_id, []).append(cat)
    choices: list[tuple[Any, Any]] = [("", _("Choose a category"))]
    for cat in cats:
        if cat.parent_id:
            continue
        kids = children.get(cat.pk, [])
        if kids:
            choices.append((category_name(cat), [(k.code, f"{k.code} {category_name(k)}") for k in kids]))
        else:
            choices.append((cat.code, f"{cat.code} {category_name(cat)}"))
    return choices


def category_by_code(code: str) -> Category | None:
    return selectors.categories_active().filter(code=code).first()


def photos_from(request: HttpRequest, field: str = "photos") -> tuple[list[bytes], str]:
    """The uploaded photos' bytes, or an error message (too many, too large)."""
    files = [f for f in request.FILES.getlist(field) if f.size]
    if len(files) > settings.CASES_MAX_PHOTOS:
        return [], str(_("At most %(n)d photos may be attached") % {"n": settings.CASES_MAX_PHOTOS})
    limit = settings.CASES_MAX_PHOTO_BYTES
    for f in files:
        if f.size is not None and f.size > limit:
            return [], str(_("A photo is larger than %(mb)d MB") % {"mb": limit // 2**20})
    return [f.read() for f in files], ""


# --- filters --------------------------------------------------------------------------------


def _date_start(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.combine(value, time.min, tzinfo=clock.LOCAL_TZ)


class QueueFilterForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), required=False)
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", _("All")), *Priority.choices]
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All")), *Channel.choices]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        top = [
            (c.code, f"{c.code} {category_name(c)}") for c in selectors.categories_active() if not c.parent_id
        ]
        _choices(self, "category", [("", _("All")), *top])

    def to_filter(self) -> selectors.CaseFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return selectors.CaseFilter(
            category=data.get("category") or "",
            priority=data.get("priority") or "",
            channel=data.get("channel") or "",
        )


YES_NO = [("", _("All")), ("1", _("Yes")), ("0", _("No"))]


class CaseFilterForm(QueueFilterForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=50)
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("All")), ("open", _("All open")), *State.choices],
    )
    place = forms.ChoiceField(label=_("Place"), required=False)
    overdue = forms.ChoiceField(label=_("Overdue"), required=False, choices=YES_NO)
    supervised = forms.ChoiceField(label=_("Supervised"), required=False, choices=YES_NO)
    created_from = forms.DateField(
        label=_("Received from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=_("Received until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    field_order = ["q", "state", "category", "priority", "channel", "place", "overdue", "supervised"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.places = {
            str(p.pk): p
            for p in Place.objects.visible_to(user)
            .filter(kind__in=UNIT_KINDS)
            .defer("boundary")
            .order_by("path")[:MAX_TARGETS]
        }
        _choices(
            self,
            "place",
            [
                ("", _("Everywhere in my area")),
                *[(k, f"{p.name} · {p.get_kind_display()}") for k, p in self.places.items()],
            ],
        )

    def to_filter(self) -> selectors.CaseFilter:
        data = self.cleaned_data if self.is_valid() else {}
        place = self.places.get(data.get("place") or "")
        end = data.get("created_to")
        return selectors.CaseFilter(
            state=data.get("state") or "",
            category=data.get("category") or "",
            priority=data.get("priority") or "",
            channel=data.get("channel") or "",
            place_path=place.path if place else "",
            overdue={"1": True, "0": False}.get(data.get("overdue") or ""),
            supervised={"1": True, "0": False}.get(data.get("supervised") or ""),
            q=data.get("q") or "",
            created_from=_date_start(data.get("created_from")),
            created_to=_date_start(end + timedelta(days=1)) if end else None,
        )


# --- where a case may be sent ----------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    group: str


def _handle_roles() -> list[str]:
    return [role for role, caps in CAPABILITIES.items() if Capability.CASE_HANDLE in caps]


def _base_path(case: Case) -> str:
    if case.owner_place_path:
        return case.owner_place_path
    return routing.street_of(case.place).path


def unit_choices(user: Any, case: Case, *, people: bool = True) -> list[Choice]:
    """Units (and people) the user may send this case to: grids, communities and the street
    under the owning unit where the user dispatches, their handlers, the departments over
    the place, the property company managing it."""
    return [
        *territory_choices(user, case, people=people),
        *department_choices(case),
        *company_choices(routing.property_company_of(case.place)),
    ]


def company_choices(company: Any) -> list[Choice]:
    return (
        [] if company is None else [Choice(f"company:{company.pk}", company.name, str(_("Property company")))]
    )


def territory_choices(user: Any, case: Case, *, people: bool = True) -> list[Choice]:
    """The grids, communities and street (and their handlers) under the owning unit."""
    base = _base_path(case)
    out: list[Choice] = []
    kinds: list[str] = [PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.GRID]
    if case.owner_place is not None and case.owner_place.kind in (PlaceKind.GRID, PlaceKind.MICRO_GRID):
        kinds.append(PlaceKind.MICRO_GRID)
    places = (
        Place.objects.visible_to(user)
        .filter(path__under=base, kind__in=kinds)
        .defer("boundary")
        .order_by("path")[:MAX_TARGETS]
    )
    units = str(_("Grids, communities, street"))
    for p in places:
        if has_capability(user, Capability.CASE_DISPATCH, p.path):
            out.append(Choice(f"place:{p.pk}", f"{p.name} · {p.get_kind_display()}", units))
    if people:
        persons = str(_("People"))
        rows = (
            Assignment.objects.visible_to(user)
            .filter(
                is_active=True,
                role__in=_handle_roles(),
                place__path__under=base,
                place__kind__in=UNIT_KINDS,
                user__is_active=True,
            )
            .select_related("user", "place")
            .order_by("place__path", "user__username")[:MAX_TARGETS]
        )
        for a in rows:
            if has_capability(user, Capability.CASE_DISPATCH, a.place.path):
                label = f"{a.user.label} · {a.place.name} · {a.get_role_display()}"
                out.append(Choice(f"user:{a.user_id}:{a.place_id}", label, persons))
    return out


def department_choices(case: Case) -> list[Choice]:
    group = str(_("Departments"))
    return [Choice(f"dept:{d.pk}", d.name, group) for d in routing.departments_over(case.place)]


def owner_choices(case: Case) -> list[Choice]:
    """Units that may take over ownership (hand on): the grid, community and street of the
    place, the departments over it, its property company."""
    units = str(_("Grids, communities, street"))
    out = [
        Choice(f"place:{p.pk}", f"{p.name} · {p.get_kind_display()}", units)
        for p in reversed(routing.ancestors(case.place))
        if p.kind in (PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.GRID, PlaceKind.MICRO_GRID)
        and p.pk != case.owner_place_id
    ]
    out += department_choices(case)
    company = routing.property_company_of(case.place)
    if company is not None and company.pk != case.owner_property_company_id:
        out.append(Choice(f"company:{company.pk}", company.name, str(_("Property company"))))
    return out


def grouped(choices: list[Choice], empty: Any = None) -> list[tuple[Any, Any]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for c in choices:
        groups.setdefault(c.group, []).append((c.value, c.label))
    head: list[tuple[Any, Any]] = [("", empty)] if empty is not None else []
    return [*head, *groups.items()]


def target_from(value: str) -> Target:
    kind, _sep, rest = value.partition(":")
    ids = [int(x) for x in rest.split(":") if x.isdigit()]
    if kind == "place" and ids:
        return Target(place=Place.objects.get(pk=ids[0]))
    if kind == "user" and len(ids) == 2:
        return Target(user=User.objects.get(pk=ids[0]), place=Place.objects.get(pk=ids[1]))
    if kind == "dept" and ids:
        return Target(department=Department.objects.get(pk=ids[0]))
    if kind == "company" and ids:
        return Target(property_company=PropertyCompany.objects.get(pk=ids[0]))
    raise ValueError(value)


# --- workflow actions ---------------------------------------------------------------------------


NOTE_LABELS = {
    "resolve": _("Reply to the reporter"),
    "return": _("Reason for returning"),
    "cancel": _("Reason (the reporter sees it)"),
    "request_extension": _("Reason"),
    "refuse_extension": _("Reason"),
}


class ActionForm(forms.Form):
    """Every action form: the case version the page showed (a stale page gets a conflict) and
    a note (required where the workflow says so)."""

    action = ""
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    note = forms.CharField(label=_("Note"), max_length=2000, widget=forms.Textarea(attrs=TEXTAREA))

    def __init__(self, *args: Any, action: str, user: Any, case: Case, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", action)
        super().__init__(*args, **kwargs)
        self.action = action
        self.user = user
        self.case = case
        self.fields["version"].initial = case.version
        note = self.fields["note"]
        note.required = TRANSITIONS[action].note_required if action in TRANSITIONS else False
        note.label = NOTE_LABELS.get(action, note.label)
        self.setup()
        self.order_fields([name for name in self.fields if name != "note"] + ["note"])

    def setup(self) -> None:
        """Subclasses add their choices here."""

    @property
    def label(self) -> str:
        t = TRANSITIONS.get(self.action)
        return str(t.label) if t else self.action

    @property
    def has_photos(self) -> bool:
        return self.action in ("resolve", "progress")


class TargetForm(ActionForm):
    target = forms.ChoiceField(label=_("Send to"))
    choices: list[Choice]

    def setup(self) -> None:
        if self.action == "hand_on":
            self.choices = owner_choices(self.case)
            self.fields["target"].label = _("New owner")
        else:
            self.choices = unit_choices(self.user, self.case)
        _choices(self, "target", grouped(self.choices, _("Choose")))

    def clean_target(self) -> Target:
        value = self.cleaned_data["target"]
        try:
            return target_from(value)
        except (ValueError, ObjectDoesNotExist) as exc:
            raise forms.ValidationError(_("Choose where to send the case")) from exc


class EscalateForm(ActionForm):
    department = forms.ChoiceField(label=_("Department (only above the street office)"), required=False)

    def setup(self) -> None:
        _choices(self, "department", grouped(department_choices(self.case), _("The next level up")))

    def clean_department(self) -> Department | None:
        value = self.cleaned_data.get("department") or ""
        return Department.objects.get(pk=int(value.split(":")[1])) if value else None


class WhistleForm(ActionForm):
    department = forms.ChoiceField(label=_("Department"))
    kind = forms.ChoiceField(label=_("Kind of whistle"), choices=WhistleKind.choices)

    def setup(self) -> None:
        _choices(self, "department", grouped(department_choices(self.case), _("Choose")))

    def clean_department(self) -> Department:
        return Department.objects.get(pk=int(self.cleaned_data["department"].split(":")[1]))


class ExtensionForm(ActionForm):
    amount = forms.IntegerField(label=_("Extra time"), min_value=1)

    def setup(self) -> None:
        policy = self.case.sla_policy
        self.fields["amount"].widget.attrs.update({"max": policy.max_extension, "inputmode": "numeric"})
        self.fields["amount"].help_text = _("In %(unit)s, at most %(n)d") % {
            "unit": SlaUnit(policy.resolve_unit).label,
            "n": policy.max_extension,
        }
        self.fields["amount"].validators.append(MaxValueValidator(policy.max_extension))


class DecideExtensionForm(ActionForm):
    extension = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class MergeForm(ActionForm):
    into = forms.CharField(label=_("Number of the case to keep"), max_length=24)

    def clean_into(self) -> Case:
        number = self.cleaned_data["into"].strip()
        found = selectors.cases_visible(self.user).filter(number=number).first()
        if found is None:
            raise forms.ValidationError(_("No case with this number in your area"))
        return found


ACTION_FORMS: dict[str, type[ActionForm]] = {
    "dispatch": TargetForm,
    "hand_on": TargetForm,
    "assist": TargetForm,
    "escalate": EscalateForm,
    "whistle": WhistleForm,
    "request_extension": ExtensionForm,
    "approve_extension": DecideExtensionForm,
    "refuse_extension": DecideExtensionForm,
    "merge": MergeForm,
}
SIMPLE_ACTIONS = (
    "recall",
    "accept",
    "start",
    "progress",
    "resolve",
    "return",
    "supervise",
    "reopen",
    "close",
    "cancel",
)


def action_form(
    action: str, user: Any, case: Case, data: Any = None, *, auto_id: str = "id_%s"
) -> ActionForm:
    cls = ACTION_FORMS.get(action, ActionForm)
    return cls(data, action=action, user=user, case=case, auto_id=auto_id)


def form_actions() -> frozenset[str]:
    return frozenset({*ACTION_FORMS, *SIMPLE_ACTIONS})


# --- rating ---------------------------------------------------------------------------------


class RatingForm(forms.Form):
    rating = forms.ChoiceField(
        label=_("How satisfied are you?"), choices=Rating.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("rating") == Rating.UNSATISFIED and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Tell us what is still wrong, so it can be put right"))
        return data


# --- intake -----------------------------------------------------------------------------------


def channels_for(user: Any) -> list[tuple[str, str]]:
    """The channels a staff user may register a case through."""
    scope = scope_for(user)
    out: list[tuple[str, str]] = []
    if scope.is_admin or (scope.roles & TERRITORIAL_ROLES and has_capability(user, Capability.CASE_REPORT)):
        out.append((Channel.PATROL, str(Channel.PATROL.label)))
    if has_capability(user, Capability.CASE_INTAKE):
        out += [
            (Channel.HOTLINE, str(Channel.HOTLINE.label)),
            (Channel.WALK_IN, str(Channel.WALK_IN.label)),
        ]
    if scope.is_admin or scope.roles & CO_BUILDING_SUPERVISOR_ROLES:
        out.append((Channel.CO_BUILDING, str(Channel.CO_BUILDING.label)))
    return out


class _IntakeBase(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    category = forms.ChoiceField(label=_("Category"))
    place = forms.IntegerField(required=False, min_value=1)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90)
    lng = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180)
    description = forms.CharField(
        label=_("What is the matter?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
    )
    me_too = forms.CharField(required=False, max_length=24)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "category", category_choices())
        self.fields["category"].widget.attrs.update({"id": "f-category", "class": "wg-similar-source"})
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_key())

    def clean_category(self) -> Category:
        found = category_by_code(self.cleaned_data["category"])
        if found is None:
            raise forms.ValidationError(_("Choose a category"))
        return found

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("lat") is None) != (data.get("lng") is None):
            self.add_error(None, _("The shared location is incomplete; share it again"))
        return data


class IntakeForm(_IntakeBase):
    """A case registered by staff: patrol, hotline transfer, walk-in, co-building supervisor."""

    channel = forms.ChoiceField(label=_("Channel"), widget=forms.RadioSelect)
    handle_myself = forms.BooleanField(label=_("I will handle it myself"), required=False)
    hotline_ticket = forms.CharField(label=_("12345 ticket number"), required=False, max_length=40)
    reporter_name = forms.CharField(label=_("Caller's name"), required=False, max_length=64)
    reporter_phone = forms.CharField(
        label=_("Caller's phone"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    title = forms.CharField(label=_("Title (optional)"), required=False, max_length=100)

    field_order = ["channel", "category", "priority", "title", "description"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channels = channels_for(user)
        _choices(self, "channel", channels)
        if channels and not self.is_bound:
            self.initial.setdefault("channel", channels[0][0])


class ReportForm(_IntakeBase):
    """A resident's report on the web, signed in or not."""

    reporter_name = forms.CharField(label=_("Your name (optional)"), required=False, max_length=64)
    reporter_phone = forms.CharField(
        label=_("Your mobile phone"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def __init__(self, *args: Any, signed_in: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signed_in = signed_in
        if not signed_in:
            self.fields["reporter_phone"].required = True
            self.fields["reporter_phone"].error_messages["required"] = _(
                "Leave a phone number so we can reach you"
            )
