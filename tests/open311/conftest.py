"""Open311 tests compare whole listings, so they start without the demo's request history
(removed inside each test's transaction, which puts it back afterwards)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _without_demo_history(demo_db: None) -> None:
    from wangge.cases.models import Case

    Case.objects.all().delete()
