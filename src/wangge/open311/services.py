"""Writes of the Open311 app: clients and their keys, and filing a request through intake.

A request filed through Open311 goes through ``cases.services.case_intake`` like every
other channel, with no acting user (the client is a connected system, not a person). The
client's own idempotency key, prefixed with the client's id, makes retries safe.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from wangge.cases.models import Case, Channel
from wangge.cases.selectors import categories_active
from wangge.cases.services import case_intake, locate
from wangge.core import audit, clock
from wangge.core.errors import PermissionDenied, ValidationError
from wangge.core.models import User
from wangge.open311.models import Open311Client, Open311Request
from wangge.places.models import Place, PlaceKind

DEMO_KEY = "wangge-demo-open311"
DEMO_CLIENT_NAME = "Demo client"
KEY_PREFIX_LENGTH = 8
MAX_KEY_LENGTH = 200
MAX_IDEMPOTENCY_KEY_LENGTH = 100
# Places an address_string may name on its own: never a house or a unit (personal addresses).
NAMEABLE_KINDS = (
    PlaceKind.STREET,
    PlaceKind.COMMUNITY,
    PlaceKind.GRID,
    PlaceKind.MICRO_GRID,
    PlaceKind.BUILDING,
)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return f"o311_{secrets.token_urlsafe(24)}"


def _set_key(client: Open311Client, key: str) -> None:
    client.key_hash = hash_key(key)
    client.key_prefix = key[:KEY_PREFIX_LENGTH]


# --- clients --------------------------------------------------------------------------------


@transaction.atomic
def client_register(*, actor: User | None, client: Open311Client) -> str:
    """Store a new client (its name, area and state already set) with a fresh key; return the key.

    The key is shown once, to whoever registered the client; only its hash is kept.
    """
    if client.pk is not None:
        raise ValidationError(_("This client is already registered"), code="already_registered")
    key = new_key()
    _set_key(client, key)
    client.created_at = clock.now()
    client.save(force_insert=True)
    audit.record(
        actor=actor,
        action="open311.client.created",
        obj=client,
        changes={"place": client.place.code if client.place else "", "active": client.is_active},
    )
    return key


@transaction.atomic
def client_rotate_key(*, actor: User | None, client: Open311Client) -> str:
    """Give the client a new key; the old one stops working at once."""
    key = new_key()
    _set_key(client, key)
    client.save(update_fields=["key_hash", "key_prefix"])
    audit.record(actor=actor, action="open311.client.key_rotated", obj=client, changes={})
    return key


@transaction.atomic
def ensure_demo_client() -> Open311Client:
    """The demo's client, whose key is ``wangge-demo-open311``: created once, then kept as it is."""
    found = Open311Client.objects.filter(key_hash=hash_key(DEMO_KEY)).first()
    if found is not None:
        return found
    name = DEMO_CLIENT_NAME
    if Open311Client.objects.filter(name=name).exists():
        name = f"{DEMO_CLIENT_NAME} ({DEMO_KEY})"
    client = Open311Client(name=name, is_active=True, created_at=clock.now())
    _set_key(client, DEMO_KEY)
    client.save(force_insert=True)
    audit.record(actor=None, action="open311.client.created", obj=client, changes={"demo": True})
    return client


def client_authenticate(key: str) -> Open311Client | None:
    """The active client whose key this is, or None. Notes the use at most once a minute."""
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    client = (
        Open311Client.objects.select_related("place").filter(key_hash=hash_key(key), is_active=True).first()
    )
    if client is None:
        return None
    now = clock.now()
    if client.last_used_at is None or now - client.last_used_at > timedelta(minutes=1):
        Open311Client.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
    return client


# --- filing a request -----------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """A POST requests call, parsed (``open311.params``) but not yet checked against the data."""

    service_code: str
    description: str
    lat: float | None = None
    lng: float | None = None
    address_string: str = ""
    address_id: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Submitted:
    case: Case
    token: str
    # False when a retry with the same idempotency key returned the first result.
    created: bool


