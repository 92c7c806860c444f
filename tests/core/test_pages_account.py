"""Sign-in pages: password, second factor (TOTP), enrolment, lock-out, `next`, expiry."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD
from tests.core.test_pages_support import current_token, totp_device

LOGIN = "/dang-nhap/"
OTP = "/xac-thuc/"
ENROL = "/xac-thuc/dang-ky/"


def post_login(client, username, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_url_names_are_the_agreed_paths():
    assert reverse("core:login") == LOGIN
    assert reverse("core:logout") == "/dang-xuat/"
    assert reverse("core:otp") == OTP
    assert reverse("core:otp_enrol") == ENROL


def test_login_page_is_vietnamese_and_styled(client, db):
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="vi">' in html
    assert "Đăng nhập" in html
    assert "/static/vendor/bootstrap-5.3.9/css/bootstrap.min.css" in html
    assert "/static/vendor/htmx-2.0.11/htmx.min.js" in html
    assert "cdn" not in html.lower()


def test_english_shell_after_switching_language(client, db):
    client.post("/i18n/setlang/", {"language": "en", "next": LOGIN})
    html = client.get(LOGIN).content.decode()
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "Username" in html and "Password" in html
    assert "Digital Government" in html


def test_specialist_signs_in_with_password_only(client, responsible):
    response = post_login(client, "chuyenvien.a")
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Nguyễn Văn An" in home.content.decode()


def test_wrong_password_shows_vietnamese_error(client, responsible):
    response = post_login(client, "chuyenvien.a", "sai-mat-khau")
    assert response.status_code == 200
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in response.content.decode()
    assert not is_signed_in(client)


def test_leader_with_device_goes_to_otp_step_and_in_with_code(client, leader):
    device = totp_device(leader)
    response = post_login(client, "chutich")
    assert response.status_code == 302
    assert response["Location"] == OTP
    # Before the code, every page sends the leader back to the second step.
    assert client.get("/")["Location"] == OTP
    assert client.get("/quan-tri/co-quan/")["Location"] == OTP
    page = client.get(OTP)
    assert page.status_code == 200
    assert "Nhập mã xác thực" in page.content.decode()
    response = client.post(OTP, {"token": current_token(device)})
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Võ Minh Giang" in home.content.decode()


def test_wrong_totp_code_is_refused_counted_and_explained(client, leader):
    device = totp_device(leader)
    post_login(client, "chutich")
    wrong = "000000" if current_token(device) != "000000" else "111111"
    response = client.post(OTP, {"token": wrong})
    assert response.status_code == 200
    assert "Mã xác thực không đúng hoặc đã hết hạn" in response.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    assert client.get("/")["Location"] == OTP  # still not through
    # After repeated failures even the right code must wait (django-otp's throttling).
    device.throttling_failure_count = 5  # 16 s to wait
    device.throttling_failure_timestamp = timezone.now()
    device.save()
    response = client.post(OTP, {"token": current_token(device)})
    assert "Vui lòng đợi" in response.content.decode()
    assert client.get("/")["Location"] == OTP


def test_not_digits_is_a_form_error(client, leader):
    totp_device(leader)
    post_login(client, "chutich")
    response = client.post(OTP, {"token": "abcdef"})
    assert "Mã xác thực chỉ gồm chữ số." in response.content.decode()


def test_leader_without_device_must_enrol_with_qr_then_confirm(client, leader):
    response = post_login(client, "chutich")
    assert response["Location"] == ENROL
    assert client.get("/")["Location"] == ENROL
    page = client.get(ENROL)
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html
    assert "otpauth://totp/" in html
    device = TOTPDevice.objects.get(user=leader, confirmed=False)
    # Reloading the page keeps the same secret (the phone may already have scanned it).
    client.get(ENROL)
    assert TOTPDevice.objects.get(user=leader, confirmed=False).pk == device.pk
    response = client.post(ENROL, {"token": current_token(device)})
    assert response.status_code == 302
    assert response["Location"] == "/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200


def test_enrolment_with_wrong_code_does_not_confirm(client, leader):
    post_login(client, "chutich")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=leader)
    wrong = "000000" if current_token(device) != "000000" else "111111"
    response = client.post(ENROL, {"token": wrong})
    assert "Mã xác thực không đúng" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/")["Location"] == ENROL


def test_unverified_leader_cannot_replace_device_through_enrolment(client, leader):
    totp_device(leader)
    post_login(client, "chutich")
    response = client.get(ENROL + "?moi=1")
    assert response["Location"] == OTP
    assert TOTPDevice.objects.filter(user=leader).count() == 1


def test_specialist_may_enrol_optionally_and_is_then_asked_for_the_code(client, responsible):
    post_login(client, "chuyenvien.a")
    assert "Bật xác thực hai bước" in client.get("/").content.decode()
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=responsible)
    assert client.post(ENROL, {"token": current_token(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    client.post("/dang-xuat/")
    assert post_login(client, "chuyenvien.a")["Location"] == OTP


def test_citizen_signs_in_and_lands_on_account_page(client, citizen):
    response = post_login(client, "068090001234")
    assert response["Location"] == "/"
    html = client.get("/").content.decode()
    assert "Tài khoản của bạn đã hoạt động" in html
    assert "Đặng Thị Hoa" in html
    # Not an official: no administration, no enrolment.
    assert client.get("/quan-tri/co-quan/").status_code == 403
    assert client.get(ENROL).status_code == 403


def test_lock_out_after_five_wrong_passwords(client, responsible):
    for _ in range(4):
        response = post_login(client, "chuyenvien.a", "sai-mat-khau")
        assert response.status_code == 200
    response = post_login(client, "chuyenvien.a", "sai-mat-khau")
    assert response.status_code == 429
    assert "Tài khoản tạm thời bị khóa" in response.content.decode()
    # Even the right password is refused while locked out.
    response = post_login(client, "chuyenvien.a")
    assert response.status_code == 429
    assert not is_signed_in(client)


@pytest.mark.parametrize(
    "evil",
    ["https://evil.example/", "//evil.example/x", "https:/\\evil.example", "javascript:alert(1)"],
)
def test_next_to_another_site_is_refused(client, responsible, evil):
    response = post_login(client, "chuyenvien.a", next=evil)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_next_on_this_site_is_honoured_through_the_second_factor(client, province_admin):
    device = totp_device(province_admin)
    target = "/quan-tri/co-quan/?q=x"
    response = post_login(client, "quantri.tinh", next=target)
    assert response["Location"].startswith(OTP + "?next=")
    response = client.post(response["Location"], {"token": current_token(device)})
    assert response["Location"] == target


def test_anonymous_is_sent_to_login_with_next(client, db):
    response = client.get("/quan-tri/can-bo/")
    assert response.status_code == 302
    assert response["Location"] == "/dang-nhap/?next=/quan-tri/can-bo/"


def test_expired_session_says_so(client, responsible):
    post_login(client, "chuyenvien.a")
    Session.objects.all().delete()  # the server forgot the session (expired)
    response = client.get("/quan-tri/co-quan/", follow=True)
    assert response.redirect_chain[0][0].startswith(LOGIN)
    assert "Phiên làm việc đã hết hạn, vui lòng đăng nhập lại." in response.content.decode()


def test_htmx_request_without_session_gets_hx_redirect(client, db):
    response = client.get("/quan-tri/co-quan/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(LOGIN)


def test_first_visit_has_no_expiry_message(client, db):
    response = client.get("/", follow=True)
    assert "Phiên làm việc đã hết hạn" not in response.content.decode()


def test_logout_is_a_post(client, responsible):
    post_login(client, "chuyenvien.a")
    assert client.get("/dang-xuat/").status_code == 200  # a confirmation page, still signed in
    assert is_signed_in(client)
    response = client.post("/dang-xuat/")
    assert response["Location"] == LOGIN
    assert not is_signed_in(client)
