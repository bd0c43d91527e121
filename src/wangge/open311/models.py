"""Open311 clients and the requests they filed.

A client is a connected system (a city app, a partner's platform) that files requests
through GeoReport v2 with an API key. Only the key's SHA-256 is stored, with a short prefix
so administrators can tell keys apart. Every request a client files is remembered with the
token it was given, so the client can follow its own requests, non-public ones included.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.cases.models import Case
from wangge.places.models import Place


class Open311Client(models.Model):
    """A connected system allowed to file requests through Open311 (接口客户端)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(_("key starts with"), max_length=12, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    # A client for one area files and lists requests in this place's subtree only.
    place = models.ForeignKey(
        Place,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("area"),
        help_text=_("Leave empty to allow requests anywhere; otherwise only in this place and below."),
    )
    created_at = models.DateTimeField(_("created at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 client")
        verbose_name_plural = _("Open311 clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Open311Request(models.Model):
    """A request an Open311 client filed (接口报件) and the token it was given for it."""

    client = models.ForeignKey(Open311Client, on_delete=models.PROTECT, related_name="requests")
    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="open311_request")
    token = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")
        indexes = [models.Index(fields=["client", "created_at"], name="open311_client_created")]

    def __str__(self) -> str:
        return f"{self.client_id} {self.case_id}"
