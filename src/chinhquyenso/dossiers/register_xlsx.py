"""Form 06 (Sổ theo dõi hồ sơ, TT 01/2018/TT-VPCP; Mẫu 07 in the 2025 set) as an A4 Excel workbook.

One row per dossier received by the organisation's desk in a period, with the register's
columns: STT, mã hồ sơ, tên TTHC, số lượng hồ sơ, tên người nộp, địa chỉ, số điện thoại, cơ quan
chủ trì giải quyết, ngày nhận, ngày hẹn trả, chuyển hồ sơ đến cơ quan giải quyết, nhận kết quả
từ cơ quan giải quyết, trả kết quả cho người nộp, ghi chú.

Dates are real Excel dates (sortable, filterable) shown as dd/mm/yyyy, taken in
Asia/Ho_Chi_Minh. The heading lines come from the active form set's register template (data), so
the 2025 set's "Mẫu số 07" is printed with no code change.

This module only reads; who may download the register is decided by the caller (a page or an
API endpoint checks the organisation permission first).
"""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Prefetch
from django.template import engines
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from chinhquyenso.dossiers import formsets, queries, timeliness
from chinhquyenso.dossiers.models import Dossier, FormPurpose, Status, StepRun
from chinhquyenso.procedures.models import StepKind

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DATE_FORMAT = "dd/mm/yyyy"

# (heading, width in characters)
COLUMNS: tuple[tuple[str, int], ...] = (
    ("STT", 5),
    ("Mã hồ sơ", 26),
    ("Tên thủ tục hành chính", 34),
    ("Số lượng hồ sơ (bộ)", 9),
    ("Tên người nộp hồ sơ", 22),
    ("Địa chỉ", 28),
    ("Số điện thoại", 13),
    ("Cơ quan chủ trì giải quyết", 24),
    ("Ngày nhận hồ sơ", 12),
    ("Ngày hẹn trả kết quả", 12),
    ("Chuyển hồ sơ đến cơ quan giải quyết", 13),
    ("Nhận kết quả từ cơ quan giải quyết", 13),
    ("Trả kết quả cho người nộp", 13),
    ("Ghi chú", 22),
)
DATE_COLUMNS = {9, 10, 11, 12, 13}  # 1-based

_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_FONT = "Times New Roman"


def _local_date(value: datetime | None) -> date | None:
    return value.astimezone(VN_TZ).date() if value is not None else None


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    queries.check_period(start, end)
    lower = datetime.combine(start, time.min, tzinfo=VN_TZ)
    upper = datetime.combine(end + timedelta(days=1), time.min, tzinfo=VN_TZ)
    return lower, upper


def _headings(*, organisation, start: date, end: date) -> tuple[str, list[str]]:
    """(form number, heading lines) from the active set's register template."""
    template = formsets.form_template(FormPurpose.REGISTER)
    desk = (
        "Bộ phận Một cửa"
        if template.form_set.code == formsets.TT03_2025
        else "Bộ phận tiếp nhận và trả kết quả"
    )
    text = (
        engines["django"]
        .from_string(template.body)
        .render(
            {
                "organisation": organisation,
                "organisation_upper": organisation.name.upper(),
                "desk": desk,
                "desk_upper": desk.upper(),
                "start": start.strftime("%d/%m/%Y"),
                "end": end.strftime("%d/%m/%Y"),
                "form": template,
            }
        )
    )
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return template.number, lines or ["SỔ THEO DÕI HỒ SƠ"]


_STATE_NOTES = {
    timeliness.EARLY: "Trước hạn",
    timeliness.ON_TIME: "Đúng hạn",
    timeliness.LATE: "Quá hạn",
    timeliness.OVERDUE: "Quá hạn",
}


def _note(dossier: Dossier, now: datetime) -> str:
    """Status when not yet returned, the on-time result (the one rule: timeliness.evaluate),
    and the parent of an inter-agency sub-dossier."""
    parts = []
    if dossier.status != Status.RETURNED:
        parts.append(str(dossier.get_status_display()))
    if dossier.clock_started_at is not None:
        state = dossier.timeliness or timeliness.evaluate(dossier, now=now).state
        if state in _STATE_NOTES:
            parts.append(_STATE_NOTES[state])
    if dossier.parent_id:
        parts.append(f"Hồ sơ liên thông của {dossier.parent.code}")
    return "; ".join(parts)


