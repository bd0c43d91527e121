"""Shared fixtures: the demo community loaded once per test database, its named users,
and API clients that sign in as them.

Named users (the demo accounts of the contract): admin, street, community, grid1, grid2,
dept, resident. Tests are flat given/when/then functions that use them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.local import Local
from django.test import Client

DEMO_SEED = 20240601
DEMO_USERS = ("admin", "street", "community", "grid1", "grid2", "dept", "resident")
DEMO_PASSWORD = "wangge-demo"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    from wangge.demo.loader import load_demo

    with django_db_blocker.unblock():
        load_demo(seed=DEMO_SEED, demo_accounts=True)


@pytest.fixture
def demo_db(db: None) -> None:
    """The demo community, inside a transaction rolled back after the test."""


@pytest.fixture
def users(demo_db: None) -> dict[str, Any]:
    from wangge.core.models import User

    return {u.username: u for u in User.objects.filter(username__in=DEMO_USERS)}


@pytest.fixture
def api(demo_db: None) -> Callable[[str | None], Client]:
    """``api("grid1")`` is a test client that sends grid1's bearer token; ``api(None)`` sends none."""
    from wangge.core.auth import token_issue
    from wangge.core.models import User

    def make(username: str | None) -> Client:
        if username is None:
            return Client()
        user = User.objects.get(username=username)
        token = token_issue(user=user)
        return Client(headers={"Authorization": f"Bearer {token}"})

    return make


@pytest.fixture
def page_client(demo_db: None) -> Callable[[str], Client]:
    """``page_client("community")`` is a test client with a signed-in page session."""
    from wangge.core.models import User

    def make(username: str) -> Client:
        client = Client()
        client.force_login(User.objects.get(username=username))
        return client

    return make


@pytest.fixture(autouse=True)
def _fresh_locator() -> Iterator[None]:
    from wangge.places.locator import reset_locator

    reset_locator()
    yield
    reset_locator()


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations() -> None:
    from django.utils.translation import trans_real

    from wangge.core.i18n import compile_messages

    if compile_messages():
        # Catalogues already loaded in this process predate the new .mo: load them afresh,
        # as Django itself does when LOCALE_PATHS changes under a test.
        trans_real._translations = {}
        trans_real._default = None
        trans_real._active = Local()
        trans_real.translation_catalog_exists.cache_clear()
