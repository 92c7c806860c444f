"""Internal processes (quy trình nội bộ): the steps one organisation follows for one procedure.

A process is versioned per (procedure, organisation): saving creates version n+1 and makes it
current; the previous version is kept (`is_current=False`) for the dossiers that started on it.
Steps are numbered 1..n in the order given. From step i a dossier may go on to step i+1 (unless
`can_forward` is off) and to the steps listed in `allowed_next` (send back for rework, skip to
the return desk...).

The editor refuses a process that can never finish (Decree 118/2025/NĐ-CP requires the
internal process to be published with the time of each step within the legal time):

* at least one step; the first receives the dossier, the last (and only the last) returns the
  result;
* each step's unit lies within the organisation (a transfer step may also be carried out by a
  unit of the organisation it transfers to); a transfer step names another organisation
  (outside this one), other steps name none;
* `allowed_next` names existing steps other than the step itself;
* every step can reach the return step;
* the allotments add up to at most the legal processing time in working minutes.

Legal time in working minutes
-----------------------------
* working days: N × the working minutes of a standard day, from the calendar's default
  office sessions (Monday's: 07:30–11:30 and 13:30–17:00 = 450 minutes);
* working hours: N × 60;
* calendar days ("Ngày" on the national portal): the fewest working days any N consecutive
  days contain in a Monday–Friday week, at least one: 5 × (N // 7) + max(0, N % 7 − 2).
  Conservative on purpose: a process that fits always fits, wherever the period starts (public
  holidays aside, which the due date computed by the calendar takes into account anyway);
* unknown (the portal gave none): no limit is checked.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import PermissionDenied, ValidationFailed, from_django_validation
from chinhquyenso.core.models import OfficeSession, Organisation, Position, Role
from chinhquyenso.core.models.organisations import OrganisationKind
from chinhquyenso.core.services import audit
from chinhquyenso.procedures.models import (
    Procedure,
    ProcedureVersion,
    Process,
    ProcessStep,
    StepKind,
    TimeUnit,
)
from chinhquyenso.procedures.services.catalogue import SYSTEM_LABEL
from chinhquyenso.procedures.text import fold

DEFAULT_DAY_MINUTES = 450  # 07:30–11:30 and 13:30–17:00
# A process for a procedure whose legal time is unknown gets one working day by default.
UNKNOWN_TIME_DEFAULT_DAYS = 1


@dataclass(frozen=True)
class StepSpec:
    """One step as the editor (or `default_process`) gives it; orders are positions 1..n."""

    name: str
    kind: str
    unit: Organisation
    role: str
    allotment_minutes: int
    transfer_to: Organisation | None = None
    allowed_next: tuple[int, ...] = ()
    can_forward: bool = True

    @classmethod
    def of(cls, step: ProcessStep) -> StepSpec:
        return cls(
            name=step.name,
            kind=step.kind,
            unit=step.unit,
            role=step.role,
            allotment_minutes=step.allotment_minutes,
            transfer_to=step.transfer_to,
            allowed_next=tuple(step.allowed_next or ()),
            can_forward=step.can_forward,
        )

    def key(self) -> tuple:
        return (
            self.name,
            self.kind,
            self.unit.pk,
            self.role,
            self.allotment_minutes,
            self.transfer_to.pk if self.transfer_to else None,
            tuple(sorted(set(self.allowed_next))),
            self.can_forward,
        )


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    step: int | None = None  # 1-based; None for the process as a whole


@dataclass
class LegalTime:
    minutes: int | None  # None: unknown, not checked
    label: str  # "5 ngày làm việc", "1 giờ làm việc"...
    explanation: str = ""  # how minutes were obtained
    notes: list[str] = field(default_factory=list)


# --- Time -----------------------------------------------------------------------------------------


def standard_day_minutes() -> int:
    """Working minutes of a standard day: the default office sessions on Monday."""
    total = 0
    for start, end in OfficeSession.objects.filter(
        organisation__isnull=True, weekday=0
    ).values_list("start", "end"):
        total += (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    return total if total > 0 else DEFAULT_DAY_MINUTES


def calendar_days_as_working_days(days: int) -> int:
    """The fewest working days in any `days` consecutive days of a Monday–Friday week (≥ 1)."""
    if days <= 0:
        return 0
    return max(1, 5 * (days // 7) + max(0, days % 7 - 2))


def _number(value: Decimal) -> str:
    text = f"{value.normalize():f}" if value is not None else ""
    return text.replace(".", ",")


def legal_time(version: ProcedureVersion | None, *, day_minutes: int | None = None) -> LegalTime:
    """The legal processing time of a procedure version in working minutes (module docstring)."""
    if version is None or version.processing_time is None:
        return LegalTime(None, "không rõ", "Thời hạn luật định chưa có: không kiểm tra tổng.")
    day = day_minutes or standard_day_minutes()
    n = Decimal(version.processing_time)
    unit = version.processing_unit
    if unit == TimeUnit.WORKING_HOURS:
        minutes = int((n * 60).to_integral_value(rounding=ROUND_FLOOR))
        return LegalTime(minutes, f"{_number(n)} giờ làm việc", f"{_number(n)} × 60 phút")
    if unit == TimeUnit.CALENDAR_DAYS:
        whole = int(n.to_integral_value(rounding=ROUND_FLOOR))
        working = calendar_days_as_working_days(whole)
        return LegalTime(
            working * day,
            f"{_number(n)} ngày",
            f"{_number(n)} ngày (theo lịch) ≈ ít nhất {working} ngày làm việc × {day} phút",
        )
    minutes = int((n * day).to_integral_value(rounding=ROUND_FLOOR))
    return LegalTime(minutes, f"{_number(n)} ngày làm việc", f"{_number(n)} × {day} phút")


def format_minutes(minutes: int | None, *, day_minutes: int | None = None) -> str:
    """Working time for people: "2 ngày 1 giờ 30 phút" (days of `day_minutes`)."""
    if minutes is None:
        return "—"
    day = day_minutes or DEFAULT_DAY_MINUTES
    days, rest = divmod(int(minutes), day)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} ngày")
    if hours:
        parts.append(f"{hours} giờ")
    if mins or not parts:
        parts.append(f"{mins} phút")
    return " ".join(parts)


# --- Validation -----------------------------------------------------------------------------------


def _reaches_return(steps: list[StepSpec]) -> set[int]:
    """Orders of the steps from which the last step can be reached."""
    n = len(steps)
    incoming: dict[int, set[int]] = {i: set() for i in range(1, n + 1)}
    for i, step in enumerate(steps, start=1):
        targets = set(step.allowed_next)
        if step.can_forward and i < n:
            targets.add(i + 1)
        for t in targets:
            if isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= n and t != i:
                incoming[t].add(i)
    seen = {n}
    queue = deque([n])
    while queue:
        for source in incoming[queue.popleft()]:
            if source not in seen:
                seen.add(source)
                queue.append(source)
    return seen


def validate_steps(
    *,
    procedure: Procedure,
    organisation: Organisation,
    steps: list[StepSpec],
    day_minutes: int | None = None,
) -> list[Problem]:
    """Every reason the process would be refused (empty: it is valid)."""
    problems: list[Problem] = []
    if not steps:
        return [Problem("process_no_steps", "Quy trình phải có ít nhất một bước.")]
    n = len(steps)
    if steps[0].kind != StepKind.RECEIVE:
        problems.append(
            Problem(
                "process_first_not_receive",
                "Bước đầu tiên phải là bước tiếp nhận hồ sơ tại Bộ phận Một cửa.",
                1,
            )
        )
    if steps[-1].kind != StepKind.RETURN:
        problems.append(
            Problem("process_last_not_return", "Bước cuối cùng phải là bước trả kết quả.", n)
        )
    for i, step in enumerate(steps, start=1):
        where = f"Bước {i}"
        if not (step.name or "").strip():
            problems.append(Problem("step_name_required", f"{where}: cần nhập tên bước.", i))
        if step.kind not in StepKind.values:
            problems.append(Problem("step_kind_invalid", f"{where}: loại bước không hợp lệ.", i))
        elif step.kind == StepKind.RETURN and i != n:
            problems.append(
                Problem(
                    "process_return_not_last",
                    f"{where}: chỉ bước cuối cùng được là bước trả kết quả.",
                    i,
                )
            )
        if step.role not in Role.values:
            problems.append(Problem("step_role_invalid", f"{where}: vai trò không hợp lệ.", i))
        allotment = step.allotment_minutes
        if isinstance(allotment, bool) or not isinstance(allotment, int) or allotment <= 0:
            problems.append(
                Problem(
                    "step_allotment_invalid",
                    f"{where}: thời gian thực hiện phải là số phút làm việc lớn hơn 0.",
                    i,
                )
            )
        is_transfer = step.kind == StepKind.TRANSFER
        if step.unit is None:
            problems.append(Problem("step_unit_required", f"{where}: cần chọn đơn vị.", i))
        elif not step.unit.is_within(organisation) and not (
            is_transfer and step.transfer_to is not None and step.unit.is_within(step.transfer_to)
        ):
            problems.append(
                Problem(
                    "step_unit_outside",
                    f"{where}: đơn vị “{step.unit.name}” không thuộc {organisation.name}.",
                    i,
                )
            )
        if is_transfer:
            if step.transfer_to is None:
                problems.append(
                    Problem(
                        "step_transfer_target_required",
                        f"{where}: bước chuyển liên thông phải chọn cơ quan nhận hồ sơ.",
                        i,
                    )
                )
            elif step.transfer_to.is_within(organisation):
                problems.append(
                    Problem(
                        "step_transfer_target_invalid",
                        f"{where}: cơ quan nhận liên thông phải là cơ quan khác, không thuộc "
                        f"{organisation.name}.",
                        i,
                    )
                )
            elif not step.transfer_to.is_active:
                problems.append(
                    Problem(
                        "step_transfer_target_invalid",
                        f"{where}: {step.transfer_to.name} đã thôi hoạt động.",
                        i,
                    )
                )
        elif step.transfer_to is not None:
            problems.append(
                Problem(
                    "step_transfer_target_unexpected",
                    f"{where}: chỉ bước chuyển liên thông mới chọn cơ quan nhận.",
                    i,
                )
            )
        for target in step.allowed_next:
            if isinstance(target, bool) or not isinstance(target, int) or not 1 <= target <= n:
                problems.append(
                    Problem(
                        "step_next_unknown",
                        f"{where}: bước chuyển tiếp “{target}” không tồn tại.",
                        i,
                    )
                )
            elif target == i:
                problems.append(
                    Problem(
                        "step_next_unknown",
                        f"{where}: không thể chuyển tiếp về chính bước này.",
                        i,
                    )
                )
    if steps[-1].kind == StepKind.RETURN:
        stuck = sorted(set(range(1, n + 1)) - _reaches_return(steps))
        if stuck:
            listed = ", ".join(str(s) for s in stuck)
            problems.append(
                Problem(
                    "process_cannot_finish",
                    f"Từ bước {listed} không thể đi tới bước trả kết quả: quy trình không bao "
                    "giờ kết thúc.",
                    stuck[0],
                )
            )
    total = sum(s.allotment_minutes for s in steps if isinstance(s.allotment_minutes, int))
    day = day_minutes or standard_day_minutes()
    legal = legal_time(procedure.current_version, day_minutes=day)
    if legal.minutes is not None and total > legal.minutes:
        problems.append(
            Problem(
                "process_too_long",
                f"Tổng thời gian các bước ({format_minutes(total, day_minutes=day)}) vượt thời "
                f"hạn giải quyết theo quy định ({legal.label} = "
                f"{format_minutes(legal.minutes, day_minutes=day)} làm việc).",
            )
        )
    return problems


def _refuse(problems: list[Problem]) -> ValidationFailed:
    return ValidationFailed(
        problems[0].message,
        code=problems[0].code,
        details={
            "problems": [{"code": p.code, "message": p.message, "step": p.step} for p in problems]
        },
    )


# --- Saving ---------------------------------------------------------------------------------------


def _require_process_manager(actor, organisation: Organisation, system: bool) -> None:
    if actor is None:
        if not system:
            raise PermissionDenied(
                "Cần người thực hiện (hoặc chạy dưới quyền hệ thống).", code="actor_required"
            )
        return
    if system:
        raise ValidationFailed("Chỉ dùng quyền hệ thống khi không có người thực hiện.")
    permissions.require(actor, "process.manage", organisation)


@transaction.atomic
def save_process(
    *,
    actor,
    procedure: Procedure,
    organisation: Organisation,
    steps: list[StepSpec],
    system: bool = False,
) -> Process:
    """Save the process of `procedure` in `organisation` as a new current version.

    Refused with ValidationFailed (code of the first problem, all of them in
    `details["problems"]`) when invalid. Saving the same steps as the current version returns
    that version unchanged.
    """
    _require_process_manager(actor, organisation, system)
    procedure = (
        Procedure.objects.select_for_update(of=("self",))
        .select_related("current_version")
        .get(pk=procedure.pk)
    )
    steps = [
        StepSpec(
            name=(s.name or "").strip(),
            kind=s.kind,
            unit=s.unit,
            role=s.role,
            allotment_minutes=s.allotment_minutes,
            transfer_to=s.transfer_to,
            allowed_next=tuple(sorted(set(s.allowed_next))),
            can_forward=bool(s.can_forward),
        )
        for s in steps
    ]
    problems = validate_steps(procedure=procedure, organisation=organisation, steps=steps)
    if problems:
        raise _refuse(problems)
    current = (
        Process.objects.filter(procedure=procedure, organisation=organisation, is_current=True)
        .prefetch_related("steps__unit", "steps__transfer_to")
        .first()
    )
    if current is not None and [StepSpec.of(s).key() for s in current.steps.all()] == [
        s.key() for s in steps
    ]:
        return current
    number = (
        Process.objects.filter(procedure=procedure, organisation=organisation).aggregate(
            n=Max("number")
        )["n"]
        or 0
    ) + 1
    if current is not None:
        Process.objects.filter(pk=current.pk).update(is_current=False)
    process = Process(
        procedure=procedure,
        organisation=organisation,
        number=number,
        is_current=True,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    try:
        process.full_clean()
        process.save(force_insert=True)
        rows = []
        for order, spec in enumerate(steps, start=1):
            row = ProcessStep(
                process=process,
                order=order,
                name=spec.name,
                kind=spec.kind,
                unit=spec.unit,
                role=spec.role,
                allotment_minutes=spec.allotment_minutes,
                transfer_to=spec.transfer_to,
                allowed_next=list(spec.allowed_next),
                can_forward=spec.can_forward,
            )
            row.full_clean(exclude=["process"])
            rows.append(row)
    except ValidationError as exc:
        raise from_django_validation(exc) from None
    ProcessStep.objects.bulk_create(rows)
    audit.record(
        action="process.saved",
        actor=actor if actor is not None else SYSTEM_LABEL,
        obj=process,
        organisation=organisation,
        data={
            "procedure": procedure.national_code,
            "number": number,
            "previous": current.number if current else None,
            "steps": [
                [s.name, s.kind, s.unit.pk, s.role, s.allotment_minutes, list(s.allowed_next)]
                for s in steps
            ],
        },
    )
    return process


# --- The default process --------------------------------------------------------------------------

# Folded field names → folded words of the unit names that usually handle them.
FIELD_UNIT_HINTS = {
    "ho tich": ("tu phap", "van phong"),
    "chung thuc": ("tu phap", "van phong"),
    "nuoi con nuoi": ("tu phap",),
    "quoc tich": ("tu phap",),
    "cong chung": ("tu phap",),
    "ly lich tu phap": ("tu phap",),
    "dat dai": ("nong nghiep", "tai nguyen", "dat dai", "kinh te"),
    "hoat dong xay dung": ("xay dung", "kinh te", "ha tang"),
    "giam ngheo": ("van hoa", "xa hoi", "lao dong"),
    "cu tru": ("cong an",),
    "can cuoc": ("cong an",),
    "xuat nhap canh": ("cong an",),
}
DESK_WORDS = ("mot cua", "tiep nhan va tra ket qua", "phuc vu hanh chinh cong")


def _desk_unit(organisation: Organisation, units: list[Organisation]) -> Organisation:
    for unit in units:
        if unit.kind == OrganisationKind.SERVICE_CENTRE:
            return unit
    for unit in units:
        if any(word in fold(unit.name) for word in DESK_WORDS):
            return unit
    return organisation


def _specialist_unit(
    procedure: Procedure, organisation: Organisation, units: list[Organisation], desk
) -> Organisation:
    candidates = [u for u in units if u != desk and u.kind == OrganisationKind.UNIT]
    if not candidates:
        return organisation
    with_specialists = set(
        Position.objects.active()
        .filter(organisation__in=candidates, role=Role.SPECIALIST)
        .values_list("organisation_id", flat=True)
    )
    field_name = fold(procedure.field.name)
    hints = next((words for key, words in FIELD_UNIT_HINTS.items() if key in field_name), ())

    def score(unit: Organisation) -> tuple:
        name = fold(unit.name)
        hint_rank = next((i for i, word in enumerate(hints) if word in name), len(hints))
        return (hint_rank, unit.pk not in with_specialists, unit.path)

    return min(candidates, key=score)


def _split(total: int, shares: list[tuple[float, int]]) -> list[int]:
    """Allotments of the fixed steps: a share of the total, capped, rounded down to a quarter
    hour when the total is at least half a day; at least one minute each."""
    grain = 15 if total >= 240 else 1
    out = []
    for share, cap in shares:
        minutes = min(int(total * share), cap)
        out.append(max(1, minutes - minutes % grain))
    return out


def default_steps(*, procedure: Procedure, organisation: Organisation) -> list[StepSpec]:
    """A sensible process: receive at the desk, appraisal by a specialist unit, (review by the
    unit head when there is time,) the leader's approval, return at the desk; the legal time is
    split between them (the appraisal gets what the others leave)."""
    day = standard_day_minutes()
    legal = legal_time(procedure.current_version, day_minutes=day)
    total = legal.minutes if legal.minutes is not None else UNKNOWN_TIME_DEFAULT_DAYS * day
    total = max(total, 5)
    units = list(
        Organisation.objects.filter(path__startswith=organisation.path, is_active=True)
        .exclude(pk=organisation.pk)
        .order_by("path")
    )
    desk = _desk_unit(organisation, units)
    specialist = _specialist_unit(procedure, organisation, units, desk)
    half_day = day // 2
    with_review = total >= 2 * day and specialist != organisation
    if with_review:
        receive, review, approve, give_back = _split(
            total, [(0.1, half_day), (0.1, day), (0.15, day), (0.1, half_day)]
        )
    else:
        receive, approve, give_back = _split(total, [(0.1, half_day), (0.15, day), (0.1, half_day)])
        review = 0
    handle = total - receive - review - approve - give_back
    steps = [
        StepSpec("Tiếp nhận hồ sơ", StepKind.RECEIVE, desk, Role.DESK_OFFICER, receive),
        StepSpec(
            "Thẩm định, xử lý hồ sơ",
            StepKind.HANDLE,
            specialist,
            Role.SPECIALIST,
            handle,
        ),
    ]
    if with_review:
        steps.append(
            StepSpec(
                "Lãnh đạo phòng chuyên môn xem xét",
                StepKind.APPROVE,
                specialist,
                Role.UNIT_HEAD,
                review,
                allowed_next=(2,),
            )
        )
    steps.append(
        StepSpec(
            "Lãnh đạo phê duyệt, ký kết quả",
            StepKind.APPROVE,
            organisation,
            Role.LEADER,
            approve,
            allowed_next=(2,),
        )
    )
    last = len(steps) + 1
    steps[1] = replace(steps[1], allowed_next=(last,))
    steps.append(StepSpec("Trả kết quả", StepKind.RETURN, desk, Role.DESK_OFFICER, give_back))
    return steps


def default_process(
    *, actor, procedure: Procedure, organisation: Organisation, system: bool = False
) -> Process:
    """Save `default_steps` as the current process of `procedure` in `organisation` (a new
    version unless the current one is already exactly that). To get a process without
    replacing a customised one, use `ensure_process`."""
    _require_process_manager(actor, organisation, system)
    return save_process(
        actor=actor,
        procedure=procedure,
        organisation=organisation,
        steps=default_steps(procedure=procedure, organisation=organisation),
        system=system,
    )


def ensure_process(
    *, actor, procedure: Procedure, organisation: Organisation, system: bool = False
) -> Process:
    """The current process, or the default one saved now when there is none."""
    current = Process.objects.filter(
        procedure=procedure, organisation=organisation, is_current=True
    ).first()
    if current is not None:
        return current
    return default_process(
        actor=actor, procedure=procedure, organisation=organisation, system=system
    )
