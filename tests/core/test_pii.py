"""Sensitive personal data: encryption at rest, key rotation, the blind index, and masks."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import override_settings

from wangge.core import pii
from wangge.core.models import User


def _key(seed: int) -> str:
    # Fixed test keys, so test ids are the same in every process (pytest-xdist compares them).
    return base64.urlsafe_b64encode(bytes((seed + i) % 256 for i in range(32))).decode()


OLD, NEW = _key(1), _key(101)


def test_encrypt_then_decrypt_gives_back_the_value() -> None:
    sealed = pii.encrypt("370102199001011234")

    assert sealed != "370102199001011234"
    assert "1234" not in sealed
    assert pii.decrypt(sealed) == "370102199001011234"


def test_the_same_value_encrypts_differently_each_time() -> None:
    assert pii.encrypt("13812345678") != pii.encrypt("13812345678")


def test_a_tampered_ciphertext_is_refused() -> None:
    sealed = pii.encrypt("13812345678")
    head, body = sealed.split(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1

    with pytest.raises(InvalidTag):
        pii.decrypt(head + ":" + base64.urlsafe_b64encode(bytes(raw)).decode())


def test_a_value_that_is_not_ciphertext_is_refused() -> None:
    with pytest.raises(ValueError, match="not a wangge ciphertext"):
        pii.decrypt("13812345678")


def test_rotated_keys_read_old_rows_and_write_with_the_new_key() -> None:
    with override_settings(FIELD_KEYS=f"1:{OLD}"):
        old_row = pii.encrypt("13812345678")
        assert pii.key_id_of(old_row) == "1"

    with override_settings(FIELD_KEYS=f"2:{NEW},1:{OLD}"):
        assert pii.decrypt(old_row) == "13812345678"
        new_row = pii.encrypt("13812345678")
        assert pii.key_id_of(new_row) == "2"
        assert pii.decrypt(new_row) == "13812345678"

    with override_settings(FIELD_KEYS=f"2:{NEW}"), pytest.raises(ValueError, match="unknown field key"):
        pii.decrypt(old_row)


def test_a_bare_key_is_key_one() -> None:
    with override_settings(FIELD_KEYS=OLD):
        assert pii.key_id_of(pii.encrypt("x")) == "1"


SHORT = base64.urlsafe_b64encode(b"short").decode()


@pytest.mark.parametrize(
    "spec", ["", f"1:{SHORT}", "1:***", f"a-b:{OLD}"], ids=["empty", "short", "not-base64", "bad-id"]
)
def test_bad_key_settings_are_refused(spec: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        pii.parse_keys(spec)


def test_the_blind_index_is_stable_and_normalises() -> None:
    first = pii.blind_index("phone", "13812345678")

    assert pii.blind_index("phone", "13812345678") == first
    assert pii.blind_index("phone", "138 1234 5678") == first
    assert pii.blind_index("phone", "+86 138-1234-5678") == first
    assert pii.blind_index("phone", "13812345679") != first
    assert pii.blind_index("id_number", "13812345678") != first  # kinds do not collide
    assert pii.blind_index("id_number", "37010219900101123x") == pii.blind_index(
        "id_number", "37010219900101123X"
    )
    assert "13812345678" not in first


def test_the_blind_index_survives_key_rotation() -> None:
    with override_settings(FIELD_KEYS=f"1:{OLD}"):
        before = pii.blind_index("phone", "13812345678")
    with override_settings(FIELD_KEYS=f"2:{NEW},1:{OLD}"):
        after = pii.blind_index("phone", "13812345678")

    assert after == before


def test_the_blind_index_depends_on_the_key() -> None:
    with override_settings(FIELD_KEYS=f"1:{OLD}"):
        one = pii.blind_index("phone", "13812345678")
    with override_settings(FIELD_KEYS=f"1:{NEW}"):
        other = pii.blind_index("phone", "13812345678")

    assert one != other


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("370102199001011234", "3701**********1234"),
        ("37010219900101123x", "3701**********123X"),
        ("1234", "****"),
    ],
)
def test_id_numbers_are_masked(value: str, masked: str) -> None:
    assert pii.mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812345678", "138****5678"), ("+86 138 1234 5678", "138****5678"), ("12345", "*****")],
)
def test_phones_are_masked(value: str, masked: str) -> None:
    assert pii.mask_phone(value) == masked


@pytest.mark.django_db
def test_no_phone_number_is_stored_in_plain_text() -> None:
    user = User.objects.create_user(username="phone-owner", password="Lantern-river-2048")
    user.phone = "13912345678"
    user.phone_hash = pii.blind_index("phone", user.phone)
    user.save(update_fields=["phone", "phone_hash"])

    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, phone_hash FROM core_user WHERE id = %s", [user.pk])
        raw_phone, raw_hash = cursor.fetchone()

    assert "13912345678" not in raw_phone
    assert "5678" not in raw_phone
    assert raw_phone.startswith("k")
    assert "13912345678" not in raw_hash
    assert User.objects.get(pk=user.pk).phone == "13912345678"
    assert User.objects.get(phone_hash=pii.blind_index("phone", "139 1234 5678")).pk == user.pk


@pytest.mark.usefixtures("demo_db")
def test_no_demo_phone_is_stored_in_plain_text() -> None:
    phones = {u.phone for u in User.objects.exclude(phone="")}
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM core_user WHERE phone <> ''")
        raw = [row[0] for row in cursor.fetchall()]

    assert raw
    assert not phones & set(raw)
    assert all(value.startswith("k") for value in raw)
