from django.urls import path

from chinhquyenso.signing import views

app_name = "signing"

urlpatterns = [
    path("kiem-tra/", views.validate_page, name="validate"),
]
