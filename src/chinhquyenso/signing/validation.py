"""Validation of every signature in any PDF, with a verdict per ETSI EN 319 102-1.

`validate_pdf(data)` returns a plain dict (JSON-ready) with key `signatures`: one entry per
signature field, in signing order, each judged on its own revision (pyHanko's difference
analysis classifies what later revisions changed). Indications are the three of ETSI EN 319 102-1
§5.1.3: passed ("hợp lệ"), failed ("không hợp lệ"), indeterminate ("không xác định được"),
with a sub-indication code and a reason in plain Vietnamese.

Offline is the normal case in government networks (issue #4): revocation data that is neither
embedded nor fetchable makes that point indeterminate (TRY_LATER), never failed, unless the
policy asks for hard failure. A time-stamp whose authority is not trusted is reported as of
unknown trust without making the signature invalid (pki/README.md).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509
from django.conf import settings
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.signing import revocation as revinfo
from chinhquyenso.signing import trust

log = logging.getLogger(__name__)

VN = ZoneInfo("Asia/Ho_Chi_Minh")

PASSED, FAILED, INDETERMINATE = "passed", "failed", "indeterminate"
INDICATION_LABELS = {
    PASSED: "hợp lệ",
    FAILED: "không hợp lệ",
    INDETERMINATE: "không xác định được",
}
_RANK = {PASSED: 0, INDETERMINATE: 1, FAILED: 2}

# Signing-capable key usages: either is accepted (foreign CAs often set only one).
SIGNING_KEY_USAGE = KeyUsageConstraints(
    key_usage={"non_repudiation", "digital_signature"}, match_all_key_usages=False
)

_TRUST_REASONS = {
    "NO_CERTIFICATE_CHAIN_FOUND": (
        "Không dựng được chuỗi chứng thư tới một chứng thư gốc tin cậy "
        "(tổ chức cấp chứng thư chưa có trong kho tin cậy)."
    ),
    "EXPIRED": "Chứng thư số của người ký đã hết hạn.",
    "OUT_OF_BOUNDS_NO_POE": (
        "Chứng thư số đã hết hạn và không có bằng chứng (dấu thời gian) chữ ký được tạo trước đó."
    ),
    "OUT_OF_BOUNDS_NOT_REVOKED": "Chứng thư số đã hết hạn (chưa bị thu hồi).",
    "NOT_YET_VALID": "Chứng thư số chưa đến thời điểm có hiệu lực.",
    "REVOKED": "Chứng thư số của người ký đã bị thu hồi.",
    "REVOKED_NO_POE": "Chứng thư số đã bị thu hồi và không chứng minh được chữ ký có trước đó.",
    "REVOKED_CA_NO_POE": "Chứng thư của tổ chức cấp đã bị thu hồi.",
    "CHAIN_CONSTRAINTS_FAILURE": (
        "Chuỗi chứng thư không thỏa các ràng buộc (mục đích sử dụng khóa)."
    ),
    "SIG_CONSTRAINTS_FAILURE": "Chứng thư số không được phép dùng để ký (mục đích sử dụng khóa).",
    "CRYPTO_CONSTRAINTS_FAILURE": "Thuật toán mật mã đã yếu, không còn được chấp nhận.",
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "Thuật toán mật mã đã yếu, không còn được chấp nhận.",
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": (
        "Thông tin thu hồi không còn hiệu lực tại thời điểm kiểm tra."
    ),
    "TRY_LATER": "Chưa có thông tin thu hồi để kiểm tra; hãy kiểm tra lại khi có mạng.",
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": "Chuỗi chứng thư không hợp lệ.",
}

_MODIFICATION_LABELS = {
    ModificationLevel.NONE: "không có thay đổi",
    ModificationLevel.LTA_UPDATES: "chỉ bổ sung dữ liệu kiểm tra dài hạn (DSS, dấu thời gian)",
    ModificationLevel.FORM_FILLING: "chỉ bổ sung chữ ký hoặc điền trường biểu mẫu",
    ModificationLevel.ANNOTATIONS: "bổ sung chữ ký, trường biểu mẫu và ghi chú",
    ModificationLevel.OTHER: "có thay đổi nội dung",
}


@dataclass(frozen=True)
class Policy:
    """What validation may do. `hard_fail_revocation`: missing revocation data fails the
    signature instead of leaving it indeterminate. `allow_fetching`: fetch CRL/OCSP over the
    network from the URLs the certificates name (settings.SIGNING_FETCH_REVOCATION, off by
    default: offline is normal), each answer cached until its nextUpdate (revocation.py)."""

    hard_fail_revocation: bool = False
    allow_fetching: bool | None = None

    @property
    def fetching(self) -> bool:
        if self.allow_fetching is not None:
            return self.allow_fetching
        return bool(getattr(settings, "SIGNING_FETCH_REVOCATION", False))


def open_pdf(data: bytes) -> PdfFileReader:
    """A reader for `data`, or a Vietnamese error: not a PDF, corrupted, encrypted."""
    if not data or b"%PDF-" not in data[:1024]:
        raise ValidationFailed("Tệp không phải là tệp PDF.", code="pdf_not_pdf")
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        encrypted = reader.encrypted
        if not encrypted:
            reader.root  # noqa: B018 (forces the trailer and catalogue to parse)
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValidationFailed(
            "Tệp PDF bị hỏng hoặc không đọc được.", code="pdf_corrupted"
        ) from exc
    if encrypted:
        raise ValidationFailed(
            "Tệp PDF được mã hóa (có mật khẩu); hãy gỡ mã hóa rồi thử lại.", code="pdf_encrypted"
        )
    return reader


def _name_attr(name: x509.Name, attr: str) -> str:
    value = name.native.get(attr, "")
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return str(value)


def describe_certificate(cert: x509.Certificate) -> dict:
    return {
        "name": _name_attr(cert.subject, "common_name"),
        "organisation": _name_attr(cert.subject, "organization_name"),
        "subject": cert.subject.human_friendly,
        "issuer": cert.issuer.human_friendly,
        "serial": format(cert.serial_number, "x"),
        "not_before": _iso(cert.not_valid_before),
        "not_after": _iso(cert.not_valid_after),
        "sha256": trust.fingerprint(cert),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(VN).isoformat(timespec="seconds") if moment else None


def _dss_material(reader: PdfFileReader):
    """Certificates, CRLs and OCSP responses embedded in the document security store."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:  # no DSS (the usual case) or an unreadable one: nothing embedded
        return [], [], []
    certs = list(dss.load_certs())
    crls = [asn1_crl.CertificateList.load(r.get_object().data) for r in dss.crls]
    ocsps = [asn1_ocsp.OCSPResponse.load(r.get_object().data) for r in dss.ocsps]
    return certs, crls, ocsps


