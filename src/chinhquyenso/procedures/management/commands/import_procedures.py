"""`manage.py import_procedures PATH`: load a catalogue file (JSON or .xlsx) as the system.

Uses the same service as the administrators' import page, so the same checks apply, the same
report is printed, and importing the same file twice changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from chinhquyenso.core.errors import DomainError
from chinhquyenso.procedures import services
from chinhquyenso.procedures.services import excel


class Command(BaseCommand):
    help = "Nhập danh mục thủ tục hành chính từ tệp JSON hoặc Excel (.xlsx), dưới quyền hệ thống."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Tệp JSON (định dạng Cổng DVCQG hoặc tệp xuất) hoặc .xlsx")
        parser.add_argument("--source", default="", help="Ghi chú nguồn (mặc định: tên tệp)")
        parser.add_argument(
            "--strict", action="store_true", help="Thoát với mã lỗi nếu có bản ghi lỗi"
        )

    def handle(self, *args, path: str, source: str, strict: bool, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"Không tìm thấy tệp {path}.")
        data = file.read_bytes()
        source = source or f"lệnh import_procedures: {file.name}"
        try:
            if excel.is_xlsx(data):
                report = services.import_workbook(actor=None, system=True, data=data, source=source)
            else:
                try:
                    records = json.loads(data.decode("utf-8-sig"))
                except (UnicodeDecodeError, ValueError) as exc:
                    raise CommandError(f"Tệp không phải JSON hoặc Excel hợp lệ: {exc}") from exc
                if isinstance(records, dict) and isinstance(records.get("records"), list):
                    records = records["records"]
                report = services.import_catalogue(
                    actor=None, system=True, records=records, source=source
                )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        for warning in report.warnings:
            self.stderr.write(f"Cảnh báo: {warning}")
        for error in report.errors:
            self.stderr.write(
                f"Lỗi bản ghi {error.index} ({error.code or 'không rõ mã'}): {error.message} "
                f"[{error.error_code}]"
            )
        self.stdout.write(report.summary())
        if strict and report.errors:
            raise CommandError(f"{len(report.errors)} bản ghi lỗi.")
