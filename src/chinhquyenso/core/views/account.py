"""Sign in (password, then TOTP), TOTP enrolment, sign out."""

from django.contrib.auth import views as auth_views
from django.urls import path

urlpatterns = [
    path("dang-nhap/", auth_views.LoginView.as_view(template_name="core/login.html"), name="login"),
    path("dang-xuat/", auth_views.LogoutView.as_view(), name="logout"),
    path("xac-thuc/", auth_views.LoginView.as_view(), name="otp"),
    path("xac-thuc/dang-ky/", auth_views.LoginView.as_view(), name="otp_enrol"),
]
