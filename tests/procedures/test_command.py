"""`import_procedures PATH`: JSON and Excel, as the system, idempotent."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from chinhquyenso.core.models import AuditEntry
from chinhquyenso.procedures import services
from chinhquyenso.procedures.models import Procedure
from tests.procedures.conftest import _sample_path


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_procedures", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_imports_the_sample_twice(db):
    out, _ = run(str(_sample_path()))
    assert "62 thủ tục mới" in out
    assert Procedure.objects.count() == 62
    out, _ = run(str(_sample_path()))
    assert "62 không đổi" in out
    entry = AuditEntry.objects.filter(action="procedure.catalogue_imported").first()
    assert entry.actor_label == "hệ thống"
    assert "import_procedures" in entry.data["source"]


def test_command_imports_excel(catalogue, tmp_path):
    path = tmp_path / "danh-muc.xlsx"
    path.write_bytes(services.export_workbook(actor=None, system=True))
    out, _ = run(str(path))
    assert "62 không đổi" in out


def test_command_reports_bad_records(db, tmp_path, national_records):
    national_records[0]["name"] = ""
    path = tmp_path / "x.json"
    import json

    path.write_text(json.dumps(national_records[:2]), encoding="utf-8")
    out, err = run(str(path))
    assert "1 lỗi" in out
    assert "Lỗi bản ghi 1" in err
    with pytest.raises(CommandError):
        run(str(path), "--strict")


def test_command_refuses_a_missing_or_broken_file(db, tmp_path):
    with pytest.raises(CommandError):
        run(str(tmp_path / "none.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(CommandError):
        run(str(broken))