def _make_context(trust_set, certs, crls, ocsps, policy: Policy) -> ValidationContext:
    fetching = policy.fetching
    return ValidationContext(
        trust_roots=list(trust_set.anchors),
        other_certs=list(trust_set.intermediates) + list(certs),
        crls=crls,
        ocsps=ocsps,
        allow_fetching=fetching,
        # CRLs/OCSP responses fetched by URL go through the cache (signing/revocation.py).
        fetcher_backend=revinfo.fetcher_backend() if fetching else None,
        # Always soft-fail here: the hard-fail policy is applied in _verdict, on what is known
        # (a missing point then reads "no revocation data", not a chain failure).
        revocation_mode="soft-fail",
    )


def _revocation_points(cert: x509.Certificate) -> bool:
    """Whether the certificate names where to check its revocation (CRL or OCSP)."""
    return bool(cert.crl_distribution_points or cert.ocsp_urls)


def _revinfo_covers(cert: x509.Certificate, crls, ocsps) -> bool:
    for response in ocsps:
        try:
            basic = response["response_bytes"]["response"].parsed
            for single in basic["tbs_response_data"]["responses"]:
                if single["cert_id"]["serial_number"].native == cert.serial_number:
                    return True
        except (KeyError, ValueError, TypeError):
            continue
    return any(crl.issuer == cert.issuer for crl in crls)


