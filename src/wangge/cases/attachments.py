"""Photos on cases: checked, re-encoded without their metadata, stored under MEDIA_ROOT.

A phone photo carries EXIF with the exact GPS position and the phone's make; none of it is
kept. Each photo is decoded with Pillow (which refuses what is not an image), bounded in
pixels and bytes, turned upright and written again as JPEG.
"""

from __future__ import annotations

import functools
import hashlib
import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from wangge.core.errors import ValidationError

T = TypeVar("T")
P = ParamSpec("P")
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}
MAX_PIXELS = 40_000_000
LONG_EDGE = 2560


@dataclass(frozen=True)
class Photo:
    """A checked photo, ready to store."""

    content: bytes
    width: int
    height: int
    sha256: str

    def as_file(self) -> ContentFile[bytes]:
        return ContentFile(self.content, name=f"{uuid.uuid4().hex}.jpg")


def read_photo(data: bytes, *, label: str = "") -> Photo:
    name = label or _("photo")
    if len(data) > settings.CASES_MAX_PHOTO_BYTES:
        raise ValidationError(
            _("%(name)s is larger than %(mb)d MB")
            % {"name": name, "mb": settings.CASES_MAX_PHOTO_BYTES // 2**20},
            code="photo_too_large",
        )
    if not data:
        raise ValidationError(_("%(name)s is empty") % {"name": name}, code="photo_empty")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            if fmt not in ACCEPTED_FORMATS:
                raise ValidationError(
                    _("%(name)s is not a JPEG, PNG, WebP or GIF image") % {"name": name}, code="photo_format"
                )
            if probe.width * probe.height > MAX_PIXELS:
                raise ValidationError(
                    _("%(name)s has too many pixels") % {"name": name}, code="photo_too_large"
                )
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = upright.convert("RGB")
            rgb.thumbnail((LONG_EDGE, LONG_EDGE))
            out = io.BytesIO()
            # No exif= argument: the stored file carries no metadata at all.
            rgb.save(out, format="JPEG", quality=85, optimize=True)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValidationError(
            _("%(name)s is not a readable image") % {"name": name}, code="photo_unreadable"
        ) from exc
    content = out.getvalue()
    return Photo(
        content=content, width=rgb.width, height=rgb.height, sha256=hashlib.sha256(content).hexdigest()
    )


def read_photos(items: Sequence[bytes | Photo]) -> list[Photo]:
    """Check and re-encode uploads; photos already read pass through unchanged."""
    if len(items) > settings.CASES_MAX_PHOTOS:
        raise ValidationError(
            _("At most %(n)d photos may be attached") % {"n": settings.CASES_MAX_PHOTOS},
            code="too_many_photos",
        )
    return [
        data if isinstance(data, Photo) else read_photo(data, label=_("Photo %(n)d") % {"n": i + 1})
        for i, data in enumerate(items)
    ]


def photos_read_first(fn: Callable[P, T]) -> Callable[P, T]:
    """Make a service atomic, decoding its ``photos`` before the transaction starts.

    Decoding and re-encoding nine phone photos takes a while; inside the transaction it would
    hold SQLite's single write lock (and a row lock on PostgreSQL) all that time.
    """
    atomic = transaction.atomic(fn)

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        kwargs["photos"] = read_photos(kwargs.get("photos", ()))  # type: ignore[arg-type]
        return atomic(*args, **kwargs)

    return wrapper
