"""A checker of GeoReport v2 answers: every object has exactly the spec's fields, each of the
right type and format, in JSON and in XML (where every value is text).

Field requirements follow the GeoReport v2 specification (http://wiki.open311.org/GeoReport_v2):
services, service definitions, service requests (GET), the answer to POST requests, tokens,
discovery and errors.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from django.http import HttpResponse

W3C_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)$")

# field → kind; a kind ending in "!" must not be empty.
SERVICE = {
    "service_code": "text!",
    "service_name": "text!",
    "description": "text",
    "metadata": "bool",
    "type": "service_type",
    "keywords": "text",
    "group": "text",
}
SERVICE_DEFINITION = {"service_code": "text!", "attributes": "list"}
REQUEST = {
    "service_request_id": "text!",
    "status": "status",
    "status_notes": "text",
    "service_name": "text!",
    "service_code": "text!",
    "description": "text",
    "agency_responsible": "text",
    "service_notice": "text",
    "requested_datetime": "datetime",
    "updated_datetime": "datetime",
    "expected_datetime": "datetime?",
    "address": "text",
    "address_id": "text",
    "zipcode": "text",
    "lat": "latitude",
    "long": "longitude",
    "media_url": "url?",
}
SUBMITTED = {"service_request_id": "text!", "token": "text!", "service_notice": "text", "account_id": "null"}
TOKEN = {"service_request_id": "text!", "token": "text!"}
ERROR = {"code": "int", "description": "text!"}
DISCOVERY = {"changeset": "datetime", "contact": "text!", "key_service": "text!", "endpoints": "list"}
ENDPOINT = {
    "specification": "text!",
    "url": "url",
    "changeset": "datetime",
    "type": "endpoint_type",
    "formats": "list",
}


class Invalid(AssertionError):
    pass


def _check_value(field: str, kind: str, value: Any, *, xml: bool) -> None:
    required = kind.endswith("!")
    optional = kind.endswith("?")
    kind = kind.rstrip("!?")
    if xml:
        if kind == "list":
            return
        if value is not None and not isinstance(value, str):
            raise Invalid(f"{field}: XML values are text, got {value!r}")
        text = value or ""
        if kind == "text" or kind == "null":
            pass
        elif kind == "bool":
            if text not in ("true", "false"):
                raise Invalid(f"{field}: expected true/false, got {text!r}")
        elif kind == "int":
            if not text.isdigit():
                raise Invalid(f"{field}: expected an integer, got {text!r}")
        elif kind in ("latitude", "longitude"):
            _check_coordinate(field, kind, float(text))
        else:
            _check_special(field, kind, text, optional=optional)
        if required and not text:
            raise Invalid(f"{field}: must not be empty")
        return
    if kind == "text":
        if not isinstance(value, str):
            raise Invalid(f"{field}: expected a string, got {value!r}")
        if required and not value:
            raise Invalid(f"{field}: must not be empty")
    elif kind == "null":
        if value is not None and not isinstance(value, str):
            raise Invalid(f"{field}: expected null or a string, got {value!r}")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise Invalid(f"{field}: expected a boolean, got {value!r}")
    elif kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(f"{field}: expected an integer, got {value!r}")
    elif kind == "list":
        if not isinstance(value, list):
            raise Invalid(f"{field}: expected a list, got {value!r}")
    elif kind in ("latitude", "longitude"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise Invalid(f"{field}: expected a number, got {value!r}")
        _check_coordinate(field, kind, float(value))
    else:
        if value is None and optional:
            return
        if not isinstance(value, str):
            raise Invalid(f"{field}: expected a string, got {value!r}")
        _check_special(field, kind, value, optional=optional)


def _check_coordinate(field: str, kind: str, value: float) -> None:
    limit = 90 if kind == "latitude" else 180
    if not -limit <= value <= limit:
        raise Invalid(f"{field}: {value} is not a WGS-84 {kind}")


def _check_special(field: str, kind: str, text: str, *, optional: bool) -> None:
    if optional and not text:
        return
    if kind == "datetime":
        if not W3C_DATETIME.match(text):
            raise Invalid(f"{field}: {text!r} is not a W3C date-time with an offset")
    elif kind == "status":
        if text not in ("open", "closed"):
            raise Invalid(f"{field}: {text!r} is not open or closed")
    elif kind == "service_type":
        if text not in ("realtime", "batch", "blackbox"):
            raise Invalid(f"{field}: {text!r} is not realtime, batch or blackbox")
    elif kind == "endpoint_type":
        if text not in ("production", "test"):
            raise Invalid(f"{field}: {text!r} is not production or test")
    elif kind == "url":
        if not re.match(r"^https?://", text):
            raise Invalid(f"{field}: {text!r} is not an absolute URL")
    else:  # pragma: no cover - a typo in a schema above
        raise AssertionError(kind)


def check_object(obj: Any, schema: dict[str, str], *, xml: bool = False) -> None:
    if not isinstance(obj, dict):
        raise Invalid(f"expected an object, got {obj!r}")
    if set(obj) != set(schema):
        raise Invalid(f"fields {sorted(obj)} are not the spec's {sorted(schema)}")
    for field, kind in schema.items():
        _check_value(field, kind, obj[field], xml=xml)


def check_list(items: Any, schema: dict[str, str], *, xml: bool = False) -> None:
    if not isinstance(items, list):
        raise Invalid(f"expected a list, got {items!r}")
    for item in items:
        check_object(item, schema, xml=xml)


# --- reading answers --------------------------------------------------------------------------


def xml_items(response: HttpResponse, root: str, item: str) -> list[dict[str, str | None]]:
    """The items of an XML answer as flat dicts of text (an empty element is None)."""
    assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
    tree = ET.fromstring(response.content)  # noqa: S314 - our own answer
    assert tree.tag == root, tree.tag
    found = []
    for element in tree:
        assert element.tag == item, element.tag
        found.append({child.tag: child.text for child in element})
    return found


def json_body(response: HttpResponse) -> Any:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return json.loads(response.content)


def check_error(response: HttpResponse, status: int, *, xml: bool = False) -> str:
    """The answer is one error in the spec's format with ``status``; return its description."""
    assert response.status_code == status, (response.status_code, response.content)
    if xml:
        items = xml_items(response, "errors", "error")
        check_list(items, ERROR, xml=True)
        assert len(items) == 1
        assert items[0]["code"] == str(status)
        return str(items[0]["description"])
    body = json_body(response)
    check_list(body, ERROR)
    assert len(body) == 1
    assert body[0]["code"] == status
    return str(body[0]["description"])


def check_discovery_xml(response: HttpResponse) -> dict[str, Any]:
    tree = ET.fromstring(response.content)  # noqa: S314 - our own answer
    assert tree.tag == "discovery"
    doc: dict[str, Any] = {child.tag: child.text for child in tree if child.tag != "endpoints"}
    endpoints_element = tree.find("endpoints")
    assert endpoints_element is not None
    endpoints = []
    for endpoint in endpoints_element:
        assert endpoint.tag == "endpoint"
        entry: dict[str, Any] = {c.tag: c.text for c in endpoint if c.tag != "formats"}
        formats_element = endpoint.find("formats")
        assert formats_element is not None
        entry["formats"] = [f.text for f in formats_element if f.tag == "format"]
        check_object(entry, ENDPOINT, xml=True)
        endpoints.append(entry)
    doc["endpoints"] = endpoints
    check_object(doc, DISCOVERY, xml=True)
    return doc
