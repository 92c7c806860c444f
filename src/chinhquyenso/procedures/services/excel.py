"""The catalogue as an Excel workbook (openpyxl), the same content as the JSON export.

One sheet of procedures (one row each) and one sheet per list (documents, fees, legal basis,
forms, channels, implementing organisations) with the procedure code in the first column, so
that an official can edit it in Excel or LibreOffice and import it back. Headers are
Vietnamese; the machine key is accepted in their place. `source` is kept as JSON text.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.procedures.services.catalogue import (
    ImportReport,
    export_catalogue,
    import_catalogue,
    require_catalogue_manager,
)

MAIN_SHEET = "Thủ tục"
MAIN_COLUMNS = (
    ("code", "Mã thủ tục"),
    ("name", "Tên thủ tục"),
    ("field", "Lĩnh vực"),
    ("level", "Cấp thực hiện (mã)"),
    ("level_text", "Cấp thực hiện"),
    ("location_independent", "Tiếp nhận phi địa giới"),
    ("is_active", "Đang áp dụng"),
    ("processing_time", "Thời hạn giải quyết"),
    ("processing_unit", "Đơn vị thời hạn (mã)"),
    ("processing_time_text", "Thời hạn (nguyên văn)"),
    ("result_type", "Kết quả thực hiện"),
    ("online_service", "Dịch vụ công trực tuyến (mã)"),
    ("decision", "Quyết định công bố"),
    ("source", "Nguồn (JSON)"),
    ("version", "Phiên bản"),
)
# (record key, sheet title, columns); each row starts with the procedure code.
LIST_SHEETS = (
    (
        "documents",
        "Thành phần hồ sơ",
        (
            ("name", "Tên giấy tờ"),
            ("copy_type", "Bản chính/bản sao"),
            ("quantity", "Số lượng"),
            ("state_holds_data", "Đã có trong CSDL (không yêu cầu nộp)"),
            ("required", "Bắt buộc"),
        ),
    ),
    (
        "fees",
        "Phí, lệ phí",
        (("label", "Tên khoản"), ("amount_vnd", "Số tiền (đồng)"), ("note", "Ghi chú")),
    ),
    ("legal_basis", "Căn cứ pháp lý", (("number", "Số, ký hiệu"), ("title", "Trích yếu"))),
    ("forms", "Mẫu đơn, tờ khai", (("name", "Tên mẫu"), ("url", "Địa chỉ tải về"))),
    (
        "channels",
        "Cách thức thực hiện",
        (
            ("channel_code", "Kênh (mã)"),
            ("label", "Kênh"),
            ("time_text", "Thời hạn"),
            ("fee_text", "Phí, lệ phí"),
            ("note", "Ghi chú"),
        ),
    ),
    ("organisations", "Cơ quan thực hiện", (("ref", "Mã định danh cơ quan"),)),
)
CODE_HEADER = ("code", "Mã thủ tục")
# Sheet column → key in the list item, where the item's key would clash with the code column.
_ITEM_KEY = {"channel_code": "code"}
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 200_000
# List columns that hold text (an empty cell is ""; a number typed into one is read as text).
TEXT_COLUMNS = frozenset(
    {"name", "copy_type", "label", "note", "title", "url", "number", "time_text", "fee_text"}
)


def _openpyxl():
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a dependency of the project
        raise ValidationFailed(
            "Máy chủ chưa cài openpyxl nên không đọc/ghi được tệp Excel.", code="excel_missing"
        ) from None
    return openpyxl


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _append(sheet, values: list) -> None:
    """Append a row; text stays text even when it starts with "=" (no formulas from data)."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"


def workbook_bytes(records: list[dict]) -> bytes:
    """An .xlsx of `records` (our format)."""
    openpyxl = _openpyxl()
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    main = book.active
    main.title = MAIN_SHEET
    main.append([label for _, label in MAIN_COLUMNS])
    for record in records:
        _append(main, [_cell(record.get(key)) for key, _ in MAIN_COLUMNS])
    sheets = [main]
    for key, title, columns in LIST_SHEETS:
        sheet = book.create_sheet(title)
        sheet.append([CODE_HEADER[1], *[label for _, label in columns]])
        for record in records:
            for item in record.get(key) or []:
                if key == "organisations":
                    _append(sheet, [record["code"], _cell(item)])
                else:
                    cells = [_cell(item.get(_ITEM_KEY.get(c, c))) for c, _ in columns]
                    _append(sheet, [record["code"], *cells])
        sheets.append(sheet)
    for sheet in sheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_workbook(*, actor, system: bool = False, **filters) -> bytes:
    return workbook_bytes(export_catalogue(actor=actor, system=system, **filters))


