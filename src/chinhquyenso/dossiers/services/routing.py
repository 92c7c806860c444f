"""Routing inside "processing": claim, assign, forward, send back, approve, transfer (liên thông)
and return to the desk.

The route is data (the dossier's process version): from step i a dossier may go to step i+1
(unless the step's `can_forward` is off) and to the steps in its `allowed_next`. Every hand-over
closes the open StepRun, graded by the one on-time rule, and opens the next one with its own
due date (its allotment in working minutes): Form 05 is rendered from these rows.

A dossier must not go past its appointment silently: forwarding, approving, transferring or
returning a dossier whose `due_at` has passed needs an apology with a new appointment first
(Form 04; code `apology_required`).

Inter-agency (một cửa liên thông): entering a TRANSFER step creates a child dossier in the
other organisation, received there under its own code and following its own current process;
the parent stays "processing" at the transfer step. When the child is resolved (or ends
otherwise) its result goes back to the parent, which continues at its next step.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import Conflict, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import Organisation, StoredFile
from chinhquyenso.core.services import calendar
from chinhquyenso.dossiers import notify as applicant_notify
from chinhquyenso.dossiers.models import (
    FINAL_STATUSES,
    Dossier,
    DossierDocument,
    Status,
    StepRun,
)
from chinhquyenso.dossiers.permissions import APPROVE, ASSIGN
from chinhquyenso.dossiers.services import _common as c
from chinhquyenso.dossiers.services import checks, codes, deadlines, intake
from chinhquyenso.procedures import queries as process_queries
from chinhquyenso.procedures.models import ProcessStep, StepKind

# --- The route ------------------------------------------------------------------------------


def steps_of(process) -> list[ProcessStep]:
    return list(process.steps.select_related("unit", "transfer_to").order_by("order"))


def next_orders(step: ProcessStep, count: int) -> set[int]:
    """Orders a dossier may go to from `step` (the procedures module's one rule)."""
    return set(process_queries.next_orders(step, step_count=count))


def _not_allowed(current: ProcessStep, target_name: str) -> ValidationFailed:
    return ValidationFailed(
        f"Quy trình không cho phép chuyển hồ sơ từ bước “{current.name}” sang {target_name}.",
        code="transition_not_allowed",
    )


def _target(dossier: Dossier, to_step, steps: list[ProcessStep]) -> ProcessStep:
    """The step `to_step` (a ProcessStep of this process, or its order) if the process allows
    it from the current step; the following step when `to_step` is None."""
    current = dossier.current_step
    by_order = {s.order: s for s in steps}
    allowed = next_orders(current, len(steps))
    if to_step is None:
        if current.can_forward and current.order + 1 in by_order:
            return by_order[current.order + 1]
        if len(allowed) == 1:
            return by_order[next(iter(allowed))]
        raise ValidationFailed("Cần chọn bước tiếp theo cho hồ sơ.", code="transition_not_allowed")
    if isinstance(to_step, ProcessStep):
        if to_step.process_id != dossier.process_id:
            raise _not_allowed(current, f"bước “{to_step.name}” của quy trình khác")
        order = to_step.order
    else:
        try:
            order = int(to_step)
        except (TypeError, ValueError):
            raise _not_allowed(current, f"bước “{to_step}”") from None
    if order not in by_order or order not in allowed:
        name = by_order[order].name if order in by_order else str(order)
        raise _not_allowed(current, f"bước “{name}”")
    return by_order[order]


def require_in_time_or_apology(dossier: Dossier, at: datetime) -> None:
    """Form 04 before a dossier goes on past its appointment."""
    if dossier.due_at is not None and at > dossier.due_at:
        raise ValidationFailed(
            f"Hồ sơ đã quá ngày hẹn trả ({c.vn(dossier.due_at)}). Cần lập Phiếu xin lỗi và hẹn "
            "lại ngày trả kết quả (Mẫu 04) trước khi chuyển tiếp.",
            code="apology_required",
            details={"due_at": dossier.due_at.isoformat()},
        )


def _eligible_handler(user, step: ProcessStep) -> bool:
    """A person holding the step's role in the step's unit through a position (not merely a
    superuser)."""
    if not c.is_person(user) or not user.is_active:
        return False
    return any(
        p.role == step.role and step.unit.path.startswith(p.organisation.path)
        for p in permissions.active_positions(user)
    )


# --- Moving -----------------------------------------------------------------------------------


def _resolve_result_file(actor, result_file) -> StoredFile | None:
    if result_file in (None, ""):
        return None
    if isinstance(result_file, StoredFile):
        result_file = result_file.pk
    # The result is checked as the page checks an uploaded one (a PDF or a scan).
    return checks.file_for(actor, result_file, purpose="scan", field="result_file")


def _attachments(actor, attachments) -> list[int]:
    return [
        checks.file_for(actor, a.pk if isinstance(a, StoredFile) else a).pk for a in attachments
    ]


def move(
    d: Dossier,
    *,
    actor,
    target: ProcessStep,
    at: datetime,
    action: str,
    comment: str = "",
    handler=None,
    data: dict | None = None,
    fields: list[str] | None = None,
) -> Dossier:
    """Hand the (locked) dossier over to `target`. Entering the RETURN step resolves it
    (status 9); entering a TRANSFER step starts the child dossier in the other organisation."""
    fields = list(fields or [])
    from_status, from_step = d.status, d.current_step
    c.observe_lateness(d, at, fields)
    if target.kind == StepKind.RETURN:
        d.status = Status.RESOLVED
        c.finish(d, at, fields, actor=actor, comment=comment)
        handler = None
    else:
        c.close_run(d, at, comment=comment, actor=actor)
        if d.status == Status.RECEIVED:
            d.status = Status.PROCESSING
    run = StepRun.objects.create(
        dossier=d,
        step=target,
        unit=target.unit,
        handler=handler,
        handed_over_by=c.person_or_none(actor),
        started_at=at,
        due_at=deadlines.step_due(at, target),
    )
    d.current_step = target
    d.current_unit = target.unit
    d.current_handler = handler
    d.step_due_at = run.due_at
    fields += ["status", "current_step", "current_unit", "current_handler", "step_due_at"]
    c.save(
        d,
        actor=actor,
        action=action,
        fields=fields,
        at=at,
        from_status=from_status,
        comment=comment,
        from_step=from_step,
        to_step=target,
        data=data,
    )
    if target.kind == StepKind.TRANSFER and target.transfer_to_id is not None:
        spawn_child(d, actor=actor, to_organisation=target.transfer_to, at=at, comment=comment)
    if d.status == Status.RESOLVED:
        if d.parent_id is not None:
            _hand_back_to_parent(d, actor=actor, at=at)
        else:
            applicant_notify.tell(d, applicant_notify.RESOLVED)
    return d


# --- Inter-agency --------------------------------------------------------------------------


def spawn_child(
    parent: Dossier, *, actor, to_organisation: Organisation, at: datetime, comment: str = ""
) -> Dossier:
    """The child dossier in `to_organisation` (one-stop liên thông), received there now."""
    process = intake.current_process(parent.procedure, to_organisation)
    if process is None:
        raise ValidationFailed(
            f"{to_organisation.name} chưa có quy trình nội bộ cho thủ tục này nên chưa chuyển "
            "liên thông được.",
            code="no_process",
        )
    step = intake.first_step(process)
    start = calendar.next_working_moment(at, organisation=process.organisation_id)
    due = parent.step_due_at
    child = Dossier(
        procedure=parent.procedure,
        procedure_version=parent.procedure_version,
        process=process,
        receiving_organisation=to_organisation,
        handling_organisation=process.organisation,
        parent=parent,
        status=Status.RECEIVED,
        channel=parent.channel,
        applicant=parent.applicant,
        applicant_kind=parent.applicant_kind,
        applicant_name=parent.applicant_name,
        applicant_id_number=parent.applicant_id_number,
        applicant_phone=parent.applicant_phone,
        applicant_email=parent.applicant_email,
        applicant_address=parent.applicant_address,
        submitted_at=parent.submitted_at,
        received_at=at,
        clock_started_at=start,
        due_at=due,
        original_due_at=due,
        current_step=step,
        current_unit=step.unit,
        fees=[],
        fees_paid=parent.fees_paid,
        result_delivery=parent.result_delivery,
        received_by=c.person_or_none(actor),
    )
    child.code = codes.next_code(to_organisation, at)
    run = StepRun(
        step=step,
        unit=step.unit,
        handed_over_by=c.person_or_none(actor),
        started_at=at,
        due_at=deadlines.step_due(max(at, start), step),
    )
    child.step_due_at = run.due_at
    child.revision = 1
    child.save(force_insert=True)
    run.dossier = child
    run.save(force_insert=True)
    DossierDocument.objects.bulk_create(
        [
            DossierDocument(
                dossier=child,
                name=doc.name,
                copy_type=doc.copy_type,
                quantity=doc.quantity,
                provided=doc.provided,
                file_id=doc.file_id,
                reused_from=doc,
                from_state_data=doc.from_state_data,
                supplement_round=doc.supplement_round,
            )
            for doc in parent.documents.all()
        ]
    )
    c.save(
        child,
        actor=actor,
        action="received",
        fields=[],
        at=at,
        from_status=None,
        comment=comment,
        to_step=step,
        inserted=True,
        data={"parent": parent.code, "transfer": True},
    )
    c.save(
        parent,
        actor=actor,
        action="transferred",
        fields=[],
        at=at,
        from_status=parent.status,
        comment=comment,
        data={"child": child.code, "to_organisation": to_organisation.pk},
    )
    return child


def _hand_back_to_parent(child: Dossier, *, actor, at: datetime) -> None:
    """The child has its result: it is handed to the parent organisation (status 10 for the
    child) and the parent continues at the step after its transfer step."""
    if child.status == Status.RESOLVED:
        c.close_run(child, at, actor=actor)
        child.status = Status.RETURNED
        child.returned_at = at
        child.returned_to_name = child.parent.handling_organisation.name[:200]
        c.save(
            child,
            actor=actor,
            action="result_returned",
            fields=["status", "returned_at", "returned_to_name"],
            at=at,
            from_status=Status.RESOLVED,
            data={"to_parent": child.parent.code},
        )
    parent_finished(child, actor=actor, at=at)


def parent_finished(child: Dossier, *, actor, at: datetime) -> None:
    """A child reached a final status: the parent (locked before the child) moves on."""
    parent = Dossier.objects.select_related(*c._RELATED).filter(pk=child.parent_id).first()
    if (
        parent is None
        or parent.status != Status.PROCESSING
        or parent.current_step is None
        or parent.current_step.kind != StepKind.TRANSFER
    ):
        return
    steps = steps_of(parent.process)
    by_order = {s.order: s for s in steps}
    allowed = sorted(next_orders(parent.current_step, len(steps)))
    following = parent.current_step.order + 1
    order = following if following in allowed else (allowed[0] if allowed else None)
    if order is None:
        return
    move(
        parent,
        actor=actor,
        target=by_order[order],
        at=at,
        action="transfer_completed",
        comment=f"{child.handling_organisation.name} trả kết quả liên thông (hồ sơ {child.code}).",
        data={"child": child.code, "child_status": child.status},
    )


# --- Services ---------------------------------------------------------------------------------


@transaction.atomic
def claim(*, actor, dossier: Dossier, expected_revision: int | None = None) -> Dossier:
    """Take the dossier's current step for oneself (someone holding the step's role in the
    step's unit; nobody else assigned)."""
    d = c.lock(dossier, expected_revision)
    step = d.current_step
    if step is None or not c.holds_role(actor, step.role, step.unit):
        c.require_step_actor(actor, d)
    c.check_action(d, "claim")
    c.refuse_while_transferred(d)
    if d.current_handler_id is not None:
        raise Conflict(
            f"Hồ sơ đã được {d.current_handler} nhận xử lý.",
            code="already_claimed",
        )
    at = c.now()
    fields: list[str] = []
    c.observe_lateness(d, at, fields)
    d.current_handler = actor
    run = c.open_run(d)
    if run is not None:
        run.handler = actor
        run.save(update_fields=["handler"])
    return c.save(
        d,
        actor=actor,
        action="claimed",
        fields=["current_handler", *fields],
        at=at,
        from_status=d.status,
        from_step=step,
        to_step=step,
    )


@transaction.atomic
def assign(
    *, actor, dossier: Dossier, handler, comment: str = "", expected_revision: int | None = None
) -> Dossier:
    """A unit head, deputy or leader over the step's unit gives the current step to `handler`,
    who must hold the step's role there."""
    d = c.lock(dossier, expected_revision)
    step = d.current_step
    if step is None or not permissions.can(actor, ASSIGN, step.unit):
        raise PermissionDenied(
            "Chỉ lãnh đạo đơn vị thực hiện bước này mới được phân công.", code="permission_denied"
        )
    c.check_action(d, "assign")
    c.refuse_while_transferred(d)
    if not _eligible_handler(handler, step):
        raise ValidationFailed(
            f"{handler} không có vai trò phù hợp tại {step.unit.name} để xử lý bước “{step.name}”.",
            code="handler_not_eligible",
        )
    at = c.now()
    fields: list[str] = []
    c.observe_lateness(d, at, fields)
    previous = d.current_handler
    d.current_handler = handler
    run = c.open_run(d)
    if run is not None:
        run.handler = handler
        run.handed_over_by = c.person_or_none(actor)
        run.save(update_fields=["handler", "handed_over_by"])
    return c.save(
        d,
        actor=actor,
        action="assigned",
        fields=["current_handler", *fields],
        at=at,
        from_status=d.status,
        comment=comment,
        from_step=step,
        to_step=step,
        data={"handler": handler.pk, "previous_handler": previous.pk if previous else None},
    )


@transaction.atomic
def forward(
    *,
    actor,
    dossier: Dossier,
    to_step=None,
    comment: str = "",
    attachments=(),
    handler=None,
    expected_revision: int | None = None,
) -> Dossier:
    """Hand the dossier on to the next step (or `to_step`, a step the process allows from the
    current one), optionally straight to `handler`. From an approval step this is approving."""
    d = c.lock(dossier, expected_revision)
    step = c.require_step_actor(actor, d)
    if step.kind == StepKind.APPROVE and not permissions.can(actor, APPROVE, step.unit):
        raise PermissionDenied("Chỉ lãnh đạo mới được phê duyệt hồ sơ.", code="permission_denied")
    c.check_action(d, "forward")
    c.refuse_while_transferred(d)
    target = _target(d, to_step, steps_of(d.process))
    if handler is not None and not _eligible_handler(handler, target):
        raise ValidationFailed(
            f"{handler} không có vai trò phù hợp để xử lý bước “{target.name}”.",
            code="handler_not_eligible",
        )
    at = c.now()
    require_in_time_or_apology(d, at)
    files = _attachments(actor, attachments)
    return move(
        d,
        actor=actor,
        target=target,
        at=at,
        action="approved" if step.kind == StepKind.APPROVE else "forwarded",
        comment=(comment or "").strip(),
        handler=handler,
        data={"attachments": files} if files else None,
    )


@transaction.atomic
def send_back(
    *, actor, dossier: Dossier, to_step=None, comment: str, expected_revision: int | None = None
) -> Dossier:
    """Send the dossier back for rework: to the previous step (default) or to an earlier step
    the process allows; it goes to whoever handled that step last."""
    d = c.lock(dossier, expected_revision)
    step = c.require_step_actor(actor, d)
    c.check_action(d, "send_back")
    c.refuse_while_transferred(d)
    comment = c.check_text(comment, "comment", "Cần ghi lý do trả lại.")
    steps = steps_of(d.process)
    by_order = {s.order: s for s in steps}
    previous = (
        StepRun.objects.filter(dossier=d, finished_at__isnull=False, step__order__lt=step.order)
        .select_related("step")
        .order_by("-started_at", "-id")
        .first()
    )
    allowed_back = {o for o in next_orders(step, len(steps)) if o < step.order}
    if previous is not None:
        allowed_back.add(previous.step.order)
    if to_step is None:
        if previous is None:
            raise _not_allowed(step, "bước trước")
        target = previous.step
    else:
        order = to_step.order if isinstance(to_step, ProcessStep) else to_step
        try:
            order = int(order)
        except (TypeError, ValueError):
            raise _not_allowed(step, f"bước “{to_step}”") from None
        if (
            isinstance(to_step, ProcessStep) and to_step.process_id != d.process_id
        ) or order not in allowed_back:
            raise _not_allowed(
                step, f"bước “{by_order[order].name if order in by_order else order}”"
            )
        target = by_order[order]
    last = (
        StepRun.objects.filter(dossier=d, step=target)
        .select_related("handler")
        .order_by("-started_at", "-id")
        .first()
    )
    handler = last.handler if last is not None and _eligible_handler(last.handler, target) else None
    return move(
        d,
        actor=actor,
        target=target,
        at=c.now(),
        action="sent_back",
        comment=comment,
        handler=handler,
    )


@transaction.atomic
def approve(
    *, actor, dossier: Dossier, comment: str = "", expected_revision: int | None = None
) -> Dossier:
    """The leader's approval at an APPROVE step; the dossier goes on to the next step."""
    d = c.lock(dossier, expected_revision)
    step = c.require_step_actor(actor, d)
    if not permissions.can(actor, APPROVE, step.unit):
        raise PermissionDenied("Chỉ lãnh đạo mới được phê duyệt hồ sơ.", code="permission_denied")
    c.check_action(d, "approve")
    if step.kind != StepKind.APPROVE:
        raise ValidationFailed(
            f"Bước “{step.name}” không phải bước phê duyệt.", code="transition_not_allowed"
        )
    c.refuse_while_transferred(d)
    target = _target(d, None, steps_of(d.process))
    at = c.now()
    require_in_time_or_apology(d, at)
    return move(
        d, actor=actor, target=target, at=at, action="approved", comment=(comment or "").strip()
    )


@transaction.atomic
def return_to_desk(
    *,
    actor,
    dossier: Dossier,
    comment: str = "",
    result_file=None,
    expected_revision: int | None = None,
) -> Dossier:
    """The result goes back to the one-stop desk: status 9 (resolved), the end of processing
    for on-time accounting. Only from a step the process lets go to its return step."""
    d = c.lock(dossier, expected_revision)
    step = c.require_step_actor(actor, d)
    if step.kind == StepKind.APPROVE and not permissions.can(actor, APPROVE, step.unit):
        raise PermissionDenied("Chỉ lãnh đạo mới được phê duyệt hồ sơ.", code="permission_denied")
    c.check_action(d, "return_to_desk", Status.RESOLVED)
    c.refuse_while_transferred(d)
    steps = steps_of(d.process)
    by_order = {s.order: s for s in steps}
    targets = [
        by_order[o]
        for o in sorted(next_orders(step, len(steps)))
        if by_order.get(o) is not None and by_order[o].kind == StepKind.RETURN
    ]
    if not targets:
        raise _not_allowed(step, "bước trả kết quả")
    stored = _resolve_result_file(actor, result_file)
    at = c.now()
    require_in_time_or_apology(d, at)
    fields = []
    if stored is not None:
        d.result_file = stored
        fields.append("result_file")
    return move(
        d,
        actor=actor,
        target=targets[0],
        at=at,
        action="resolved",
        comment=(comment or "").strip(),
        fields=fields,
        data={"result_file": stored.pk} if stored else None,
    )


@transaction.atomic
def transfer(
    *,
    actor,
    dossier: Dossier,
    to_organisation: Organisation,
    comment: str = "",
    expected_revision: int | None = None,
) -> Dossier:
    """Send the dossier to another organisation (liên thông) through a transfer step the
    process allows from here (or the current transfer step). Returns the parent; the child is
    `parent.children` (the newest)."""
    d = c.lock(dossier, expected_revision)
    step = c.require_step_actor(actor, d)
    c.check_action(d, "transfer")
    c.refuse_while_transferred(d)
    at = c.now()
    require_in_time_or_apology(d, at)
    if step.kind == StepKind.TRANSFER:
        if step.transfer_to_id is not None and step.transfer_to_id != to_organisation.pk:
            raise _not_allowed(step, f"{to_organisation.name}")
        spawn_child(d, actor=actor, to_organisation=to_organisation, at=at, comment=comment)
        return d
    steps = steps_of(d.process)
    by_order = {s.order: s for s in steps}
    for order in sorted(next_orders(step, len(steps))):
        target = by_order.get(order)
        if (
            target is not None
            and target.kind == StepKind.TRANSFER
            and target.transfer_to_id in (None, to_organisation.pk)
        ):
            move(d, actor=actor, target=target, at=at, action="forwarded", comment=comment)
            if target.transfer_to_id is None:
                spawn_child(d, actor=actor, to_organisation=to_organisation, at=at, comment=comment)
            return d
    raise _not_allowed(step, f"{to_organisation.name} (chuyển liên thông)")


def children_in_progress(dossier: Dossier) -> list[Dossier]:
    return list(
        Dossier.objects.filter(parent=dossier)
        .exclude(status__in=FINAL_STATUSES)
        .select_related("handling_organisation", "current_step")
    )
