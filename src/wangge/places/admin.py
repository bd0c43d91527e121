"""Configuration screens for the place tree (地点) and the boundary import (边界导入).

Places are created and edited through ``places.services`` and boundaries imported through
``places.importers``, so the admin obeys the same rules, bumps the locator and audits like
every other caller.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import SuperuserOnlyMixin
from wangge.core.errors import DomainError
from wangge.core.models import User
from wangge.places import services
from wangge.places.geo import validate_geometry
from wangge.places.importers import ImportReport, boundaries_import
from wangge.places.models import Place

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
READONLY_ON_CHANGE = (
    "kind",
    "code",
    "path",
    "parent",
    "grid_type",
    "depth",
    "sort_order",
    "created_at",
    "updated_at",
)
COPIED_ON_CREATE = (
    "pk",
    "segment",
    "code",
    "path",
    "depth",
    "grid_type",
    "lat",
    "lng",
    "created_at",
    "updated_at",
)

_CHANGE_LIST = """{% extends "admin/change_list.html" %}{% load i18n %}
{% block object-tools-items %}
  <li><a href="{{ import_url }}">{% translate "Import boundaries" %}</a></li>
  {{ block.super }}
{% endblock %}"""

_IMPORT_PAGE = """{% extends "admin/base_site.html" %}{% load i18n %}
{% block breadcrumbs %}<div class="breadcrumbs">
  <a href="{% url 'admin:index' %}">{% translate "Home" %}</a> ›
  <a href="{% url 'admin:places_place_changelist' %}">{{ opts.verbose_name_plural|capfirst }}</a> ›
  {{ title }}</div>{% endblock %}
{% block content %}<div id="content-main">
  <p>{{ help }}</p>
  <form method="post" enctype="multipart/form-data">{% csrf_token %}
    {{ form.as_p }}
    <div class="submit-row">
      <input type="submit" class="default" value="{% translate 'Check and import' %}">
    </div>
  </form>
  {% if report %}
    <h2>{% if report.dry_run %}{% translate "Dry run: nothing was changed" %}
        {% elif report.applied %}{% translate "Imported" %}
        {% else %}{% translate "Nothing was changed" %}{% endif %}</h2>
    <table>
      <tr><th>{% translate "features" %}</th><td>{{ report.total }}</td></tr>
      <tr><th>{% translate "matched" %}</th><td>{{ report.matched }}</td></tr>
      {% if report.dry_run %}
        <tr><th>{% translate "would change" %}</th><td>{{ report.updated_codes|length }}</td></tr>
      {% else %}
        <tr><th>{% translate "updated" %}</th><td>{{ report.updated }}</td></tr>
      {% endif %}
      <tr><th>{% translate "unchanged" %}</th><td>{{ report.unchanged }}</td></tr>
      <tr><th>{% translate "bad" %}</th><td>{{ report.errors|length }}</td></tr>
      <tr><th>{% translate "skipped" %}</th><td>{{ report.skipped }}</td></tr>
    </table>
    {% for heading, problems in problem_tables %}{% if problems %}
      <h3>{{ heading }}</h3>
      <table id="import-{{ forloop.counter }}">
        <tr><th>#</th><th>{% translate "code" %}</th><th>{% translate "reason" %}</th></tr>
        {% for e in problems %}
          <tr><td>{{ e.index }}</td><td>{{ e.code }}</td><td>{{ e.reason }}</td></tr>
        {% endfor %}
      </table>
    {% endif %}{% endfor %}
  {% endif %}
</div>{% endblock %}"""


HAS_BOUNDARY = ExpressionWrapper(Q(boundary__isnull=False), output_field=BooleanField())


def _template(source: str) -> Any:
    return engines["django"].from_string(source)


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


class BoundaryField(forms.JSONField):
    """A GeoJSON Polygon or MultiPolygon, checked as the services check it."""

    def clean(self, value: Any) -> Any:
        geometry = super().clean(value)
        if geometry in (None, "", {}):
            return None
        try:
            return validate_geometry(geometry)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None


class PlaceAddForm(ModelForm):
    boundary = BoundaryField(
        label=_("boundary"), required=False, help_text=_("GeoJSON Polygon or MultiPolygon")
    )

    class Meta:
        model = Place
        fields = ("parent", "kind", "name", "segment", "grid_type", "boundary", "lat", "lng", "sort_order")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].required = False
        self.fields["segment"].help_text = _("Leave empty to take the next free code under the parent")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            services.validate_new_place(
                kind=data.get("kind", ""),
                name=data.get("name", ""),
                parent=data.get("parent"),
                segment=data.get("segment") or None,
                grid_type=data.get("grid_type", ""),
                lat=data.get("lat"),
                lng=data.get("lng"),
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None
        return data

    def validate_unique(self) -> None:
        """Code and path are made by the service; uniqueness is its check, not the form's."""


class PlaceChangeForm(ModelForm):
    boundary = BoundaryField(
        label=_("boundary"), required=False, help_text=_("GeoJSON Polygon or MultiPolygon; empty removes it")
    )

    class Meta:
        model = Place
        fields = ("name", "boundary", "lat", "lng")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise forms.ValidationError(_("Give both latitude and longitude, or neither"))
        return data