def _revocation(
    status, vc: ValidationContext, embedded_crls, embedded_ocsps, *, fetching: bool
) -> dict:
    if status.revoked:
        details = status.revocation_details
        return {
            "status": "revoked",
            "label": "đã bị thu hồi",
            "revoked_at": _iso(details.revocation_date) if details else None,
        }
    path = list(status.validation_path) if status.validation_path is not None else []
    # Every certificate below the anchor needs its revocation checked.
    to_check = path[1:] if path else [status.signing_cert]
    needing = [c for c in to_check if _revocation_points(c)]
    if not needing:
        return {
            "status": "not_applicable",
            "label": "chứng thư không công bố nơi kiểm tra thu hồi",
        }
    all_crls, all_ocsps = list(vc.crls), list(vc.ocsps)
    if all(_revinfo_covers(c, all_crls, all_ocsps) for c in needing):
        embedded = all(_revinfo_covers(c, embedded_crls, embedded_ocsps) for c in needing)
        return {
            "status": "good",
            "label": "chưa bị thu hồi",
            "source": "embedded" if embedded else "fetched",
        }
    # Issue #4: say why — offline (fetching off) or the CA's service unreachable.
    return {
        "status": "unknown",
        "label": "không có thông tin thu hồi: không nhúng trong tệp, không tải được từ tổ chức "
        "cấp chứng thư"
        if fetching
        else "không có thông tin thu hồi: không nhúng trong tệp, hệ thống đang làm việc "
        "ngoại tuyến (không tải thông tin thu hồi)",
    }


def _timestamp(status) -> dict | None:
    ts = status.timestamp_validity
    if ts is None:
        return None
    trusted = bool(ts.intact and ts.valid and ts.trusted)
    return {
        "time": _iso(ts.timestamp),
        "authority": describe_certificate(ts.signing_cert),
        "intact": bool(ts.intact and ts.valid),
        "trusted": trusted,
        "label": (
            "dấu thời gian hợp lệ, đơn vị cấp dấu thời gian được tin cậy"
            if trusted
            else "dấu thời gian của đơn vị chưa được tin cậy"
            if ts.intact and ts.valid
            else "dấu thời gian bị hỏng"
        ),
    }


def _adds_dss(reader: PdfFileReader, revision: int) -> bool:
    try:
        now = reader.get_historical_root(revision).raw_get("/DSS")
    except (KeyError, PdfError, ValueError):
        return False
    try:
        before = reader.get_historical_root(revision - 1).raw_get("/DSS")
    except (KeyError, PdfError, ValueError):
        return True
    return now != before


def _later_revisions(reader, sig, all_sigs, total_revisions: int) -> list[dict]:
    by_revision = {s.signed_revision: s for s in all_sigs}
    later = []
    for revision in range(sig.signed_revision + 1, total_revisions):
        other = by_revision.get(revision)
        if other is not None:
            kind = other.sig_object.get("/Type")
            what = (
                "dấu thời gian tài liệu"
                if kind == "/DocTimeStamp"
                else f"chữ ký '{other.field_name}'"
            )
            later.append({"revision": revision + 1, "adds": what})
        elif _adds_dss(reader, revision):
            later.append({"revision": revision + 1, "adds": "dữ liệu kiểm tra dài hạn (DSS)"})
        else:
            later.append({"revision": revision + 1, "adds": "cập nhật khác"})
    return later


def _coverage(reader, sig, status, all_sigs, total_revisions: int) -> dict:
    coverage = status.coverage
    level = status.modification_level
    later = _later_revisions(reader, sig, all_sigs, total_revisions)
    result = {
        "signed_revision": sig.signed_revision + 1,
        "total_revisions": total_revisions,
        "later_revisions": later,
        "modification": level.name.lower() if level is not None else "unknown",
        "docmdp_ok": status.docmdp_ok,
    }
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        result.update(level_code="entire_file", label="chữ ký bao trùm toàn bộ tài liệu")
    elif coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        what = _MODIFICATION_LABELS.get(level, "thay đổi chưa phân loại được")
        result.update(
            level_code="entire_revision",
            label=f"chữ ký bao trùm bản sửa đổi {sig.signed_revision + 1}/{total_revisions}; "
            f"các bản sửa đổi sau: {what}",
        )
    else:
        result.update(
            level_code="partial", label="chữ ký không bao trùm trọn một bản sửa đổi của tài liệu"
        )
    if isinstance(status.diff_result, SuspiciousModification):
        result["changes"] = str(status.diff_result)
    return result


