"""Home page, navigation per role, error pages."""

from __future__ import annotations

from django.utils import timezone

from chinhquyenso.core.models import Notification, Position, Role
from chinhquyenso.core.models.notifications import Channel
from tests.core.test_pages_support import sign_in


def nav_labels(html: str) -> set[str]:
    nav = html.split('id="cqs-nav"', 1)[1].split("</ul>", 1)[0]
    return {
        label
        for label in ("Cơ quan, đơn vị", "Cán bộ", "Lịch làm việc", "Nhật ký hệ thống", "Khóa API")
        if label in nav
    }


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/dang-nhap/")


def test_home_shows_positions_and_unread_notifications(client, responsible, commune_b):
    Position.objects.create(
        user=responsible,
        organisation=commune_b,
        role=Role.DESK_OFFICER,
        title="Một cửa",
        is_primary=False,
    )
    for i in range(3):
        Notification.objects.create(recipient=responsible, channel=Channel.IN_APP, body=f"n{i}")
    Notification.objects.create(
        recipient=responsible, channel=Channel.IN_APP, body="đã đọc", read_at=timezone.now()
    )
    Notification.objects.create(recipient=responsible, channel=Channel.EMAIL, body="thư")
    sign_in(client, responsible)
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Xin chào, Nguyễn Văn An" in html
    assert "Văn phòng HĐND và UBND xã Đơn Dương" in html
    assert "UBND xã D&#x27;Ran" in html
    assert "Cán bộ tiếp nhận (một cửa)" in html
    assert "Kiêm nhiệm" in html
    assert 'id="unread-count">3<' in html
    # The navbar shows the name and the current (primary) position.
    assert "Chuyên viên – Văn phòng HĐND và UBND xã Đơn Dương" in html


def test_navigation_follows_the_role(client, responsible, commune_admin, leader):
    sign_in(client, responsible)
    assert nav_labels(client.get("/").content.decode()) == {"Cơ quan, đơn vị"}
    client.logout()
    sign_in(client, leader)
    assert nav_labels(client.get("/").content.decode()) == {"Cơ quan, đơn vị", "Cán bộ"}
    client.logout()
    sign_in(client, commune_admin)
    assert nav_labels(client.get("/").content.decode()) == {
        "Cơ quan, đơn vị",
        "Cán bộ",
        "Lịch làm việc",
        "Nhật ký hệ thống",
        "Khóa API",
    }


def test_shell_has_htmx_csrf_header_language_switch_and_logout_form(client, responsible):
    sign_in(client, responsible)
    html = client.get("/").content.decode()
    assert '<html lang="vi">' in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert 'action="/i18n/setlang/"' in html
    assert 'action="/dang-xuat/" method="post"' in html


def test_404_page_is_vietnamese(client, responsible):
    sign_in(client, responsible)
    response = client.get("/khong-co-trang-nay/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Không tìm thấy trang hoặc đối tượng bạn yêu cầu." in html
    assert '<html lang="vi">' in html


def test_403_and_500_pages_are_vietnamese(rf, db):
    from chinhquyenso.core.views import errors

    request = rf.get("/quan-tri/")
    response = errors.server_error(request)
    html = response.content.decode()
    assert response.status_code == 500
    assert "Lỗi hệ thống. Vui lòng thử lại sau ít phút." in html
    assert "Traceback" not in html
    api = errors.server_error(rf.get("/api/v1/x"))
    assert api.status_code == 500 and api["Content-Type"] == "application/json"


def test_csrf_failure_page_is_vietnamese(rf, db):
    from chinhquyenso.core.views import errors

    response = errors.csrf_failure(rf.post("/dang-nhap/"), reason="CSRF cookie not set.")
    assert response.status_code == 403
    assert "Biểu mẫu đã hết hạn" in response.content.decode()


def test_english_navigation(client, commune_admin):
    sign_in(client, commune_admin)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Organisations" in html and "Audit trail" in html and "Sign out" in html


def test_api_errors_stay_json(client, db):
    response = client.get("/api/v1/khong-co/")
    assert response.status_code == 404
