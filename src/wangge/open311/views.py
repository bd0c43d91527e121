"""The GeoReport v2 endpoints: parse, authenticate the API key, call a selector or service, render.

The endpoints are for machines: POST requests is authenticated by its API key, not by a
session, so it is exempt from CSRF, and a signed-in session gives an Open311 caller nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from wangge.core.errors import DomainError
from wangge.open311 import params, present, selectors, services
from wangge.open311.formats import FORMATS, error, render
from wangge.open311.models import Open311Client

View = Callable[..., HttpResponse]


class BadKey(DomainError):
    status = 403
    code = "bad_api_key"


def _language(request: HttpRequest) -> str | None:
    """The ``locale`` parameter (en, zh-CN…) overrides Accept-Language."""
    value = (request.GET.get("locale") or request.POST.get("locale") or "").strip().lower()
    if value.startswith("en"):
        return "en"
    if value.startswith("zh"):
        return "zh-hans"
    return None


def endpoint(*methods: str) -> Callable[[View], View]:
    """Check the format and the method, apply ``locale``, and answer domain errors in the spec's format."""

    allowed = (*methods, "HEAD") if "GET" in methods else methods

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponse:
            fmt = fmt.lower()
            with translation.override(_language(request) or translation.get_language()):
                if fmt not in FORMATS:
                    return error("json", 404, _("Unknown format: use .json or .xml"))
                if request.method not in allowed:
                    response = error(fmt, 405, _("Method not allowed"))
                    response["Allow"] = ", ".join(allowed)
                    return response
                try:
                    return view(request, *args, fmt=fmt, **kwargs)
                except DomainError as exc:
                    return error(fmt, exc.status, exc.message)

        return wrapper

    return decorate


def _client(values: QueryDict, *, required: bool) -> Open311Client | None:
    key = values.get("api_key", "")
    if not key:
        if required:
            raise BadKey(_("An api_key is required to submit requests"))
        return None
    client = services.client_authenticate(key)
    if client is None:
        raise BadKey(_("The api_key is not valid"))
    return client


@endpoint("GET")
def discovery(request: HttpRequest, *, fmt: str) -> HttpResponse:
    base = reverse("open311:discovery", kwargs={"fmt": fmt}).removesuffix(f"discovery.{fmt}")
    data = present.discovery(request.build_absolute_uri(base))
    return render(fmt, data, root="discovery", item=None)


@endpoint("GET")
def service_list(request: HttpRequest, *, fmt: str) -> HttpResponse:
    return render(fmt, selectors.services(), root="services", item="service")


@endpoint("GET")
def service_definition(request: HttpRequest, code: str, *, fmt: str) -> HttpResponse:
    return render(fmt, selectors.service_definition(code), root="service_definition", item=None)


@csrf_exempt
@endpoint("GET", "POST")
def request_list(request: HttpRequest, *, fmt: str) -> HttpResponse:
    if request.method == "POST":
        client = _client(request.POST if "api_key" in request.POST else request.GET, required=True)
        assert client is not None
        filed = services.request_submit(
            client=client,
            submission=params.submission(request.POST),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        data = [present.submitted(filed.case, filed.token)]
        return render(
            fmt, data, root="service_requests", item="request", status=201 if filed.created else 200
        )
    client = _client(request.GET, required=False)
    found = selectors.requests(client, params.request_filter(request.GET))
    return render(fmt, found, root="service_requests", item="request")


request_list.http_methods = ("GET", "POST")  # type: ignore[attr-defined]


@endpoint("GET")
def request_detail(request: HttpRequest, number: str, *, fmt: str) -> HttpResponse:
    client = _client(request.GET, required=False)
    return render(fmt, selectors.request_one(client, number), root="service_requests", item="request")


@endpoint("GET")
def token(request: HttpRequest, value: str, *, fmt: str) -> HttpResponse:
    return render(fmt, selectors.token(value), root="service_requests", item="request")


def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    fmt = "xml" if rest.lower().endswith(".xml") else "json"
    return error(fmt, 404, _("Not found. The endpoints are listed in discovery.json"))
