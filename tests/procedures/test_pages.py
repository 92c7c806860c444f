"""Persona tests of the pages under /thu-tuc/: catalogue, detail, import, export, editor."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from chinhquyenso.procedures import queries, services
from chinhquyenso.procedures.models import Procedure, Process
from tests.conftest import sign_in

BASE = "/thu-tuc/"


# --- Catalogue and detail (public) ----------------------------------------------------------------


def test_catalogue_page_is_public_with_search(client, catalogue):
    response = client.get(BASE, {"q": "khai sinh luu dong"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "1.003583" in html
    assert "Thủ tục đăng ký kết hôn lưu động" not in html
    assert "Nhập danh mục" not in html
    assert "Xuất JSON" not in html


def test_catalogue_page_filters_and_pages(client, catalogue):
    html = client.get(BASE, {"cap": "province"}).content.decode()
    assert "3.000333" in html and "1.001193" not in html
    html = client.get(BASE, {"trang": 3}).content.decode()
    assert "Trang 3/3" in html


def test_catalogue_page_shows_tools_by_role(client, catalogue, responsible, province_admin):
    html = sign_in(client, responsible).get(BASE).content.decode()
    assert "Xuất JSON" in html and "Nhập danh mục" not in html
    client.logout()
    html = sign_in(client, province_admin).get(BASE).content.decode()
    assert "Nhập danh mục" in html


def test_detail_page_is_public(client, catalogue):
    response = client.get(f"{BASE}1.001193/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Thủ tục đăng ký khai sinh" in html
    assert "Giấy chứng sinh" in html
    assert "Miễn phí" in html
    assert "Mức độ 2" in html
    assert "Lịch sử phiên bản" not in html  # for officials


def test_detail_page_for_officials_has_versions_and_processes(
    client, catalogue, responsible, province_admin
):
    procedure = Procedure.objects.get(national_code="1.001193")
    services.update_procedure(actor=province_admin, procedure=procedure, result_type="Giấy KS")
    sign_in(client, responsible)
    html = client.get(f"{BASE}1.001193/").content.decode()
    assert "Lịch sử phiên bản" in html
    assert "Quy trình nội bộ" in html
    assert "Mở trình soạn quy trình" not in html
    old = client.get(f"{BASE}1.001193/", {"phien-ban": 1}).content.decode()
    assert "không phải phiên bản hiện hành" in old


@pytest.mark.parametrize("wanted", ["²", "abc", "-1"])
def test_detail_page_ignores_a_version_that_is_not_a_number(client, catalogue, responsible, wanted):
    sign_in(client, responsible)
    response = client.get(f"{BASE}1.001193/", {"phien-ban": wanted})
    assert response.status_code == 200
    assert "không phải phiên bản hiện hành" not in response.content.decode()


def test_a_validation_error_escaping_a_page_is_a_vietnamese_400(rf, db):
    """The catalogue pages' wrapper itself (`views._public`), around a view that lets a
    ValidationFailed escape: the 400 page with its message, never a stack trace."""
    from django.contrib.auth.models import AnonymousUser

    from chinhquyenso.core.errors import ValidationFailed
    from chinhquyenso.procedures.views import _public

    @_public
    def view(request):
        raise ValidationFailed("Lĩnh vực “²” không hợp lệ.", code="invalid_field")

    request = rf.get(BASE)
    request.user = AnonymousUser()
    response = view(request)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Yêu cầu không hợp lệ" in html and "Lĩnh vực “²” không hợp lệ." in html


def test_unknown_code_is_a_vietnamese_404(client, catalogue):
    response = client.get(f"{BASE}9.999999/")
    assert response.status_code == 404
    assert "Không tìm thấy thủ tục hành chính có mã" in response.content.decode()


# --- Import ---------------------------------------------------------------------------------------


def test_import_page_for_the_province_admin(client, db, province_admin, national_records):
    sign_in(client, province_admin)
    assert client.get(f"{BASE}nhap/").status_code == 200
    national_records[1]["level"] = "Cấp vũ trụ"
    upload = SimpleUploadedFile("mau.json", json.dumps(national_records).encode())
    response = client.post(f"{BASE}nhap/", {"file": upload})
    assert response.status_code == 200
    html = response.content.decode()
    assert "61 thủ tục mới" in html
    assert "Cấp vũ trụ" in html
    assert "invalid_level" in html
    assert Procedure.objects.count() == 61


def test_import_page_reads_excel(client, catalogue, province_admin):
    data = services.export_workbook(actor=None, system=True)
    sign_in(client, province_admin)
    response = client.post(f"{BASE}nhap/", {"file": SimpleUploadedFile("dm.xlsx", data)})
    assert "62 không đổi" in response.content.decode()


def test_import_page_refuses_garbage(client, db, province_admin):
    sign_in(client, province_admin)
    response = client.post(f"{BASE}nhap/", {"file": SimpleUploadedFile("x.json", b"\xff\x00")})
    assert "không phải JSON hoặc Excel" in response.content.decode()


def test_import_page_asks_anonymous_to_sign_in(client, db):
    response = client.get(f"{BASE}nhap/")
    assert response.status_code == 302
    assert "next=" in response["Location"]


@pytest.mark.parametrize("persona", ["commune_admin", "responsible", "citizen"])
def test_import_page_forbidden_to_others(client, request, db, persona):
    sign_in(client, request.getfixturevalue(persona))
    assert client.get(f"{BASE}nhap/").status_code == 403
    assert client.post(f"{BASE}nhap/", {}).status_code == 403


# --- Export ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["xuat.json", "xuat.xlsx"])
def test_export_pages(client, catalogue, responsible, citizen, path):
    assert client.get(f"{BASE}{path}").status_code == 302
    sign_in(client, citizen)
    assert client.get(f"{BASE}{path}").status_code == 403
    client.logout()
    sign_in(client, responsible)
    response = client.get(f"{BASE}{path}")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]


# --- Process editor -------------------------------------------------------------------------------


def editor(commune):
    return f"{BASE}1.001193/quy-trinh/{commune.pk}/"


def formset_data(rows, action="save"):
    data = {
        "action": action,
        "buoc-TOTAL_FORMS": str(len(rows)),
        "buoc-INITIAL_FORMS": "0",
        "buoc-MIN_NUM_FORMS": "0",
        "buoc-MAX_NUM_FORMS": "50",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"buoc-{i}-{key}"] = value
    return data


def rows(commune_a, unit_a, handle_hours="4"):
    def row(name, kind, unit, role, amount, unit_of_time, allowed=""):
        return {
            "name": name,
            "kind": kind,
            "unit": unit.pk,
            "role": role,
            "allotment": amount,
            "allotment_unit": unit_of_time,
            "transfer_to": "",
            "allowed_next": allowed,
            "can_forward": "on",
        }

    return [
        row("Tiếp nhận", "receive", commune_a, "desk_officer", "30", "phut"),
        row("Thẩm định", "handle", unit_a, "specialist", handle_hours, "gio", "4"),
        row("Phê duyệt", "approve", commune_a, "leader", "1", "gio", "2"),
        row("Trả kết quả", "return", commune_a, "desk_officer", "0.5", "gio"),
    ]


def test_editor_saves_a_valid_process(client, catalogue, commune_a, unit_a, commune_admin):
    sign_in(client, commune_admin)
    page = client.get(editor(commune_a))
    assert page.status_code == 200
    assert "chưa có quy trình" in page.content.decode()
    response = client.post(editor(commune_a), formset_data(rows(commune_a, unit_a)))
    assert response.status_code == 302
    process = queries.current_process(Procedure.objects.get(national_code="1.001193"), commune_a)
    assert [s.allotment_minutes for s in process.steps.all()] == [30, 240, 60, 30]
    assert process.steps.get(order=2).allowed_next == [4]
    html = client.get(editor(commune_a)).content.decode()
    assert "phiên bản hiện hành 1" in html


def test_editor_writes_the_legal_minutes_with_thousands_separators(
    client, catalogue, commune_a, commune_admin
):
    version = Procedure.objects.get(national_code="1.001193").current_version
    version.processing_time = 15
    version.save(update_fields=["processing_time"])
    sign_in(client, commune_admin)
    html = client.get(editor(commune_a)).content.decode()
    day = services.standard_day_minutes()
    expected = f"{15 * day:,}".replace(",", ".")
    assert 15 * day >= 1000
    assert f"({expected} phút làm việc)" in html


def test_levels_before_the_reform_are_dated_dd_mm_yyyy(client, catalogue):
    html = client.get(BASE).content.decode()
    assert "Cấp huyện (trước 01/07/2025)" in html
    assert "01/7/2025" not in html


def test_editor_refuses_more_than_the_legal_time(
    client, catalogue, commune_a, unit_a, commune_admin
):
    sign_in(client, commune_admin)
    response = client.post(editor(commune_a), formset_data(rows(commune_a, unit_a, "7")))
    assert response.status_code == 200
    html = response.content.decode()
    assert "vượt thời hạn giải quyết theo quy định" in html
    assert not Process.objects.exists()


def test_editor_refuses_a_process_without_return(
    client, catalogue, commune_a, unit_a, commune_admin
):
    data = rows(commune_a, unit_a)
    data[3]["kind"] = "approve"
    sign_in(client, commune_admin)
    html = client.post(editor(commune_a), formset_data(data)).content.decode()
    assert "Bước cuối cùng phải là bước trả kết quả" in html
    assert not Process.objects.exists()


def test_editor_deleted_rows_and_check(client, catalogue, commune_a, unit_a, commune_admin):
    data = rows(commune_a, unit_a)
    data.append({**data[1], "DELETE": "on"})
    sign_in(client, commune_admin)
    html = client.post(editor(commune_a), formset_data(data, "check")).content.decode()
    assert "Quy trình hợp lệ" in html
    assert not Process.objects.exists()


def test_editor_fills_the_default(client, catalogue, commune_a, unit_a, commune_admin):
    sign_in(client, commune_admin)
    html = client.post(editor(commune_a), {"action": "default"}).content.decode()
    assert "Đã điền quy trình mặc định" in html
    # The message names the button there is ("Lưu phiên bản mới"), not a "Lưu" there is not.
    assert "kiểm tra rồi bấm “Lưu phiên bản mới”." in html
    assert ">Lưu phiên bản mới</button>" in html
    assert "Thẩm định, xử lý hồ sơ" in html
    assert not Process.objects.exists()
    # In English too, the message names the button as the English page labels it.
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.post(editor(commune_a), {"action": "default"}).content.decode()
    assert "check it, then click “Save as a new version”." in english
    assert ">Save as a new version</button>" in english


def test_editor_adds_a_row_without_javascript(client, catalogue, commune_a, unit_a, commune_admin):
    sign_in(client, commune_admin)
    html = client.post(editor(commune_a), formset_data(rows(commune_a, unit_a), "add")).content
    assert b'name="buoc-TOTAL_FORMS" value="5"' in html


def test_editor_chooser_redirects(client, catalogue, commune_a, commune_admin):
    sign_in(client, commune_admin)
    response = client.get(f"{BASE}1.001193/quy-trinh/", {"co-quan": commune_a.pk})
    assert response["Location"] == editor(commune_a)


@pytest.mark.parametrize("org_id", ["²", "abc", "-1"])
def test_editor_chooser_sends_a_bad_organisation_back_to_the_detail(
    client, catalogue, commune_admin, org_id
):
    sign_in(client, commune_admin)
    response = client.get(f"{BASE}1.001193/quy-trinh/", {"co-quan": org_id})
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}1.001193/"


@pytest.mark.parametrize("action", ["add", "save", "check"])
@pytest.mark.parametrize(
    "management",
    [
        {"buoc-TOTAL_FORMS": "x"},
        {"buoc-TOTAL_FORMS": "²"},
        {"buoc-TOTAL_FORMS": "-3"},
        {"buoc-TOTAL_FORMS": None},
        {"buoc-INITIAL_FORMS": None},
        {"buoc-TOTAL_FORMS": "1000"},  # far more rows than a process may have steps
    ],
    ids=["letters", "superscript", "negative", "no-total", "no-initial", "a-thousand-rows"],
)
def test_editor_refuses_a_tampered_management_form_in_vietnamese(
    client, catalogue, commune_a, unit_a, commune_admin, action, management
):
    data = formset_data(rows(commune_a, unit_a), action)
    for key, value in management.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    sign_in(client, commune_admin)
    response = client.post(editor(commune_a), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Dữ liệu các bước gửi lên không đầy đủ" in html
    assert "ManagementForm" not in html
    assert 'id="quy-trinh"' in html  # the editor again, with the saved steps
    assert not Process.objects.exists()


def test_editor_says_in_vietnamese_that_there_are_too_many_steps(
    client, catalogue, commune_a, unit_a, commune_admin
):
    data = rows(commune_a, unit_a)
    data = data[:-1] + [data[1]] * 47 + data[-1:]
    sign_in(client, commune_admin)
    response = client.post(editor(commune_a), formset_data(data))
    html = response.content.decode()
    assert "Quy trình có tối đa 50 bước." in html
    assert "Please submit" not in html
    assert not Process.objects.exists()


@pytest.mark.parametrize("allowed", ["²", "1, ²"])
def test_editor_refuses_step_numbers_that_are_not_plain_numbers(
    client, catalogue, commune_a, unit_a, commune_admin, allowed
):
    data = rows(commune_a, unit_a)
    data[1]["allowed_next"] = allowed
    sign_in(client, commune_admin)
    response = client.post(editor(commune_a), formset_data(data))
    assert response.status_code == 200
    assert "Chỉ nhập số thứ tự bước" in response.content.decode()
    assert not Process.objects.exists()


@pytest.mark.parametrize("persona", ["responsible", "colleague", "citizen"])
def test_editor_forbidden_to_others(client, request, catalogue, commune_a, persona):
    sign_in(client, request.getfixturevalue(persona))
    assert client.get(editor(commune_a)).status_code == 403


def test_editor_of_another_commune_is_not_found(client, catalogue, commune_b, commune_admin):
    sign_in(client, commune_admin)
    response = client.get(editor(commune_b))
    assert response.status_code == 404
    assert "Không tìm thấy cơ quan" in response.content.decode()


def test_editor_anonymous_goes_to_login(client, catalogue, commune_a):
    assert client.get(editor(commune_a)).status_code == 302


def test_leader_may_open_the_editor(client, catalogue, commune_a, leader):
    assert sign_in(client, leader).get(editor(commune_a)).status_code == 200


def test_detail_page_links_the_editor_for_its_managers(
    client, catalogue, commune_a, unit_a, commune_admin
):
    birth = Procedure.objects.get(national_code="1.001193")
    services.default_process(actor=commune_admin, procedure=birth, organisation=commune_a)
    html = sign_in(client, commune_admin).get(f"{BASE}1.001193/").content.decode()
    assert "Mở trình soạn quy trình" in html
    assert editor(commune_a) in html
    assert "UBND xã Đơn Dương – phiên bản 1" in html
    editor_html = client.get(editor(commune_a)).content.decode()
    assert "buoc-__prefix__-name" in editor_html  # the row template for "Thêm bước"
    assert "Tiếp nhận hồ sơ (" in editor_html  # the versions table