def _row(index: int, dossier: Dossier, now: datetime) -> list:
    runs = dossier.register_runs  # prefetched, ordered
    sent = next(
        (r.started_at for r in runs if r.step.kind not in (StepKind.RECEIVE, StepKind.RETURN)),
        None,
    )
    result_back = (
        dossier.finished_at if dossier.status in (Status.RESOLVED, Status.RETURNED) else None
    )
    return [
        index,
        dossier.code,
        dossier.procedure_version.name,
        1,
        dossier.applicant_name,
        dossier.applicant_address,
        dossier.applicant_phone,
        dossier.handling_organisation.name,
        _local_date(dossier.received_at),
        _local_date(dossier.due_at),
        _local_date(sent),
        _local_date(result_back),
        _local_date(dossier.returned_at),
        _note(dossier, now),
    ]


def dossiers_for_register(*, organisation, start: date, end: date):
    """Dossiers received by `organisation` between `start` and `end` (local dates, inclusive),
    in the order they were received."""
    lower, upper = _bounds(start, end)
    return (
        Dossier.objects.filter(
            receiving_organisation=organisation, received_at__gte=lower, received_at__lt=upper
        )
        .select_related("procedure_version", "handling_organisation", "parent")
        .prefetch_related(
            Prefetch(
                "step_runs",
                queryset=StepRun.objects.select_related("step").order_by("started_at", "id"),
                to_attr="register_runs",
            )
        )
        .order_by("received_at", "code")
    )


def _setup_sheet(ws: Worksheet, *, header_row: int) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)
    ws.oddFooter.center.text = "Trang &P/&N"
    for index, (_heading, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width


def build_register(*, organisation, start: date, end: date) -> bytes:
    """The register of `organisation`'s desk for `start`..`end` (inclusive) as .xlsx bytes."""
    number, headings = _headings(organisation=organisation, start=start, end=end)
    workbook = Workbook()
    ws = workbook.active
    ws.title = "Sổ theo dõi hồ sơ"  # Excel: at most 31 characters, none of : \ / ? * [ ]
    last_col = get_column_letter(len(COLUMNS))

    ws["A1"] = f"Mẫu số {number}"
    ws["A1"].font = Font(name=_FONT, italic=True, size=10)
    ws.merge_cells(f"A1:{last_col}1")
    ws["A1"].alignment = Alignment(horizontal="right")
    row = 2
    for position, line in enumerate(headings):
        cell = ws.cell(row=row, column=1, value=line)
        is_title = line.upper().startswith("SỔ THEO DÕI")
        cell.font = Font(name=_FONT, bold=position < 2 or is_title, size=14 if is_title else 11)
        cell.alignment = Alignment(horizontal="center" if position >= 2 else "left")
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(COLUMNS))
        row += 1
    row += 1
    header_row = row
    for col, (heading, _width) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=header_row, column=col, value=heading)
        cell.font = Font(name=_FONT, bold=True, size=10)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = _BORDER
    ws.row_dimensions[header_row].height = 45
    # Column numbers under the headings, as on the printed register.
    for col in range(1, len(COLUMNS) + 1):
        cell = ws.cell(row=header_row + 1, column=col, value=f"({col})")
        cell.font = Font(name=_FONT, italic=True, size=9)
        cell.alignment = Alignment(horizontal="center")
        cell.border = _BORDER

    row = header_row + 2
    now = timezone.now()
    qs = dossiers_for_register(organisation=organisation, start=start, end=end)
    for index, dossier in enumerate(qs.iterator(chunk_size=1000), start=1):
        for col, value in enumerate(_row(index, dossier, now), start=1):
            cell = ws.cell(row=row, column=col, value=value)
            cell.font = Font(name=_FONT, size=10)
            cell.border = _BORDER
            cell.alignment = Alignment(vertical="top", wrap_text=col not in DATE_COLUMNS)
            if col in DATE_COLUMNS:
                cell.number_format = DATE_FORMAT
                cell.alignment = Alignment(horizontal="center", vertical="top")
            elif col in (1, 4):
                cell.alignment = Alignment(horizontal="center", vertical="top")
        row += 1

    _setup_sheet(ws, header_row=header_row)
    workbook.properties.title = f"Sổ theo dõi hồ sơ {start:%d/%m/%Y}–{end:%d/%m/%Y}"
    workbook.properties.creator = organisation.name
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
