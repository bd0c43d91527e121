"""Sensitive personal data: field encryption, keyed hashes for lookup, and masking.

ID and phone numbers are stored as AES-256-GCM ciphertext with the key id in front
(``k1:<nonce+ciphertext, base64>``), so keys can be rotated and old rows still read. A
keyed HMAC of the normalised value sits beside the ciphertext for exact lookup without
decrypting. Lists show values masked; unmasking is a service that checks a capability and
writes an audit row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_PREFIX = "k"


@dataclass(frozen=True)
class FieldKeys:
    current_id: str
    keys: dict[str, bytes]

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]


def parse_keys(spec: str) -> FieldKeys:
    """Parse ``"2:base64key,1:base64key"`` (first is current) or a single bare key."""
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for index, part in enumerate(p.strip() for p in spec.split(",") if p.strip()):
        key_id, sep, encoded = part.partition(":")
        if not sep:
            key_id, encoded = str(index + 1), part
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError as exc:
            raise ImproperlyConfigured("WANGGE_FIELD_KEY is not valid base64") from exc
        if len(raw) != 32:
            raise ImproperlyConfigured("WANGGE_FIELD_KEY must encode 32 bytes (AES-256)")
        if not key_id.isalnum():
            raise ImproperlyConfigured("WANGGE_FIELD_KEY key ids must be letters or digits")
        keys[key_id] = raw
        order.append(key_id)
    if not order:
        raise ImproperlyConfigured("WANGGE_FIELD_KEY is empty")
    return FieldKeys(current_id=order[0], keys=keys)


@lru_cache(maxsize=4)
def _keys_for(spec: str) -> FieldKeys:
    return parse_keys(spec)


def field_keys() -> FieldKeys:
    return _keys_for(settings.FIELD_KEYS)


def encrypt(plaintext: str) -> str:
    keys = field_keys()
    nonce = os.urandom(12)
    sealed = AESGCM(keys.current).encrypt(nonce, plaintext.encode(), None)
    return f"{_PREFIX}{keys.current_id}:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    head, sep, body = token.partition(":")
    if not sep or not head.startswith(_PREFIX):
        raise ValueError("not a wangge ciphertext")
    key = field_keys().keys.get(head[len(_PREFIX) :])
    if key is None:
        raise ValueError(f"unknown field key id {head!r}")
    raw = base64.urlsafe_b64decode(body)
    return AESGCM(key).decrypt(raw[:12], raw[12:], None).decode()


def key_id_of(token: str) -> str:
    return token.partition(":")[0][len(_PREFIX) :]


def _hash_key() -> bytes:
    # The lookup hash uses its own key, derived from the first key ever configured (the
    # last in the list), so rotating the encryption key leaves lookups intact.
    keys = field_keys()
    oldest = list(keys.keys.values())[-1]
    return hashlib.sha256(b"wangge-blind-index:" + oldest).digest()


_NON_DIGIT_X = re.compile(r"[^0-9X]")


def normalise(kind: str, value: str) -> str:
    value = value.strip().upper()
    if kind in {"phone", "id_number"}:
        value = _NON_DIGIT_X.sub("", value)
        if kind == "phone" and value.startswith("86") and len(value) == 13:
            value = value[2:]
    return value


def blind_index(kind: str, value: str) -> str:
    """Keyed hash of a normalised value, for exact lookup of encrypted fields."""
    digest = hmac.new(_hash_key(), f"{kind}:{normalise(kind, value)}".encode(), hashlib.sha256)
    return digest.hexdigest()


def mask_phone(value: str) -> str:
    digits = normalise("phone", value)
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(digits)


def mask_id_number(value: str) -> str:
    v = normalise("id_number", value)
    if len(v) > 8:
        return v[:4] + "*" * (len(v) - 8) + v[-4:]
    return "*" * len(v)


def mask_name(value: str) -> str:
    if len(value) <= 1:
        return value
    return value[0] + "*" * (len(value) - 1)


MASKERS = {"phone": mask_phone, "id_number": mask_id_number}


class EncryptedTextField(models.TextField):
    """Stores text encrypted at rest; reads decrypt transparently.

    Pair it with a ``CharField`` holding ``blind_index(kind, value)`` for lookups; the
    owning service sets both.
    """

    description = "Encrypted text"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))
