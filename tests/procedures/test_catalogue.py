"""The catalogue services: importing the 62 real procedures, versions, round trips, errors."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chinhquyenso.core.errors import PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry
from chinhquyenso.procedures import services
from chinhquyenso.procedures.models import (
    ImplementingLevel,
    OnlineService,
    Procedure,
    ProcedureVersion,
    TimeUnit,
)


def _record(records, code):
    return next(r for r in records if r["code"] == code)


def _procedure(code) -> Procedure:
    return Procedure.objects.select_related("current_version", "field").get(national_code=code)


# --- The real sample ------------------------------------------------------------------------------


def test_imports_the_62_real_procedures(catalogue):
    assert catalogue.total == 62
    assert len(catalogue.created) == 62
    assert Procedure.objects.count() == 62
    assert ProcedureVersion.objects.count() == 62
    assert not catalogue.errors


def test_birth_registration_content(catalogue):
    p = _procedure("1.001193")
    v = p.current_version
    assert v.name == "Thủ tục đăng ký khai sinh"
    assert p.field.name == "Hộ tịch"
    assert p.level == ImplementingLevel.COMMUNE
    assert len(v.documents) == 8
    assert all(d["copy_type"] == "bản chính" and d["quantity"] == 1 for d in v.documents)
    assert v.processing_time == Decimal("1.0")
    # The portal did not name the unit: working days, the raw text kept.
    assert v.processing_unit == TimeUnit.WORKING_DAYS
    assert v.processing_time_text == "1"
    assert [f["amount_vnd"] for f in v.fees] == [0]
    assert v.online_service == OnlineService.NONE
    assert "123/2015/NĐ-CP" in [b["number"] for b in v.legal_basis]
    assert v.decision == "163/QĐ-BTP"
    assert v.source["portal_url"].startswith("https://dichvucong.gov.vn/")
    assert {c["code"] for c in v.channels} == {"direct", "online", "postal"}
    assert v.number == 1


def test_units_of_processing_time(catalogue):
    hours = _procedure("2.001159").current_version  # Thông báo lưu trú: 1 Giờ
    assert (hours.processing_time, hours.processing_unit) == (Decimal("1.0"), "working_hours")
    days = _procedure("2.000779").current_version  # 10 Ngày
    assert (days.processing_time, days.processing_unit) == (Decimal("10.0"), "calendar_days")
    assert days.processing_time_text == "10 Ngày"
    working = _procedure("1.004837").current_version  # 3 Ngày làm việc
    assert working.processing_unit == "working_days"
    unknown = _procedure("2.000913").current_version  # no time on the portal
    assert unknown.processing_time is None
    assert unknown.processing_time_text == "Không có thông tin"


def test_unknown_fee_stays_unknown_with_its_note(catalogue):
    fee = _procedure("1.000656").current_version.fees[0]
    assert fee["amount_vnd"] is None
    assert "Hội đồng nhân dân" in fee["note"]
    foreign = _procedure("1.003460").current_version.fees[0]
    assert foreign["amount_vnd"] is None
    assert "145 USD" in foreign["note"]
    paid = _procedure("1.014063").current_version.fees[0]
    assert paid["amount_vnd"] == 50000


def test_mixed_level_text_is_kept(catalogue):
    p = _procedure("1.013225")
    assert p.level == ImplementingLevel.COMMUNE
    assert p.level_text == "Cấp xã, Cơ quan khác"
    # The crawl kept 15 of the portal's 53 components: recorded, not hidden.
    assert p.current_version.source["documents_total_in_source"] == 53
    assert _procedure("3.000333").level == ImplementingLevel.PROVINCE


def test_import_is_audited_as_the_system(catalogue):
    created = AuditEntry.objects.filter(action="procedure.created")
    assert created.count() == 62
    assert set(created.values_list("actor_label", flat=True)) == {"hệ thống"}
    summary = AuditEntry.objects.get(action="procedure.catalogue_imported")
    assert summary.data["created"] == 62


def test_reimport_is_a_no_op(catalogue, national_records):
    audit_before = AuditEntry.objects.count()
    report = services.import_catalogue(
        actor=None, system=True, records=national_records, source="again"
    )
    assert len(report.unchanged) == 62
    assert not (report.created or report.new_versions or report.updated or report.errors)
    assert ProcedureVersion.objects.count() == 62
    # Only the import's own summary entry.
    assert AuditEntry.objects.count() == audit_before + 1


def test_changed_record_makes_version_2_and_keeps_version_1(catalogue, national_records):
    record = copy.deepcopy(_record(national_records, "1.001193"))
    record["processing_time"] = 2
    record["documents"][0]["quantity"] = 2
    report = services.import_catalogue(actor=None, system=True, records=[record], source="v2")
    assert report.new_versions == ["1.001193"]
    p = _procedure("1.001193")
    assert p.current_version.number == 2
    assert p.current_version.processing_time == Decimal("2.0")
    assert p.current_version.documents[0]["quantity"] == 2
    v1 = p.versions.get(number=1)
    assert v1.processing_time == Decimal("1.0")
    assert v1.documents[0]["quantity"] == 1
    entry = AuditEntry.objects.get(action="procedure.version_created")
    assert set(entry.data["changed"]) == {"processing_time", "documents"}
    # The same data again: nothing new.
    again = services.import_catalogue(actor=None, system=True, records=[record], source="v2")
    assert again.unchanged == ["1.001193"]
    assert p.versions.count() == 2


def test_bad_records_are_reported_and_the_others_imported(db, national_records):
    records = copy.deepcopy(national_records[:5])
    records[1]["name"] = ""
    records[2]["level"] = "Cấp vũ trụ"
    records[3]["processing_unit"] = "Tuần"
    bad_fee = copy.deepcopy(national_records[10])
    bad_fee["fee_vnd"] = -5
    duplicate = copy.deepcopy(national_records[0])
    records += [bad_fee, duplicate, "not a record"]
    report = services.import_catalogue(actor=None, system=True, records=records, source="bad")
    assert report.created == [records[0]["code"], records[4]["code"]]
    by_index = {e.index: e for e in report.errors}
    assert set(by_index) == {2, 3, 4, 6, 7, 8}
    assert by_index[2].code == records[1]["code"]
    assert by_index[2].error_code == "missing_value"
    assert by_index[3].error_code == "invalid_level"
    assert "Cấp vũ trụ" in by_index[3].message
    assert by_index[4].error_code == "invalid_processing_unit"
    assert "không được nhỏ hơn 0" in by_index[6].message
    assert by_index[7].error_code == "duplicate_code"
    assert by_index[8].code == ""
    assert Procedure.objects.count() == 2


def test_json_round_trip_changes_nothing(catalogue):
    exported = services.export_catalogue(actor=None, system=True)
    assert len(exported) == 62
    text = json.dumps(exported, ensure_ascii=False)
    report = services.import_catalogue(
        actor=None, system=True, records=json.loads(text), source="round trip"
    )
    assert len(report.unchanged) == 62, report.errors
    assert ProcedureVersion.objects.count() == 62
    assert services.export_catalogue(actor=None, system=True) == exported


def test_our_format_creates_the_same_catalogue_elsewhere(catalogue):
    exported = services.export_catalogue(actor=None, system=True)
    Procedure.objects.update(current_version=None)
    ProcedureVersion.objects.all().delete()
    Procedure.objects.all().delete()
    report = services.import_catalogue(actor=None, system=True, records=exported, source="copy")
    assert len(report.created) == 62
    assert services.export_catalogue(actor=None, system=True) == exported


def test_excel_round_trip_changes_nothing(catalogue):
    exported = services.export_catalogue(actor=None, system=True)
    data = services.workbook_bytes(exported)
    assert data[:2] == b"PK"
    records, warnings = services.records_from_workbook(data)
    assert not warnings
    assert len(records) == 62
    report = services.import_workbook(actor=None, system=True, data=data, source="excel")
    assert len(report.unchanged) == 62, report.errors
    assert ProcedureVersion.objects.count() == 62


def test_excel_edit_makes_a_new_version(catalogue):
    import io

    import openpyxl

    data = services.export_workbook(actor=None, system=True, codes=["1.001193"])
    book = openpyxl.load_workbook(io.BytesIO(data))
    fees = book["Phí, lệ phí"]
    fees.cell(row=2, column=3).value = 8000
    buffer = io.BytesIO()
    book.save(buffer)
    report = services.import_workbook(
        actor=None, system=True, data=buffer.getvalue(), source="excel edit"
    )
    assert report.new_versions == ["1.001193"]
    assert _procedure("1.001193").current_version.fees[0]["amount_vnd"] == 8000


def test_not_an_excel_file_is_refused(db):
    with pytest.raises(ValidationFailed) as exc:
        services.import_workbook(actor=None, system=True, data=b"PK\x03\x04garbage", source="x")
    assert exc.value.code == "excel_invalid"


# --- Who may --------------------------------------------------------------------------------------


def test_province_admin_imports_and_is_audited(province_admin, national_records):
    report = services.import_catalogue(
        actor=province_admin, records=national_records[:2], source="upload"
    )
    assert len(report.created) == 2
    entry = AuditEntry.objects.filter(action="procedure.created").first()
    assert entry.actor == province_admin
    assert entry.organisation == province_admin.positions.get().organisation
    assert _procedure(national_records[0]["code"]).current_version.created_by == province_admin


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["commune_admin", "responsible", "leader", "citizen"])
def test_others_may_not_import(request, persona, national_records):
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        services.import_catalogue(actor=user, records=national_records[:1], source="x")
    assert not Procedure.objects.exists()


def test_no_actor_needs_the_system_flag(db, national_records, province_admin):
    with pytest.raises(PermissionDenied):
        services.import_catalogue(actor=None, records=national_records[:1], source="x")
    with pytest.raises(ValidationFailed):
        services.import_catalogue(
            actor=province_admin, system=True, records=national_records[:1], source="x"
        )


def test_export_needs_an_official(catalogue, responsible, citizen):
    assert len(services.export_catalogue(actor=responsible)) == 62
    with pytest.raises(PermissionDenied):
        services.export_catalogue(actor=citizen)


# --- Editing --------------------------------------------------------------------------------------


def test_update_procedure_creates_a_version(catalogue, province_admin):
    p = _procedure("1.001193")
    updated = services.update_procedure(
        actor=province_admin,
        procedure=p,
        change_note="Sửa theo QĐ mới",
        result_type="Giấy khai sinh",
        online_service=OnlineService.FULL,
    )
    assert updated.current_version.number == 2
    assert updated.current_version.result_type == "Giấy khai sinh"
    assert updated.current_version.change_note == "Sửa theo QĐ mới"
    assert updated.versions.get(number=1).result_type == ""


def test_update_of_attributes_only_makes_no_version(catalogue, province_admin, national_records):
    p = services.update_procedure(
        actor=province_admin, procedure=_procedure("1.001193"), location_independent=True
    )
    assert p.location_independent is True
    assert p.current_version.number == 1
    assert AuditEntry.objects.filter(action="procedure.updated").exists()
    # Re-importing the national file does not undo it (the file does not say).
    report = services.import_catalogue(
        actor=None,
        system=True,
        records=[_record(national_records, "1.001193")],
        source="again",
    )
    assert report.unchanged == ["1.001193"]
    assert _procedure("1.001193").location_independent is True


def test_update_refuses_unknown_fields_and_bad_values(catalogue, province_admin):
    p = _procedure("1.001193")
    with pytest.raises(ValidationFailed) as exc:
        services.update_procedure(actor=province_admin, procedure=p, colour="red")
    assert exc.value.code == "unknown_field"
    with pytest.raises(ValidationFailed) as exc:
        services.update_procedure(actor=province_admin, procedure=p, processing_time="-1")
    assert exc.value.code == "invalid_processing_time"
    assert p.versions.count() == 1


def test_update_needs_the_catalogue_manager(catalogue, commune_admin):
    with pytest.raises(PermissionDenied):
        services.update_procedure(
            actor=commune_admin, procedure=_procedure("1.001193"), name="Khác"
        )


def test_assign_organisations_within_reach(
    catalogue, province_admin, commune_admin, commune_a, commune_b
):
    p = _procedure("1.001193")
    services.assign_organisations(actor=province_admin, procedure=p, organisations=[commune_b])
    # The commune's administrator declares its own commune; commune B stays.
    services.assign_organisations(actor=commune_admin, procedure=p, organisations=[commune_a])
    assert set(p.organisations.all()) == {commune_a, commune_b}
    services.assign_organisations(actor=commune_admin, procedure=p, organisations=[])
    assert set(p.organisations.all()) == {commune_b}
    with pytest.raises(PermissionDenied):
        services.assign_organisations(actor=commune_admin, procedure=p, organisations=[commune_b])
    assert AuditEntry.objects.filter(action="procedure.organisations_assigned").count() == 3


def test_assigned_organisations_round_trip(catalogue, province_admin, commune_a):
    p = _procedure("1.001193")
    services.assign_organisations(actor=province_admin, procedure=p, organisations=[commune_a])
    exported = services.export_catalogue(actor=None, system=True, codes=["1.001193"])
    assert exported[0]["organisations"] == [commune_a.org_code]
    exported[0]["organisations"] = ["999.99.99.H99"]
    report = services.import_catalogue(actor=None, system=True, records=exported, source="x")
    assert report.updated == ["1.001193"]
    assert "999.99.99.H99" in report.warnings[0]
    assert not p.organisations.exists()


def test_organisation_ids_that_are_not_plain_numbers_are_warnings(catalogue, commune_a):
    exported = services.export_catalogue(actor=None, system=True, codes=["1.001193"])
    exported[0]["organisations"] = ["id:²", "id:12345678901234567890", f"id:{commune_a.pk}"]
    report = services.import_catalogue(actor=None, system=True, records=exported, source="x")
    assert report.ok, report.errors
    assert any("id:²" in w for w in report.warnings)
    assert any("id:12345678901234567890" in w for w in report.warnings)
    assert list(_procedure("1.001193").organisations.all()) == [commune_a]


# --- Whatever comes in ----------------------------------------------------------------------------

_scalars = st.none() | st.booleans() | st.integers(-10, 10**6) | st.text(max_size=12)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
_keys = st.sampled_from(
    [
        "code",
        "name",
        "field",
        "level",
        "processing_time",
        "processing_unit",
        "fee_vnd",
        "documents",
        "legal_basis",
        "online",
        "channels",
        "decision",
        "source",
        "fees",
        "forms",
        "online_service",
        "organisations",
        "is_active",
        "location_independent",
    ]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(st.dictionaries(_keys, _values, max_size=10) | _values, max_size=3))
def test_any_input_gives_a_report(db, records):
    report = services.import_catalogue(actor=None, system=True, records=records, source="fuzz")
    assert report.total == len(records)
    assert len(report.errors) + len(report.created) + len(report.unchanged) + len(
        report.new_versions
    ) + len(report.updated) == len(records)
