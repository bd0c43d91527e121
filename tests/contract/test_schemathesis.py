"""Fuzzing the API from its own OpenAPI schema (contract: never a 500 for bad input, and every
answer matches the schema it declares).

Schemathesis generates requests for every operation of ``/api/v1/openapi.json``, sends them
to the in-process WSGI application as ``community`` and as ``admin``, and checks that no
answer is a server error and that each documented answer matches its schema. Generation is
derandomised and bounded, so a run is repeatable: the same code gives the same requests.
``WANGGE_FUZZ_EXAMPLES`` raises the number of examples per operation for a longer hunt.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from wangge.core.auth import token_issue
from wangge.core.models import User
from wangge.wsgi import application

EXAMPLES = int(os.environ.get("WANGGE_FUZZ_EXAMPLES", "15"))

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
schema.config.generation.update(max_examples=EXAMPLES, deterministic=True, database="none")

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def _in_test_transaction(demo_db: None) -> Iterator[None]:
    """Requests go straight to the WSGI handler, whose signals would close the database
    connection at each request's end and so end the test's transaction (PostgreSQL). Django's
    own test client detaches the same handler for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _call_as(username: str, case: Any) -> None:
    # A fresh token for every example: an example may revoke its own (DELETE /auth/token).
    user = User.objects.get(username=username)
    token = token_issue(user=user)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


@pytest.mark.usefixtures("_in_test_transaction")
@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_community_staff(case: Any) -> None:
    _call_as("community", case)


@pytest.mark.usefixtures("_in_test_transaction")
@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_administrator(case: Any) -> None:
    _call_as("admin", case)
