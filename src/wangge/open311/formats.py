"""The two formats of GeoReport v2: JSON, and XML made with the standard library's ElementTree.

Every answer is a list of objects (or one object, for discovery and a service definition)
under the spec's root element; errors are ``[{"code": 404, "description": "..."}]`` or
``<errors><error><code>404</code><description>...</description></error></errors>``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from django.http import HttpResponse

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The element of each item of a list field, in the spec's XML.
ITEM_TAGS = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute", "values": "value"}
# Characters XML 1.0 cannot carry at all, not even escaped.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list | tuple):
        item_tag = ITEM_TAGS.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, item_tag), child)
    else:
        element.text = _text(value)


def to_xml(root: str, item: str | None, data: Any) -> bytes:
    """``data`` under ``<root>``: a list as one ``<item>`` per element, a dict as child elements."""
    element = ET.Element(root)
    if item is not None and isinstance(data, list):
        for entry in data:
            _fill(ET.SubElement(element, item), entry)
    else:
        _fill(element, data)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def render(fmt: str, data: Any, *, root: str, item: str | None, status: int = 200) -> HttpResponse:
    body = to_xml(root, item, data) if fmt == "xml" else json.dumps(data, ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES.get(fmt, CONTENT_TYPES["json"]))


def error(fmt: str, status: int, description: str) -> HttpResponse:
    """An error in the spec's format; an unknown format gets JSON."""
    fmt = fmt if fmt in FORMATS else "json"
    return render(
        fmt, [{"code": status, "description": description}], root="errors", item="error", status=status
    )
