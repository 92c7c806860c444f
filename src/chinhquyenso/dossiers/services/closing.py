"""Ending a dossier: stopping processing (8), the applicant's withdrawal (7), and returning the
result (10) at the desk, by public postal service or online."""

from __future__ import annotations

from django.db import transaction

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.dossiers import notify as applicant_notify
from chinhquyenso.dossiers import postal
from chinhquyenso.dossiers.models import FINAL_STATUSES, Dossier, ResultDelivery, Status
from chinhquyenso.dossiers.permissions import APPROVE, RECEIVE, RETURN
from chinhquyenso.dossiers.services import _common as c
from chinhquyenso.dossiers.services import routing


def _end(d: Dossier, *, actor, at, status: int, action: str, reason: str) -> Dossier:
    """Move a locked dossier (and its running children) to the final `status`."""
    from_status, from_step = d.status, d.current_step
    fields: list[str] = []
    c.observe_lateness(d, at, fields)
    d.status = status
    c.finish(d, at, fields, actor=actor, comment=reason)
    c.save(
        d,
        actor=actor,
        action=action,
        fields=["status", *fields],
        at=at,
        from_status=from_status,
        from_step=from_step,
        comment=reason,
    )
    for child in Dossier.objects.filter(parent=d).exclude(status__in=FINAL_STATUSES):
        child = c.lock(child)
        if status in c.TRANSITIONS[child.status]:
            _end(child, actor=actor, at=at, status=status, action=action, reason=reason)
    return d


@transaction.atomic
def stop(*, actor, dossier: Dossier, reason: str, expected_revision: int | None = None) -> Dossier:
    """Stop processing (status 8, a final status) by decision of a leader or unit head of the
    handling organisation (or of the unit holding the dossier)."""
    d = c.lock(dossier, expected_revision)
    c.require_any(actor, d, [(APPROVE, d.handling_organisation), (APPROVE, d.current_unit)])
    c.check_action(d, "stop", Status.STOPPED)
    reason = c.check_text(reason, "reason", "Cần ghi rõ lý do dừng xử lý.")
    at = c.now()
    _end(d, actor=actor, at=at, status=Status.STOPPED, action="stopped", reason=reason)
    if d.parent_id is not None:
        routing.parent_finished(d, actor=actor, at=at)
    else:
        applicant_notify.tell(d, applicant_notify.STOPPED, reason=reason)
    return d


def _is_applicant(actor, d: Dossier) -> bool:
    if not c.is_person(actor) or not getattr(actor, "is_applicant", False):
        return False
    if d.applicant_id is not None:
        return d.applicant_id == actor.pk
    own = actor.personal_id if actor.kind == "citizen" else actor.tax_code
    return bool(own) and own == d.applicant_id_number


@transaction.atomic
def withdraw(
    *, actor, dossier: Dossier, reason: str, expected_revision: int | None = None
) -> Dossier:
    """The applicant withdraws (status 7): the applicant's own account, or a desk officer of the
    receiving organisation recording the written request. A transferred part is withdrawn with
    the whole dossier (ask on the parent)."""
    d = c.lock(dossier, expected_revision)
    if d.parent_id is not None:
        raise ValidationFailed(
            f"Hồ sơ liên thông: rút hồ sơ tại hồ sơ gốc {d.parent.code}.",
            code="transition_not_allowed",
        )
    if not _is_applicant(actor, d):
        c.require_any(
            actor, d, [(RECEIVE, d.receiving_organisation), (RETURN, d.receiving_organisation)]
        )
    c.check_action(d, "withdraw", Status.WITHDRAWN)
    reason = c.check_text(reason, "reason", "Cần ghi rõ lý do rút hồ sơ.")
    return _end(
        d, actor=actor, at=c.now(), status=Status.WITHDRAWN, action="withdrawn", reason=reason
    )


def _ship(d: Dossier, recipient_name: str) -> str:
    shipment = postal.get_gateway().ship(
        dossier_code=d.code,
        recipient_name=recipient_name,
        address=d.applicant_address,
        phone=d.applicant_phone,
    )
    return shipment.tracking_number


@transaction.atomic
def return_result(
    *,
    actor,
    dossier: Dossier,
    method,
    recipient_signature_name: str,
    postal_tracking: str | None = None,
    expected_revision: int | None = None,
) -> Dossier:
    """Hand the result over (status 10): at the desk or online (the applicant or their
    representative signs for it: `recipient_signature_name`), or by public postal service
    (the addressee; the item is handed to the carrier through `postal.get_gateway()` unless a
    `postal_tracking` number was already obtained)."""
    d = c.lock(dossier, expected_revision)
    c.require_any(actor, d, [(RETURN, d.receiving_organisation)])
    c.check_action(d, "return_result", Status.RETURNED)
    try:
        method = ResultDelivery(method).value
    except ValueError:
        raise ValidationFailed(
            "Hình thức trả kết quả không hợp lệ: chọn nhận tại Bộ phận Một cửa, qua bưu chính "
            "công ích hoặc nhận trực tuyến.",
            code="invalid_method",
        ) from None
    name = " ".join(str(recipient_signature_name or "").split())[:200]
    if not name:
        if method == ResultDelivery.POST:
            name = d.applicant_name
        else:
            raise ValidationFailed(
                "Cần ghi họ tên người nhận kết quả (ký nhận).", code="recipient_required"
            )
    tracking = (postal_tracking or "").strip().upper()
    if method == ResultDelivery.POST:
        if tracking and not postal.is_valid_tracking_number(tracking):
            raise ValidationFailed(
                "Số hiệu bưu gửi không hợp lệ (dạng EB123456785VN).",
                code="tracking_number_invalid",
            )
        if not tracking:
            # Before any change here: a refusal by the carrier leaves the dossier as it was.
            tracking = _ship(d, name)
    at = c.now()
    c.close_run(d, at, actor=actor)
    d.status = Status.RETURNED
    d.returned_at = at
    d.returned_via = method
    d.returned_to_name = name
    d.postal_tracking = tracking if method == ResultDelivery.POST else ""
    d.current_handler = None
    d.step_due_at = None
    applicant_notify.tell(d, applicant_notify.RETURNED)
    return c.save(
        d,
        actor=actor,
        action="result_returned",
        fields=[
            "status",
            "returned_at",
            "returned_via",
            "returned_to_name",
            "postal_tracking",
            "current_handler",
            "step_due_at",
        ],
        at=at,
        from_status=Status.RESOLVED,
        data={"method": method, "postal_tracking": d.postal_tracking},
    )
