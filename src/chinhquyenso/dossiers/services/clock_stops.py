"""Clock stops (supplement, financial obligation) and the apology with a new appointment.

* Supplement request (Form 02, status 5): the clock stops until the applicant supplements; the
  paused working time then moves every due date later (766 rule: supplement time is
  subtracted). More than one supplement request makes the dossier late (766 rule).
* Financial obligation (status 6): the same while the fee or tax is being paid.
* Apology (Form 04): a new appointment (`due_at`); the legal due date (`original_due_at`) does
  not move, so the dossier is counted late all the same when it passes it.

For an inter-agency child, a supplement request stops the parent's clock too (the applicant
supplements at the parent's desk), and receiving the supplement restarts both. A financial
obligation asked by the child's organisation does the same: the parent shows status 6 while
the applicant pays (the parent's status reflects the child's), and the payment confirmed on
either side restarts both.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.core.services import calendar
from chinhquyenso.dossiers import notify as applicant_notify
from chinhquyenso.dossiers.models import (
    Dossier,
    DossierDocument,
    Pause,
    PauseKind,
    Status,
)
from chinhquyenso.dossiers.services import _common as c
from chinhquyenso.dossiers.services import checks, deadlines


def _stop_clock(
    d: Dossier, *, actor, at: datetime, kind: str, reason: str, missing=(), fields: list[str]
) -> Pause:
    c.observe_lateness(d, at, fields)
    pause = Pause.objects.create(
        dossier=d,
        kind=kind,
        started_at=at,
        reason=reason,
        requested_by=c.person_or_none(actor),
        missing_documents=list(missing),
    )
    d.clock_paused_at = at
    fields.append("clock_paused_at")
    return pause


def _restart_clock(d: Dossier, *, actor, at: datetime, kind: str, fields: list[str]) -> int:
    """Close the open pause of `kind` and move the due dates later by its working time."""
    c.observe_lateness(d, at, fields)
    pause = (
        Pause.objects.filter(dossier=d, kind=kind, ended_at__isnull=True)
        .order_by("-started_at", "-id")
        .first()
    )
    if pause is None:
        d.clock_paused_at = None
        fields.append("clock_paused_at")
        return 0
    org = d.handling_organisation_id
    minutes = calendar.working_minutes_between(pause.started_at, at, organisation=org)
    pause.ended_at = at
    pause.paused_minutes = minutes
    pause.ended_by = c.person_or_none(actor)
    pause.save(update_fields=["ended_at", "paused_minutes", "ended_by"])
    d.paused_minutes += minutes
    if d.original_due_at is not None:
        d.original_due_at = deadlines.add_working_minutes(d.original_due_at, minutes, org)
    if d.due_at is not None:
        d.due_at = deadlines.add_working_minutes(d.due_at, minutes, org)
    run = c.open_run(d)
    if run is not None:
        step_minutes = calendar.working_minutes_between(
            pause.started_at, at, organisation=run.unit_id
        )
        run.due_at = deadlines.add_working_minutes(run.due_at, step_minutes, run.unit_id)
        run.save(update_fields=["due_at"])
        d.step_due_at = run.due_at
    d.clock_paused_at = None
    fields += ["paused_minutes", "original_due_at", "due_at", "step_due_at", "clock_paused_at"]
    return minutes


def _missing_list(missing_documents) -> list[str]:
    if isinstance(missing_documents, str):
        missing_documents = [missing_documents]
    names = [" ".join(str(m or "").split()) for m in (missing_documents or [])]
    names = [n[:1000] for n in names if n]
    if not names:
        raise ValidationFailed(
            "Cần nêu các giấy tờ phải bổ sung, hoàn thiện.",
            code="missing_documents_required",
            details={"missing_documents": ["Cần nêu các giấy tờ phải bổ sung, hoàn thiện."]},
        )
    return names


@transaction.atomic
def request_supplement(
    *,
    actor,
    dossier: Dossier,
    reason: str,
    missing_documents: list[str],
    expected_revision: int | None = None,
) -> Dossier:
    """Form 02: ask the applicant to supplement; status 5, the clock stops."""
    d = c.lock(dossier, expected_revision)
    c.require_step_actor(actor, d)
    c.check_action(d, "request_supplement", Status.AWAITING_SUPPLEMENT)
    c.refuse_while_transferred(d)
    reason = c.check_text(reason, "reason", "Cần ghi rõ lý do yêu cầu bổ sung.")
    missing = _missing_list(missing_documents)
    at = c.now()
    fields: list[str] = []
    _stop_clock(
        d,
        actor=actor,
        at=at,
        kind=PauseKind.SUPPLEMENT,
        reason=reason,
        missing=missing,
        fields=fields,
    )
    from_status = d.status
    d.status = Status.AWAITING_SUPPLEMENT
    d.supplement_count += 1
    if d.supplement_count > 1 and not d.counted_late:
        d.counted_late = True  # 766: more than one supplement request counts as late
        fields.append("counted_late")
    c.save(
        d,
        actor=actor,
        action="supplement_requested",
        fields=["status", "supplement_count", *fields],
        at=at,
        from_status=from_status,
        comment=reason,
        data={"round": d.supplement_count, "missing_documents": missing},
    )
    if d.parent_id is not None:
        parent = Dossier.objects.select_related(*c._RELATED).get(pk=d.parent_id)
        if parent.status == Status.PROCESSING:
            pfields: list[str] = []
            _stop_clock(
                parent,
                actor=actor,
                at=at,
                kind=PauseKind.SUPPLEMENT,
                reason=reason,
                missing=missing,
                fields=pfields,
            )
            parent.status = Status.AWAITING_SUPPLEMENT
            parent.supplement_count += 1
            if parent.supplement_count > 1 and not parent.counted_late:
                parent.counted_late = True
                pfields.append("counted_late")
            c.save(
                parent,
                actor=actor,
                action="supplement_requested",
                fields=["status", "supplement_count", *pfields],
                at=at,
                from_status=Status.PROCESSING,
                comment=reason,
                data={"round": parent.supplement_count, "child": d.code},
            )
    target = d.parent if d.parent_id is not None else d
    applicant_notify.tell(
        target, applicant_notify.SUPPLEMENT_REQUESTED, reason=reason, missing_documents=missing
    )
    return d


def _may_supplement(actor, d: Dossier) -> None:
    if c.is_person(actor) and d.applicant_id is not None and d.applicant_id == actor.pk:
        return
    if d.parent_id is not None and c.is_person(actor):
        parent = d.parent
        if parent.applicant_id is not None and parent.applicant_id == actor.pk:
            return
        if c.holds_role(actor, "desk_officer", parent.receiving_organisation):
            return
    c.desk_or_step_or_manager(actor, d)


def _resume(
    d: Dossier, *, actor, at: datetime, kind: str, comment: str = "", data: dict, paid=None
) -> Dossier:
    """The clock stop of `kind` ends: back to processing (4), due dates moved later by the
    paused working time. `paid` (payment only): the new `fees_paid`, or None to leave it."""
    waiting, action = {
        PauseKind.SUPPLEMENT: (Status.AWAITING_SUPPLEMENT, "supplement_received"),
        PauseKind.PAYMENT: (Status.AWAITING_PAYMENT, "payment_confirmed"),
    }[kind]
    fields: list[str] = []
    _restart_clock(d, actor=actor, at=at, kind=kind, fields=fields)
    d.status = Status.PROCESSING
    if paid is not None:
        d.fees_paid = paid
        fields.append("fees_paid")
    return c.save(
        d,
        actor=actor,
        action=action,
        fields=["status", *fields],
        at=at,
        from_status=waiting,
        comment=comment,
        data=data,
    )


@transaction.atomic
def receive_supplement(
    *,
    actor,
    dossier: Dossier,
    documents: list[dict] | None = None,
    comment: str = "",
    expected_revision: int | None = None,
) -> Dossier:
    """The applicant has supplemented: back to processing (4), the due dates move later by the
    paused working time. `documents` as in intake (recorded with the supplement round)."""
    d = c.lock(dossier, expected_revision)
    _may_supplement(actor, d)
    c.check_action(d, "receive_supplement", Status.PROCESSING)
    docs = checks.clean_documents(
        actor=actor,
        version=d.procedure_version,
        documents=list(documents or []),
        id_number=d.applicant_id_number,
        supplement_round=d.supplement_count,
    )
    at = c.now()
    comment = (comment or "").strip()
    for doc in docs:
        doc.dossier = d
    DossierDocument.objects.bulk_create(docs)
    _resume(
        d,
        actor=actor,
        at=at,
        kind=PauseKind.SUPPLEMENT,
        comment=comment,
        data={"documents": len(docs)},
    )
    # The family: a child's supplement restarts the parent; the parent's restarts its child.
    if d.parent_id is not None:
        parent = Dossier.objects.select_related(*c._RELATED).get(pk=d.parent_id)
        if parent.status == Status.AWAITING_SUPPLEMENT:
            _resume(
                parent,
                actor=actor,
                at=at,
                kind=PauseKind.SUPPLEMENT,
                comment=comment,
                data={"child": d.code},
            )
    else:
        for child in Dossier.objects.filter(parent=d, status=Status.AWAITING_SUPPLEMENT):
            child = c.lock(child)
            for doc in docs:
                DossierDocument.objects.create(
                    dossier=child,
                    name=doc.name,
                    copy_type=doc.copy_type,
                    quantity=doc.quantity,
                    provided=doc.provided,
                    file=doc.file,
                    reused_from=doc,
                    supplement_round=child.supplement_count,
                )
            _resume(
                child,
                actor=actor,
                at=at,
                kind=PauseKind.SUPPLEMENT,
                comment=comment,
                data={"parent": d.code},
            )
    return d


@transaction.atomic
def request_payment(
    *,
    actor,
    dossier: Dossier,
    reason: str,
    fees: list[dict] | None = None,
    expected_revision: int | None = None,
) -> Dossier:
    """Status 6: the applicant must pay a fee, charge or tax first; the clock stops."""
    d = c.lock(dossier, expected_revision)
    c.require_step_actor(actor, d)
    c.check_action(d, "request_payment", Status.AWAITING_PAYMENT)
    c.refuse_while_transferred(d)
    reason = c.check_text(reason, "reason", "Cần ghi rõ nghĩa vụ tài chính phải thực hiện.")
    at = c.now()
    fields: list[str] = []
    if fees is not None:
        d.fees = checks.clean_fees(fees, d.procedure_version)
        fields.append("fees")
    _stop_clock(d, actor=actor, at=at, kind=PauseKind.PAYMENT, reason=reason, fields=fields)
    from_status = d.status
    d.status = Status.AWAITING_PAYMENT
    d.fees_paid = False
    c.save(
        d,
        actor=actor,
        action="payment_requested",
        fields=["status", "fees_paid", *fields],
        at=at,
        from_status=from_status,
        comment=reason,
        data={"fees": d.fees},
    )
    target = d
    if d.parent_id is not None:
        # The applicant deals with the parent's desk: it waits for the payment too.
        parent = Dossier.objects.select_related(*c._RELATED).get(pk=d.parent_id)
        target = parent
        if parent.status == Status.PROCESSING:
            parent = c.lock(parent)
            pfields: list[str] = []
            _stop_clock(
                parent, actor=actor, at=at, kind=PauseKind.PAYMENT, reason=reason, fields=pfields
            )
            parent.status = Status.AWAITING_PAYMENT
            c.save(
                parent,
                actor=actor,
                action="payment_requested",
                fields=["status", *pfields],
                at=at,
                from_status=Status.PROCESSING,
                comment=reason,
                data={"child": d.code, "fees": d.fees},
            )
    # The total only when every amount is known: a partial sum would tell the applicant to pay
    # less than they owe (the message then names the obligation without an amount).
    amounts = [f.get("amount_vnd") for f in d.fees or []]
    total = None if None in amounts else sum(int(a) for a in amounts)
    applicant_notify.tell(
        target, applicant_notify.PAYMENT_REQUESTED, reason=reason, amount_vnd=total
    )
    return d


@transaction.atomic
def confirm_payment(
    *, actor, dossier: Dossier, reference: str = "", expected_revision: int | None = None
) -> Dossier:
    """The payment is confirmed (desk, the step's handler, or a leader): back to processing,
    due dates moved later by the paused working time."""
    d = c.lock(dossier, expected_revision)
    c.desk_or_step_or_manager(actor, d)
    c.check_action(d, "confirm_payment", Status.PROCESSING)
    at = c.now()
    reference = (reference or "")[:100]
    # The family: a child's payment restarts the parent that waited for it; a payment recorded
    # at the parent's desk restarts the child that asked for it. The fee paid is then the
    # child's, not the parent's own: the parent's `fees_paid` stays as it was.
    children = []
    if d.parent_id is None:
        children = list(Dossier.objects.filter(parent=d, status=Status.AWAITING_PAYMENT))
    pay = {"actor": actor, "at": at, "kind": PauseKind.PAYMENT}
    d = _resume(d, **pay, data={"reference": reference}, paid=None if children else True)
    if d.parent_id is not None:
        parent = Dossier.objects.select_related(*c._RELATED).get(pk=d.parent_id)
        if parent.status == Status.AWAITING_PAYMENT:
            _resume(c.lock(parent), **pay, data={"child": d.code, "reference": reference})
    for child in children:
        child = c.lock(child)
        if child.status == Status.AWAITING_PAYMENT:
            _resume(child, **pay, data={"parent": d.code, "reference": reference}, paid=True)
    return d


@transaction.atomic
def issue_apology(
    *,
    actor,
    dossier: Dossier,
    reason: str,
    new_due_at: datetime,
    expected_revision: int | None = None,
) -> Dossier:
    """Form 04: apologise and set a new appointment (later than the current one and than now).
    The legal due date stays: the dossier is counted late when it passes it."""
    d = c.lock(dossier, expected_revision)
    c.desk_or_step_or_manager(actor, d)
    c.check_action(d, "issue_apology")
    reason = c.check_text(reason, "reason", "Cần ghi rõ lý do chậm trả kết quả.")
    at = c.now()
    if not isinstance(new_due_at, datetime) or new_due_at.tzinfo is None:
        raise ValidationFailed(
            "Ngày hẹn trả mới phải là thời điểm có múi giờ.", code="invalid_new_due"
        )
    if new_due_at <= at or (d.due_at is not None and new_due_at <= d.due_at):
        raise ValidationFailed(
            "Ngày hẹn trả mới phải sau thời điểm hiện tại và sau ngày hẹn trả đang có "
            f"({c.vn(d.due_at)})."
            if d.due_at is not None
            else "Ngày hẹn trả mới phải sau thời điểm hiện tại.",
            code="invalid_new_due",
        )
    fields: list[str] = []
    c.observe_lateness(d, at, fields)
    previous = d.due_at
    d.due_at = new_due_at
    d.apology_count += 1
    c.save(
        d,
        actor=actor,
        action="apology_issued",
        fields=["due_at", "apology_count", *fields],
        at=at,
        from_status=d.status,
        comment=reason,
        data={
            "previous_due_at": previous.isoformat() if previous else None,
            "new_due_at": new_due_at.isoformat(),
        },
    )
    # An inter-agency part that runs late apologises too (Decree 61/2018 Art. 19: the agency
    # that causes the delay): the applicant hears it under the code on their receipt.
    applicant_notify.tell(
        d.parent if d.parent_id is not None else d,
        applicant_notify.APOLOGY,
        reason=reason,
        previous_due_at=previous,
        new_due_at=new_due_at,
    )
    return d


__all__ = [
    "confirm_payment",
    "issue_apology",
    "receive_supplement",
    "request_payment",
    "request_supplement",
]
