"""Digital signatures API: validate any signed PDF (multipart upload → JSON report).

Officials (session) or systems (API key with scope `signatures:validate`). The report is the
dict of `validation.validate_pdf`; its shape is documented there and in the OpenAPI schema as a
free-form object under `signatures`.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import File, Router, Schema, UploadedFile

from chinhquyenso.apiauth import AUTH, require
from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.signing import validation

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
