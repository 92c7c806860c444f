"""Stored files: upload, metadata, verified content (issue #2, point 9)."""

from __future__ import annotations

from datetime import datetime

from django.http import FileResponse, HttpRequest
from ninja import File, Form, Router, Schema, Status, UploadedFile

from chinhquyenso.apiauth import AUTH, require
from chinhquyenso.core.errors import NotFound
from chinhquyenso.core.models import ApiKey, Organisation
from chinhquyenso.core.services import files

router = Router(tags=["files"])


class StoredFileOut(Schema):
    id: int
    sha256: str
    size: int
    content_type: str
    original_name: str


class StoredFileDetail(StoredFileOut):
    organisation_id: int | None
    created_at: datetime
    integrity_failed: bool

    @staticmethod
    def resolve_integrity_failed(obj) -> bool:
        return obj.integrity_failed_at is not None


class ErrorOut(Schema):
    code: str
    message: str
    details: object | None = None


def _organisation(organisation_id: int | None) -> Organisation | None:
    if organisation_id is None:
        return None
    org = Organisation.objects.filter(pk=organisation_id, is_active=True).first()
    if org is None:
        raise NotFound("Không tìm thấy cơ quan, đơn vị.", code="organisation_not_found")
    return org


@router.post(
    "",
    response={201: StoredFileOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    auth=AUTH,
    summary="Tải một tệp lên (lưu một lần theo SHA-256)",
)
def upload(
    request: HttpRequest,
    file: File[UploadedFile],
    purpose: Form[str] = "attachment",
    organisation_id: Form[int | None] = None,
):
    """Kiểu tệp được nhận diện từ nội dung, không theo tên hay Content-Type của máy khách.

    Khóa API cần phạm vi `files:write`."""
    organisation = _organisation(organisation_id)
    if isinstance(request.auth, ApiKey):
        require(request, "file.upload", organisation, scope="files:write")
    # The service checks the person's permission (officials, or an applicant's own file).
    stored = files.store_file(
        actor=request.auth, uploaded=file, purpose=purpose, organisation=organisation
    )
    return Status(201, stored)


@router.get(
    "/{file_id}",
    response={200: StoredFileDetail, 404: ErrorOut},
    auth=AUTH,
    summary="Thông tin một tệp",
)
def detail(request: HttpRequest, file_id: int):
    """Khóa API cần phạm vi `files:read`."""
    return files.get_file_for(actor=request.auth, file_id=file_id)


@router.get(
    "/{file_id}/content",
    response={404: ErrorOut, 409: ErrorOut},
    auth=AUTH,
    summary="Nội dung tệp (đã kiểm tra toàn vẹn)",
)
def content(request: HttpRequest, file_id: int):
    """Trả về nội dung sau khi băm lại SHA-256; tệp bị thay đổi trả lỗi 409
    `file_integrity_failed` và không bao giờ được cung cấp."""
    stored = files.get_file_for(actor=request.auth, file_id=file_id)
    return file_response(files.open_verified(actor=request.auth, stored_file=stored), stored)


def file_response(fileobj, stored) -> FileResponse:
    """Stream verified bytes as a download; the browser must not render or sniff them."""
    response = FileResponse(
        fileobj,
        as_attachment=True,
        filename=stored.original_name,
        content_type=stored.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    response["ETag"] = f'"{stored.sha256}"'
    return response
