"""Forms 01–05 as PDFs, from the active form set (issue #3: forms and registers).

The PDFs are read back with poppler-utils (pdftotext, pdfinfo, pdfimages, pdffonts), so what is
asserted is what a printer would get.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from chinhquyenso.core.errors import NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry
from chinhquyenso.dossiers import forms_pdf, formsets
from chinhquyenso.dossiers.models import (
    DossierDocument,
    DossierEvent,
    FormPurpose,
    FormSet,
    FormTemplate,
    Pause,
    PauseKind,
    ResultDelivery,
    Status,
    Timeliness,
)
from tests.dossiers.test_forms_fixtures import (
    StepKind,
    add_step_run,
    make_dossier,
    make_procedure,
    make_process,
    vn,
)

pytestmark = pytest.mark.usefixtures("require_poppler")

# A5 portrait: 148 × 210 mm.
A5_POINTS = (148 / 25.4 * 72, 210 / 25.4 * 72)


def poppler(tool: str, *args: str) -> bytes:
    """Run a poppler-utils tool by its full path and return its standard output."""
    return subprocess.run([shutil.which(tool), *args], capture_output=True, check=True).stdout


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    out = poppler("pdftotext", "-enc", "UTF-8", str(path), "-").decode("utf-8")
    return " ".join(out.split())  # wrapped lines and table cells joined by single spaces


def pdf_info(pdf: bytes, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "info.pdf"
    path.write_bytes(pdf)
    out = poppler("pdfinfo", "-f", "1", "-l", "99", str(path)).decode("utf-8")
    info = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    return info


def page_sizes(info: dict[str, str]) -> list[tuple[float, float]]:
    sizes = []
    for key, value in info.items():
        if re.fullmatch(r"Page\s+\d+ size", key):
            width, height = re.match(r"([\d.]+) x ([\d.]+) pts", value).groups()
            sizes.append((float(width), float(height)))
    return sizes


@pytest.fixture
def procedure(commune_a):
    return make_procedure(commune_a)


@pytest.fixture
def dossier(commune_a, procedure, responsible):
    return make_dossier(commune_a, procedure, received_by=responsible)


@pytest.fixture
def public_url(settings):
    settings.CQS_PUBLIC_BASE_URL = "https://dichvucong.lamdong.gov.vn"
    return settings.CQS_PUBLIC_BASE_URL


NATIONAL_HEADER = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


# --- form sets as data -------------------------------------------------------------------------


def test_ensure_form_sets_installs_both_sets_once(db):
    formsets.ensure_form_sets()
    formsets.ensure_form_sets()
    sets = {s.code: s for s in FormSet.objects.all()}
    assert set(sets) == {"tt01-2018", "tt03-2025"}
    assert sets["tt01-2018"].is_active and not sets["tt03-2025"].is_active
    assert sets["tt01-2018"].forms.count() == 6
    assert sets["tt03-2025"].forms.count() == 7
    assert sets["tt03-2025"].forms.filter(purpose=FormPurpose.STOP).exists()
    assert not sets["tt01-2018"].forms.filter(purpose=FormPurpose.STOP).exists()
    register = sets["tt01-2018"].forms.get(purpose=FormPurpose.REGISTER)
    assert (register.number, register.page_size) == ("06", "A4")
    assert all(t.body.strip() for t in FormTemplate.objects.all())


def test_ensure_keeps_edited_bodies_and_a_deliberate_switch(db, province_admin):
    formsets.ensure_form_sets()
    receipt = FormTemplate.objects.get(form_set__code="tt01-2018", purpose=FormPurpose.RECEIPT)
    receipt.body = "{% extends 'dossiers/forms/base.html' %}"
    receipt.save(update_fields=["body"])
    formsets.activate_form_set(actor=province_admin, code="tt03-2025")
    formsets.ensure_form_sets()
    receipt.refresh_from_db()
    assert receipt.body == "{% extends 'dossiers/forms/base.html' %}"
    assert FormSet.objects.get(is_active=True).code == "tt03-2025"
    formsets.ensure_form_sets(update=True)
    receipt.refresh_from_db()
    assert "Tiếp nhận hồ sơ của" in receipt.body


# --- Form 01 -----------------------------------------------------------------------------------


def test_receipt_is_vietnamese_a5_with_organisation_and_appointment(dossier, tmp_path):
    pdf = forms_pdf.render_form(dossier=dossier, purpose=FormPurpose.RECEIPT)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    for expected in (
        *NATIONAL_HEADER,
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "UBND TỈNH LÂM ĐỒNG",
        "UBND XÃ ĐƠN DƯƠNG",
        "Bộ phận tiếp nhận và trả kết quả UBND xã Đơn Dương",
        "Mã hồ sơ: 000.01.39.H39-260302-0001",
        "Tiếp nhận hồ sơ của: Nguyễn Thị Hằng",
        "Địa chỉ: Thôn Lạc Xuân, xã Đơn Dương, tỉnh Lâm Đồng",
        "Số điện thoại: 0912345678",
        "Nội dung yêu cầu giải quyết: Đăng ký khai sinh",
        "Tờ khai đăng ký khai sinh",
        "Giấy chứng sinh",
        "Số lượng hồ sơ: 01 (bộ)",
        "Thời gian giải quyết hồ sơ theo quy định là: 1 ngày làm việc",
        "Thời gian nhận hồ sơ: 08 giờ 30 phút, ngày 02/03/2026",
        "Thời gian trả kết quả giải quyết hồ sơ: 08 giờ 30 phút, ngày 03/03/2026",
        "6. Đăng ký nhận kết quả tại: Bộ phận tiếp nhận và trả kết quả",
        "7. Phí, lệ phí: Lệ phí đăng ký khai sinh: Miễn phí",
        "Quyển số: 2026, Số thứ tự: 0001",
        "Đơn Dương, ngày 02 tháng 3 năm 2026",  # Decree 30/2020: no leading zero for March
        "NGƯỜI NỘP HỒ SƠ",
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
        "Nguyễn Văn An",  # the desk officer who received it
        "Mẫu số 01",
        "01/2018/TT-VPCP",
    ):
        assert expected in text, expected
    assert "0 đồng" not in text
    assert "nhận kết quả tại: Nhận tại" not in text
    info = pdf_info(pdf, tmp_path)
    assert info["Title"] == "Giấy tiếp nhận hồ sơ và hẹn trả kết quả – 000.01.39.H39-260302-0001"
    assert info["Pages"] == "1"  # the receipt fits on one A5 sheet
    for width, height in page_sizes(info):
        assert width == pytest.approx(A5_POINTS[0], abs=0.5)
        assert height == pytest.approx(A5_POINTS[1], abs=0.5)


@pytest.mark.parametrize(
    ("form_set", "delivery", "expected"),
    [
        (
            "tt01-2018",
            ResultDelivery.DESK,
            "Bộ phận tiếp nhận và trả kết quả",
        ),
        ("tt01-2018", ResultDelivery.POST, "địa chỉ của người nộp, qua dịch vụ bưu chính công ích"),
        ("tt03-2025", ResultDelivery.DESK, "Bộ phận Một cửa"),
        ("tt03-2025", ResultDelivery.ONLINE, "Cổng Dịch vụ công (nhận trực tuyến)"),
    ],
    ids=["tt01-desk", "tt01-post", "tt03-desk", "tt03-online"],
)
def test_receipt_fees_and_delivery_read_as_words(
    commune_a, procedure, province_admin, tmp_path, form_set, delivery, expected
):
    """Amounts with the Vietnamese thousands separator, a free fee as "Miễn phí", an amount the
    procedure does not state as "Chưa rõ"; the form's "Đăng ký nhận kết quả tại:" followed by
    the place, not by "Nhận tại …"."""
    dossier = make_dossier(
        commune_a,
        procedure,
        result_delivery=delivery,
        fees=[
            {"label": "Lệ phí", "amount_vnd": 1250000},
            {"label": "Phí cấp bản sao", "amount_vnd": 0},
            {"label": "Phí khai thác dữ liệu", "amount_vnd": None},
        ],
    )
    formsets.ensure_form_sets()
    formsets.activate_form_set(actor=province_admin, code=form_set)
    text = pdf_text(forms_pdf.render_form(dossier=dossier, purpose="receipt"), tmp_path)
    assert (
        "7. Phí, lệ phí: Lệ phí: 1.250.000 đồng; Phí cấp bản sao: Miễn phí; "
        "Phí khai thác dữ liệu: Chưa rõ" in text
    )
    assert f"6. Đăng ký nhận kết quả tại: {expected}" in text
    assert "tại: Nhận tại" not in text
    assert not re.search(r"(?<![\d.])0 đồng", text)  # no "0 đồng" (1.250.000 đồng is fine)


def test_receipt_of_a_fee_the_procedure_does_not_state_says_unknown(
    clock, birth, desk_officer, desk_unit_a, tmp_path
):
    """Received through the intake service: a fee whose amount the procedure version leaves
    empty is printed "Chưa rõ", not "0 đồng" nor "Miễn phí"."""
    from tests.dossiers.conftest import receive

    version = birth.procedure.current_version
    version.fees = [{"label": "Lệ phí đăng ký khai sinh", "amount_vnd": None}]
    version.save(update_fields=["fees"])
    dossier = receive(desk_officer, desk_unit_a, birth.procedure)
    assert dossier.fees == [{"label": "Lệ phí đăng ký khai sinh", "amount_vnd": None}]
    text = pdf_text(forms_pdf.render_form(dossier=dossier, purpose="receipt"), tmp_path)
    assert "7. Phí, lệ phí: Lệ phí đăng ký khai sinh: Chưa rõ" in text


# Decree 30/2020/NĐ-CP, Annex I: a day below 10 and the months 1 and 2 take a leading zero,
# the other months do not.
DATE_LINES = [
    ((2026, 3, 2), "ngày 02 tháng 3 năm 2026"),
    ((2026, 7, 1), "ngày 01 tháng 7 năm 2026"),
    ((2026, 11, 30), "ngày 30 tháng 11 năm 2026"),
    ((2026, 1, 15), "ngày 15 tháng 01 năm 2026"),
    ((2026, 2, 28), "ngày 28 tháng 02 năm 2026"),
    ((2026, 10, 9), "ngày 09 tháng 10 năm 2026"),
    ((2026, 12, 20), "ngày 20 tháng 12 năm 2026"),
]


def test_the_date_line_follows_decree_30():
    printed = [(day, forms_pdf.VnTime(vn(*day, 9, 0)).long_date) for day, _ in DATE_LINES]
    assert printed == DATE_LINES


@pytest.mark.parametrize(
    ("purpose", "day", "expected"),
    [
        (FormPurpose.REFUSAL, (2026, 9, 5), "ngày 05 tháng 9 năm 2026"),
        (FormPurpose.SUPPLEMENT, (2026, 4, 20), "ngày 20 tháng 4 năm 2026"),
    ],
    ids=["refusal-05-09", "supplement-20-04"],
)
def test_every_form_prints_the_date_line_of_decree_30(dossier, tmp_path, purpose, day, expected):
    pdf = forms_pdf.render_form(dossier=dossier, purpose=purpose, extra={"issued_at": vn(*day)})
    assert f"Đơn Dương, {expected}" in pdf_text(pdf, tmp_path)


def test_the_date_line_is_the_vietnamese_date_of_the_instant(dossier, tmp_path):
    # 31/03 20:00 UTC is already 01/04 in Hà Nội: April, without a leading zero.
    from datetime import UTC, datetime

    pdf = forms_pdf.render_form(
        dossier=dossier,
        purpose=FormPurpose.RECEIPT,
        extra={"issued_at": datetime(2026, 3, 31, 20, 0, tzinfo=UTC)},
    )
    assert "Đơn Dương, ngày 01 tháng 4 năm 2026" in pdf_text(pdf, tmp_path)


def test_receipt_times_are_printed_in_vietnam_time(commune_a, procedure, tmp_path, settings):
    # 01:30 UTC is 08:30 in Hà Nội, whatever the server's own zone.
    from datetime import UTC, datetime

    settings.TIME_ZONE = "UTC"
    dossier = make_dossier(
        commune_a, procedure, received_at=datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    )
    text = pdf_text(forms_pdf.render_form(dossier=dossier, purpose="receipt"), tmp_path)
    assert "Thời gian nhận hồ sơ: 08 giờ 30 phút, ngày 02/03/2026" in text


def test_receipt_fonts_are_embedded_serif_with_vietnamese_glyphs(dossier, tmp_path):
    path = tmp_path / "fonts.pdf"
    path.write_bytes(forms_pdf.render_form(dossier=dossier, purpose=FormPurpose.RECEIPT))
    out = poppler("pdffonts", str(path))
    lines = out.decode().splitlines()[2:]
    assert lines, "no font in the PDF"
    for line in lines:
        parts = line.split()
        assert re.search(r"Liberation-?Serif|DejaVu", parts[0]), line
        assert parts[-5:-2] == ["yes", "yes", "yes"], line  # embedded, subset, ToUnicode


def test_receipt_qr_code_encodes_the_public_lookup_url(dossier, public_url, tmp_path):
    import segno

    pdf = forms_pdf.render_form(dossier=dossier, purpose=FormPurpose.RECEIPT)
    expected_url = f"{public_url}/tra-cuu/000.01.39.H39-260302-0001/"
    # The URL is printed in words too, for someone without a phone camera.
    assert expected_url in pdf_text(pdf, tmp_path)

    path = tmp_path / "qr.pdf"
    path.write_bytes(pdf)
    poppler("pdfimages", "-png", str(path), str(tmp_path / "img"))
    images = sorted(tmp_path.glob("img-*.png"))
    assert len(images) == 1
    image = Image.open(images[0]).convert("L")
    # The embedded image has one pixel per module and a 4-module quiet zone: read it back as
    # a bit matrix and compare it with the symbol of the expected URL, built independently.
    symbol = segno.make_qr(expected_url, error="m", boost_error=False)
    size = len(symbol.matrix)
    assert image.size == (size + 8, size + 8)
    read = [[image.getpixel((x + 4, y + 4)) < 128 for x in range(size)] for y in range(size)]
    assert read == [[bool(m) for m in row] for row in symbol.matrix]
    # ... and it is not some other URL's symbol (e.g. the default base URL's).
    other = segno.make_qr(
        "http://127.0.0.1:8000/tra-cuu/000.01.39.H39-260302-0001/", error="m", boost_error=False
    )
    assert [[bool(m) for m in row] for row in other.matrix] != read


def test_receipt_of_a_dossier_not_received_is_refused(commune_a, procedure):
    dossier = make_dossier(commune_a, procedure, status=Status.SUBMITTED, received_at=None)
    dossier.received_at = None
    with pytest.raises(ValidationFailed) as exc:
        forms_pdf.render_form(dossier=dossier, purpose=FormPurpose.RECEIPT)
    assert exc.value.code == "form_not_applicable"


def test_receipt_lists_the_procedure_documents_when_no_checklist_was_recorded(
    commune_a, procedure, tmp_path
):
    dossier = make_dossier(commune_a, procedure)
    DossierDocument.objects.filter(dossier=dossier).delete()
    text = pdf_text(forms_pdf.render_form(dossier=dossier, purpose="receipt"), tmp_path)
    assert "Tờ khai đăng ký khai sinh" in text
    # The state already holds that data: it must not be asked for (NQ 66.7/2025/NQ-CP).
    assert "Giấy tờ tùy thân" not in text


# --- Forms 02, 03, 04 --------------------------------------------------------------------------


def test_supplement_request_lists_missing_documents_and_reason(dossier, responsible, tmp_path):
    Pause.objects.create(
        dossier=dossier,
        kind=PauseKind.SUPPLEMENT,
        started_at=vn(2026, 3, 2, 10, 0),
        reason="Giấy chứng sinh bị tẩy xóa, không đọc được họ tên người mẹ",
        requested_by=responsible,
    )
    DossierDocument.objects.create(
        dossier=dossier,
        name="Giấy chứng sinh (bản chính, không tẩy xóa)",
        provided=False,
        supplement_round=1,
    )
    pdf = forms_pdf.render_form(dossier=dossier, purpose=FormPurpose.SUPPLEMENT)
    text = pdf_text(pdf, tmp_path)
    for expected in (
        *NATIONAL_HEADER,
        "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        "Hồ sơ của: Nguyễn Thị Hằng",
        "Giấy chứng sinh (bản chính, không tẩy xóa)",
        "Lý do: Giấy chứng sinh bị tẩy xóa, không đọc được họ tên người mẹ",
        "000.01.39.H39-260302-0001",
        "Mẫu số 02",
    ):
        assert expected in text, expected
    assert page_sizes(pdf_info(pdf, tmp_path))[0] == pytest.approx(A5_POINTS, abs=0.5)


def test_supplement_request_takes_the_caller_s_list(dossier, tmp_path):
    pdf = forms_pdf.render_form(
        dossier=dossier,
        purpose=FormPurpose.SUPPLEMENT,
        extra={"missing_documents": ["Giấy xác nhận cư trú"], "reason": "Thiếu giấy tờ"},
    )
    text = pdf_text(pdf, tmp_path)
    assert "Giấy xác nhận cư trú" in text
    assert "Lý do: Thiếu giấy tờ" in text


def test_refusal_prints_the_reason_recorded_with_the_refusal(dossier, responsible, tmp_path):
    DossierEvent.objects.create(
        dossier=dossier,
        at=vn(2026, 3, 2, 9, 0),
        actor=responsible,
        action="refused",
        from_status=Status.RECEIVED,
        to_status=Status.REFUSED,
        comment="Yêu cầu không thuộc thẩm quyền giải quyết của UBND xã Đơn Dương",
    )
    pdf = forms_pdf.render_form(dossier=dossier, purpose=FormPurpose.REFUSAL)
    text = pdf_text(pdf, tmp_path)
    for expected in (
        *NATIONAL_HEADER,
        "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
        "Yêu cầu không thuộc thẩm quyền giải quyết của UBND xã Đơn Dương",
        "Nguyễn Thị Hằng",
        "Mẫu số 03",
    ):
        assert expected in text, expected


def test_apology_gives_reason_and_new_appointment(dossier, tmp_path):
    pdf = forms_pdf.render_form(
        dossier=dossier,
        purpose=FormPurpose.APOLOGY,
        extra={
            "reason": "Cần xác minh thông tin nơi sinh với Bệnh viện Đa khoa Lâm Đồng",
            "new_due_at": vn(2026, 3, 5, 16, 0),
            "signer_name": "Võ Minh Giang",
        },
    )
    text = pdf_text(pdf, tmp_path)
    for expected in (
        *NATIONAL_HEADER,
        "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        "Thời gian hẹn trả kết quả giải quyết hồ sơ: 08 giờ 30 phút, ngày 03/03/2026",
        "Lý do: Cần xác minh thông tin nơi sinh với Bệnh viện Đa khoa Lâm Đồng",
        "16 giờ 00 phút, ngày 05/03/2026",
        "Võ Minh Giang",
        "Mẫu số 04",
    ):
        assert expected in text, expected


# --- Form 05 -----------------------------------------------------------------------------------


def three_hand_overs(dossier, procedure, commune_a, unit_a, responsible, colleague, *, done):
    """Received by the responsible official at 08:30, handed to the colleague at 09:00, on to the
    leader's approval at 10:45; `done`: each step's recorded result and the approval finished
    at 15:10, late (else nothing recorded and the approval not taken yet)."""
    _process, steps = make_process(
        procedure,
        commune_a,
        [
            (commune_a, "Tiếp nhận hồ sơ", StepKind.RECEIVE),
            (unit_a, "Thẩm định hồ sơ", StepKind.HANDLE),
            (commune_a, "Lãnh đạo phê duyệt", StepKind.APPROVE),
        ],
    )
    add_step_run(
        dossier,
        steps[0],
        started_at=vn(2026, 3, 2, 8, 30),
        due_at=vn(2026, 3, 2, 10, 30),
        finished_at=vn(2026, 3, 2, 9, 0),
        handler=responsible,
        **({"timeliness": Timeliness.EARLY} if done else {}),
    )
    add_step_run(
        dossier,
        steps[1],
        started_at=vn(2026, 3, 2, 9, 0),
        due_at=vn(2026, 3, 2, 11, 0),
        finished_at=vn(2026, 3, 2, 10, 45),
        handler=colleague,
        handed_over_by=responsible,
        **({"timeliness": Timeliness.ON_TIME} if done else {}),
    )
    add_step_run(
        dossier,
        steps[2],
        started_at=vn(2026, 3, 2, 10, 45),
        due_at=vn(2026, 3, 2, 14, 0),
        handed_over_by=colleague,
        **({"finished_at": vn(2026, 3, 2, 15, 10)} if done else {}),
    )  # no recorded result: graded by timeliness.evaluate_step (finished after its due time)
    return steps


def test_control_sheet_renders_each_hand_over_with_its_result(
    dossier, commune_a, unit_a, procedure, responsible, colleague, tmp_path
):
    three_hand_overs(dossier, procedure, commune_a, unit_a, responsible, colleague, done=True)
    pdf = forms_pdf.render_form(dossier=dossier, purpose=FormPurpose.CONTROL_SHEET)
    text = pdf_text(pdf, tmp_path)
    for expected in (
        *NATIONAL_HEADER,
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        "Mã hồ sơ: 000.01.39.H39-260302-0001",
        "1. Giao: Bộ phận tiếp nhận và trả kết quả 2. Nhận: UBND xã Đơn Dương",
        "1. Giao 08 giờ 30 phút, ngày 02/03/2026",
        "1. Giao: UBND xã Đơn Dương 2. Nhận: Văn phòng HĐND và UBND xã Đơn Dương",
        "1. Giao 09 giờ 00 phút, ngày 02/03/2026 Người giao: Nguyễn Văn An",
        "Người nhận: Trần Thị Bình",
        "1. Giao 10 giờ 45 phút, ngày 02/03/2026 Người giao: Trần Thị Bình",
        "Thẩm định hồ sơ",
        "Lãnh đạo phê duyệt",
        "Mẫu số 05",
    ):
        assert expected in text, expected
    # The three results in the order of the steps.
    results = re.findall(r"Trước hạn|Đúng hạn|Quá hạn", text.split("GHI CHÚ", 1)[-1])
    assert results == ["Trước hạn", "Đúng hạn", "Quá hạn"]


def test_control_sheet_adds_the_return_to_the_desk_when_resolved(
    dossier, commune_a, unit_a, procedure, responsible, tmp_path
):
    _process, steps = make_process(procedure, commune_a, [(unit_a, "Xử lý", StepKind.HANDLE)])
    add_step_run(
        dossier,
        steps[0],
        started_at=vn(2026, 3, 2, 8, 30),
        due_at=vn(2026, 3, 2, 16, 0),
        finished_at=vn(2026, 3, 2, 11, 0),
        handler=responsible,
        timeliness=Timeliness.ON_TIME,
    )
    dossier.status = Status.RESOLVED
    dossier.finished_at = vn(2026, 3, 2, 11, 0)
    dossier.timeliness = Timeliness.EARLY
    dossier.save(update_fields=["status", "finished_at", "timeliness"])
    text = pdf_text(
        forms_pdf.render_form(dossier=dossier, purpose=FormPurpose.CONTROL_SHEET), tmp_path
    )
    assert (
        "1. Giao: Văn phòng HĐND và UBND xã Đơn Dương 2. Nhận: Bộ phận tiếp nhận và trả kết quả"
        in text
    )
    assert "1. Giao 11 giờ 00 phút, ngày 02/03/2026" in text
    assert re.findall(r"Trước hạn|Đúng hạn|Quá hạn", text.split("GHI CHÚ", 1)[-1]) == [
        "Đúng hạn",
        "Trước hạn",
    ]


@pytest.mark.parametrize("form_set", ["tt01-2018", "tt03-2025"])
def test_control_sheet_prints_when_the_receiver_received_the_dossier(
    dossier,
    commune_a,
    unit_a,
    procedure,
    responsible,
    colleague,
    province_admin,
    tmp_path,
    form_set,
):
    """Like "1. Giao", "2. Nhận" has a time: when the receiver took the dossier (claimed), or
    the hand-over itself when they were named then; none while nobody has taken it."""
    formsets.ensure_form_sets()
    if form_set != "tt01-2018":
        formsets.activate_form_set(actor=province_admin, code=form_set)
    steps = three_hand_overs(
        dossier, procedure, commune_a, unit_a, responsible, colleague, done=False
    )  # nobody has taken the approval yet
    DossierEvent.objects.create(
        dossier=dossier,
        at=vn(2026, 3, 2, 9, 20),
        actor=colleague,
        action="claimed",
        from_status=Status.PROCESSING,
        to_status=Status.PROCESSING,
        from_step=steps[1],
        to_step=steps[1],
    )
    text = pdf_text(
        forms_pdf.render_form(dossier=dossier, purpose=FormPurpose.CONTROL_SHEET), tmp_path
    )
    assert "2. Nhận 08 giờ 30 phút, ngày 02/03/2026 Người nhận: Nguyễn Văn An" in text
    assert "2. Nhận 09 giờ 20 phút, ngày 02/03/2026 Người nhận: Trần Thị Bình" in text
    assert "2. Nhận Người nhận: …" in text


# --- switching the form set --------------------------------------------------------------------


def test_stop_notice_exists_only_in_the_2025_set(dossier, province_admin, tmp_path):
    with pytest.raises(ValidationFailed) as exc:
        forms_pdf.render_form(dossier=dossier, purpose=FormPurpose.STOP)
    assert exc.value.code == "form_not_in_set"

    formsets.activate_form_set(actor=province_admin, code="tt03-2025")
    pdf = forms_pdf.render_form(
        dossier=dossier,
        purpose=FormPurpose.STOP,
        extra={"reason": "Người nộp hồ sơ đề nghị dừng giải quyết"},
    )
    text = pdf_text(pdf, tmp_path)
    for expected in (
        *NATIONAL_HEADER,
        "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
        "Lý do: Người nộp hồ sơ đề nghị dừng giải quyết",
        "Kính gửi: Ông/Bà Nguyễn Thị Hằng",
        "Mẫu số 05",
        "03/2025/TT-VPCP",
    ):
        assert expected in text, expected
    assert page_sizes(pdf_info(pdf, tmp_path))[0] == pytest.approx(A5_POINTS, abs=0.5)


def test_switching_the_active_set_changes_the_printed_forms(dossier, province_admin, tmp_path):
    before_receipt = pdf_text(forms_pdf.render_form(dossier=dossier, purpose="receipt"), tmp_path)
    before_apology = pdf_text(forms_pdf.render_form(dossier=dossier, purpose="apology"), tmp_path)
    before_sheet = pdf_text(
        forms_pdf.render_form(dossier=dossier, purpose="control_sheet"), tmp_path
    )
    assert "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ" in before_receipt
    assert "01/2018/TT-VPCP" in before_receipt
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in before_apology
    assert "Mẫu số 05" in before_sheet

    formsets.activate_form_set(actor=province_admin, code="tt03-2025")

    after_receipt = pdf_text(forms_pdf.render_form(dossier=dossier, purpose="receipt"), tmp_path)
    after_apology = pdf_text(forms_pdf.render_form(dossier=dossier, purpose="apology"), tmp_path)
    after_sheet = pdf_text(
        forms_pdf.render_form(dossier=dossier, purpose="control_sheet"), tmp_path
    )
    assert "BỘ PHẬN MỘT CỬA" in after_receipt
    assert "03/2025/TT-VPCP" in after_receipt and "01/2018/TT-VPCP" not in after_receipt
    assert "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT" in after_apology
    assert "Mẫu số 06" in after_sheet  # the control sheet is Mẫu 06 in the 2025 set
    # Same dossier data either way.
    assert "Nguyễn Thị Hằng" in after_receipt and "000.01.39.H39-260302-0001" in after_receipt


def test_a_form_is_printed_from_its_database_row_not_from_files(dossier, tmp_path):
    formsets.ensure_form_sets()
    template = FormTemplate.objects.get(form_set__is_active=True, purpose=FormPurpose.REFUSAL)
    template.body = template.body.replace(
        "Xin thông báo để Ông/Bà được biết và thực hiện.",
        "Ông/Bà có thể nộp lại hồ sơ tại Trung tâm Phục vụ hành chính công tỉnh Lâm Đồng.",
    )
    template.save(update_fields=["body"])
    text = pdf_text(forms_pdf.render_form(dossier=dossier, purpose="refusal"), tmp_path)
    assert "Trung tâm Phục vụ hành chính công tỉnh Lâm Đồng" in text


def test_a_form_body_cannot_fetch_urls(dossier, tmp_path):
    formsets.ensure_form_sets()
    template = FormTemplate.objects.get(form_set__is_active=True, purpose=FormPurpose.REFUSAL)
    template.body = template.body.replace(
        "{% block content %}",
        '{% block content %}<img src="http://169.254.169.254/latest/meta-data/">'
        '<img src="file:///etc/passwd">',
    )
    template.save(update_fields=["body"])
    pdf = forms_pdf.render_form(dossier=dossier, purpose="refusal")
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf)
    out = poppler("pdfimages", "-list", str(path))
    assert len(out.decode().splitlines()) == 2  # header lines only: nothing was loaded


def test_register_is_not_a_pdf_form(dossier):
    with pytest.raises(ValidationFailed) as exc:
        forms_pdf.render_form(dossier=dossier, purpose=FormPurpose.REGISTER)
    assert exc.value.code == "form_not_printable"


# --- activate_form_set: who may, and what is checked -------------------------------------------


def test_province_administrator_switches_the_set_and_it_is_audited(db, province_admin):
    formsets.ensure_form_sets()
    form_set = formsets.activate_form_set(actor=province_admin, code="tt03-2025")
    assert form_set.is_active
    assert list(FormSet.objects.filter(is_active=True).values_list("code", flat=True)) == [
        "tt03-2025"
    ]
    entry = AuditEntry.objects.get(action="formset.activated")
    assert entry.actor == province_admin
    assert entry.data == {"from": "tt01-2018", "to": "tt03-2025"}
    # Activating the active set again changes nothing and writes nothing.
    formsets.activate_form_set(actor=province_admin, code="tt03-2025")
    assert AuditEntry.objects.filter(action="formset.activated").count() == 1


@pytest.mark.parametrize("persona", ["commune_admin", "responsible", "leader", "citizen"])
def test_others_may_not_switch_the_set(db, request, persona, province):
    actor = request.getfixturevalue(persona)
    formsets.ensure_form_sets()
    with pytest.raises(PermissionDenied):
        formsets.activate_form_set(actor=actor, code="tt03-2025")
    assert FormSet.objects.get(is_active=True).code == "tt01-2018"
    assert not AuditEntry.objects.filter(action="formset.activated").exists()


def test_anonymous_may_not_switch_the_set(db, anonymous, province):
    formsets.ensure_form_sets()
    with pytest.raises(PermissionDenied):
        formsets.activate_form_set(actor=anonymous, code="tt03-2025")


def test_unknown_set(db, province_admin):
    formsets.ensure_form_sets()
    with pytest.raises(NotFound) as exc:
        formsets.activate_form_set(actor=province_admin, code="tt99-2030")
    assert exc.value.code == "formset_not_found"


def test_incomplete_or_broken_set_cannot_be_activated(db, province_admin):
    formsets.ensure_form_sets()
    draft = FormSet.objects.create(code="nhap-2026", name="Bộ biểu mẫu nháp")
    FormTemplate.objects.create(
        form_set=draft, number="01", purpose=FormPurpose.RECEIPT, title="Giấy tiếp nhận", body="x"
    )
    with pytest.raises(ValidationFailed) as exc:
        formsets.activate_form_set(actor=province_admin, code="nhap-2026")
    assert exc.value.code == "formset_incomplete"

    for template in FormTemplate.objects.filter(form_set__code="tt01-2018"):
        if template.purpose != FormPurpose.RECEIPT:
            template.pk = None
            template.form_set = draft
            template.save()
    FormTemplate.objects.filter(form_set=draft, purpose=FormPurpose.RECEIPT).update(body="{% if %}")
    with pytest.raises(ValidationFailed) as exc:
        formsets.activate_form_set(actor=province_admin, code="nhap-2026")
    assert exc.value.code == "formset_template_invalid"
    assert FormSet.objects.get(is_active=True).code == "tt01-2018"
