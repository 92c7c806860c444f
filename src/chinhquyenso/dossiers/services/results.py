"""Signing the dossier's result (issue #4: "every dossier result ... must carry legally
meaningful digital signatures").

`sign_result` has the competent official sign the result PDF with their own key (PKCS#12 file or
USB token/HSM, `signing.keys`): the signed PDF is stored and replaces the unsigned one as the
dossier's result file; the previous file stays in the history (the event's `previous_file`), and
the audit entry `dossier.result_signed` records who, the hashes, the certificate and when (the
signing module adds its own `signature.applied`). The applicant then receives the signed result.

Who may sign: whoever may act on the dossier's current step (the official at the result step),
or a leader / unit head with the approval right over the handling organisation or the current
unit (the leader who approves signs the decision: Decree 30/2020 Art. 13, the head of the agency
signs). The key's certificate must be registered to the signer and active
(`signing.certificates.require_signer_holds`: `certificate_not_registered`,
`certificate_of_another_person`, `certificate_deactivated`), checked before anything is signed.
A wrong password or PIN fails before this service runs (opening the key), so nothing changes.
"""

from __future__ import annotations

import hashlib

from django.db import transaction

from chinhquyenso.core import audit_labels, permissions
from chinhquyenso.core.errors import Conflict, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry
from chinhquyenso.core.services import files as file_service
from chinhquyenso.dossiers.models import Dossier, Status
from chinhquyenso.dossiers.permissions import APPROVE
from chinhquyenso.dossiers.services import _common as c

RESULT_SIGNED = "result_signed"
SIGNED_RESULT_PURPOSE = "signed_result"
# Results are signed before they are handed over (9), or while the process still runs when the
# result is attached early; never once returned (the applicant holds what was handed over).
SIGNABLE = frozenset({Status.RECEIVED, Status.PROCESSING, Status.RESOLVED})

file_service.register_purpose(
    SIGNED_RESULT_PURPOSE,
    {file_service.PDF},
    50 * 1024 * 1024,
    "Kết quả giải quyết đã ký số (PDF)",
)
audit_labels.LABELS.setdefault(f"dossier.{RESULT_SIGNED}", "Ký số kết quả giải quyết")


def may_sign_result(actor, dossier: Dossier) -> bool:
    """Whether `actor` may sign `dossier`'s result now (the page shows the form only then)."""
    if dossier.result_file_id is None or dossier.status not in SIGNABLE:
        return False
    return _allowed(actor, dossier)


def _allowed(actor, d: Dossier) -> bool:
    if not c.is_person(actor):
        return False
    if c.may_act_on_step(actor, d):
        return True
    return permissions.can(actor, APPROVE, d.handling_organisation) or (
        d.current_unit is not None and permissions.can(actor, APPROVE, d.current_unit)
    )


def _field_name(pdf: bytes) -> str:
    """KetQua, or KetQua2, KetQua3 ... when the result already carries signatures."""
    from pyhanko.sign import fields

    from chinhquyenso.signing import validation

    reader = validation.open_pdf(pdf)
    taken = {name for name, _value, _ref in fields.enumerate_sig_fields(reader)}
    name, n = "KetQua", 1
    while name in taken:
        n += 1
        name = f"KetQua{n}"
    return name


def signature_entry(dossier: Dossier) -> AuditEntry | None:
    """The audit entry of the signature of the dossier's current result file, if it was
    signed here."""
    if dossier.result_file_id is None:
        return None
    return (
        AuditEntry.objects.filter(
            action=f"dossier.{RESULT_SIGNED}",
            object_type=dossier._meta.label_lower,
            object_id=str(dossier.pk),
            data__file=dossier.result_file_id,
        )
        .order_by("-pk")
        .first()
    )


def _check(actor, d: Dossier) -> None:
    if not _allowed(actor, d):
        raise PermissionDenied(
            "Chỉ người đang xử lý bước hiện tại hoặc lãnh đạo có thẩm quyền phê duyệt "
            "mới được ký số kết quả.",
            code="permission_denied",
        )
    if d.status not in SIGNABLE:
        raise ValidationFailed(
            f"Không thể ký số kết quả khi hồ sơ đang ở trạng thái “{Status(d.status).label}”.",
            code="transition_not_allowed",
        )
    if d.result_file_id is None:
        raise ValidationFailed("Hồ sơ chưa có tệp kết quả để ký số.", code="result_missing")


def sign_result(*, actor, dossier: Dossier, key, expected_revision: int | None = None) -> Dossier:
    """Sign the result PDF with `key` (an opened `signing.keys.SigningKey`; the caller closes
    it) and make the signed PDF the dossier's result file (see the module docstring).

    The PDF is signed before the dossier is locked (a time-stamp authority may take seconds);
    the change itself is one transaction that re-checks, under the lock, that nobody changed
    the dossier or its result meanwhile (Conflict `dossier_changed`)."""
    from chinhquyenso.signing import certificates, seal
    from chinhquyenso.signing import services as signing

    d = Dossier.objects.select_related(
        "handling_organisation", "current_step__unit", "current_unit", "result_file"
    ).get(pk=dossier.pk)
    c.check_revision(d, expected_revision)
    _check(actor, d)
    # The signer's own certificate only (a colleague's PKCS#12 file signs in their name).
    certificates.require_signer_holds(actor, key.certificate)
    previous = d.result_file
    if previous.content_type != file_service.PDF:
        raise ValidationFailed("Chỉ ký số được tệp kết quả dạng PDF.", code="result_not_pdf")
    pdf = file_service.read_verified(actor=actor, stored_file=previous)
    level, options = seal.profile(
        location=d.handling_organisation.name, reason=f"Kết quả giải quyết hồ sơ {d.code}"
    )
    signed = signing.sign_pdf(
        actor=actor,
        pdf_bytes=pdf,
        key=key,
        field_name=_field_name(pdf),
        level=level,
        options=options,
        organisation=d.handling_organisation,
    )
    cert = key.certificate
    with transaction.atomic():
        d = c.lock(d, d.revision if expected_revision is None else expected_revision)
        _check(actor, d)
        if d.result_file_id != previous.pk:
            raise Conflict(
                "Tệp kết quả vừa được thay đổi. Vui lòng tải lại trang và ký lại.",
                code="dossier_changed",
            )
        base = (previous.original_name or f"ket-qua-{d.code}.pdf").rsplit(".", 1)[0]
        # Owned by the signer's organisation; whoever may see the dossier reads it as its result.
        stored = file_service.store_file(
            actor=actor,
            uploaded=signed,
            name=f"{base}-da-ky-so.pdf",
            purpose=SIGNED_RESULT_PURPOSE,
        )
        d.result_file = stored
        return c.save(
            d,
            actor=actor,
            action=RESULT_SIGNED,
            fields=["result_file"],
            at=c.now(),
            from_status=d.status,
            data={
                "file": stored.pk,
                "previous_file": previous.pk,
                "input_sha256": hashlib.sha256(pdf).hexdigest(),
                "sha256": stored.sha256,
                "level": level,
                "key_kind": key.kind,
                "signer_name": getattr(actor, "full_name", "") or str(actor),
                "certificate_subject": cert.subject.human_friendly,
                "certificate_serial": format(cert.serial_number, "x"),
                "certificate_issuer": cert.issuer.human_friendly,
            },
        )
