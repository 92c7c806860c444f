"""`cqs form_sets --update`: wording corrected in a release reaches an installation whose
database holds the earlier copy; audited; the active set stays."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from chinhquyenso.core.models import AuditEntry
from chinhquyenso.dossiers import formsets
from chinhquyenso.dossiers.models import FormSet, FormTemplate

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("form_sets", *args, stdout=out)
    return out.getvalue()


def test_update_copies_the_shipped_wording_back_and_audits_it():
    run()
    receipt = FormTemplate.objects.get(form_set__code="tt01-2018", purpose="receipt")
    shipped = receipt.body
    assert "Đăng ký nhận kết quả tại: {{ result_delivery_text }}" in shipped
    # The copy an earlier release left in the database.
    receipt.body = shipped.replace("{{ result_delivery_text }}", "{{ result_delivery }}")
    receipt.save(update_fields=["body"])

    assert run().count("Đã cập nhật") == 0  # without --update nothing is overwritten
    receipt.refresh_from_db()
    assert "{{ result_delivery }}" in receipt.body

    out = run("--update")
    assert "Đã cập nhật 1 biểu mẫu." in out
    receipt.refresh_from_db()
    assert receipt.body == shipped
    entry = AuditEntry.objects.get(action="formset.updated")
    assert entry.data == {"purpose": "receipt", "number": receipt.number}
    assert FormSet.objects.get(is_active=True).code == "tt01-2018"
    assert "Đã cập nhật 0 biểu mẫu." in run("--update")  # nothing left to change


def test_the_active_set_is_kept(province_admin):
    formsets.ensure_form_sets()
    formsets.activate_form_set(actor=province_admin, code="tt03-2025")
    run("--update")
    assert FormSet.objects.get(is_active=True).code == "tt03-2025"
