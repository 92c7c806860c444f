"""Calendar page: the year's holidays, overrides created and deleted through the page."""

from __future__ import annotations

import datetime as dt

from chinhquyenso.core.models import AuditEntry, CalendarOverride
from chinhquyenso.core.models.calendar import Weekday
from chinhquyenso.core.services import calendar as calendar_service
from tests.core.test_pages_support import sign_in

PAGE = "/quan-tri/lich-lam-viec/"
CREATE = "/quan-tri/lich-lam-viec/them/"


def test_anonymous_and_forbidden(client, responsible, leader, citizen):
    assert client.get(PAGE)["Location"].startswith("/dang-nhap/")
    for who in (responsible, leader, citizen):
        sign_in(client, who)
        assert client.get(PAGE).status_code == 403
        assert client.post(CREATE, {}).status_code == 403
        client.logout()


def test_page_lists_the_years_holidays(client, province_admin):
    sign_in(client, province_admin)
    response = client.get(PAGE, {"nam": 2026})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Lịch làm việc năm 2026" in html
    assert "Tết Dương lịch" in html
    assert "01/01/2026" in html
    assert "Giỗ Tổ Hùng Vương" in html
    assert "02/09/2026" in html


def test_weekdays_are_written_as_everywhere_else(client, province_admin):
    """The weekday as `Weekday` labels it (Thứ Năm, Chủ nhật), not Django's "Thứ 5"."""
    sign_in(client, province_admin)
    html = client.get(PAGE, {"nam": 2026}).content.decode()
    table = html.split('id="holidays"', 1)[1].split("</table>", 1)[0]
    rows = {
        row.split("</td>", 1)[0].rsplit(">", 1)[-1]: row
        for row in table.split('<td class="text-nowrap">')[1:]
    }
    assert "Thứ Năm" in rows["01/01/2026"]  # Tết Dương lịch
    assert "Chủ nhật" in rows["26/04/2026"]  # Giỗ Tổ Hùng Vương
    assert "Thứ 5" not in table and "Chủ Nhật" not in table
    # The Saturday worked for the 31/08 bridge day is listed with its weekday.
    assert "22/08/2026 (Thứ Bảy)" in html
    # The office sessions' weekdays (admin, OfficeSession) in the same style.
    assert [str(day.label) for day in Weekday] == [
        "Thứ Hai",
        "Thứ Ba",
        "Thứ Tư",
        "Thứ Năm",
        "Thứ Sáu",
        "Thứ Bảy",
        "Chủ nhật",
    ]


def test_create_global_override_through_the_page(client, province_admin):
    sign_in(client, province_admin)
    response = client.post(
        CREATE,
        {
            "date": "02/01/2026",
            "kind": "day_off",
            "reason": "Thông báo 6150/TB-BNV",
            "organisation": "",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}?nam=2026"
    override = CalendarOverride.objects.get()
    assert override.date == dt.date(2026, 1, 2)
    assert override.organisation is None
    assert not calendar_service.is_working_day(dt.date(2026, 1, 2))
    page = client.get(response["Location"]).content.decode()
    assert "Thông báo 6150/TB-BNV" in page
    assert "Đã thêm điều chỉnh lịch ngày 02/01/2026." in page
    assert AuditEntry.objects.filter(action="calendar.override_created").exists()


def test_commune_admin_creates_override_for_own_commune_only(
    client, commune_admin, commune_a, commune_b
):
    sign_in(client, commune_admin)
    ok = client.post(
        CREATE,
        {
            "date": "07/03/2026",
            "kind": "working_day",
            "reason": "Làm bù",
            "organisation": commune_a.pk,
        },
    )
    assert ok.status_code == 302
    assert CalendarOverride.objects.get().organisation == commune_a
    other = client.post(
        CREATE,
        {"date": "14/03/2026", "kind": "day_off", "reason": "x", "organisation": commune_b.pk},
    )
    assert other.status_code == 400  # not a valid choice
    # A global change needs a top-level administrator: the service refuses, the form says so.
    refused = client.post(CREATE, {"date": "21/03/2026", "kind": "day_off", "reason": "x"})
    assert refused.status_code == 400
    assert 'class="alert alert-danger' in refused.content.decode()
    assert CalendarOverride.objects.count() == 1


def test_form_errors_are_shown(client, province_admin):
    sign_in(client, province_admin)
    bad_date = client.post(CREATE, {"date": "2026-13-45", "kind": "day_off", "reason": "x"})
    assert bad_date.status_code == 400
    assert "Nhập ngày theo dạng dd/mm/yyyy." in bad_date.content.decode()
    client.post(CREATE, {"date": "02/01/2026", "kind": "day_off", "reason": "lần 1"})
    duplicate = client.post(CREATE, {"date": "02/01/2026", "kind": "day_off", "reason": "lần 2"})
    assert duplicate.status_code == 400
    assert "Đã có điều chỉnh lịch ngày 02/01/2026" in duplicate.content.decode()
    assert CalendarOverride.objects.count() == 1


def test_delete_override(client, province_admin):
    sign_in(client, province_admin)
    client.post(CREATE, {"date": "02/01/2026", "kind": "day_off", "reason": "x"})
    override = CalendarOverride.objects.get()
    url = f"/quan-tri/lich-lam-viec/{override.pk}/xoa/"
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302
    assert not CalendarOverride.objects.exists()
    assert client.post(url).status_code == 404


def test_commune_admin_cannot_delete_another_communes_override(
    client, province_admin, commune_admin, commune_b
):
    sign_in(client, province_admin)
    client.post(
        CREATE,
        {"date": "02/01/2026", "kind": "day_off", "reason": "x", "organisation": commune_b.pk},
    )
    override = CalendarOverride.objects.get()
    client.logout()
    sign_in(client, commune_admin)
    assert client.post(f"/quan-tri/lich-lam-viec/{override.pk}/xoa/").status_code == 404
    assert CalendarOverride.objects.exists()
