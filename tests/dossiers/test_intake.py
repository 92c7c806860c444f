"""Receiving dossiers: codes, due dates (cut-off, Tết, units), checklist, applicant, refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chinhquyenso.core.errors import NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry, Role
from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.models import (
    Dossier,
    DossierCounter,
    DossierEvent,
    Status,
    StepRun,
)
from chinhquyenso.procedures.models import (
    Procedure,
    ProcedureVersion,
    Process,
    ProcessStep,
    StepKind,
)
from tests.dossiers.conftest import (
    applicant,
    checklist,
    local,
    make_procedure,
    make_process,
    receive,
)

pytestmark = pytest.mark.django_db


def test_receive_at_the_desk(received, desk_officer, desk_unit_a, commune_a, birth):
    d = received
    assert d.code == "000.01.39.H39-260309-0001"  # the commune's code: the desk unit has none
    assert d.status == Status.RECEIVED
    assert d.receiving_organisation == desk_unit_a
    assert d.handling_organisation == commune_a
    assert d.process == birth.process
    assert d.procedure_version == birth.procedure.current_version
    assert d.received_at == local(2026, 3, 9, 9, 0)
    assert d.clock_started_at == local(2026, 3, 9, 9, 0)
    assert d.due_at == d.original_due_at == local(2026, 3, 12, 9, 0)  # 3 working days
    assert d.received_by == desk_officer
    assert d.current_step.kind == StepKind.RECEIVE
    assert d.current_handler == desk_officer
    run = StepRun.objects.get(dossier=d)
    assert run.step == d.current_step and run.finished_at is None
    assert run.due_at == local(2026, 3, 9, 10, 0)  # 60 working minutes
    event = DossierEvent.objects.get(dossier=d)
    assert (event.action, event.to_status, event.actor) == ("received", 2, desk_officer)
    entry = AuditEntry.objects.get(action="dossier.received", object_id=str(d.pk))
    assert entry.data["code"] == d.code and entry.actor == desk_officer


def test_checklist_records_state_held_data_without_asking(received):
    docs = list(received.documents.order_by("id"))
    assert [(x.name, x.provided, x.from_state_data) for x in docs] == [
        ("Tờ khai đăng ký khai sinh", True, False),
        ("Giấy chứng sinh", True, False),
        ("Giấy tờ chứng minh nơi cư trú", False, True),
    ]


def test_documents_by_name_with_a_scan(clock, birth, desk_officer, desk_unit_a, scan):
    d = receive(
        desk_officer,
        desk_unit_a,
        birth.procedure,
        documents=[
            {"name": "tờ khai đăng ký khai sinh"},
            {"name": "Giấy chứng sinh", "file_id": scan.pk},
        ],
    )
    assert d.documents.get(name="Giấy chứng sinh").file == scan


def test_missing_required_document_is_named(clock, birth, desk_officer, desk_unit_a):
    with pytest.raises(ValidationFailed) as exc:
        receive(desk_officer, desk_unit_a, birth.procedure, documents=[{"index": 0}])
    assert exc.value.code == "missing_document"
    assert "Giấy chứng sinh" in exc.value.message
    unticked = [{"index": 0}, {"index": 1, "provided": False}]
    with pytest.raises(ValidationFailed, match="Giấy chứng sinh"):
        receive(desk_officer, desk_unit_a, birth.procedure, documents=unticked)
    assert not Dossier.objects.exists()
    assert not DossierCounter.objects.filter(last__gt=0).exists()


def test_unknown_file_is_refused(clock, birth, desk_officer, desk_unit_a):
    docs = [*checklist(), {"name": "Bản sao", "file_id": 999999}]
    with pytest.raises(ValidationFailed) as exc:
        receive(desk_officer, desk_unit_a, birth.procedure, documents=docs)
    assert exc.value.code == "file_not_found"


@pytest.mark.parametrize(
    ("id_number", "fragment"),
    [
        ("06809000123", "12 chữ số"),
        ("06809000123a", "12 chữ số"),
        ("068 090 001 2345", "12 chữ số"),
        ("٠٦٨٠٩٠٠٠١٢٣٤", "12 chữ số"),  # Arabic-Indic digits: digits to Python, not here
        ("003090001234", "mã tỉnh"),
        ("068590001234", "chưa tới"),  # century digit 5: born 2190
    ],
)
def test_invalid_personal_id(clock, birth, desk_officer, desk_unit_a, id_number, fragment):
    with pytest.raises(ValidationFailed) as exc:
        receive(
            desk_officer, desk_unit_a, birth.procedure, applicant=applicant(id_number=id_number)
        )
    assert exc.value.code == "invalid_personal_id"
    assert fragment in exc.value.message
    assert not Dossier.objects.exists()


def test_business_by_tax_code(clock, birth, desk_officer, desk_unit_a):
    business = applicant(kind="business", name="Công ty TNHH Đơn Dương", id_number="5800123456")
    assert (
        receive(desk_officer, desk_unit_a, birth.procedure, applicant=business).applicant_kind == 2
    )
    branch = applicant(kind="business", name="Chi nhánh", id_number="5800123456-001")
    assert receive(desk_officer, desk_unit_a, birth.procedure, applicant=branch)
    for bad in ("580012345", "5800123456-01", "MST5800123456"):
        with pytest.raises(ValidationFailed) as exc:
            receive(
                desk_officer,
                desk_unit_a,
                birth.procedure,
                applicant=applicant(kind="business", id_number=bad),
            )
        assert exc.value.code == "invalid_tax_code"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("name", "  ", "applicant_name_required"),
        ("phone", "12ab", "invalid_phone"),
        ("email", "not-an-email", "invalid_email"),
        ("kind", "alien", "invalid_applicant_kind"),
    ],
)
def test_invalid_applicant_fields(clock, birth, desk_officer, desk_unit_a, field, value, code):
    with pytest.raises(ValidationFailed) as exc:
        receive(desk_officer, desk_unit_a, birth.procedure, applicant=applicant(**{field: value}))
    assert exc.value.code == code


def test_a_bad_phone_or_quantity_says_what_is_expected(clock, birth, desk_officer, desk_unit_a):
    with pytest.raises(ValidationFailed) as exc:
        receive(desk_officer, desk_unit_a, birth.procedure, applicant=applicant(phone="12ab"))
    assert exc.value.message == (
        "Số điện thoại không hợp lệ: chỉ gồm chữ số, ví dụ 0912345678 hoặc +84912345678."
    )
    for quantity in (-1, 100):
        documents = [{"index": 0, "provided": True, "quantity": quantity}, checklist()[1]]
        with pytest.raises(ValidationFailed) as exc:
            receive(desk_officer, desk_unit_a, birth.procedure, documents=documents)
        assert exc.value.message == "Giấy tờ thứ 1: số lượng phải từ 1 đến 99."
    assert not Dossier.objects.exists()


def test_only_the_desk_of_the_organisation_receives(
    clock, birth, desk_unit_a, desk_officer_b, responsible, other_commune_official
):
    for actor in (desk_officer_b, responsible, other_commune_official):
        with pytest.raises(PermissionDenied):
            receive(actor, desk_unit_a, birth.procedure)
    assert not Dossier.objects.exists()


def test_no_process_no_intake(clock, desk_officer, desk_unit_a):
    procedure = make_procedure("1.000001", "Thủ tục chưa có quy trình")
    with pytest.raises(ValidationFailed) as exc:
        receive(desk_officer, desk_unit_a, procedure)
    assert exc.value.code == "no_process"


def test_a_new_process_applies_to_the_next_intake(
    clock, birth, desk_officer, desk_unit_a, unit_a, commune_a
):
    first = receive(desk_officer, desk_unit_a, birth.procedure)
    assert first.process == birth.process
    newer = make_process(
        birth.procedure,
        commune_a,
        [
            ("Tiếp nhận và kiểm tra", StepKind.RECEIVE, desk_unit_a, Role.DESK_OFFICER, 120),
            ("Thẩm định hồ sơ", StepKind.HANDLE, unit_a, Role.SPECIALIST, 480),
            ("Trả kết quả", StepKind.RETURN, desk_unit_a, Role.DESK_OFFICER, 60),
        ],
    )
    second = receive(desk_officer, desk_unit_a, birth.procedure)
    assert second.process == newer
    assert second.current_step.name == "Tiếp nhận và kiểm tra"
    assert second.step_due_at == local(2026, 3, 9, 11, 0)  # 120 working minutes


def test_a_process_saved_by_another_server_applies_at_once(
    clock, birth, desk_officer, desk_unit_a, commune_a
):
    """Another app node replaces the process: no signal reaches this one, the intake still
    follows the current process (its id is read on every intake)."""
    receive(desk_officer, desk_unit_a, birth.procedure)
    Process.objects.filter(pk=birth.process.pk).update(is_current=False)
    [newer] = Process.objects.bulk_create(
        [Process(procedure=birth.procedure, organisation=commune_a, number=2, is_current=True)]
    )
    ProcessStep.objects.bulk_create(
        [
            ProcessStep(
                process=newer,
                order=1,
                name="Tiếp nhận (quy trình mới)",
                kind=StepKind.RECEIVE,
                unit=desk_unit_a,
                role=Role.DESK_OFFICER,
                allotment_minutes=30,
            ),
            ProcessStep(
                process=newer,
                order=2,
                name="Trả kết quả",
                kind=StepKind.RETURN,
                unit=desk_unit_a,
                role=Role.DESK_OFFICER,
                allotment_minutes=60,
            ),
        ]
    )
    d = receive(desk_officer, desk_unit_a, birth.procedure)
    assert d.process == newer
    assert d.current_step.name == "Tiếp nhận (quy trình mới)"
    assert StepRun.objects.get(dossier=d).step.process == newer


def test_a_new_procedure_version_applies_to_the_next_intake(
    clock, birth, desk_officer, desk_unit_a
):
    receive(desk_officer, desk_unit_a, birth.procedure)
    old = birth.procedure.current_version
    [version] = ProcedureVersion.objects.bulk_create(
        [
            ProcedureVersion(
                procedure=birth.procedure,
                number=2,
                name="Thủ tục đăng ký khai sinh (sửa đổi)",
                processing_time=Decimal("5"),
                processing_unit=old.processing_unit,
                documents=old.documents,
                fees=old.fees,
            )
        ]
    )
    Procedure.objects.filter(pk=birth.procedure.pk).update(current_version=version)
    d = receive(desk_officer, desk_unit_a, birth.procedure.national_code)
    assert d.procedure_version == version
    assert d.due_at == local(2026, 3, 16, 9, 0)  # 5 working days from Monday 09:00
    Procedure.objects.filter(pk=birth.procedure.pk).update(is_active=False)
    with pytest.raises(NotFound) as exc:
        receive(desk_officer, desk_unit_a, birth.procedure.national_code)
    assert exc.value.code == "procedure_not_found"


# --- Dossier codes ------------------------------------------------------------------------------


def test_codes_are_sequential_per_organisation_and_day(
    clock, birth, birth_b, desk_officer, desk_unit_a, desk_officer_b, commune_b
):
    codes = [receive(desk_officer, desk_unit_a, birth.procedure).code for _ in range(5)]
    assert codes == [f"000.01.39.H39-260309-{n:04d}" for n in range(1, 6)]
    assert receive(desk_officer_b, commune_b, birth.procedure).code == "000.02.39.H39-260309-0001"
    clock.set(local(2026, 3, 10, 8, 0))
    assert receive(desk_officer, desk_unit_a, birth.procedure).code == "000.01.39.H39-260310-0001"


def test_code_date_is_the_local_receipt_date(clock, birth, desk_officer, desk_unit_a):
    # 23:30 UTC on the 9th is 06:30 on the 10th in Hà Nội.
    clock.set(local(2026, 3, 10, 6, 30))
    assert receive(desk_officer, desk_unit_a, birth.procedure).code.endswith("-260310-0001")


def test_a_failed_intake_does_not_use_a_number(
    clock, birth, desk_officer, desk_unit_a, monkeypatch
):
    from chinhquyenso.dossiers.services import intake

    first = receive(desk_officer, desk_unit_a, birth.procedure)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch, pytest.raises(RuntimeError):
        patch.setattr(intake.DossierDocument.objects, "bulk_create", boom)
        receive(desk_officer, desk_unit_a, birth.procedure)
    clock.set(local(2026, 3, 9, 9, 30))
    second = receive(desk_officer, desk_unit_a, birth.procedure)
    assert (first.code[-4:], second.code[-4:]) == ("0001", "0002")


# --- Due dates --------------------------------------------------------------------------------


def _due(clock, when, procedure, actor, desk):
    clock.set(when)
    d = receive(actor, desk, procedure)
    return d.clock_started_at, d.due_at


def test_cut_off_moves_the_start_to_the_next_working_day(clock, birth, desk_officer, desk_unit_a):
    p = birth.procedure
    assert _due(clock, local(2026, 3, 9, 15, 0), p, desk_officer, desk_unit_a) == (
        local(2026, 3, 9, 15, 0),
        local(2026, 3, 12, 15, 0),
    )
    assert _due(clock, local(2026, 3, 9, 15, 1), p, desk_officer, desk_unit_a) == (
        local(2026, 3, 10, 7, 30),
        local(2026, 3, 12, 17, 0),
    )
    # Friday after the cut-off: Monday morning.
    assert _due(clock, local(2026, 3, 13, 16, 0), p, desk_officer, desk_unit_a)[0] == local(
        2026, 3, 16, 7, 30
    )
    # At lunch: the afternoon session.
    assert _due(clock, local(2026, 3, 9, 12, 0), p, desk_officer, desk_unit_a)[0] == local(
        2026, 3, 9, 13, 30
    )


def test_cut_off_is_a_setting(clock, birth, desk_officer, desk_unit_a, settings):
    settings.CQS_DOSSIER_CUTOFF = "16:00"
    start, _ = _due(clock, local(2026, 3, 9, 15, 30), birth.procedure, desk_officer, desk_unit_a)
    assert start == local(2026, 3, 9, 15, 30)


def test_due_dates_across_tet(clock, birth, desk_officer, desk_unit_a):
    # Tết Bính Ngọ 2026: Monday 16 to Friday 20 February are days off.
    p = birth.procedure
    assert _due(clock, local(2026, 2, 13, 10, 0), p, desk_officer, desk_unit_a) == (
        local(2026, 2, 13, 10, 0),
        local(2026, 2, 25, 10, 0),
    )
    assert _due(clock, local(2026, 2, 13, 15, 30), p, desk_officer, desk_unit_a) == (
        local(2026, 2, 23, 7, 30),
        local(2026, 2, 25, 17, 0),
    )
    # Received during Tết (an official working on a holiday): from the first working day.
    assert _due(clock, local(2026, 2, 18, 9, 0), p, desk_officer, desk_unit_a) == (
        local(2026, 2, 23, 7, 30),
        local(2026, 2, 25, 17, 0),
    )


@pytest.mark.parametrize(
    ("time", "unit", "received", "due"),
    [
        # Working hours: 10:00–11:30 and 13:30–16:00.
        (Decimal("4"), "working_hours", (2026, 3, 9, 10, 0), (2026, 3, 9, 16, 0)),
        # Half a working day (225 of the 450 minutes).
        (Decimal("0.5"), "working_days", (2026, 3, 9, 10, 0), (2026, 3, 9, 15, 45)),
        # Calendar days (Civil Code Art. 147–148): the 5th day is a Saturday, so Monday's close.
        (Decimal("5"), "calendar_days", (2026, 3, 9, 9, 0), (2026, 3, 16, 17, 0)),
        (Decimal("5"), "calendar_days", (2026, 3, 11, 9, 0), (2026, 3, 16, 17, 0)),
        # Ending on Giỗ Tổ (observed Monday 27/4) and 30/4–1/5: the next working day.
        (Decimal("3"), "calendar_days", (2026, 4, 24, 9, 0), (2026, 4, 28, 17, 0)),
    ],
)
def test_processing_time_units(
    clock, commune_a, desk_unit_a, unit_a, desk_officer, time, unit, received, due
):
    from chinhquyenso.core.models import Role

    procedure = make_procedure("1.009999", "Thủ tục thử", time=time, unit=unit)
    make_process(
        procedure,
        commune_a,
        [
            ("Tiếp nhận", StepKind.RECEIVE, desk_unit_a, Role.DESK_OFFICER, 15),
            ("Trả kết quả", StepKind.RETURN, desk_unit_a, Role.DESK_OFFICER, 15),
        ],
    )
    assert _due(clock, local(*received), procedure, desk_officer, desk_unit_a)[1] == local(*due)


# --- Online submission, acceptance, refusal ---------------------------------------------------


def test_online_submission_then_acceptance(submitted, clock, citizen, desk_officer):
    assert submitted.status == Status.SUBMITTED
    assert submitted.applicant == citizen
    assert submitted.applicant_id_number == citizen.personal_id
    assert submitted.code == "000.01.39.H39-260309-0001"
    assert submitted.clock_started_at is None and submitted.due_at is None
    clock.set(local(2026, 3, 10, 8, 0))
    d = services.accept_online_submission(
        actor=desk_officer, dossier=submitted, expected_revision=submitted.revision
    )
    assert d.status == Status.RECEIVED
    assert d.received_at == local(2026, 3, 10, 8, 0)
    assert d.due_at == local(2026, 3, 13, 8, 0)
    assert d.current_step.kind == StepKind.RECEIVE


def test_second_acceptance_is_refused(submitted, desk_officer):
    d = services.accept_online_submission(actor=desk_officer, dossier=submitted)
    before = (d.revision, d.received_at, DossierEvent.objects.count(), StepRun.objects.count())
    with pytest.raises(ValidationFailed) as exc:
        services.accept_online_submission(
            actor=desk_officer, dossier=d, expected_revision=d.revision
        )
    assert exc.value.code == "transition_not_allowed"
    assert "Được tiếp nhận" in exc.value.message
    d.refresh_from_db()
    assert (
        d.revision,
        d.received_at,
        DossierEvent.objects.count(),
        StepRun.objects.count(),
    ) == before


def test_only_the_receiving_desk_accepts(submitted, desk_officer_b, responsible):
    for actor in (desk_officer_b, responsible):
        with pytest.raises(PermissionDenied):
            services.accept_online_submission(actor=actor, dossier=submitted)


def test_officials_do_not_submit_online(clock, birth, desk_officer, desk_unit_a):
    with pytest.raises(PermissionDenied):
        services.submit_online(
            actor=desk_officer,
            organisation=desk_unit_a,
            procedure=birth.procedure,
            applicant=applicant(),
            documents=checklist(),
        )


def test_refusal_at_reception(submitted, desk_officer):
    d = services.refuse(
        actor=desk_officer, dossier=submitted, reason="Hồ sơ không thuộc thẩm quyền"
    )
    assert d.status == Status.REFUSED
    assert d.finished_at is not None
    assert d.events.last().comment == "Hồ sơ không thuộc thẩm quyền"
    with pytest.raises(ValidationFailed) as exc:
        services.refuse(actor=desk_officer, dossier=d, reason="lần nữa")
    assert exc.value.code == "transition_not_allowed"


def test_refusal_needs_a_reason(received, desk_officer):
    with pytest.raises(ValidationFailed) as exc:
        services.refuse(actor=desk_officer, dossier=received, reason="  ")
    assert exc.value.code == "reason_required"
