"""Health checks (contract): /healthz answers while the process runs, /readyz only while the
database answers."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client


def test_healthz_answers_ok() -> None:
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_answers_ok_while_the_database_answers() -> None:
    response = Client().get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_readyz_answers_503_in_json_when_the_database_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: CursorWrapper, sql: str, params: object = None) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] != "ok"
    assert "connection refused" not in response.content.decode()  # no internals leak out


def test_healthz_refuses_other_methods() -> None:
    assert Client().post("/healthz").status_code == 405
