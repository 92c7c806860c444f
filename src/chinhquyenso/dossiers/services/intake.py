"""Intake: receiving a dossier at the desk, online submission and its acceptance, refusal.

Legal basis: the dossier code is `<receiving organisation code>-YYMMDD-XXXX` (TT 01/2018/TT-VPCP
Art. 19), sequential per organisation and receipt day; documents the state already holds are
not asked for again (NQ 66.7/2025/NQ-CP; DOMAIN.md §3.6); processing time runs from the receipt
of a valid dossier, from the next working day after the cut-off (DOMAIN.md §3.5).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    from_django_validation,
)
from chinhquyenso.core.models import ApiKey, Organisation
from chinhquyenso.dossiers import notify as applicant_notify
from chinhquyenso.dossiers import tasks as dossier_tasks
from chinhquyenso.dossiers.models import (
    Channel,
    Dossier,
    DossierDocument,
    ResultDelivery,
    Status,
    StepRun,
)
from chinhquyenso.dossiers.permissions import APPROVE, RECEIVE
from chinhquyenso.dossiers.services import _common as c
from chinhquyenso.dossiers.services import checks, deadlines
from chinhquyenso.dossiers.services.checks import (
    choice,
    clean_applicant,
    clean_documents,
    clean_fees,
)
from chinhquyenso.dossiers.services.codes import ancestor_ids, next_code
from chinhquyenso.procedures import queries as process_queries
from chinhquyenso.procedures.models import Procedure, ProcedureVersion, Process, ProcessStep

API_SCOPE = "dossiers:write"


# --- Procedure version and process: a per-process cache checked on every intake -------------
#
# A procedure version and a process (with its steps) are never edited: a change to the
# catalogue makes version n+1 and moves `current_version`, a change to a process saves a new
# current process (procedures/services). So each intake reads the procedure row and the ids of
# the current processes (two small queries, no joins) and takes the version and the process by
# id from this per-process cache: a new version or process is used at once by every process of
# every node. What the cached objects hold of organisations (the handling organisation, the
# steps' units: names and tree paths) may lag a rename or a move by CACHE_SECONDS at most;
# saving any of these rows in this process clears the cache at once (tests reuse ids).
CACHE_SECONDS = 60
_CACHE_SIZE = 4096
_versions: dict[int, ProcedureVersion] = {}
_processes: dict[int, tuple[float, Process]] = {}


@receiver([post_save, post_delete], sender=ProcedureVersion)
@receiver([post_save, post_delete], sender=Process)
@receiver([post_save, post_delete], sender=ProcessStep)
@receiver([post_save, post_delete], sender=Organisation)
def _forget_cached(sender, **kwargs) -> None:
    _versions.clear()
    _processes.clear()


def _version(pk: int) -> ProcedureVersion:
    version = _versions.get(pk)
    if version is None:
        version = ProcedureVersion.objects.get(pk=pk)
        if len(_versions) >= _CACHE_SIZE:
            _versions.clear()
        _versions[pk] = version
    return version


def _procedure(procedure) -> tuple[Procedure, ProcedureVersion]:
    if not isinstance(procedure, Procedure):
        lookup = {"pk": procedure} if isinstance(procedure, int) else {"national_code": procedure}
        procedure = next(iter(Procedure.objects.filter(**lookup)[:1]), None)
    if procedure is None or not procedure.is_active or procedure.current_version_id is None:
        raise NotFound(
            "Không tìm thấy thủ tục hành chính đang áp dụng.", code="procedure_not_found"
        )
    if not Procedure.current_version.is_cached(procedure):
        procedure.current_version = _version(procedure.current_version_id)
    return procedure, procedure.current_version


def _process(pk: int, procedure: Procedure, organisation_id: int) -> Process | None:
    """The process `pk` with its steps (in order, with their units), from the cache when it
    was loaded less than CACHE_SECONDS ago. Shared between requests: read it, never change it."""
    now = time.monotonic()
    cached = _processes.get(pk)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    # One query: the steps in order with their units, and the process with its organisation.
    steps = list(
        ProcessStep.objects.filter(process_id=pk)
        .select_related("process__organisation", "unit")
        .order_by("order")
    )
    if not steps:  # a process without steps (refused by first_step): load it plainly
        return process_queries.current_process(procedure, Organisation(pk=organisation_id))
    process = steps[0].process
    for step in steps:
        step.process = process
    known = process.__dict__.setdefault("_prefetched_objects_cache", {})
    queryset = process.steps.get_queryset()  # lazy: no query
    queryset._result_cache, queryset._prefetch_done = steps, True
    known["steps"] = queryset
    if len(_processes) >= _CACHE_SIZE:
        _processes.clear()
    _processes[pk] = (now, process)
    return process


def current_process(procedure: Procedure, organisation: Organisation) -> Process | None:
    """The current process of `procedure` in `organisation` or, failing that, in its nearest
    ancestor that has one (a desk unit follows its agency's process). One query for the ids,
    the process itself from the cache (see above)."""
    ids = ancestor_ids(organisation) or [organisation.pk]
    current = dict(
        Process.objects.filter(
            procedure=procedure, organisation_id__in=ids, is_current=True
        ).values_list("organisation_id", "pk")
    )
    for oid in reversed(ids):
        if oid in current:
            return _process(current[oid], procedure, oid)
    return None


def first_step(process: Process) -> ProcessStep:
    step = next(iter(process.steps.all()), None)
    if step is None:
        raise ValidationFailed("Quy trình nội bộ chưa có bước nào.", code="no_process")
    return step


def _process_for(procedure, organisation, handling_organisation) -> Process:
    target = handling_organisation or organisation
    process = current_process(procedure, target)
    if process is None:
        raise ValidationFailed(
            f"{target.name} chưa có quy trình nội bộ cho thủ tục này.", code="no_process"
        )
    if handling_organisation is not None and not (
        organisation.is_within(process.organisation) or procedure.location_independent
    ):
        raise ValidationFailed(
            "Thủ tục này không được tiếp nhận phi địa giới: chỉ cơ quan có thẩm quyền tiếp nhận.",
            code="not_competent",
        )
    return process


def _received_at(value, at: datetime) -> datetime:
    if value is None:
        return at
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise checks.invalid(
            "received_at", "Thời điểm tiếp nhận phải có múi giờ.", "invalid_received_at"
        )
    if value > at + timedelta(minutes=5):
        raise checks.invalid(
            "received_at", "Thời điểm tiếp nhận không được ở tương lai.", "invalid_received_at"
        )
    return value


# --- Services -------------------------------------------------------------------------------


def _start_processing(
    dossier: Dossier, *, actor, process: Process, received_at: datetime
) -> StepRun:
    """Received: clock, due dates, the first step (shared by desk intake and acceptance)."""
    handling = process.organisation
    step = first_step(process)
    start = deadlines.clock_start(received_at, handling.pk)
    due = deadlines.legal_due(start, dossier.procedure_version, handling.pk)
    handler = actor if c.is_person(actor) and c.holds_role(actor, step.role, step.unit) else None
    run = StepRun(
        step=step,
        unit=step.unit,
        handler=handler,
        handed_over_by=c.person_or_none(actor),
        started_at=received_at,
        due_at=deadlines.step_due(max(received_at, start), step),
    )
    dossier.process = process
    dossier.handling_organisation = handling
    dossier.received_at = received_at
    dossier.clock_started_at = start
    dossier.due_at = due
    dossier.original_due_at = due
    dossier.current_step = step
    dossier.current_unit = step.unit
    dossier.current_handler = handler
    dossier.step_due_at = run.due_at
    dossier.received_by = c.person_or_none(actor)
    return run


def _full_clean(dossier: Dossier) -> None:
    try:
        dossier.full_clean(
            exclude=[f.name for f in Dossier._meta.fields if f.is_relation] + ["code"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        raise from_django_validation(exc) from None


class AlreadyReceived(Conflict):
    """The intake was sent before: its dossier is `dossier_code`."""

    code = "already_received"

    def __init__(self, dossier_code: str):
        super().__init__(
            f"Hồ sơ này đã được tiếp nhận với mã {dossier_code} (yêu cầu gửi lại lần hai không "
            "tạo hồ sơ mới).",
            code=self.code,
            details={"dossier_code": dossier_code},
        )
        self.dossier_code = dossier_code


_INTAKE_KEY_RE = re.compile(r"[A-Za-z0-9_\-]{8,64}")


def _check_intake_key(key: str | None) -> str | None:
    if key in (None, ""):
        return None
    if not isinstance(key, str) or not _INTAKE_KEY_RE.fullmatch(key):
        raise ValidationFailed(
            "Khóa chống gửi trùng (Idempotency-Key) phải gồm 8–64 ký tự chữ, số, “-” hoặc “_”.",
            code="invalid_intake_key",
        )
    return key


def _refuse_repeat(organisation: Organisation, key: str | None) -> None:
    if key is None:
        return
    code = (
        Dossier.objects.filter(receiving_organisation=organisation, intake_key=key)
        .values_list("code", flat=True)
        .first()
    )
    if code is not None:
        raise AlreadyReceived(code)


@transaction.atomic
def receive_dossier(
    *,
    actor,
    organisation: Organisation,
    procedure,
    applicant: dict,
    documents: list[dict],
    channel=Channel.DIRECT,
    result_delivery=ResultDelivery.DESK,
    fees: list[dict] | None = None,
    received_at: datetime | None = None,
    handling_organisation: Organisation | None = None,
    intake_key: str | None = None,
) -> Dossier:
    """Receive a valid dossier at the one-stop desk of `organisation` (status 2).

    `actor`: a desk officer of `organisation`, or an API key with scope "dossiers:write" over
    it. `procedure`: a Procedure, its id or its national code (the current version is kept).
    `handling_organisation`: the competent organisation when it is not `organisation` or an
    ancestor (TTHC phi địa giới, NĐ 118/2025). Raises ValidationFailed with codes
    invalid_personal_id / invalid_tax_code / missing_document / file_not_found / no_process...
    and changes nothing in that case.

    `intake_key`: the intake form's one-time key (or an API client's Idempotency-Key). The
    same key at the same desk a second time (a double click, a retried request) receives
    nothing and raises `AlreadyReceived` naming the dossier the first one received.
    """
    c.require_desk(actor, organisation, RECEIVE, scope=API_SCOPE)
    intake_key = _check_intake_key(intake_key)
    _refuse_repeat(organisation, intake_key)
    at = c.now()
    received_at = _received_at(received_at, at)
    procedure, version = _procedure(procedure)
    process = _process_for(procedure, organisation, handling_organisation)
    fields = clean_applicant(applicant)
    docs = clean_documents(
        actor=actor, version=version, documents=documents, id_number=fields["applicant_id_number"]
    )
    dossier = Dossier(
        procedure=procedure,
        procedure_version=version,
        receiving_organisation=organisation,
        status=Status.RECEIVED,
        channel=choice(channel, Channel, "channel", "Kênh tiếp nhận không hợp lệ."),
        result_delivery=choice(
            result_delivery,
            ResultDelivery,
            "result_delivery",
            "Hình thức nhận kết quả không hợp lệ.",
        ),
        fees=clean_fees(fees, version),
        submitted_at=received_at,
        intake_key=intake_key,
        **fields,
    )
    run = _start_processing(dossier, actor=actor, process=process, received_at=received_at)
    _full_clean(dossier)
    # Last, so the counter row is locked for as short a time as possible.
    dossier.code = next_code(organisation, received_at)
    # Again under the counter's lock: a twin request that passed the first look together with
    # this one has committed by now (same desk, same day, same lock).
    _refuse_repeat(organisation, intake_key)
    dossier.revision = 1
    try:
        with transaction.atomic():  # a savepoint: the constraint may still stop a twin
            dossier.save(force_insert=True)
    except IntegrityError:
        _refuse_repeat(organisation, intake_key)  # the twin (other day's counter) won
        raise
    for doc in docs:
        doc.dossier = dossier
    DossierDocument.objects.bulk_create(docs)
    run.dossier = dossier
    run.save(force_insert=True)
    c.known_related(dossier, documents=docs, step_runs=[run], pauses=[], children=[])
    # The applicant's SMS and e-mail and the receipt (Form 01), all queued to run after the
    # commit, before the history and the audit entry: the audit chain's head row stays locked
    # from its entry until the commit, and every intake of every desk queues on it.
    applicant_notify.tell(dossier, applicant_notify.RECEIVED)
    dossier_tasks.schedule_receipt(dossier)
    c.save(
        dossier,
        actor=actor,
        action="received",
        fields=[],
        at=at,
        from_status=None,
        to_step=dossier.current_step,
        inserted=True,
        data={
            "channel": dossier.channel,
            "procedure": procedure.national_code,
            "procedure_version": version.number,
            "due_at": dossier.due_at.isoformat() if dossier.due_at else None,
            "documents": len(docs),
        },
    )
    return dossier


@transaction.atomic
def submit_online(
    *,
    actor,
    organisation: Organisation,
    procedure,
    applicant: dict | None,
    documents: list[dict],
    result_delivery=ResultDelivery.ONLINE,
    fees: list[dict] | None = None,
) -> Dossier:
    """An applicant's online submission (status 1, not yet received): the code is issued now
    (the applicant needs it to follow the dossier), the clock starts at acceptance.

    `actor`: the applicant's account (citizen or business), or an API key with scope
    "dossiers:write" (a portal synchronising submissions). For an account the identification
    number is the account's own.
    """
    if isinstance(actor, ApiKey):
        c.require_desk(actor, organisation, RECEIVE, scope=API_SCOPE)
        data = dict(applicant or {})
    else:
        if not c.is_person(actor) or not getattr(actor, "is_applicant", False):
            raise c.PermissionDenied(
                "Chỉ công dân, tổ chức có tài khoản mới nộp hồ sơ trực tuyến.",
                code="applicant_required",
            )
        own_id = actor.personal_id if actor.kind == "citizen" else actor.tax_code
        data = {
            "kind": "citizen" if actor.kind == "citizen" else "business",
            "name": actor.full_name,
            "phone": actor.phone,
            "email": actor.email,
            "address": actor.address,
            **(applicant or {}),
            "id_number": own_id or (applicant or {}).get("id_number"),
        }
    at = c.now()
    procedure, version = _procedure(procedure)
    if current_process(procedure, organisation) is None:
        raise ValidationFailed(
            f"{organisation.name} chưa nhận hồ sơ trực tuyến cho thủ tục này.", code="no_process"
        )
    fields = clean_applicant(data)
    docs = clean_documents(
        actor=actor, version=version, documents=documents, id_number=fields["applicant_id_number"]
    )
    dossier = Dossier(
        procedure=procedure,
        procedure_version=version,
        receiving_organisation=organisation,
        handling_organisation=organisation,
        status=Status.SUBMITTED,
        channel=Channel.ONLINE,
        applicant=c.person_or_none(actor),
        result_delivery=choice(
            result_delivery,
            ResultDelivery,
            "result_delivery",
            "Hình thức nhận kết quả không hợp lệ.",
        ),
        fees=clean_fees(fees, version),
        submitted_at=at,
        **fields,
    )
    _full_clean(dossier)
    dossier.code = next_code(organisation, at)
    dossier.revision = 1
    dossier.save(force_insert=True)
    for doc in docs:
        doc.dossier = dossier
    DossierDocument.objects.bulk_create(docs)
    c.save(
        dossier,
        actor=actor,
        action="submitted",
        fields=[],
        at=at,
        from_status=None,
        inserted=True,
        data={"procedure": procedure.national_code, "procedure_version": version.number},
    )
    return dossier


@transaction.atomic
def accept_online_submission(
    *, actor, dossier: Dossier, expected_revision: int | None = None
) -> Dossier:
    """The desk accepts an online submission: 1 → 2, the clock starts now (cut-off applies).
    A second acceptance is refused (`transition_not_allowed`)."""
    d = c.lock(dossier, expected_revision)
    c.require_desk(actor, d.receiving_organisation, RECEIVE)
    c.check_action(d, "accept", Status.RECEIVED)
    process = current_process(d.procedure, d.receiving_organisation)
    if process is None:
        raise ValidationFailed(
            f"{d.receiving_organisation.name} chưa có quy trình nội bộ cho thủ tục này.",
            code="no_process",
        )
    at = c.now()
    run = _start_processing(d, actor=actor, process=process, received_at=at)
    run.dossier = d
    run.save(force_insert=True)
    d.status = Status.RECEIVED
    c.save(
        d,
        actor=actor,
        action="received",
        fields=[
            "status",
            "process",
            "handling_organisation",
            "received_at",
            "clock_started_at",
            "due_at",
            "original_due_at",
            "current_step",
            "current_unit",
            "current_handler",
            "step_due_at",
            "received_by",
        ],
        at=at,
        from_status=Status.SUBMITTED,
        to_step=d.current_step,
        data={"online": True, "due_at": d.due_at.isoformat() if d.due_at else None},
    )
    applicant_notify.tell(d, applicant_notify.RECEIVED)
    dossier_tasks.schedule_receipt(d)
    return d


def _may_refuse(actor, d: Dossier) -> None:
    """Who may refuse `d` now (the dossier page offers the action to the same people,
    `views.dossier.available_actions`):

    * whoever may act on the current step: at reception, the desk officer holding the
      reception step (the first step of the process; status 2 until it is handed on);
    * a leader of the handling organisation, or the head of the unit holding the dossier;
    * a desk officer of the receiving organisation as such, only for an online submission not
      yet accepted (status 1, at no step yet). Once received, the desk refuses as the actor of
      the reception step; handed on to a processing step, the refusal belongs to that step's
      actor or the leaders, and the desk is told so (`refuse_after_reception`).
    """
    if c.may_act_on_step(actor, d):
        return
    managers = [(APPROVE, d.handling_organisation), (APPROVE, d.current_unit)]
    if any(permissions.can(actor, action, obj) for action, obj in managers if obj is not None):
        return
    if permissions.can(actor, RECEIVE, d.receiving_organisation):
        # A status the refusal never starts from is left to check_action (its own message).
        if d.status == Status.SUBMITTED or d.status not in c.ACTIONS["refuse"][0]:
            return
        step = d.current_step
        raise PermissionDenied(
            f"Hồ sơ đã được tiếp nhận và đang ở bước “{step.name if step else ''}”: chỉ người "
            f"xử lý bước này hoặc lãnh đạo {d.handling_organisation.name} mới được từ chối hồ sơ.",
            code="refuse_after_reception",
            details={"status": d.status, "step": step.order if step else None},
        )
    raise PermissionDenied("Bạn không có quyền thực hiện thao tác này.")


@transaction.atomic
def refuse(
    *, actor, dossier: Dossier, reason: str, expected_revision: int | None = None
) -> Dossier:
    """Refuse the dossier (status 3, Form 03) with the reason.

    By a desk officer of the receiving organisation at reception, the current step's actor or
    a leader / unit head of the handling organisation (during processing): see `_may_refuse`.
    """
    d = c.lock(dossier, expected_revision)
    _may_refuse(actor, d)
    c.check_action(d, "refuse", Status.REFUSED)
    reason = c.check_text(reason, "reason", "Cần ghi rõ lý do từ chối.")
    c.refuse_while_transferred(d)
    at = c.now()
    from_status, from_step = d.status, d.current_step
    fields: list[str] = []
    c.observe_lateness(d, at, fields)
    d.status = Status.REFUSED
    c.finish(d, at, fields, actor=actor, comment=reason)
    c.save(
        d,
        actor=actor,
        action="refused",
        fields=["status", *fields],
        at=at,
        from_status=from_status,
        from_step=from_step,
        comment=reason,
    )
    if d.parent_id is not None:
        from chinhquyenso.dossiers.services import routing

        routing.parent_finished(d, actor=actor, at=at)
        return d
    applicant_notify.tell(d, applicant_notify.REFUSED, reason=reason)
    return d
