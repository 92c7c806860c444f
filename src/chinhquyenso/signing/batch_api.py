"""POST /api/v1/signatures/batch: bulk signing for a signed-in leader (signing/batch.py).

Mounted on the signing router (imported at the end of signing/api.py). A person signs, with
their own key opened once for the batch: API keys (systems) are refused, because a system
holding a leader's PIN is exactly what bulk signing must not become.
"""

from __future__ import annotations

import base64
import hashlib

from django.http import HttpRequest
from ninja import File, Form, Schema, UploadedFile

from chinhquyenso.apiauth import AUTH
from chinhquyenso.core.errors import PermissionDenied
from chinhquyenso.core.models import ApiKey
from chinhquyenso.signing import batch, services
from chinhquyenso.signing.api import ErrorOut, read_upload, router


class BatchDocumentOut(Schema):
    name: str
    ok: bool
    code: str = ""
    message: str = ""
    sha256: str = ""
    pdf_base64: str = ""


class BatchOut(Schema):
    signed: int
    failed: int
    documents: list[BatchDocumentOut]


@router.post(
    "/batch",
    auth=AUTH,
    response={200: BatchOut, 400: ErrorOut, 403: ErrorOut},
    summary="Ký số hàng loạt nhiều tệp PDF với một lần nhập mật khẩu/PIN",
)
def sign_batch(
    request: HttpRequest,
    files: File[list[UploadedFile]],
    key_kind: Form[str],
    level: Form[str] = "B-T",
    reason: Form[str] = "",
    p12_file: File[UploadedFile | None] = None,
    password: Form[str] = "",
    token_label: Form[str] = "",
    key_label: Form[str] = "",
    pin: Form[str] = "",
    remote_user: Form[str] = "",
):
    """Gửi nhiều tệp `files` (multipart) và khóa ký: `key_kind` = `pkcs12` (`p12_file`,
    `password`), `pkcs11` (`token_label`, `key_label`, `pin`) hoặc `remote` (`remote_user`,
    `pin`; người ký xác nhận trên điện thoại một lần cho cả lô). Mỗi tài liệu có kết quả riêng:
    tài liệu đã ký (`pdf_base64`) hoặc mã lỗi (`pdf_corrupted`, `field_already_signed`...).
    Lỗi chung: `wrong_password`, `wrong_pin`, `remote_not_confirmed`, `remote_refused`,
    `remote_unavailable`, `batch_too_large`; chứng thư của khóa phải được đăng ký cho chính
    người ký: `certificate_not_registered`, `certificate_deactivated` (400),
    `certificate_of_another_person` (403), khi đó không tài liệu nào được ký. Mật khẩu/PIN
    không được lưu.

    Chỉ lãnh đạo, trưởng/phó đơn vị (phiên đăng nhập); khóa API bị từ chối."""
    if isinstance(request.auth, ApiKey):
        raise PermissionDenied(
            "Ký số hàng loạt phải do chính người ký thực hiện (không dùng khóa API).",
            code="person_required",
        )
    batch.check_batch(actor=request.auth, count=len(files))
    items = [
        batch.BatchItem(name=f.name or "tai-lieu.pdf", pdf_bytes=read_upload(f)) for f in files
    ]
    with batch.open_key(
        kind=key_kind,
        count=len(items),
        p12_data=read_upload(p12_file) if p12_file else None,
        password=password,
        token_label=token_label,
        key_label=key_label,
        pin=pin,
        remote_user=remote_user,
        description=f"Ký {len(items)} tài liệu trên hệ thống Chính quyền số",
    ) as key:
        results = batch.sign_batch(
            actor=request.auth,
            items=items,
            key=key,
            level=level,
            options=services.SignOptions(reason=reason),
        )
    return {
        "signed": sum(r.ok for r in results),
        "failed": sum(not r.ok for r in results),
        "documents": [
            {
                "name": r.name,
                "ok": r.ok,
                "code": r.code,
                "message": r.message,
                "sha256": hashlib.sha256(r.signed).hexdigest() if r.ok else "",
                "pdf_base64": base64.b64encode(r.signed).decode() if r.ok else "",
            }
            for r in results
        ],
    }
