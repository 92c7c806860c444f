"""One endpoint per transition: POST /{code}/actions/<action> with `expected_revision`."""

from __future__ import annotations

from chinhquyenso.apiauth import AUTH
from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.api._router import router
from chinhquyenso.dossiers.api.access import (
    any_organisation,
    dossier_in_scope,
    official,
    person_only,
)
from chinhquyenso.dossiers.api.schemas import (
    ApologyIn,
    AssignIn,
    CommentIn,
    DossierDetailOut,
    ForwardIn,
    PaymentIn,
    PaymentRequestIn,
    ReasonIn,
    ReturnResultIn,
    ReturnToDeskIn,
    RevisionIn,
    SendBackIn,
    SupplementIn,
    SupplementRequestIn,
    TransferIn,
)
from chinhquyenso.dossiers.api.serialise import detail, reloaded
from chinhquyenso.dossiers.privacy import sees_personal_data


def _act(request, code: str, call) -> dict:
    """Find the dossier within the caller's scope, run the service, answer with the dossier as
    it is now (the actor just acted on it, so may see it even if it moved out of their
    scope)."""
    actor = person_only(request)
    dossier = dossier_in_scope(request, code)
    call(actor, dossier)
    now = reloaded(dossier)
    return detail(now, personal=sees_personal_data(actor, now))


_ACTION = "/{code}/actions/"


@router.post(
    _ACTION + "accept", response=DossierDetailOut, auth=AUTH, summary="Tiếp nhận hồ sơ trực tuyến"
)
def accept(request, code: str, payload: RevisionIn):
    return _act(
        request,
        code,
        lambda a, d: services.accept_online_submission(
            actor=a, dossier=d, expected_revision=payload.expected_revision
        ),
    )


@router.post(_ACTION + "refuse", response=DossierDetailOut, auth=AUTH, summary="Từ chối (Mẫu 03)")
def refuse(request, code: str, payload: ReasonIn):
    return _act(
        request,
        code,
        lambda a, d: services.refuse(
            actor=a, dossier=d, reason=payload.reason, expected_revision=payload.expected_revision
        ),
    )


@router.post(_ACTION + "claim", response=DossierDetailOut, auth=AUTH, summary="Nhận xử lý")
def claim(request, code: str, payload: RevisionIn):
    return _act(
        request,
        code,
        lambda a, d: services.claim(
            actor=a, dossier=d, expected_revision=payload.expected_revision
        ),
    )


@router.post(_ACTION + "assign", response=DossierDetailOut, auth=AUTH, summary="Phân công")
def assign(request, code: str, payload: AssignIn):
    return _act(
        request,
        code,
        lambda a, d: services.assign(
            actor=a,
            dossier=d,
            handler=official(a, payload.handler_id),
            comment=payload.comment,
            expected_revision=payload.expected_revision,
        ),
    )


@router.post(_ACTION + "forward", response=DossierDetailOut, auth=AUTH, summary="Chuyển bước")
def forward(request, code: str, payload: ForwardIn):
    return _act(
        request,
        code,
        lambda a, d: services.forward(
            actor=a,
            dossier=d,
            to_step=payload.to_step,
            comment=payload.comment,
            attachments=payload.attachments,
            handler=official(a, payload.handler_id),
            expected_revision=payload.expected_revision,
        ),
    )


@router.post(
    _ACTION + "send_back", response=DossierDetailOut, auth=AUTH, summary="Trả lại bước trước"
)
def send_back(request, code: str, payload: SendBackIn):
    return _act(
        request,
        code,
        lambda a, d: services.send_back(
            actor=a,
            dossier=d,
            to_step=payload.to_step,
            comment=payload.comment,
            expected_revision=payload.expected_revision,
        ),
    )


@router.post(_ACTION + "approve", response=DossierDetailOut, auth=AUTH, summary="Phê duyệt")
def approve(request, code: str, payload: CommentIn):
    return _act(
        request,
        code,
        lambda a, d: services.approve(
            actor=a, dossier=d, comment=payload.comment, expected_revision=payload.expected_revision
        ),
    )


@router.post(
    _ACTION + "transfer", response=DossierDetailOut, auth=AUTH, summary="Chuyển liên thông"
)
def transfer(request, code: str, payload: TransferIn):
    return _act(
        request,
        code,
        lambda a, d: services.transfer(
            actor=a,
            dossier=d,
            to_organisation=any_organisation(payload.to_organisation_id),
            comment=payload.comment,
            expected_revision=payload.expected_revision,
        ),
    )


