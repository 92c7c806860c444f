"""Fixtures of the dossier lifecycle: a commune with its desk and units, a provincial
department for inter-agency transfers, procedures with processes, and a settable clock.

Personas beyond the root conftest: the desk officer of Xã A (in its one-stop unit), a unit head
and the chairman of Xã A, the desk officer of Xã B, and the department's desk officer and
specialist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from chinhquyenso.core.models import Role
from chinhquyenso.core.models.organisations import OrganisationKind
from chinhquyenso.core.services import files as file_service
from chinhquyenso.dossiers import services
from chinhquyenso.procedures.models import Field, Procedure, ProcedureVersion, StepKind
from chinhquyenso.procedures.services.processes import StepSpec, save_process
from tests.conftest import make_official, make_org

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CITIZEN_ID = "068090001234"


def local(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


# A Monday in an ordinary week (no holiday around it).
MONDAY = local(2026, 3, 9, 9, 0)


class Clock:
    """timezone.now() under test control."""

    def __init__(self, start: datetime):
        self.now = start

    def set(self, when: datetime) -> datetime:
        """Move the clock (also backwards: positions created "today" by the persona fixtures
        are back-dated so that their holders may act at `when`)."""
        from chinhquyenso.core.models import Position

        Position.objects.filter(start_date__gt=when.astimezone(TZ).date()).update(
            start_date=date(2020, 1, 1)
        )
        self.now = when
        return when

    def advance(self, **delta) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    """Quick password hashing; stored files, postal simulator and e-mail under tmp_path."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }
    settings.VAR_DIR = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(MONDAY)
    monkeypatch.setattr(timezone, "now", clock)
    return clock


# --- Organisations and people --------------------------------------------------------------


@pytest.fixture
def desk_unit_a(commune_a):
    return make_org("Bộ phận Một cửa xã Đơn Dương", OrganisationKind.SERVICE_CENTRE, commune_a)


@pytest.fixture
def desk_officer(desk_unit_a):
    return make_official(
        "motcua.a", desk_unit_a, Role.DESK_OFFICER, "Công chức một cửa", full_name="Lý Thị Mai"
    )


@pytest.fixture
def unit_head(unit_a):
    return make_official(
        "truongphong.a", unit_a, Role.UNIT_HEAD, "Chánh Văn phòng", full_name="Đỗ Văn Nam"
    )


@pytest.fixture
def commune_leader(commune_a):
    return make_official(
        "chutich.a", commune_a, Role.LEADER, "Chủ tịch UBND xã", full_name="Bùi Văn Phúc"
    )


@pytest.fixture
def desk_officer_b(commune_b):
    return make_official(
        "motcua.b", commune_b, Role.DESK_OFFICER, "Công chức một cửa", full_name="Vũ Thị Quý"
    )


@pytest.fixture
def department(province):
    return make_org("Sở Tư pháp", OrganisationKind.DEPARTMENT, province, "000.00.12.H39")


@pytest.fixture
def department_unit(department):
    return make_org("Phòng Hành chính tư pháp", OrganisationKind.UNIT, department)


@pytest.fixture
def department_desk(department):
    return make_official(
        "motcua.so", department, Role.DESK_OFFICER, "Công chức một cửa", full_name="Mai Văn Sơn"
    )


@pytest.fixture
def department_specialist(department_unit):
    return make_official(
        "chuyenvien.so", department_unit, Role.SPECIALIST, "Chuyên viên", full_name="Tạ Thị Tâm"
    )


@pytest.fixture
def department_head(department_unit):
    return make_official(
        "truongphong.so", department_unit, Role.UNIT_HEAD, "Trưởng phòng", full_name="Hà Văn Út"
    )


# --- Procedures and processes (test-only ORM for the catalogue, the process service) ---------

