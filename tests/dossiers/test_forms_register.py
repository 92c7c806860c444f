"""Form 06, the dossier register (Sổ theo dõi hồ sơ), as an Excel workbook read back with
openpyxl."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.dossiers import formsets, register_xlsx
from chinhquyenso.dossiers.models import FormPurpose, Status, Timeliness
from tests.conftest import sign_in
from tests.dossiers.test_forms_fixtures import (
    StepKind,
    add_step_run,
    make_dossier,
    make_procedure,
    make_process,
    vn,
)

HEADINGS = [
    "STT",
    "Mã hồ sơ",
    "Tên thủ tục hành chính",
    "Số lượng hồ sơ (bộ)",
    "Tên người nộp hồ sơ",
    "Địa chỉ",
    "Số điện thoại",
    "Cơ quan chủ trì giải quyết",
    "Ngày nhận hồ sơ",
    "Ngày hẹn trả kết quả",
    "Chuyển hồ sơ đến cơ quan giải quyết",
    "Nhận kết quả từ cơ quan giải quyết",
    "Trả kết quả cho người nộp",
    "Ghi chú",
]


def read(xlsx: bytes):
    return load_workbook(io.BytesIO(xlsx)).active


def find_row(ws, value) -> int:
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == value:
                return cell.row
    raise AssertionError(f"{value!r} not in the sheet")


@pytest.fixture
def register_data(commune_a, commune_b, unit_a, responsible):
    procedure = make_procedure(commune_a)
    _process, steps = make_process(
        procedure,
        commune_a,
        [
            (commune_a, "Tiếp nhận", StepKind.RECEIVE),
            (unit_a, "Thẩm định", StepKind.HANDLE),
        ],
    )
    returned = make_dossier(
        commune_a,
        procedure,
        seq=1,
        received_at=vn(2026, 3, 2, 8, 30),
        status=Status.RETURNED,
        finished_at=vn(2026, 3, 2, 15, 0),
        returned_at=vn(2026, 3, 3, 9, 15),
        timeliness=Timeliness.EARLY,
    )
    add_step_run(
        returned,
        steps[0],
        started_at=vn(2026, 3, 2, 8, 30),
        due_at=vn(2026, 3, 2, 9, 30),
        finished_at=vn(2026, 3, 2, 8, 40),
    )
    add_step_run(
        returned,
        steps[1],
        started_at=vn(2026, 3, 2, 8, 40),
        due_at=vn(2026, 3, 2, 16, 0),
        finished_at=vn(2026, 3, 2, 15, 0),
    )
    # Received at 23:30 on 31/03 in Vietnam (16:30 UTC): still March.
    late_evening = make_dossier(
        commune_a,
        procedure,
        seq=2,
        received_at=vn(2026, 3, 31, 23, 30),
        applicant_name="Trần Văn Bảo",
        applicant_phone="0263381234",
        status=Status.PROCESSING,
    )
    outside = make_dossier(commune_a, procedure, seq=3, received_at=vn(2026, 4, 1, 7, 45))
    other_commune = make_dossier(commune_b, procedure, seq=1, received_at=vn(2026, 3, 10, 9, 0))
    return returned, late_evening, outside, other_commune


def test_register_lists_the_period_with_the_official_columns(commune_a, register_data):
    returned, late_evening, outside, other_commune = register_data
    ws = read(
        register_xlsx.build_register(
            organisation=commune_a, start=date(2026, 3, 1), end=date(2026, 3, 31)
        )
    )
    header_row = find_row(ws, "STT")
    assert [c.value for c in ws[header_row]] == HEADINGS
    assert ws.cell(header_row + 1, 14).value == "(14)"
    rows = [
        [c.value for c in row]
        for row in ws.iter_rows(min_row=header_row + 2)
        if row[0].value is not None
    ]
    assert [r[1] for r in rows] == [returned.code, late_evening.code]
    assert outside.code not in [r[1] for r in rows]
    assert other_commune.code not in [r[1] for r in rows]

    first = rows[0]
    assert first[0] == 1
    assert first[2] == "Đăng ký khai sinh"
    assert first[3] == 1
    assert first[4] == "Nguyễn Thị Hằng"
    assert first[5] == "Thôn Lạc Xuân, xã Đơn Dương, tỉnh Lâm Đồng"
    assert first[6] == "0912345678"
    assert first[7] == "UBND xã Đơn Dương"
    assert first[8] == datetime(2026, 3, 2)  # received
    assert first[9] == datetime(2026, 3, 3)  # appointment
    assert first[10] == datetime(2026, 3, 2)  # sent to the handling unit (the HANDLE step)
    assert first[11] == datetime(2026, 3, 2)  # result back at the desk
    assert first[12] == datetime(2026, 3, 3)  # returned to the applicant
    assert first[13] == "Trước hạn"

    second = rows[1]
    assert second[4] == "Trần Văn Bảo"
    assert second[8] == datetime(2026, 3, 31)
    assert second[10] is None and second[11] is None and second[12] is None
    assert second[13].startswith("Đang xử lý")


def test_register_dates_are_shown_dd_mm_yyyy(commune_a, register_data):
    ws = read(
        register_xlsx.build_register(
            organisation=commune_a, start=date(2026, 3, 1), end=date(2026, 3, 31)
        )
    )
    row = find_row(ws, register_data[0].code)
    for column in range(9, 14):
        assert ws.cell(row, column).number_format == "dd/mm/yyyy"
    assert ws.cell(row, 9).value.strftime("%d/%m/%Y") == "02/03/2026"


def test_register_heading_and_print_setup(commune_a, register_data):
    ws = read(
        register_xlsx.build_register(
            organisation=commune_a, start=date(2026, 3, 1), end=date(2026, 3, 31)
        )
    )
    texts = [ws.cell(r, 1).value for r in range(1, 7)]
    assert "Mẫu số 06" in texts
    assert "UBND XÃ ĐƠN DƯƠNG" in texts
    assert "SỔ THEO DÕI HỒ SƠ" in texts
    assert "Từ ngày 01/03/2026 đến ngày 31/03/2026" in texts
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.page_setup.orientation == "landscape"
    assert ws.print_title_rows  # the header repeats on every printed page
    # The sheet tab reads in Vietnamese (Excel: at most 31 characters).
    assert ws.title == "Sổ theo dõi hồ sơ"


def test_register_follows_the_active_form_set(commune_a, register_data, province_admin):
    formsets.ensure_form_sets()
    formsets.activate_form_set(actor=province_admin, code="tt03-2025")
    ws = read(
        register_xlsx.build_register(
            organisation=commune_a, start=date(2026, 3, 1), end=date(2026, 3, 31)
        )
    )
    texts = [ws.cell(r, 1).value for r in range(1, 7)]
    assert "Mẫu số 07" in texts
    assert "BỘ PHẬN MỘT CỬA" in texts


def test_register_queries_are_bounded(commune_a, register_data):
    procedure = register_data[0].procedure
    for seq in range(10, 30):
        make_dossier(commune_a, procedure, seq=seq, received_at=vn(2026, 3, 15, 9, 0))
    # Warm up: installs the form sets and fills the working-day calendar cache.
    register_xlsx.build_register(
        organisation=commune_a, start=date(2026, 3, 1), end=date(2026, 3, 31)
    )
    with CaptureQueriesContext(connection) as queries:
        register_xlsx.build_register(
            organisation=commune_a, start=date(2026, 3, 1), end=date(2026, 3, 31)
        )
    assert len(queries) <= 8, [q["sql"] for q in queries]


def test_empty_period_gives_the_headings_only(commune_a):
    ws = read(
        register_xlsx.build_register(
            organisation=commune_a, start=date(2025, 1, 1), end=date(2025, 1, 31)
        )
    )
    header_row = find_row(ws, "STT")
    assert ws.max_row == header_row + 1


def test_bad_periods_are_refused(commune_a):
    with pytest.raises(ValidationFailed) as exc:
        register_xlsx.build_register(
            organisation=commune_a, start=date(2026, 3, 31), end=date(2026, 3, 1)
        )
    assert exc.value.code == "period_reversed"
    with pytest.raises(ValidationFailed) as exc:
        register_xlsx.build_register(
            organisation=commune_a, start=date(2010, 1, 1), end=date(2026, 1, 1)
        )
    assert exc.value.code == "period_too_long"


# --- The download page ----------------------------------------------------------------------


def test_register_page_without_a_register_template_is_a_vietnamese_400(
    client, commune_a, commune_leader
):
    active = formsets.active_form_set()
    active.forms.filter(purpose=FormPurpose.REGISTER).delete()
    sign_in(client, commune_leader)
    response = client.get(
        reverse("dossiers:register"),
        {"to_chuc": commune_a.pk, "tu": "01/03/2026", "den": "31/03/2026"},
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "không có mẫu “Sổ theo dõi hồ sơ”" in response.content.decode()


def test_register_page_refuses_a_period_over_five_years(client, commune_a, commune_leader):
    sign_in(client, commune_leader)
    response = client.get(
        reverse("dossiers:register"),
        {"to_chuc": commune_a.pk, "tu": "01/01/2000", "den": "01/01/2026"},
    )
    assert response.status_code == 400
    assert "Mỗi lần chỉ xem tối đa 5 năm" in response.content.decode()
