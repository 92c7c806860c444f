"""The demo's printed result document: its date line follows Decree 30/2020/NĐ-CP Annex I, as
the one-stop forms write it (`forms_pdf.VnTime.long_date`)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from chinhquyenso.demo.signed_documents import result_pdf

pytestmark = pytest.mark.usefixtures("require_poppler")

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "ket-qua.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        [shutil.which("pdftotext"), "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    return " ".join(out.split())


@pytest.mark.parametrize(
    ("finished", "line"),
    [
        ((2026, 1, 5), "Đơn Dương, ngày 05 tháng 01 năm 2026"),
        ((2026, 2, 14), "Đơn Dương, ngày 14 tháng 02 năm 2026"),
        ((2026, 3, 20), "Đơn Dương, ngày 20 tháng 3 năm 2026"),
    ],
)
def test_result_date_line_follows_decree_30(tmp_path, finished, line):
    dossier = SimpleNamespace(
        handling_organisation=SimpleNamespace(name="UBND xã Đơn Dương"),
        finished_at=datetime(*finished, 8, 0, tzinfo=VN),
        code="H39.01-260105-0001",
        procedure_version=SimpleNamespace(name="Thủ tục đăng ký khai sinh"),
        applicant_name="Nguyễn Văn An",
    )
    assert line in _text(result_pdf(dossier), tmp_path)
