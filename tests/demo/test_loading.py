"""Demo accounts, loading once, and the same world from the same seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import is_password_usable

from tests.conftest import DEMO_PASSWORD, DEMO_SEED, DEMO_USERS
from tests.demo.helpers import LESHAN, place, under
from wangge.core.models import User
from wangge.demo import loader
from wangge.demo.data import World
from wangge.demo.generate import generate
from wangge.org.models import Assignment, PartyOrganization
from wangge.places.models import Place


def only_assignment(username: str) -> Assignment:
    return Assignment.objects.select_related("place", "department").get(user__username=username)


def test_the_seven_demo_accounts(users: dict[str, Any]) -> None:
    assert sorted(users) == sorted(DEMO_USERS)
    for user in users.values():
        assert user.is_demo
        assert user.is_active
        assert user.check_password(DEMO_PASSWORD)
        assert user.display_name
    assert users["admin"].is_superuser
    assert users["admin"].is_staff
    assert not any(users[name].is_superuser or users[name].is_staff for name in DEMO_USERS if name != "admin")

    street = only_assignment("street")
    assert (street.role, street.place.code, street.place.name) == ("street_staff", "370103003", "杆石桥街道")
    community = only_assignment("community")
    assert (community.role, community.place.code) == ("community_staff", LESHAN)
    grid1 = only_assignment("grid1")
    assert (grid1.role, grid1.place.code, grid1.place.name) == ("grid_worker", LESHAN + "001", "第一网格")
    assert list(
        grid1.place.assignments.filter(role="grid_worker").values_list("user__username", flat=True)
    ) == ["grid1"]
    grid2 = only_assignment("grid2")
    assert (grid2.role, grid2.place.code, grid2.place.name) == ("grid_worker", LESHAN + "002", "第二网格")
    dept = only_assignment("dept")
    assert dept.role == "department_staff"
    assert dept.department is not None
    assert dept.department.name == "市中区住房和城乡建设局"
    assert dept.place.code == "370103"
    resident = only_assignment("resident")
    assert resident.role == "resident"
    assert resident.place.kind == "house"
    assert resident.place.path.startswith(place(LESHAN + "001").path)


def test_generated_staff_cannot_sign_in_with_a_password(demo_db: None) -> None:
    staff = User.objects.filter(is_demo=False)
    assert staff.count() > 100
    assert not any(is_password_usable(p) for p in staff.values_list("password", flat=True))


def test_loading_twice_changes_nothing(demo_db: None, django_assert_max_num_queries: Any) -> None:
    before = (
        Place.objects.count(),
        User.objects.count(),
        Assignment.objects.count(),
        PartyOrganization.objects.count(),
    )
    with django_assert_max_num_queries(1):
        counts = loader.load_demo(seed=DEMO_SEED, demo_accounts=True)
    assert counts["already_loaded"] == 1
    assert counts["places"] == 0
    assert counts["users"] == 0
    assert loader.load_demo(seed=7, demo_accounts=False)["already_loaded"] == 1
    after = (
        Place.objects.count(),
        User.objects.count(),
        Assignment.objects.count(),
        PartyOrganization.objects.count(),
    )
    assert after == before
    assert loader.demo_is_loaded()


@pytest.mark.parametrize(("demo_mode", "expected"), [(False, 0), (True, 7)])
def test_demo_accounts_follow_demo_mode_by_default(
    demo_db: None, settings: Any, monkeypatch: pytest.MonkeyPatch, demo_mode: bool, expected: int
) -> None:
    written: list[World] = []

    def capture(world: World, *, label: str, progress: bool = False) -> dict[str, int]:
        written.append(world)
        return {**world.counts(), "already_loaded": 0}

    settings.DEMO = demo_mode
    monkeypatch.setattr(loader, "demo_is_loaded", lambda: False)
    monkeypatch.setattr(loader, "write", capture)
    counts = loader.load_demo(seed=DEMO_SEED)
    assert counts["demo_accounts"] == expected
    usernames = {p.username for p in written[0].people}
    assert (set(DEMO_USERS) <= usernames) is demo_mode
    assert not (set(DEMO_USERS) & usernames) or demo_mode


SUBPROCESS_LOAD = textwrap.dedent(
    """
    import json, os
    os.environ["DJANGO_SETTINGS_MODULE"] = "wangge.settings"
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", interactive=False, verbosity=0)
    from wangge.core.models import User
    from wangge.demo.loader import demo_is_loaded, load_demo
    counts = load_demo(seed=%d, demo_accounts=False)
    print(json.dumps({
        "counts": counts,
        "loaded": demo_is_loaded(),
        "demo_users": sorted(User.objects.filter(is_demo=True).values_list("username", flat=True)),
        "contract_names": sorted(
            User.objects.filter(username__in=%r).values_list("username", flat=True)
        ),
        "users": User.objects.count(),
    }))
    """
)


def clean_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WANGGE_", "DATABASE_URL", "REDIS_URL", "MQTT_URL", "DJANGO_", "PYTEST"))
    }
    env.update({"WANGGE_HOME": str(home), "WANGGE_DEV": "1", "WANGGE_TESTING": "0"})
    return env


def test_without_demo_accounts_an_empty_database_gets_none(tmp_path: Path) -> None:
    """A fresh embedded database in a separate process, so the shared test database is untouched."""
    script = SUBPROCESS_LOAD % (DEMO_SEED, list(DEMO_USERS))
    done = subprocess.run(
        [sys.executable, "-c", script], env=clean_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] is True
    assert result["demo_users"] == []
    assert result["contract_names"] == []
    assert result["counts"]["demo_accounts"] == 0
    assert result["counts"]["houses"] == 5140
    expected = generate(DEMO_SEED).with_accounts(False)
    assert result["users"] == len(expected.people) == result["counts"]["users"]


def test_the_same_seed_gives_the_same_world() -> None:
    first, second = generate(DEMO_SEED), generate(DEMO_SEED)
    assert first.digest() == second.digest()
    other = generate(DEMO_SEED + 1)
    assert other.digest() != first.digest()
    assert [p.display_name for p in other.people] != [p.display_name for p in first.people]
    # The levels named in the articles do not depend on the seed.
    assert {
        (p.code, p.name) for p in other.places if p.kind in ("county", "street", "community", "grid")
    } == {(p.code, p.name) for p in first.places if p.kind in ("county", "street", "community", "grid")}


@pytest.mark.parametrize("hash_seed", ["1", "12345"])
def test_generation_does_not_depend_on_hash_order(hash_seed: str, tmp_path: Path) -> None:
    script = f"from wangge.demo.generate import generate; print(generate({DEMO_SEED}).digest())"
    env = {**clean_env(tmp_path), "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == generate(DEMO_SEED).digest()


def test_the_database_holds_what_the_seed_generates(demo_db: None) -> None:
    world = generate(DEMO_SEED).with_accounts(True)
    stored = set(
        (
            Place.objects.filter(path__under="370103.") | Place.objects.filter(path__under="370902.")
        ).values_list("code", "name")
    )
    assert stored == {(p.code, p.name) for p in world.places}
    names = dict(
        User.objects.filter(username__in=[p.username for p in world.people]).values_list(
            "username", "display_name"
        )
    )
    assert names == {p.username: p.display_name for p in world.people}
    leshan_grid1 = under(LESHAN, "grid")[0]
    assert leshan_grid1.boundary == next(p.boundary for p in world.places if p.code == leshan_grid1.code)
