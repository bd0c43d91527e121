"""The OpenAPI document (contract: schema at /api/v1/openapi.json, docs at /api/v1/docs)."""

from __future__ import annotations

import types
import typing
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.test import Client
from pydantic import BaseModel

from wangge.api import api


def test_the_schema_is_served_and_names_the_api() -> None:
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/auth/token" in schema["paths"]
    assert {"BearerAuth"} <= set(schema["components"]["securitySchemes"])


def test_the_docs_page_is_served() -> None:
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    assert b"openapi.json" in response.content


def _nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            yield from _nested_models(arg)


def _models_of_operations() -> Iterator[type[BaseModel]]:
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in operation.models:
                    yield from _nested_models(model)
                for model in operation.response_models.values():
                    yield from _nested_models(model)


def test_no_two_schemas_share_a_name() -> None:
    """Ninja names each schema component after its class, and a second class of the same name
    silently replaces the first in the document, which then lies about one of the answers."""
    by_name: dict[str, set[str]] = defaultdict(set)
    seen: set[type[BaseModel]] = set()
    stack = list(_models_of_operations())
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        if model.__module__.startswith("wangge."):  # ninja's own per-operation wrappers are not components
            by_name[model.__name__].add(f"{model.__module__}.{model.__qualname__}")
        for field in model.model_fields.values():
            stack.extend(_nested_models(field.annotation))

    clashes = {name: sorted(classes) for name, classes in by_name.items() if len(classes) > 1}
    assert len(by_name) > 5
    assert not clashes, f"rename one class of each pair: {clashes}"
