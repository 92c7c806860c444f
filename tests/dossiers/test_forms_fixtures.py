"""Test-only builders of procedures and dossiers for the forms, register and public-lookup tests.

They write rows directly (the lifecycle services are tested in their own files); nothing here
is a test.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chinhquyenso.dossiers.models import (
    ApplicantKind,
    Channel,
    Dossier,
    DossierDocument,
    ResultDelivery,
    Status,
    StepRun,
)
from chinhquyenso.procedures.models import (
    Field,
    ImplementingLevel,
    Procedure,
    ProcedureVersion,
    Process,
    ProcessStep,
    StepKind,
    TimeUnit,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def vn(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN)


def make_procedure(organisation, *, code="1.001193", name="Đăng ký khai sinh", days=1):
    field, _ = Field.objects.get_or_create(name="Hộ tịch")
    procedure = Procedure.objects.create(
        national_code=code, field=field, level=ImplementingLevel.COMMUNE
    )
    version = ProcedureVersion.objects.create(
        procedure=procedure,
        number=1,
        name=name,
        processing_time=Decimal(days),
        processing_unit=TimeUnit.WORKING_DAYS,
        documents=[
            {"name": "Tờ khai đăng ký khai sinh", "copy_type": "bản chính", "quantity": 1},
            {"name": "Giấy chứng sinh", "copy_type": "bản chính", "quantity": 1},
            {
                "name": "Giấy tờ tùy thân của người đi đăng ký",
                "copy_type": "bản chính",
                "quantity": 1,
                "state_holds_data": True,
            },
        ],
    )
    procedure.current_version = version
    procedure.save(update_fields=["current_version"])
    procedure.organisations.add(organisation)
    return procedure


def make_process(procedure, organisation, units):
    """A process of len(units) steps: [(unit, name, kind), ...]."""
    process = Process.objects.create(procedure=procedure, organisation=organisation, number=1)
    steps = []
    for order, (unit, name, kind) in enumerate(units, start=1):
        steps.append(
            ProcessStep.objects.create(
                process=process,
                order=order,
                name=name,
                kind=kind,
                unit=unit,
                role="specialist",
                allotment_minutes=120,
            )
        )
    return process, steps


def make_dossier(
    organisation,
    procedure,
    *,
    seq=1,
    received_at=None,
    status=Status.PROCESSING,
    applicant_name="Nguyễn Thị Hằng",
    received_by=None,
    **fields,
) -> Dossier:
    received_at = received_at or vn(2026, 3, 2, 8, 30)
    code = f"{organisation.org_code}-{received_at.astimezone(VN):%y%m%d}-{seq:04d}"
    defaults = dict(
        code=code,
        procedure=procedure,
        procedure_version=procedure.current_version,
        receiving_organisation=organisation,
        handling_organisation=organisation,
        status=status,
        channel=Channel.DIRECT,
        applicant_kind=ApplicantKind.CITIZEN,
        applicant_name=applicant_name,
        applicant_id_number="068190001234",
        applicant_phone="0912345678",
        applicant_email="hang@example.vn",
        applicant_address="Thôn Lạc Xuân, xã Đơn Dương, tỉnh Lâm Đồng",
        submitted_at=received_at,
        received_at=received_at,
        clock_started_at=received_at,
        due_at=received_at + timedelta(days=1),
        result_delivery=ResultDelivery.DESK,
        received_by=received_by,
        fees=[{"label": "Lệ phí đăng ký khai sinh", "amount_vnd": 0}],
    )
    defaults.update(fields)
    dossier = Dossier.objects.create(**defaults)
    for name, copy_type in [
        ("Tờ khai đăng ký khai sinh", "bản chính"),
        ("Giấy chứng sinh", "bản chính"),
    ]:
        DossierDocument.objects.create(
            dossier=dossier, name=name, copy_type=copy_type, quantity=1, provided=True
        )
    return dossier


def add_step_run(
    dossier,
    step,
    *,
    started_at,
    due_at,
    finished_at=None,
    handler=None,
    handed_over_by=None,
    timeliness="",
):
    return StepRun.objects.create(
        dossier=dossier,
        step=step,
        unit=step.unit,
        handler=handler,
        handed_over_by=handed_over_by,
        started_at=started_at,
        due_at=due_at,
        finished_at=finished_at,
        timeliness=timeliness,
    )


__all__ = [
    "StepKind",
    "add_step_run",
    "make_dossier",
    "make_process",
    "make_procedure",
    "vn",
]