def _pades_level(sig, status, revocation: dict, has_doc_ts_after: bool) -> str:
    subfilter = sig.sig_object.get("/SubFilter")
    if subfilter != "/ETSI.CAdES.detached":
        base = "PKCS#7"
        return f"{base} ({str(subfilter).lstrip('/')}; không phải PAdES)"
    if status.timestamp_validity is None:
        return "B-B"
    if revocation.get("source") == "embedded":
        return "B-LTA" if has_doc_ts_after else "B-LT"
    return "B-T"


def _verdict(status, coverage: dict, revocation: dict, policy: Policy) -> dict:
    """The ETSI EN 319 102-1 indication, sub-indication and the reasons, worst first."""
    findings: list[tuple[str, str, str]] = []

    if not status.intact:
        findings.append(
            (FAILED, "HASH_FAILURE", "Nội dung đã ký bị thay đổi sau khi ký (mã băm không khớp).")
        )
    elif not status.valid:
        findings.append(
            (FAILED, "SIG_CRYPTO_FAILURE", "Giá trị chữ ký không khớp với chứng thư số.")
        )
    if coverage["level_code"] == "partial":
        findings.append(
            (FAILED, "FORMAT_FAILURE", "Chữ ký không bao trùm trọn một bản sửa đổi của tài liệu.")
        )
    if revocation["status"] == "revoked":
        findings.append((FAILED, "REVOKED", _TRUST_REASONS["REVOKED"]))
    if not status.trusted and not status.revoked:
        indic = status.trust_problem_indic
        code = indic.name if indic is not None else "CERTIFICATE_CHAIN_GENERAL_FAILURE"
        indication = FAILED if isinstance(indic, AdESFailure) else INDETERMINATE
        if not isinstance(indic, AdESFailure | AdESIndeterminate):
            indication = INDETERMINATE
        reason = _TRUST_REASONS.get(code, "Không xác nhận được chuỗi chứng thư của người ký.")
        if code == "TRY_LATER" and policy.hard_fail_revocation:
            indication = FAILED
        findings.append((indication, code, reason))
    level = status.modification_level
    if coverage["level_code"] == "entire_revision" and status.intact:
        if level == ModificationLevel.OTHER or isinstance(
            status.diff_result, SuspiciousModification
        ):
            changes = coverage.get("changes") or "thay đổi nội dung"
            findings.append(
                (
                    INDETERMINATE,
                    "GENERIC",
                    "Sau khi ký, tài liệu có bản sửa đổi thay đổi nội dung mà không phân loại "
                    f"được là được phép ({changes}).",
                )
            )
        elif status.docmdp_ok is False:
            findings.append(
                (
                    FAILED,
                    "FORMAT_FAILURE",
                    "Các bản sửa đổi sau khi ký vượt quá quyền sửa đổi (DocMDP) "
                    "mà chữ ký cho phép.",
                )
            )
    if revocation["status"] == "unknown" and status.trusted:
        if policy.hard_fail_revocation:
            findings.append(
                (
                    FAILED,
                    "REVOKED_NO_POE",
                    "Không có thông tin thu hồi để kiểm tra, trong khi chính sách kiểm tra "
                    "bắt buộc phải có (không nhúng trong tệp, không tải được).",
                )
            )
        else:
            findings.append((INDETERMINATE, "TRY_LATER", _TRUST_REASONS["TRY_LATER"]))

    if not findings:
        return {
            "indication": PASSED,
            "label": INDICATION_LABELS[PASSED],
            "subindication": None,
            "reason": "Chữ ký hợp lệ: nội dung không bị thay đổi, chứng thư số được tin cậy "
            "và chưa bị thu hồi.",
            "reasons": [],
        }
    findings.sort(key=lambda f: -_RANK[f[0]])
    indication, code, reason = findings[0]
    return {
        "indication": indication,
        "label": INDICATION_LABELS[indication],
        "subindication": code,
        "reason": reason,
        "reasons": [f[2] for f in findings],
    }


