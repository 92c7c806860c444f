"""People pages: list with search and pagination, detail, create official, add position."""

from __future__ import annotations

from chinhquyenso.core.models import AuditEntry, Position, Role, User
from tests.conftest import PASSWORD, make_official
from tests.core.test_pages_support import sign_in

LIST = "/quan-tri/can-bo/"


def test_anonymous_and_forbidden_personas(client, responsible, citizen, commune_a):
    assert client.get(LIST)["Location"].startswith("/dang-nhap/")
    for who in (responsible, citizen):
        sign_in(client, who)
        assert client.get(LIST).status_code == 403
        assert client.get(f"{LIST}them/").status_code == 403
        client.logout()


def test_admin_lists_people_of_own_commune_with_role_labels(
    client, commune_admin, responsible, colleague, other_commune_official
):
    sign_in(client, commune_admin)
    response = client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nguyễn Văn An" in html and "Trần Thị Bình" in html
    assert "Lê Văn Cường" not in html  # another commune
    assert "Chuyên viên" in html
    assert "Quản trị hệ thống" in html


def test_search_and_pagination(client, province_admin, province, django_assert_max_num_queries):
    for i in range(30):
        make_official(f"canbo{i:02d}", province, Role.SPECIALIST, full_name=f"Cán bộ Số {i:02d}")
    sign_in(client, province_admin)
    client.get(LIST)
    with django_assert_max_num_queries(8):
        first = client.get(LIST).content.decode()
    assert "Trang 1/2" in first
    found = client.get(LIST, {"q": "canbo07"}).content.decode()
    assert "Cán bộ Số 07" in found and "Cán bộ Số 08" not in found


def test_detail_and_out_of_scope(client, commune_admin, responsible, other_commune_official):
    sign_in(client, commune_admin)
    response = client.get(f"{LIST}{responsible.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nguyễn Văn An" in html
    assert "Văn phòng HĐND và UBND xã Đơn Dương" in html
    assert "Chuyên viên" in html
    assert client.get(f"{LIST}{other_commune_official.pk}/").status_code == 404
    assert client.get(f"{LIST}999999/").status_code == 404


def test_leader_may_view_but_not_manage(client, leader, responsible):
    sign_in(client, leader)
    assert client.get(LIST).status_code == 200
    assert client.get(f"{LIST}{responsible.pk}/").status_code == 200
    assert client.get(f"{LIST}them/").status_code == 403
    assert client.get(f"{LIST}{responsible.pk}/vi-tri/them/").status_code == 403


def test_create_official(client, commune_admin, unit_a):
    sign_in(client, commune_admin)
    assert client.get(f"{LIST}them/").status_code == 200
    response = client.post(
        f"{LIST}them/",
        {
            "username": "vanthu.a",
            "full_name": "Bùi Thị Lan",
            "organisation": unit_a.pk,
            "role": Role.CLERK,
            "title": "Văn thư",
            "email": "lan@example.vn",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    person = User.objects.get(username="vanthu.a")
    assert response["Location"] == f"{LIST}{person.pk}/"
    assert person.check_password(PASSWORD)
    assert person.positions.get().role == Role.CLERK
    assert AuditEntry.objects.filter(action="person.created").exists()


def test_create_official_errors(client, commune_admin, unit_a, responsible):
    sign_in(client, commune_admin)
    base = {
        "full_name": "X",
        "organisation": unit_a.pk,
        "role": Role.SPECIALIST,
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    taken = client.post(f"{LIST}them/", {**base, "username": "chuyenvien.a"})
    assert "đã tồn tại" in taken.content.decode()
    weak = client.post(
        f"{LIST}them/", {**base, "username": "moi.a", "password1": "123", "password2": "123"}
    )
    assert weak.status_code == 200
    assert not User.objects.filter(username="moi.a").exists()
    mismatch = client.post(f"{LIST}them/", {**base, "username": "moi.b", "password2": "khac"})
    assert "Hai lần nhập mật khẩu không khớp." in mismatch.content.decode()


def test_add_position_kiem_nhiem(client, province_admin, responsible, commune_b):
    sign_in(client, province_admin)
    url = f"{LIST}{responsible.pk}/vi-tri/them/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "organisation": commune_b.pk,
            "role": Role.DESK_OFFICER,
            "title": "Cán bộ một cửa (kiêm nhiệm)",
            "start_date": "01/01/2026",
        },
    )
    assert response.status_code == 302
    position = Position.objects.get(user=responsible, organisation=commune_b)
    assert position.role == Role.DESK_OFFICER
    assert not position.is_primary
    assert str(position.start_date) == "2026-01-01"
    detail = client.get(f"{LIST}{responsible.pk}/").content.decode()
    assert "Cán bộ tiếp nhận (một cửa)" in detail
    assert "Kiêm nhiệm" in detail


def test_commune_admin_cannot_add_position_elsewhere(client, commune_admin, responsible, commune_b):
    sign_in(client, commune_admin)
    response = client.post(
        f"{LIST}{responsible.pk}/vi-tri/them/",
        {"organisation": commune_b.pk, "role": Role.SPECIALIST},
    )
    assert response.status_code == 200  # not a valid choice
    assert not Position.objects.filter(organisation=commune_b, user=responsible).exists()


def test_end_position(client, commune_admin, responsible):
    sign_in(client, commune_admin)
    position = responsible.positions.get()
    response = client.post(f"/quan-tri/vi-tri/{position.pk}/ket-thuc/")
    assert response.status_code == 302
    position.refresh_from_db()
    assert position.end_date is not None