@router.post(
    _ACTION + "return_to_desk",
    response=DossierDetailOut,
    auth=AUTH,
    summary="Chuyển kết quả về Một cửa",
)
def return_to_desk(request, code: str, payload: ReturnToDeskIn):
    return _act(
        request,
        code,
        lambda a, d: services.return_to_desk(
            actor=a,
            dossier=d,
            comment=payload.comment,
            result_file=payload.result_file_id,
            expected_revision=payload.expected_revision,
        ),
    )


@router.post(_ACTION + "return_result", response=DossierDetailOut, auth=AUTH, summary="Trả kết quả")
def return_result(request, code: str, payload: ReturnResultIn):
    return _act(
        request,
        code,
        lambda a, d: services.return_result(
            actor=a,
            dossier=d,
            method=payload.method,
            recipient_signature_name=payload.recipient_signature_name,
            postal_tracking=payload.postal_tracking,
            expected_revision=payload.expected_revision,
        ),
    )


@router.post(
    _ACTION + "request_supplement",
    response=DossierDetailOut,
    auth=AUTH,
    summary="Yêu cầu bổ sung (Mẫu 02)",
)
def request_supplement(request, code: str, payload: SupplementRequestIn):
    return _act(
        request,
        code,
        lambda a, d: services.request_supplement(
            actor=a,
            dossier=d,
            reason=payload.reason,
            missing_documents=payload.missing_documents,
            expected_revision=payload.expected_revision,
        ),
    )


@router.post(
    _ACTION + "receive_supplement",
    response=DossierDetailOut,
    auth=AUTH,
    summary="Nhận hồ sơ bổ sung",
)
def receive_supplement(request, code: str, payload: SupplementIn):
    return _act(
        request,
        code,
        lambda a, d: services.receive_supplement(
            actor=a,
            dossier=d,
            documents=[doc.model_dump() for doc in payload.documents],
            comment=payload.comment,
            expected_revision=payload.expected_revision,
        ),
    )


@router.post(
    _ACTION + "request_payment",
    response=DossierDetailOut,
    auth=AUTH,
    summary="Yêu cầu nghĩa vụ tài chính",
)
def request_payment(request, code: str, payload: PaymentRequestIn):
    return _act(
        request,
        code,
        lambda a, d: services.request_payment(
            actor=a,
            dossier=d,
            reason=payload.reason,
            fees=[f.model_dump() for f in payload.fees] if payload.fees is not None else None,
            expected_revision=payload.expected_revision,
        ),
    )


@router.post(
    _ACTION + "confirm_payment", response=DossierDetailOut, auth=AUTH, summary="Xác nhận đã nộp phí"
)
def confirm_payment(request, code: str, payload: PaymentIn):
    return _act(
        request,
        code,
        lambda a, d: services.confirm_payment(
            actor=a,
            dossier=d,
            reference=payload.reference,
            expected_revision=payload.expected_revision,
        ),
    )


@router.post(_ACTION + "stop", response=DossierDetailOut, auth=AUTH, summary="Dừng xử lý")
def stop(request, code: str, payload: ReasonIn):
    return _act(
        request,
        code,
        lambda a, d: services.stop(
            actor=a, dossier=d, reason=payload.reason, expected_revision=payload.expected_revision
        ),
    )


@router.post(_ACTION + "withdraw", response=DossierDetailOut, auth=AUTH, summary="Rút hồ sơ")
def withdraw(request, code: str, payload: ReasonIn):
    return _act(
        request,
        code,
        lambda a, d: services.withdraw(
            actor=a, dossier=d, reason=payload.reason, expected_revision=payload.expected_revision
        ),
    )


@router.post(
    _ACTION + "issue_apology",
    response=DossierDetailOut,
    auth=AUTH,
    summary="Xin lỗi, hẹn lại (Mẫu 04)",
)
def issue_apology(request, code: str, payload: ApologyIn):
    return _act(
        request,
        code,
        lambda a, d: services.issue_apology(
            actor=a,
            dossier=d,
            reason=payload.reason,
            new_due_at=payload.new_due_at,
            expected_revision=payload.expected_revision,
        ),
    )