def _broken_entry(sig, exc: Exception) -> dict:
    log.info("signature %s could not be validated: %s", sig.field_name, type(exc).__name__)
    return {
        "field": sig.field_name,
        "signer": None,
        "verdict": {
            "indication": FAILED,
            "label": INDICATION_LABELS[FAILED],
            "subindication": "FORMAT_FAILURE",
            "reason": "Chữ ký bị hỏng, không đọc được cấu trúc chữ ký.",
            "reasons": [],
        },
    }


def validate_pdf(
    data: bytes,
    *,
    policy: Policy | None = None,
    extra_anchors=(),
) -> dict:
    """The validation report of every signature in `data` (see the module docstring).

    Raises ValidationFailed (codes pdf_not_pdf, pdf_corrupted, pdf_encrypted) for input that is
    not a readable PDF. Never raises for a bad signature: that is a verdict.
    """
    policy = policy or Policy()
    reader = open_pdf(data)
    try:
        all_sigs = list(reader.embedded_signatures)
        total_revisions = reader.xrefs.total_revisions
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed(
            "Tệp PDF bị hỏng hoặc không đọc được.", code="pdf_corrupted"
        ) from exc
    trust_set = trust.current(extra_anchors=extra_anchors)
    certs, crls, ocsps = _dss_material(reader)
    doc_ts_revisions = [
        s.signed_revision for s in all_sigs if s.sig_object.get("/Type") == "/DocTimeStamp"
    ]

    entries = []
    for sig in all_sigs:
        if sig.sig_object.get("/Type") == "/DocTimeStamp":
            continue
        vc = _make_context(trust_set, certs, crls, ocsps, policy)
        try:
            status = revinfo.run(
                lambda sig=sig, vc=vc: async_validate_pdf_signature(
                    sig,
                    signer_validation_context=vc,
                    ts_validation_context=vc,
                    key_usage_settings=SIGNING_KEY_USAGE,
                ),
                vc,
                fetching=policy.fetching,
            )
        except Exception as exc:  # a malformed signature is a verdict, not a crash
            entries.append(_broken_entry(sig, exc))
            continue
        revocation = _revocation(status, vc, crls, ocsps, fetching=policy.fetching)
        coverage = _coverage(reader, sig, status, all_sigs, total_revisions)
        chain = (
            [describe_certificate(c) for c in reversed(list(status.validation_path))]
            if status.validation_path is not None
            else [describe_certificate(status.signing_cert)]
        )
        entries.append(
            {
                "field": sig.field_name,
                "signer": describe_certificate(status.signing_cert),
                "chain": chain,
                "trust": {
                    "trusted": bool(status.trusted),
                    "anchor": chain[-1]["subject"] if status.validation_path else None,
                    "label": "chuỗi chứng thư được tin cậy"
                    if status.trusted
                    else "chuỗi chứng thư chưa được tin cậy",
                },
                "signing_time": _iso(status.signer_reported_dt),
                "timestamp": _timestamp(status),
                "integrity": {
                    "intact": bool(status.intact),
                    "valid": bool(status.valid),
                    "label": "nội dung đã ký còn nguyên vẹn"
                    if status.intact and status.valid
                    else "nội dung đã ký bị thay đổi hoặc chữ ký sai",
                },
                "coverage": coverage,
                "revocation": revocation,
                "pades_level": _pades_level(
                    sig,
                    status,
                    revocation,
                    any(r > sig.signed_revision for r in doc_ts_revisions),
                ),
                "verdict": _verdict(status, coverage, revocation, policy),
            }
        )

    worst = max((e["verdict"]["indication"] for e in entries), key=_RANK.get, default=None)
    return {
        "document_sha256": hashlib.sha256(data).hexdigest(),
        "revisions": total_revisions,
        "signature_count": len(entries),
        "indication": worst,
        "label": INDICATION_LABELS.get(worst, "tài liệu không có chữ ký số"),
        "signatures": entries,
    }


def exit_code(report: dict) -> int:
    """0 every signature passed, 1 any failed, 2 none failed but some indeterminate (and a
    document without signatures, which proves nothing)."""
    indications = {e["verdict"]["indication"] for e in report["signatures"]}
    if FAILED in indications:
        return 1
    if INDETERMINATE in indications or not indications:
        return 2
    return 0
