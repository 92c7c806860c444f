from django.contrib import admin
from django.urls import include, path

from chinhquyenso.api import api
from chinhquyenso.core.views import errors

urlpatterns = [
    path("api/v1/", api.urls),
    path("quan-tri-he-thong/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("thu-tuc/", include("chinhquyenso.procedures.urls")),
    path("ho-so/", include("chinhquyenso.dossiers.urls")),
    path("tra-cuu/", include("chinhquyenso.dossiers.urls_public")),
    path("chu-ky-so/", include("chinhquyenso.signing.urls")),
    path("", include("chinhquyenso.core.urls")),
]

handler400 = errors.bad_request
handler403 = errors.forbidden
handler404 = errors.not_found
handler500 = errors.server_error