def _is_cjk(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith("CJK") for ch in text)


def reporter_name(first_name: str, last_name: str) -> str:
    """A Chinese name is family name first, without a space; other names first name first."""
    first, last = first_name.strip(), last_name.strip()
    if _is_cjk(first + last):
        return f"{last}{first}"
    return " ".join(part for part in (first, last) if part)


def _place_named(address_string: str) -> Place | None:
    """The one street, community, grid or building with exactly this name or code, if any."""
    text = address_string.strip()
    if not text:
        return None
    by_code = Place.objects.filter(code=text).first()
    if by_code is not None:
        return by_code
    named = list(Place.objects.filter(name=text, kind__in=NAMEABLE_KINDS)[:2])
    return named[0] if len(named) == 1 else None


def _where(client: Open311Client, sub: Submission) -> tuple[Place, float | None, float | None]:
    place: Place | None = None
    if sub.address_id:
        place = Place.objects.filter(code=sub.address_id).first()
        if place is None:
            raise ValidationError(
                _("Unknown address_id: %(id)s (send the code of a place)") % {"id": sub.address_id},
                code="bad_address_id",
            )
    elif sub.lat is None and sub.lng is None and sub.address_string:
        place = _place_named(sub.address_string)
        if place is None:
            raise ValidationError(
                _("The address_string does not name exactly one place; send lat and long, or an address_id"),
                code="address_not_found",
            )
    if place is None and sub.lat is None and sub.lng is None:
        raise ValidationError(
            _("A location is required: lat and long, an address_id, or an address_string"),
            code="location_required",
        )
    where, lat, lng = locate(place=place, lat=sub.lat, lng=sub.lng)
    if client.place is not None and not where.path.startswith(client.place.path):
        raise PermissionDenied(_("This API key may file requests only in its own area"))
    return where, lat, lng


def _new_token() -> str:
    return secrets.token_urlsafe(16)


@transaction.atomic
def request_submit(*, client: Open311Client, submission: Submission, idempotency_key: str = "") -> Submitted:
    """File a request for ``client`` through intake; the same idempotency key returns the first result."""
    if not client.is_active:
        raise PermissionDenied(_("The api_key is not valid"))
    key = idempotency_key.strip()
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValidationError(
            _("The Idempotency-Key is longer than %(n)d characters") % {"n": MAX_IDEMPOTENCY_KEY_LENGTH},
            code="bad_idempotency_key",
        )
    category = categories_active().filter(code=submission.service_code).first()
    if category is None:
        raise ValidationError(
            _("Unknown service_code: %(code)s") % {"code": submission.service_code}, code="bad_service_code"
        )
    where, lat, lng = _where(client, submission)
    result = case_intake(
        actor=None,
        channel=Channel.OPEN311,
        category=category,
        description=submission.description,
        place=where,
        lat=lat,
        lng=lng,
        address=submission.address_string,
        reporter_name=reporter_name(submission.first_name, submission.last_name),
        reporter_phone=submission.phone,
        # Scoped to the client: two clients may use the same key without meeting.
        idempotency_key=f"open311:{client.pk}:{key}" if key else "",
        source_ref=f"open311:{client.pk}",
    )
    if not result.created:
        filed = Open311Request.objects.filter(case=result.case, client=client).first()
        if filed is not None:
            return Submitted(case=result.case, token=filed.token, created=False)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                filed = Open311Request.objects.create(
                    client=client, case=result.case, token=_new_token(), created_at=clock.now()
                )
            break
        except IntegrityError:  # pragma: no cover - a 128-bit collision
            continue
    else:  # pragma: no cover
        raise RuntimeError("could not draw a unique Open311 token")
    audit.record(
        actor=None,
        action="open311.request.filed",
        obj=result.case,
        changes={"client": client.pk, "service_code": category.code},
    )
    return Submitted(case=result.case, token=filed.token, created=result.created)