BIRTH_DOCUMENTS = [
    {"name": "Tờ khai đăng ký khai sinh", "copy_type": "bản chính", "quantity": 1},
    {"name": "Giấy chứng sinh", "copy_type": "bản chính", "quantity": 1},
    {
        "name": "Giấy tờ chứng minh nơi cư trú",
        "copy_type": "bản sao",
        "quantity": 1,
        "state_holds_data": True,
    },
    {"name": "Văn bản ủy quyền", "copy_type": "bản chính", "quantity": 1, "required": False},
]


def make_procedure(
    code="1.001193",
    name="Thủ tục đăng ký khai sinh",
    *,
    time=Decimal("3"),
    unit="working_days",
    documents=None,
    organisations=(),
    location_independent=False,
) -> Procedure:
    field, _ = Field.objects.get_or_create(name="Hộ tịch")
    procedure = Procedure.objects.create(
        national_code=code,
        field=field,
        level="commune",
        location_independent=location_independent,
    )
    version = ProcedureVersion.objects.create(
        procedure=procedure,
        number=1,
        name=name,
        processing_time=time,
        processing_unit=unit,
        documents=[dict(d) for d in (BIRTH_DOCUMENTS if documents is None else documents)],
        fees=[{"label": "Lệ phí đăng ký khai sinh", "amount_vnd": 0}],
    )
    procedure.current_version = version
    procedure.save(update_fields=["current_version"])
    if organisations:
        procedure.organisations.set(organisations)
    return procedure


def make_process(procedure, organisation, steps):
    """steps: (name, kind, unit, role, minutes[, transfer_to[, allowed_next]]), saved through
    the procedures module's own service (which validates them as the process editor does)."""
    specs = []
    for name, kind, unit, role, minutes, *rest in steps:
        specs.append(
            StepSpec(
                name=name,
                kind=kind,
                unit=unit,
                role=role,
                allotment_minutes=minutes,
                transfer_to=rest[0] if rest else None,
                allowed_next=tuple(rest[1]) if len(rest) > 1 else (),
            )
        )
    return save_process(
        actor=None, procedure=procedure, organisation=organisation, steps=specs, system=True
    )


@dataclass
class World:
    procedure: Procedure
    process: object


@pytest.fixture
def birth(commune_a, desk_unit_a, unit_a):
    """Đăng ký khai sinh at Xã Đơn Dương: desk → appraisal → review → approval → return
    (3 working days; send back from review or approval to the appraisal)."""
    procedure = make_procedure(organisations=[commune_a])
    process = make_process(
        procedure,
        commune_a,
        [
            ("Tiếp nhận hồ sơ", StepKind.RECEIVE, desk_unit_a, Role.DESK_OFFICER, 60),
            ("Thẩm định hồ sơ", StepKind.HANDLE, unit_a, Role.SPECIALIST, 480),
            ("Xem xét, trình ký", StepKind.HANDLE, unit_a, Role.UNIT_HEAD, 240, None, [2]),
            ("Lãnh đạo phê duyệt", StepKind.APPROVE, commune_a, Role.LEADER, 240, None, [2]),
            ("Trả kết quả", StepKind.RETURN, desk_unit_a, Role.DESK_OFFICER, 60),
        ],
    )
    return World(procedure, process)


@pytest.fixture
def birth_b(birth, commune_b):
    """The same procedure at Xã B (its desk officer receives there)."""
    return make_process(
        birth.procedure,
        commune_b,
        [
            ("Tiếp nhận hồ sơ", StepKind.RECEIVE, commune_b, Role.DESK_OFFICER, 60),
            ("Thẩm định hồ sơ", StepKind.HANDLE, commune_b, Role.SPECIALIST, 480),
            ("Trả kết quả", StepKind.RETURN, commune_b, Role.DESK_OFFICER, 60),
        ],
    )


