"""Use-cases of the signing module: sign a PDF, validate one, manage the trust store.

`sign_pdf` applies one PAdES signature (baseline B-B, B-T or B-LT) as an incremental update, so
earlier signatures stay valid. Everything that could make the result worthless is checked
before anything is signed: the PDF (readable, not encrypted, field not already signed), the
certificate (in its validity period, key usage allowing signatures, a chain to the trust store,
not revoked). The audit entry records who, the hashes, the certificate serial and when — never
a password, PIN or key.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from django.conf import settings
from django.db import transaction
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import SigningError
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import NotFound, ValidationFailed
from chinhquyenso.core.services import audit
from chinhquyenso.signing import revocation as revinfo
from chinhquyenso.signing import trust, validation
from chinhquyenso.signing.keys import SigningKey
from chinhquyenso.signing.models import TrustedCertificate, TrustKind

log = logging.getLogger(__name__)

LEVELS = ("B-B", "B-T", "B-LT")


class SigningFailed(ValidationFailed):
    code = "signing_failed"


@dataclass(frozen=True)
class RevocationData:
    """CRLs and OCSP responses (DER) known in advance, e.g. cached from the CA."""

    crls: tuple[bytes, ...] = ()
    ocsps: tuple[bytes, ...] = ()


@dataclass
class SignOptions:
    """What a caller may add for one signature. `timestamper`: the TSA (default: the one at
    settings.SIGNING_TSA_URL); `revocation`: revocation data to embed for B-LT (otherwise
    fetched when settings.SIGNING_FETCH_REVOCATION allows)."""

    timestamper: timestamps.TimeStamper | None = None
    revocation: RevocationData = field(default_factory=RevocationData)
    reason: str = ""
    location: str = ""
    # None: settings.SIGNING_FETCH_REVOCATION. False: use only `revocation` (offline signing).
    fetch_revocation: bool | None = None


def _default_timestamper() -> timestamps.TimeStamper | None:
    url = getattr(settings, "SIGNING_TSA_URL", "")
    return timestamps.HTTPTimeStamper(url) if url else None


def _check_pdf(pdf_bytes: bytes, field_name: str) -> None:
    reader = validation.open_pdf(pdf_bytes)
    try:
        existing = list(fields.enumerate_sig_fields(reader, filled_status=True))
    except Exception as exc:
        raise ValidationFailed(
            "Tệp PDF bị hỏng hoặc không đọc được.", code="pdf_corrupted"
        ) from exc
    for name, value, _ref in existing:
        if name == field_name and value is not None:
            raise ValidationFailed(
                f"Ô chữ ký '{field_name}' đã được ký.", code="field_already_signed"
            )


def _check_certificate(key: SigningKey, level: str, revocation: RevocationData, vc_fetch: bool):
    """Validity period, key usage, chain to the trust store and revocation — before signing."""
    cert = key.certificate
    now = datetime.now(UTC)
    if cert.not_valid_after < now:
        raise SigningFailed("Chứng thư số đã hết hạn.", code="certificate_expired")
    if cert.not_valid_before > now:
        raise SigningFailed("Chứng thư số chưa có hiệu lực.", code="certificate_not_yet_valid")
    usages = cert.key_usage_value.native if cert.key_usage_value is not None else None
    if usages is not None and not ({"digital_signature", "non_repudiation"} & set(usages)):
        raise SigningFailed(
            "Chứng thư số không được phép dùng để ký (mục đích sử dụng khóa).",
            code="certificate_key_usage",
        )
    trust_set = trust.current()
    vc = ValidationContext(
        trust_roots=list(trust_set.anchors),
        other_certs=list(trust_set.intermediates) + list(key.signer.cert_registry),
        crls=[asn1_crl.CertificateList.load(c) for c in revocation.crls],
        ocsps=[asn1_ocsp.OCSPResponse.load(o) for o in revocation.ocsps],
        allow_fetching=vc_fetch,
        # CRLs/OCSP responses named by the certificates, through the cache (revocation.py).
        fetcher_backend=revinfo.fetcher_backend() if vc_fetch else None,
        revocation_mode="hard-fail" if level == "B-LT" else "soft-fail",
    )
    validator = CertificateValidator(cert, validation_context=vc)
    try:
        revinfo.run(validator.async_validate_path, vc, fetching=vc_fetch)
    except cv_errors.RevokedError as exc:
        raise SigningFailed("Chứng thư số đã bị thu hồi.", code="certificate_revoked") from exc
    except cv_errors.InsufficientRevinfoError as exc:
        raise SigningFailed(
            "Không có thông tin thu hồi của chứng thư số để tạo chữ ký dài hạn (B-LT).",
            code="revocation_unavailable",
        ) from exc
    except cv_errors.PathBuildingError as exc:
        raise SigningFailed(
            "Chứng thư số không thuộc một chuỗi tin cậy (tổ chức cấp chưa có trong kho tin cậy).",
            code="certificate_untrusted",
        ) from exc
    except (cv_errors.PathValidationError, cv_errors.ValidationError) as exc:
        raise SigningFailed("Chứng thư số không hợp lệ để ký.", code="certificate_invalid") from exc
    return vc


def sign_pdf(
    *,
    actor,
    pdf_bytes: bytes,
    key: SigningKey,
    field_name: str,
    level: str = "B-T",
    stamp=None,
    options: SignOptions | None = None,
    organisation=None,
) -> bytes:
    """Sign `pdf_bytes` in field `field_name` and return the new PDF (the input plus one
    incremental update). `stamp` is a `stamps.StampSpec` for a visible Decree 30 stamp, or None
    for an invisible signature. Raises ValidationFailed/SigningFailed with a code; nothing is
    returned (nothing signed) on any error."""
    if actor is not None:
        permissions.require(actor, "signature.sign", organisation)
    if level not in LEVELS:
        raise ValidationFailed(f"Mức chữ ký không hỗ trợ: {level}.", code="invalid_level")
    options = options or SignOptions()
    _check_pdf(pdf_bytes, field_name)
    fetch = options.fetch_revocation
    if fetch is None:
        fetch = bool(getattr(settings, "SIGNING_FETCH_REVOCATION", False))
    vc = _check_certificate(key, level, options.revocation, fetch)

    timestamper = None
    if level in ("B-T", "B-LT"):
        timestamper = options.timestamper or _default_timestamper()
        if timestamper is None:
            raise ValidationFailed(
                "Chưa cấu hình đơn vị cấp dấu thời gian (TSA) cho chữ ký mức B-T/B-LT.",
                code="tsa_not_configured",
            )
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=options.reason or None,
        location=options.location or None,
        embed_validation_info=level == "B-LT",
        validation_context=vc if level == "B-LT" else None,
        signer_key_usage={"non_repudiation"}
        if "non_repudiation" in (key.certificate.key_usage_value.native or [])
        else {"digital_signature"},
    )
    stamp_style, field_spec = (None, None)
    if stamp is not None:
        from chinhquyenso.signing import stamps

        stamp_style, field_spec = stamps.style_and_field(stamp, field_name=field_name)
    pdf_signer = signers.PdfSigner(
        meta,
        key.signer,
        timestamper=timestamper,
        stamp_style=stamp_style,
        new_field_spec=field_spec,
    )
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes), strict=False)
        out = BytesIO()
        revinfo.run(lambda: pdf_signer.async_sign_pdf(writer, output=out), vc, fetching=fetch)
    except SigningError as exc:
        log.warning("signing failed: %s", type(exc).__name__)
        raise SigningFailed("Không ký được tài liệu.", code="signing_failed") from exc
    except Exception as exc:  # token errors, TSA unreachable ...: nothing signed
        log.warning("signing failed: %s", type(exc).__name__)
        code = "tsa_unavailable" if "timestamp" in type(exc).__name__.lower() else "signing_failed"
        raise SigningFailed("Không ký được tài liệu.", code=code) from exc
    signed = out.getvalue()

    cert = key.certificate
    with transaction.atomic():
        audit.record(
            action="signature.applied",
            actor=actor,
            object_type="signing.pdf",
            object_id=hashlib.sha256(signed).hexdigest(),
            organisation=organisation,
            data={
                "input_sha256": hashlib.sha256(pdf_bytes).hexdigest(),
                "output_sha256": hashlib.sha256(signed).hexdigest(),
                "field": field_name,
                "level": level,
                "key_kind": key.kind,
                "certificate_serial": format(cert.serial_number, "x"),
                "certificate_subject": cert.subject.human_friendly,
                "certificate_issuer": cert.issuer.human_friendly,
            },
        )
    return signed


def validate_document(*, actor, pdf_bytes: bytes, policy=None) -> dict:
    """The validation report for a person or a system (permission checked by the caller's
    entry point for API keys). Validation changes nothing, so it writes no audit entry."""
    if actor is not None:
        permissions.require(actor, "signature.validate")
    return validation.validate_pdf(pdf_bytes, policy=policy)


# --- Trust store ---------------------------------------------------------------------------


@transaction.atomic
def add_trusted_certificate(
    *, actor, data: bytes, kind: str = TrustKind.ANCHOR, note: str = ""
) -> list[TrustedCertificate]:
    """Add every certificate in `data` (PEM or DER) to the trust store; known ones are kept."""
    if actor is not None:
        permissions.require_installation_wide(actor, "trust.manage")
    if kind not in TrustKind.values:
        raise ValidationFailed("Loại chứng thư tin cậy không hợp lệ.", code="invalid_kind")
    rows = []
    for cert in trust.load_certificates(data):
        row, created = TrustedCertificate.objects.get_or_create(
            sha256=trust.fingerprint(cert),
            defaults={
                "kind": kind,
                "subject": cert.subject.human_friendly[:500],
                "issuer": cert.issuer.human_friendly[:500],
                "serial": format(cert.serial_number, "x"),
                "not_before": cert.not_valid_before,
                "not_after": cert.not_valid_after,
                "der": cert.dump(),
                "note": note[:255],
            },
        )
        if not created and not row.is_active:
            row.is_active = True
            row.save(update_fields=["is_active"])
        audit.record(
            action="trust.certificate_added",
            actor=actor,
            obj=row,
            data={"sha256": row.sha256, "subject": row.subject, "kind": row.kind},
        )
        rows.append(row)
    return rows


@transaction.atomic
def remove_trusted_certificate(*, actor, sha256: str) -> None:
    if actor is not None:
        permissions.require_installation_wide(actor, "trust.manage")
    row = TrustedCertificate.objects.select_for_update().filter(sha256=sha256).first()
    if row is None:
        raise NotFound("Không tìm thấy chứng thư trong kho tin cậy.", code="certificate_not_found")
    audit.record(
        action="trust.certificate_removed",
        actor=actor,
        obj=row,
        data={"sha256": row.sha256, "subject": row.subject, "kind": row.kind},
    )
    row.delete()


@transaction.atomic
def set_trusted_certificate_active(*, actor, sha256: str, active: bool) -> TrustedCertificate:
    """Switch a trust store row off (validation stops trusting it) or on again."""
    if actor is not None:
        permissions.require_installation_wide(actor, "trust.manage")
    row = TrustedCertificate.objects.select_for_update().filter(sha256=sha256).first()
    if row is None:
        raise NotFound("Không tìm thấy chứng thư trong kho tin cậy.", code="certificate_not_found")
    if row.is_active == active:
        return row
    row.is_active = active
    row.save(update_fields=["is_active"])
    audit.record(
        action="trust.certificate_enabled" if active else "trust.certificate_disabled",
        actor=actor,
        obj=row,
        data={"sha256": row.sha256, "subject": row.subject, "kind": row.kind},
    )
    return row
