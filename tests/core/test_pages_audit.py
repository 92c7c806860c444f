"""Audit page: filters, pagination, labels, the integrity check."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from chinhquyenso.core.models import AuditEntry
from chinhquyenso.core.services import audit
from tests.core.test_pages_support import sign_in

PAGE = "/quan-tri/nhat-ky/"


def add_entries(n, action="organisation.updated", **kwargs):
    with transaction.atomic():
        for i in range(n):
            audit.record(action=action, object_type="core.organisation", object_id=i, **kwargs)


def test_forbidden_personas(client, responsible, leader, citizen):
    assert client.get(PAGE)["Location"].startswith("/dang-nhap/")
    for who in (responsible, leader, citizen):
        sign_in(client, who)
        assert client.get(PAGE).status_code == 403
        assert client.post(PAGE + "kiem-tra/").status_code == 403
        client.logout()


def test_newest_first_with_labels_and_pagination(
    client, province_admin, province, django_assert_max_num_queries
):
    add_entries(60, organisation=province, actor=province_admin)
    add_entries(1, action="module.unknown_code", organisation=province)
    sign_in(client, province_admin)
    client.get(PAGE)
    with django_assert_max_num_queries(8):
        response = client.get(PAGE)
    html = response.content.decode().split('id="audit-entries"', 1)[1]
    assert response.status_code == 200
    assert html.index("module.unknown_code") < html.index("Sửa thông tin cơ quan, đơn vị")
    assert "Trang 1/2" in html
    assert html.count("<tr>") == 51  # header + 50 rows
    assert "Trang 2/2" in client.get(PAGE, {"trang": 2}).content.decode()
    assert "Hoàng Văn Em" in html


def test_codes_of_the_notifications_and_the_form_sets_have_labels(client, province_admin, province):
    add_entries(1, action="notification.failed", organisation=province)
    add_entries(1, action="formset.activated", organisation=province, actor=province_admin)
    sign_in(client, province_admin)
    html = client.get(PAGE).content.decode().split('id="audit-entries"', 1)[1]
    assert "Gửi thông báo không thành công" in html
    assert "Đổi bộ biểu mẫu đang áp dụng" in html


def test_scope_of_a_commune_admin(client, commune_admin, commune_a, commune_b):
    add_entries(2, organisation=commune_a)
    add_entries(3, organisation=commune_b)
    sign_in(client, commune_admin)
    html = client.get(PAGE).content.decode()
    assert html.count("core.organisation#") == 2


def test_filters(client, province_admin, province, responsible):
    add_entries(3, organisation=province, actor=province_admin)
    add_entries(2, action="calendar.override_created", organisation=province, actor=responsible)
    sign_in(client, province_admin)

    def rows(**params):
        return client.get(PAGE, params).content.decode().count("core.organisation#")

    assert rows(action="calendar.override_created") == 2
    assert rows(action="calendar.") == 2
    assert rows(actor="chuyenvien.a") == 2
    assert rows(actor="Hoàng Văn Em") == 3
    assert rows(object_type="core.organisation", object_id="1") == 2
    today = timezone.localdate()
    assert rows(date_from=today.strftime("%d/%m/%Y"), date_to=today.strftime("%d/%m/%Y")) == 5
    tomorrow = (today + dt.timedelta(days=1)).strftime("%d/%m/%Y")
    assert rows(date_from=tomorrow) == 0
    bad = client.get(PAGE, {"date_from": "hôm qua"}).content.decode()
    assert "Nhập ngày theo dạng dd/mm/yyyy." in bad
    # The same day is a valid range (above), so the message does not say "after".
    reversed_range = client.get(
        PAGE, {"date_from": tomorrow, "date_to": today.strftime("%d/%m/%Y")}
    ).content.decode()
    assert "Ngày kết thúc không được trước ngày bắt đầu." in reversed_range


def test_integrity_check_ok_and_broken(client, province_admin, province):
    add_entries(3, organisation=province)
    sign_in(client, province_admin)
    response = client.post(PAGE + "kiem-tra/", follow=True)
    assert "Chuỗi nhật ký toàn vẹn: đã kiểm tra 3 bản ghi" in response.content.decode()
    entry = AuditEntry.objects.order_by("id")[1]
    AuditEntry.objects.filter(pk=entry.pk).update(action="organisation.deleted")  # tampering
    response = client.post(PAGE + "kiem-tra/", follow=True)
    html = response.content.decode()
    assert f"Phát hiện nhật ký bị can thiệp tại bản ghi số {entry.pk}" in html
