"""`cqs verify-pdf FILE [--json]`: validate every signature in a PDF.

Exit code 0 when every signature passes, 1 when any fails, 2 when none fails but some are
indeterminate (or the file has no signature). A file that is not a readable PDF exits 1 with a
Vietnamese message, no stack trace.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from chinhquyenso.core.errors import DomainError
from chinhquyenso.signing import validation


class Command(BaseCommand):
    help = (
        "Kiểm tra mọi chữ ký số trong một tệp PDF "
        "(mã thoát 0 hợp lệ, 1 không hợp lệ, 2 không xác định được)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Tệp PDF cần kiểm tra")
        parser.add_argument("--json", action="store_true", help="In báo cáo dạng JSON")
        parser.add_argument(
            "--hard-fail-revocation",
            action="store_true",
            help="Thiếu thông tin thu hồi thì coi là không hợp lệ",
        )

    def handle(self, *args, file: str, json: bool, hard_fail_revocation: bool, **options):
        path = Path(file)
        try:
            if not path.is_file():
                self.stderr.write(f"Không tìm thấy tệp {file}.")
                sys.exit(1)
            report = validation.validate_pdf(
                path.read_bytes(),
                policy=validation.Policy(hard_fail_revocation=hard_fail_revocation),
            )
        except DatabaseError:
            # The trust store lives in the database: a fresh install that was never migrated
            # gets a sentence saying what to do, not a stack trace.
            self.stderr.write(
                "Lỗi: cơ sở dữ liệu chưa được khởi tạo nên chưa có kho chứng thư tin cậy. "
                "Hãy chạy `cqs migrate` (hoặc `make demo`) trước. [database_not_ready]"
            )
            sys.exit(1)
        except DomainError as exc:
            if json:
                self.stdout.write(_dumps({"code": exc.code, "message": exc.message}))
            else:
                self.stderr.write(f"Lỗi: {exc.message} [{exc.code}]")
            sys.exit(1)
        if json:
            self.stdout.write(_dumps(report))
        else:
            self.stdout.write(_text(path.name, report))
        sys.exit(validation.exit_code(report))


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _text(name: str, report: dict) -> str:
    lines = [f"{name}: {report['signature_count']} chữ ký, {report['revisions']} bản sửa đổi"]
    if not report["signatures"]:
        lines.append("  Tài liệu không có chữ ký số.")
    for number, sig in enumerate(report["signatures"], 1):
        verdict = sig["verdict"]
        lines.append(f"[{number}] {sig['field']}: {verdict['label'].upper()}")
        if sig.get("signer"):
            signer = sig["signer"]
            lines.append(f"    Người ký: {signer['name']} — {signer['organisation']}")
            lines.append(f"    Chuỗi tin cậy: {sig['trust']['label']}")
            lines.append(f"    Thời điểm ký: {sig['signing_time'] or 'không rõ'}")
            ts = sig["timestamp"]
            lines.append(
                f"    Dấu thời gian: {ts['time']} ({ts['label']})"
                if ts
                else "    Dấu thời gian: không có"
            )
            lines.append(f"    Toàn vẹn: {sig['integrity']['label']}")
            lines.append(f"    Phạm vi: {sig['coverage']['label']}")
            lines.append(f"    Thu hồi: {sig['revocation']['label']}")
            lines.append(f"    Mức PAdES: {sig['pades_level']}")
        lines.append(f"    Lý do: {verdict['reason']}")
    return "\n".join(lines)