@pytest.fixture
def transfer_world(commune_a, desk_unit_a, unit_a, department, department_unit):
    """A procedure whose commune process hands over to the provincial department (liên
    thông) and continues after its answer; the department follows its own process."""
    procedure = make_procedure(
        "2.000986",
        "Thủ tục đăng ký khai sinh có yếu tố nước ngoài (liên thông)",
        time=Decimal("10"),
        organisations=[commune_a, department],
    )
    process = make_process(
        procedure,
        commune_a,
        [
            ("Tiếp nhận hồ sơ", StepKind.RECEIVE, desk_unit_a, Role.DESK_OFFICER, 60),
            ("Thẩm định hồ sơ", StepKind.HANDLE, unit_a, Role.SPECIALIST, 480),
            ("Chuyển Sở Tư pháp", StepKind.TRANSFER, unit_a, Role.SPECIALIST, 1800, department),
            ("Hoàn thiện kết quả", StepKind.HANDLE, unit_a, Role.SPECIALIST, 240),
            ("Trả kết quả", StepKind.RETURN, desk_unit_a, Role.DESK_OFFICER, 60),
        ],
    )
    make_process(
        procedure,
        department,
        [
            ("Tiếp nhận hồ sơ liên thông", StepKind.RECEIVE, department, Role.DESK_OFFICER, 60),
            ("Thẩm định", StepKind.HANDLE, department_unit, Role.SPECIALIST, 900),
            ("Trả kết quả liên thông", StepKind.RETURN, department, Role.DESK_OFFICER, 60),
        ],
    )
    return World(procedure, process)


# --- Intake helpers ---------------------------------------------------------------------------


def applicant(**overrides) -> dict:
    data = {
        "kind": "citizen",
        "name": "Đặng Thị Hoa",
        "id_number": CITIZEN_ID,
        "phone": "0912345678",
        "email": "hoa@example.vn",
        "address": "Thôn Lạc Thạnh, xã Đơn Dương, tỉnh Lâm Đồng",
    }
    data.update(overrides)
    return data


def checklist() -> list[dict]:
    return [{"index": 0, "provided": True}, {"index": 1, "provided": True}]


def receive(actor, organisation, procedure, **overrides):
    kwargs = {
        "actor": actor,
        "organisation": organisation,
        "procedure": procedure,
        "applicant": applicant(),
        "documents": checklist(),
        "channel": 1,
        "result_delivery": "post",
    }
    kwargs.update(overrides)
    return services.receive_dossier(**kwargs)


@pytest.fixture
def received(clock, birth, desk_officer, desk_unit_a):
    """A birth registration received Monday 09:00 at Xã A's desk."""
    return receive(desk_officer, desk_unit_a, birth.procedure)


def pdf_bytes(text="hồ sơ") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0"
        b"/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n" + text.encode()
    )


@pytest.fixture
def scan(desk_officer):
    return file_service.store_file(
        actor=desk_officer, uploaded=pdf_bytes(), purpose="scan", name="giay-chung-sinh.pdf"
    )


def snapshot(d) -> tuple:
    """What a refused action must leave as it was: the dossier's state, its history, step
    runs, pauses, and the audit trail."""
    from chinhquyenso.core.models import AuditEntry
    from chinhquyenso.dossiers.models import Dossier, DossierEvent, Pause, StepRun

    d = Dossier.objects.get(pk=d.pk)
    return (
        d.status,
        d.revision,
        d.current_step_id,
        d.current_handler_id,
        d.received_at,
        d.due_at,
        d.original_due_at,
        DossierEvent.objects.filter(dossier=d).count(),
        StepRun.objects.filter(dossier=d).count(),
        Pause.objects.filter(dossier=d).count(),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def submitted(clock, birth, citizen, desk_unit_a):
    """A birth registration submitted online to Xã A's desk, not yet accepted."""
    return services.submit_online(
        actor=citizen,
        organisation=desk_unit_a,
        procedure=birth.procedure,
        applicant={"phone": "0912345678"},
        documents=checklist(),
    )
