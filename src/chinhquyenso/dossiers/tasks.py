"""Background work of the dossiers module (STYLE.md habit 6: tasks take ids, reload, re-check
state, are safe to run twice, and only call services).

`render_receipt(dossier_id)`: the receipt (Form 01, TT 01/2018/TT-VPCP "Giấy tiếp nhận hồ sơ
và hẹn trả kết quả") is printed to PDF and stored once, right after a dossier is received, so
the desk can hand it over (or the portal offer it) without waiting for WeasyPrint. The dossier
has no field for it: the stored file is recorded in the audit entry `dossier.receipt_rendered`
(file id and sha256), and a second run finds that entry and does nothing. The receipt is sealed
with the receiving organisation's seal when one is configured (`forms_pdf.issue_form`, issue #4);
the entry says whether (`signed`) and with which certificate.
"""

from __future__ import annotations

from django.db import transaction
from django_tasks import task

from chinhquyenso.core import audit_labels
from chinhquyenso.core.models import AuditEntry, Position, Role
from chinhquyenso.core.services import audit
from chinhquyenso.core.services import files as file_service
from chinhquyenso.core.tasks import PermanentFailure, retrying

# PDFs the system prints (Forms 01–05): produced here, never uploaded by people.
FORM_PURPOSE = "form"
file_service.register_purpose(
    FORM_PURPOSE, {file_service.PDF}, 20 * 1024 * 1024, "Biểu mẫu in (PDF)"
)

RECEIPT_RENDERED = "dossier.receipt_rendered"
audit_labels.LABELS.setdefault(RECEIPT_RENDERED, "Lưu Giấy tiếp nhận hồ sơ (Mẫu 01)")


def schedule_receipt(dossier) -> None:
    """Queue the receipt; it runs once the caller's transaction commits (nothing if it rolls
    back; with the database task queue the task row commits with the dossier)."""
    from chinhquyenso.core.tasks import enqueue_with_commit

    enqueue_with_commit(render_receipt, dossier.pk)


def receipt_entry(dossier) -> AuditEntry | None:
    """The audit entry recording the dossier's stored receipt, if it has been rendered."""
    return (
        AuditEntry.objects.filter(
            action=RECEIPT_RENDERED,
            object_type=dossier._meta.label_lower,
            object_id=str(dossier.pk),
        )
        .order_by("-pk")
        .first()
    )


def _printer(dossier):
    """The person the file is stored in the name of: the desk officer who received the
    dossier, else a desk officer of the receiving organisation (intake through an API key)."""
    if dossier.received_by_id is not None and dossier.received_by.is_active:
        return dossier.received_by
    position = (
        Position.objects.active()
        .filter(
            role=Role.DESK_OFFICER,
            organisation__path__startswith=dossier.receiving_organisation.path,
            user__is_active=True,
        )
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return position.user if position is not None else None


def store_receipt(*, dossier_id: int) -> str:
    """Render and store Form 01 for one dossier; returns what happened."""
    from chinhquyenso.dossiers.forms_pdf import issue_form
    from chinhquyenso.dossiers.models import Dossier, FormPurpose

    dossier = (
        Dossier.objects.select_related("procedure_version", "receiving_organisation", "received_by")
        .filter(pk=dossier_id)
        .first()
    )
    if dossier is None:
        return "missing"
    if dossier.received_at is None:
        return "not_received"
    if receipt_entry(dossier) is not None:
        return "already_rendered"
    actor = _printer(dossier)
    if actor is None:
        raise PermanentFailure(f"Không có công chức một cửa để lưu giấy tiếp nhận {dossier.code}.")
    issued = issue_form(dossier=dossier, purpose=FormPurpose.RECEIPT)
    sealed = issued.sealed
    with transaction.atomic():
        stored = file_service.store_file(
            actor=actor,
            uploaded=issued.pdf,
            name=f"giay-tiep-nhan-{dossier.code}.pdf",
            purpose=FORM_PURPOSE,
            organisation=dossier.receiving_organisation,
        )
        audit.record(
            action=RECEIPT_RENDERED,
            actor="hệ thống",
            obj=dossier,
            organisation=dossier.receiving_organisation,
            data={
                "code": dossier.code,
                "file": stored.pk,
                "sha256": stored.sha256,
                "size": stored.size,
                "form": FormPurpose.RECEIPT.value,
                # Issue #4: sealed with the organisation's seal, or issued unsigned.
                "signed": sealed is not None,
                **(
                    {
                        "seal_organisation": sealed.organisation.name,
                        "seal_certificate": sealed.certificate_subject,
                        "seal_serial": sealed.certificate_serial,
                        "level": sealed.level,
                    }
                    if sealed is not None
                    else {}
                ),
            },
        )
    return "rendered"


@task()
@retrying(max_attempts=5, backoff_seconds=30)
def render_receipt(dossier_id: int) -> str:
    """Print the receipt (Form 01) of a received dossier and store it (see the module)."""
    return store_receipt(dossier_id=dossier_id)
