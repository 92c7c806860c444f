from django.urls import path

from chinhquyenso.signing import batch_views, views

app_name = "signing"

urlpatterns = [
    path("kiem-tra/", views.validate_page, name="validate"),
    path("ky-hang-loat/", batch_views.batch_page, name="batch"),
    path("chung-thu/", views.certificates_page, name="certificates"),
    path("chung-thu/<int:pk>/", views.certificate_detail, name="certificate_detail"),
    path(
        "chung-thu/<int:pk>/ngung-dung/",
        views.certificate_deactivate,
        name="certificate_deactivate",
    ),
    path("kho-tin-cay/", views.trust_page, name="trust"),
    path("kho-tin-cay/<str:sha256>/bat-tat/", views.trust_toggle, name="trust_toggle"),
    path("kho-tin-cay/<str:sha256>/go/", views.trust_remove, name="trust_remove"),
]
