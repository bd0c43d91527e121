from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from wangge.api import api
from wangge.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("wangge.core.urls")),
    path("places/", include("wangge.places.urls")),
    path("people/ledger/", include("wangge.people.ledger_urls")),
    path("people/", include("wangge.people.urls")),
    path("cases/", include("wangge.cases.urls")),
    path("inbox/", include("wangge.core.inbox_urls")),
    path("open311/v2/", include("wangge.open311.urls")),
    path("", include("wangge.cases.public_urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