@admin.register(Place)
class PlaceAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    """The territory tree. Codes and paths are made by the service and never edited by hand."""

    list_display = ("name", "kind", "code", "parent", "grid_type", "has_boundary", "updated_at")
    list_filter = ("kind", "grid_type")
    search_fields = ("name", "code")
    ordering = ("path",)
    list_select_related = ("parent",)
    autocomplete_fields = ("parent",)
    list_per_page = 100
    show_full_result_count = False
    actions = ("export_geojson",)

    def get_form(
        self, request: HttpRequest, obj: Place | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = PlaceChangeForm if obj is not None else PlaceAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Place | None = None) -> list[str]:  # type: ignore[override]
        if obj is None:
            return list(PlaceAddForm.Meta.fields)
        return [
            "name",
            "kind",
            "code",
            "path",
            "parent",
            "grid_type",
            "depth",
            "boundary",
            "lat",
            "lng",
            "sort_order",
            "created_at",
            "updated_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Place | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (
            "kind",
            "code",
            "path",
            "parent",
            "grid_type",
            "depth",
            "sort_order",
            "created_at",
            "updated_at",
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Place]:
        # Lists never show boundaries: leave the heavy column unread and flag its presence.
        return (
            super()
            .get_queryset(request)
            .defer("boundary")
            .annotate(
                has_boundary_flag=ExpressionWrapper(Q(boundary__isnull=False), output_field=BooleanField())
            )
        )

    @admin.display(description=_("boundary"), boolean=True, ordering="has_boundary_flag")
    def has_boundary(self, obj: Place) -> bool:
        flag = getattr(obj, "has_boundary_flag", None)
        return bool(flag) if flag is not None else obj.boundary is not None

    def has_delete_permission(self, request: HttpRequest, obj: Place | None = None) -> bool:
        # Records everywhere point at places; retire a place by editing, never by deleting.
        return False

    def save_model(self, request: HttpRequest, obj: Place, form: ModelForm[Place], change: bool) -> None:
        data = form.cleaned_data
        if change:
            boundary = data.get("boundary")
            updated = services.place_update(
                actor=_actor(request),
                place=obj,
                name=data.get("name"),
                boundary=boundary,
                clear_boundary=boundary is None and "boundary" in form.changed_data,
                lat=data.get("lat"),
                lng=data.get("lng"),
            )
            obj.boundary, obj.updated_at = updated.boundary, updated.updated_at
            return
        created = services.place_create(
            actor=_actor(request),
            kind=data["kind"],
            name=data["name"],
            parent=data.get("parent"),
            segment=data.get("segment") or None,
            grid_type=data.get("grid_type", ""),
            boundary=data.get("boundary"),
            lat=data.get("lat"),
            lng=data.get("lng"),
            sort_order=data.get("sort_order") or 0,
        )
        for name in (
            "pk",
            "segment",
            "code",
            "path",
            "depth",
            "grid_type",
            "lat",
            "lng",
            "created_at",
            "updated_at",
        ):
            setattr(obj, name, getattr(created, name))
        obj._state.adding = False
        obj._state.db = created._state.db

    # --- boundary export and import ---------------------------------------------------

    @admin.action(description=_("Export the boundaries of the selected places as GeoJSON"))
    def export_geojson(self, request: HttpRequest, queryset: QuerySet[Place]) -> HttpResponse:
        rows = (
            queryset.filter(boundary__isnull=False)
            .order_by("path")
            .values_list("id", "code", "kind", "name", "boundary")
        )
        collection = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": boundary,
                    "properties": {"id": pk, "code": code, "kind": kind, "name": name},
                }
                for pk, code, kind, name, boundary in rows.iterator(chunk_size=1000)
            ],
        }
        response = JsonResponse(collection, json_dumps_params={"ensure_ascii": False})
        response["Content-Disposition"] = 'attachment; filename="boundaries.geojson"'
        return response

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "import-boundaries/",
                self.admin_site.admin_view(self.import_boundaries_view),
                name="places_place_import_boundaries",
            )
        ]
        return custom + super().get_urls()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "import_url": reverse("admin:places_place_import_boundaries")}
        response = super().changelist_view(request, context)
        if isinstance(response, TemplateResponse):
            response.template_name = _template(_CHANGE_LIST)
        return response

    def import_boundaries_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        report: ImportReport | None = None
        if request.method == "POST":
            form = ImportBoundariesForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    report = boundaries_import(
                        actor=_actor(request),
                        feature_collection=form.cleaned_data["data"],
                        dry_run=form.cleaned_data["dry_run"],
                        skip_invalid=form.cleaned_data["skip_invalid"],
                    )
                except DomainError as exc:
                    form.add_error("file", exc.message)
                else:
                    if report.applied:
                        self.message_user(
                            request, _("%(n)d boundaries written.") % {"n": report.updated}, messages.SUCCESS
                        )
        else:
            form = ImportBoundariesForm(initial={"dry_run": True})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import boundaries"),
            "help": _(
                "Upload a GeoJSON FeatureCollection. Each feature names a place by properties.code "
                "(or properties.id) and carries its new boundary. Every feature is checked first; "
                "if any is bad, nothing is written unless you choose to skip the bad ones."
            ),
            "form": form,
            "report": report,
            "problem_tables": [
                (_("Bad features"), report.errors if report else []),
                (_("Warnings"), report.warnings if report else []),
            ],
        }
        return TemplateResponse(request, _template(_IMPORT_PAGE), context)


class ImportBoundariesForm(forms.Form):
    file = forms.FileField(label=_("GeoJSON file"))
    dry_run = forms.BooleanField(label=_("Dry run: check and report only"), required=False)
    skip_invalid = forms.BooleanField(label=_("Write the good features even if some are bad"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is None:
            return data
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB; split it."))
        try:
            data["data"] = json.loads(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("The file is not JSON (line %(line)d): %(msg)s") % {"line": exc.lineno, "msg": exc.msg}
            ) from None
        return data