def is_xlsx(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def _header_keys(header: tuple, columns: tuple, where: str) -> list[str | None]:
    by_label = {label.casefold(): key for key, label in columns}
    by_label.update({key: key for key, _ in columns})
    keys = [by_label.get(str(h).strip().casefold()) if h is not None else None for h in header]
    if "code" not in keys:
        raise ValidationFailed(
            f"Trang “{where}” thiếu cột “{CODE_HEADER[1]}”.", code="excel_bad_header"
        )
    return keys


def _rows(sheet, columns: tuple, where: str):
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        return
    keys = _header_keys(header, columns, where)
    for number, row in enumerate(rows, start=2):
        if number > MAX_ROWS:
            raise ValidationFailed(f"Trang “{where}” có quá nhiều dòng.", code="excel_too_large")
        if row is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        values = {k: v for k, v in zip(keys, row, strict=False) if k is not None}
        yield number, values


def _text_or_empty(value: Any) -> Any:
    return "" if value is None else value


def records_from_workbook(data: bytes) -> tuple[list[dict], list[str]]:
    """(records in our format, warnings) from an .xlsx made by `workbook_bytes` (or edited)."""
    openpyxl = _openpyxl()
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ValidationFailed(
            "Tệp không phải là bảng tính Excel (.xlsx) hợp lệ.", code="excel_invalid"
        ) from exc
    try:
        if MAIN_SHEET not in book.sheetnames:
            raise ValidationFailed(
                f"Bảng tính thiếu trang “{MAIN_SHEET}”.", code="excel_bad_header"
            )
        warnings: list[str] = []
        records: list[dict] = []
        by_code: dict[str, dict] = {}
        main_columns = (CODE_HEADER, *MAIN_COLUMNS[1:])
        for _, values in _rows(book[MAIN_SHEET], main_columns, MAIN_SHEET):
            record = {key: values.get(key) for key, _ in MAIN_COLUMNS if key in values}
            for key in ("name", "processing_time_text", "result_type", "decision", "level_text"):
                if key in record:
                    record[key] = _text_or_empty(record[key])
            code = str(record.get("code") or "").strip()
            record["code"] = code
            records.append(record)
            if code and code not in by_code:
                by_code[code] = record
                for key, _, _ in LIST_SHEETS:
                    record[key] = []
        for key, title, columns in LIST_SHEETS:
            if title not in book.sheetnames:
                warnings.append(f"Không có trang “{title}”: các thủ tục không có {title.lower()}.")
                continue
            sheet_columns = (CODE_HEADER, *columns)
            for number, values in _rows(book[title], sheet_columns, title):
                code = str(values.pop("code", "") or "").strip()
                record = by_code.get(code)
                if record is None:
                    warnings.append(
                        f"Trang “{title}”, dòng {number}: mã thủ tục “{code}” không có trong "
                        f"trang “{MAIN_SHEET}”, bỏ qua."
                    )
                    continue
                if key == "organisations":
                    ref = values.get("ref")
                    if ref is not None and str(ref).strip():
                        record[key].append(str(ref).strip())
                    continue
                item = {_ITEM_KEY.get(c, c): values.get(c) for c, _ in columns}
                for c, v in item.items():
                    if c in TEXT_COLUMNS:
                        item[c] = "" if v is None else str(v)
                record[key].append(item)
        return records, warnings
    finally:
        book.close()


def import_workbook(*, actor, data: bytes, source: str, system: bool = False) -> ImportReport:
    """Import an .xlsx through `import_catalogue` (same checks, same report)."""
    require_catalogue_manager(actor, system=system)
    records, warnings = records_from_workbook(data)
    report = import_catalogue(actor=actor, records=records, source=source, system=system)
    report.warnings[:0] = warnings
    return report
