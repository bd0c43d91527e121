"""Sign-in: account lockout, API tokens, the idle timeout, and password rules (MLPS level 3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.utils import timezone

from wangge.core.models import ApiToken, User

pytestmark = pytest.mark.usefixtures("demo_db")

PASSWORD = "wangge-demo"
TOKEN_URL = "/api/v1/auth/token"
ME_URL = "/api/v1/auth/me"


def _token_request(client: Client, username: str, password: str) -> Any:
    body = {"username": username, "password": password}
    return client.post(TOKEN_URL, body, content_type="application/json")


def _login_request(client: Client, username: str, password: str) -> Any:
    return client.post("/login/", {"username": username, "password": password})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- lockout ------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_for_api_sign_in() -> None:
    client = Client()
    statuses = [_token_request(client, "grid1", "wrong-password-1").status_code for _ in range(6)]

    assert statuses[:4] == [401] * 4
    assert 429 in statuses[4:]
    locked = _token_request(client, "grid1", PASSWORD)
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(30 * 60)
    body = locked.json()
    assert body["code"] == "locked_out"
    assert "30" in body["detail"]
    assert "token" not in body
    assert not ApiToken.objects.filter(user__username="grid1").exists()


def test_a_locked_account_signs_in_again_after_thirty_minutes() -> None:
    client = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(6):
            _token_request(client, "grid1", "wrong-password-1")
        assert _token_request(client, "grid1", PASSWORD).status_code == 429

    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        response = _token_request(client, "grid1", PASSWORD)
        assert response.status_code == 200
        assert response.json()["token"]


def test_a_lockout_is_per_account() -> None:
    client = Client()
    for _ in range(6):
        _token_request(client, "grid1", "wrong-password-1")

    assert _token_request(client, "grid2", PASSWORD).status_code == 200


def test_five_wrong_passwords_lock_the_account_on_the_login_page() -> None:
    client = Client()
    statuses = [_login_request(client, "grid1", "wrong-password-1").status_code for _ in range(6)]

    assert statuses[:4] == [200] * 4  # the form again, with an error
    assert 429 in statuses[4:]
    locked = _login_request(client, "grid1", PASSWORD)
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(30 * 60)
    assert "30" in locked.content.decode()
    assert not _signed_in(client)


def test_the_login_page_works_again_after_thirty_minutes() -> None:
    client = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(6):
            _login_request(client, "grid1", "wrong-password-1")

    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        response = _login_request(client, "grid1", PASSWORD)
        assert response.status_code == 302
        assert _signed_in(client)


# --- tokens -------------------------------------------------------------------------------


def test_the_right_password_gets_a_token_that_works_as_bearer() -> None:
    response = _token_request(Client(), "grid1", PASSWORD)

    assert response.status_code == 200
    token = response.json()["token"]
    assert isinstance(token, str)
    assert len(token) >= 32
    me = Client(headers={"Authorization": f"Bearer {token}"}).get(ME_URL)
    assert me.status_code == 200
    assert me.json()["username"] == "grid1"


def test_only_the_hash_of_a_token_is_stored() -> None:
    token = _token_request(Client(), "grid1", PASSWORD).json()["token"]

    stored = ApiToken.objects.get(user__username="grid1")
    assert token not in stored.key_hash
    assert len(stored.key_hash) == 64


def test_a_wrong_password_gets_401_in_json() -> None:
    response = _token_request(Client(), "grid1", "not-the-password")

    assert response.status_code == 401
    assert response.json()["detail"]
    assert "token" not in response.json()


def test_an_unknown_user_gets_the_same_401() -> None:
    response = _token_request(Client(), "nobody-here", PASSWORD)

    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer garbage",
        "Bearer ",
        "Bearer " + "x" * 500,
        "Token abc",
        "Basic Z3JpZDE6d2FuZ2dlLWRlbW8=",
    ],
)
def test_a_garbage_token_gets_401_in_json(header: str) -> None:
    response = Client(headers={"Authorization": header}).get(ME_URL)

    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]


def test_no_token_gets_401_in_json() -> None:
    response = Client().get(ME_URL)

    assert response.status_code == 401
    assert response.json()["detail"]


def test_delete_revokes_the_token(api: Callable[[str | None], Client]) -> None:
    client = api("grid1")
    assert client.get(ME_URL).status_code == 200

    response = client.delete(TOKEN_URL)

    assert response.status_code == 204
    assert client.get(ME_URL).status_code == 401
    assert ApiToken.objects.get(user__username="grid1").revoked_at is not None


def test_a_revoked_token_cannot_revoke_or_read_again(api: Callable[[str | None], Client]) -> None:
    client = api("grid1")
    client.delete(TOKEN_URL)

    assert client.delete(TOKEN_URL).status_code == 401
    assert client.get("/api/v1/places/").status_code == 401


def test_revoking_one_token_leaves_the_others(api: Callable[[str | None], Client]) -> None:
    phone, laptop = api("grid1"), api("grid1")

    phone.delete(TOKEN_URL)

    assert phone.get(ME_URL).status_code == 401
    assert laptop.get(ME_URL).status_code == 200


def test_a_token_idle_for_more_than_thirty_minutes_is_refused(api: Callable[[str | None], Client]) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = api("grid1")

    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        response = client.get(ME_URL)

    assert response.status_code == 401
    assert response.json()["detail"]


def test_a_token_in_use_stays_valid_past_thirty_minutes(api: Callable[[str | None], Client]) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = api("grid1")

    for minutes in (20, 40, 60):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get(ME_URL).status_code == 200


def test_a_token_expires_after_its_maximum_age_even_in_use(api: Callable[[str | None], Client]) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = api("grid1")

    minutes = 0
    while minutes < 12 * 60 - 20:
        minutes += 20
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get(ME_URL).status_code == 200
    with time_machine.travel(start + timedelta(hours=12, minutes=1), tick=False):
        assert client.get(ME_URL).status_code == 401


@override_settings(DEMO=False, TESTING=False)
def test_demo_accounts_cannot_sign_in_outside_demo_mode() -> None:
    assert User.objects.get(username="grid1").is_demo

    api_response = _token_request(Client(), "grid1", PASSWORD)
    page_client = Client()
    page_response = _login_request(page_client, "grid1", PASSWORD)

    assert api_response.status_code == 401
    assert not ApiToken.objects.filter(user__username="grid1").exists()
    assert page_response.status_code == 200
    assert not _signed_in(page_client)


def test_a_demo_accounts_token_stops_working_outside_demo_mode(api: Callable[[str | None], Client]) -> None:
    client = api("grid1")
    assert client.get(ME_URL).status_code == 200

    with override_settings(DEMO=False, TESTING=False):
        assert client.get(ME_URL).status_code == 401


@override_settings(DEMO=False, TESTING=False)
def test_other_accounts_sign_in_outside_demo_mode(users: dict[str, User]) -> None:
    user = User.objects.create_user(username="real-worker", password="Real-password-2024")

    response = _token_request(Client(), user.username, "Real-password-2024")

    assert response.status_code == 200


# --- page sessions --------------------------------------------------------------------------


def test_a_page_session_idle_for_thirty_minutes_is_signed_out(page_client: Callable[[str], Client]) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = page_client("grid1")
        assert client.get("/").status_code == 200

    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert not _signed_in(client)


def test_a_page_session_in_use_stays_signed_in(page_client: Callable[[str], Client]) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = page_client("grid1")
        assert client.get("/").status_code == 200

    for minutes in (20, 40, 60):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/").status_code == 200


# --- password rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short1a", "password_too_short"),
        ("onlyletterslonger", "password_classes"),
        ("2024061520240615", "password_entirely_numeric"),
        ("password123", "password_too_common"),
        ("grid1abc9", "password_too_similar"),
    ],
)
def test_weak_passwords_are_refused(users: dict[str, User], password: str, code: str) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_password(password, user=users["grid1"])

    assert code in {e.code for e in raised.value.error_list}


def test_a_long_password_of_letters_and_digits_is_accepted(users: dict[str, User]) -> None:
    validate_password("Lantern-river-2048", user=users["grid1"])
