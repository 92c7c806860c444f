"""Digital signatures API: validate any signed PDF (multipart upload → JSON report).

Officials (session) or systems (API key with scope `signatures:validate`). The report is the
dict of `validation.validate_pdf`; its shape is documented there and in the OpenAPI schema as a
free-form object under `signatures`.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import File, Form, Router, Schema, Status, UploadedFile

from chinhquyenso.apiauth import AUTH, require
from chinhquyenso.core import permissions
from chinhquyenso.core.errors import NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import ApiKey, Organisation, User
from chinhquyenso.core.services import apikeys as _apikeys
from chinhquyenso.signing import certificates, expiry, validation
from chinhquyenso.signing.models import Certificate

router = Router(tags=["signatures"])

VALIDATE_SCOPE = "signatures:validate"
MAX_PDF_BYTES = 50 * 1024 * 1024


class ErrorOut(Schema):
    code: str
    message: str
    details: object | None = None


class ReportOut(Schema):
    document_sha256: str
    revisions: int
    signature_count: int
    indication: str | None
    label: str
    signatures: list[dict]


def read_upload(file) -> bytes:
    if file.size is not None and file.size > MAX_PDF_BYTES:
        raise ValidationFailed("Tệp PDF quá lớn (tối đa 50 MB).", code="file_too_large")
    return file.read()


@router.post(
    "/validate",
    auth=AUTH,
    response={200: ReportOut, 400: ErrorOut, 403: ErrorOut},
    summary="Kiểm tra mọi chữ ký số trong một tệp PDF",
)
def validate(request: HttpRequest, file: File[UploadedFile]):
    """Gửi tệp `file` (multipart). Mỗi chữ ký có kết luận theo ETSI EN 319 102-1: `passed`
    (hợp lệ), `failed` (không hợp lệ), `indeterminate` (không xác định được) và lý do.

    Khóa API cần phạm vi `signatures:validate`."""
    require(request, "signature.validate", scope=VALIDATE_SCOPE)
    return validation.validate_pdf(read_upload(file))


# --- Registered signing certificates (issue #4, "Certificates and trust") ----------------------

CERTIFICATES_READ = "certificates:read"
CERTIFICATES_WRITE = "certificates:write"
_apikeys.KNOWN_SCOPES.setdefault(CERTIFICATES_READ, "Đọc chứng thư số đã đăng ký")
_apikeys.KNOWN_SCOPES.setdefault(CERTIFICATES_WRITE, "Đăng ký chứng thư số")


class CertificateOut(Schema):
    id: int
    purpose: str
    holder_user_id: int | None
    holder_name: str
    organisation_id: int
    subject: str
    issuer: str
    serial: str
    sha256: str
    not_before: datetime
    not_after: datetime
    key_usage: list[str]
    source_format: str
    key_storage: str
    token_label: str
    key_label: str
    is_active: bool
    status: str
    registered_at: datetime


def _certificate_out(row) -> dict:
    return {
        "id": row.pk,
        "purpose": row.purpose,
        "holder_user_id": row.user_id,
        "holder_name": row.holder_name,
        "organisation_id": row.organisation_id,
        "subject": row.subject,
        "issuer": row.issuer,
        "serial": row.serial,
        "sha256": row.sha256,
        "not_before": row.not_before,
        "not_after": row.not_after,
        "key_usage": row.key_usage,
        "source_format": row.source_format,
        "key_storage": row.key_storage,
        "token_label": row.token_label,
        "key_label": row.key_label,
        "is_active": row.is_active,
        "status": expiry.status_of(row).code,
        "registered_at": row.registered_at,
    }


@router.get(
    "/certificates",
    auth=AUTH,
    response={200: list[CertificateOut], 403: ErrorOut},
    summary="Chứng thư số đã đăng ký mà người gọi được xem",
)
def list_certificates(request: HttpRequest, active: bool | None = None):
    """Cán bộ: chứng thư của mình và của các cơ quan mình quản trị. Khóa API (phạm vi
    `certificates:read`): chứng thư của cơ quan của khóa và các đơn vị trực thuộc. Trạng thái
    `status`: `valid`, `expiring` (còn dưới 30 ngày), `expired`, `not_yet_valid`, `inactive`."""
    auth = request.auth
    if isinstance(auth, ApiKey):
        require(request, "certificate.manage", scope=CERTIFICATES_READ)
        rows = Certificate.objects.select_related("user", "organisation").filter(
            organisation__path__startswith=auth.organisation.path
        )
    else:
        if not (
            permissions.can(auth, "certificate.register_own")
            or permissions.can(auth, "certificate.manage")
        ):
            raise PermissionDenied("Bạn không có quyền xem chứng thư số.")
        rows = certificates.certificates_visible_to(auth)
    if active is not None:
        rows = rows.filter(is_active=active)
    return [_certificate_out(row) for row in rows.order_by("-registered_at", "-pk")[:500]]


@router.post(
    "/certificates",
    auth=AUTH,
    response={201: CertificateOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Đăng ký một chứng thư số (PEM, DER hoặc PKCS#12)",
)
def register_certificate(
    request: HttpRequest,
    file: File[UploadedFile],
    password: Form[str] = "",
    purpose: Form[str] = "personal",
    holder_user_id: Form[int | None] = None,
    organisation_id: Form[int | None] = None,
    key_storage: Form[str] = "",
    token_label: Form[str] = "",
    key_label: Form[str] = "",
):
    """Gửi tệp `file` (multipart). `password` chỉ dùng một lần để đọc tệp PKCS#12, không được
    lưu. `purpose`: `personal` (mặc định: của chính người gọi, hoặc `holder_user_id` khi quản
    trị viên đăng ký cho cán bộ) hoặc `organisation` (con dấu của `organisation_id`).
    Lỗi: `certificate_unreadable`, `wrong_password`, `certificate_expired`,
    `certificate_key_usage`, `certificate_already_registered`.

    Khóa API cần phạm vi `certificates:write`."""
    # Like @sensitive_post_parameters: error reports never show the PKCS#12 password.
    request.sensitive_post_parameters = ["password"]
    auth = request.auth
    if isinstance(auth, ApiKey):
        require(request, "certificate.manage", scope=CERTIFICATES_WRITE)
    holder = None
    if holder_user_id is not None:
        holder = User.objects.filter(pk=holder_user_id).first()
        if holder is None:
            raise NotFound("Không tìm thấy cán bộ.", code="holder_not_found")
    organisation = None
    if organisation_id is not None:
        organisation = Organisation.objects.filter(pk=organisation_id).first()
        if organisation is None:
            raise NotFound("Không tìm thấy cơ quan, đơn vị.", code="organisation_not_found")
    if file.size is not None and file.size > certificates.MAX_CERTIFICATE_BYTES:
        raise ValidationFailed("Tệp chứng thư quá lớn (tối đa 1 MB).", code="file_too_large")
    row = certificates.register_certificate(
        actor=auth,
        data=file.read(),
        password=password or None,
        purpose=purpose,
        holder_user=holder,
        organisation=organisation,
        key_storage=key_storage,
        token_label=token_label,
        key_label=key_label,
    )
    return Status(201, _certificate_out(row))


from chinhquyenso.signing import batch_api  # noqa: E402, F401 (registers POST /batch on `router`)
