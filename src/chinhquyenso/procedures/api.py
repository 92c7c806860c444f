"""Catalogue of administrative procedures (thủ tục hành chính) and their internal processes.

Reads of the catalogue (list, detail) are public: citizens look procedures up. Versions,
processes and the export are for officials (session) or systems (API key with
`procedures:read`); the import is for the catalogue's administrators (or a key of a top-level
organisation with `procedures:write`).
"""

from __future__ import annotations

import json
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router, Schema

from chinhquyenso.apiauth import AUTH, require
from chinhquyenso.core.errors import NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import ApiKey, Organisation
from chinhquyenso.procedures import queries, services
from chinhquyenso.procedures.models import (
    ImplementingLevel,
    Procedure,
    ProcedureVersion,
    TimeUnit,
)
from chinhquyenso.procedures.services.records import time_number

router = Router(tags=["procedures"])

READ_SCOPE = "procedures:read"
WRITE_SCOPE = "procedures:write"
MAX_LIMIT = 200
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class ErrorOut(Schema):
    code: str
    message: str
    details: object | None = None


class FeeOut(Schema):
    label: str
    amount_vnd: int | None
    note: str


class DocumentOut(Schema):
    name: str
    copy_type: str
    quantity: int
    state_holds_data: bool
    required: bool


class LegalBasisOut(Schema):
    number: str
    title: str


class FormOut(Schema):
    name: str
    url: str


class ChannelOut(Schema):
    code: str
    label: str
    time_text: str
    fee_text: str
    note: str


class ProcedureSummary(Schema):
    code: str
    name: str
    field: str
    level: str
    level_label: str
    processing_time: int | float | None
    processing_unit: str
    processing_unit_label: str
    processing_time_text: str
    online_service: str
    online_service_label: str
    online_service_old_level: str
    location_independent: bool
    is_active: bool
    version: int


class ProcedureDetail(ProcedureSummary):
    level_text: str
    result_type: str
    decision: str
    fees: list[FeeOut]
    documents: list[DocumentOut]
    legal_basis: list[LegalBasisOut]
    forms: list[FormOut]
    channels: list[ChannelOut]
    source: dict
    version_created_at: datetime


class ProcedurePage(Schema):
    count: int
    items: list[ProcedureSummary]


class VersionOut(Schema):
    number: int
    name: str
    processing_time: int | float | None
    processing_unit: str
    created_at: datetime
    created_by: str | None
    change_note: str
    is_current: bool


class RecordErrorOut(Schema):
    index: int
    code: str
    message: str
    error_code: str
    details: object | None = None


class ImportReportOut(Schema):
    source: str
    total: int
    created: list[str]
    new_versions: list[str]
    updated: list[str]
    unchanged: list[str]
    errors: list[RecordErrorOut]
    warnings: list[str]
    ok: bool


class StepOut(Schema):
    order: int
    name: str
    kind: str
    kind_label: str
    unit_id: int
    unit: str
    role: str
    allotment_minutes: int
    transfer_to_id: int | None
    next_orders: list[int]


class ProcessOut(Schema):
    procedure: str
    organisation_id: int
    organisation: str
    number: int
    created_at: datetime
    total_minutes: int
    legal_minutes: int | None
    steps: list[StepOut]


def _summary(procedure: Procedure, version: ProcedureVersion | None = None) -> dict:
    version = version or procedure.current_version
    return {
        "code": procedure.national_code,
        "name": version.name,
        "field": procedure.field.name,
        "level": procedure.level,
        "level_label": str(ImplementingLevel(procedure.level).label),
        "processing_time": time_number(version.processing_time),
        "processing_unit": version.processing_unit,
        "processing_unit_label": str(TimeUnit(version.processing_unit).label),
        "processing_time_text": version.processing_time_text,
        "online_service": version.online_service,
        "online_service_label": version.online_service_label,
        "online_service_old_level": version.online_service_old_level,
        "location_independent": procedure.location_independent,
        "is_active": procedure.is_active,
        "version": version.number,
    }


def _detail(procedure: Procedure, version: ProcedureVersion | None = None) -> dict:
    version = version or procedure.current_version
    return {
        **_summary(procedure, version),
        "level_text": procedure.level_text,
        "result_type": version.result_type,
        "decision": version.decision,
        "fees": version.fees,
        "documents": version.documents,
        "legal_basis": version.legal_basis,
        "forms": version.forms,
        "channels": version.channels,
        "source": version.source,
        "version_created_at": version.created_at,
    }


def _require_reader(request) -> None:
    """An official allowed `procedure.view`, or a key with `procedures:read`."""
    require(request, "procedure.view", scope=READ_SCOPE)


# --- Public catalogue ----------------------------------------------------------------------------


@router.get(
    "",
    response=ProcedurePage,
    auth=None,
    summary="Danh mục thủ tục hành chính (công khai)",
)
def list_procedures(
    request: HttpRequest,
    q: str = "",
    field: str = "",
    level: str = "",
    offset: int = 0,
    limit: int = 50,
):
    """Tìm theo mã hoặc tên (không phân biệt dấu), lọc theo lĩnh vực (mã số hoặc tên) và cấp
    thực hiện (`commune`, `province`...)."""
    if level and level not in ImplementingLevel.values:
        raise ValidationFailed("Cấp thực hiện không hợp lệ.", code="invalid_level")
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    qs = queries.catalogue(q=q, field=field or None, level=level or None)
    return {
        "count": qs.count(),
        "items": [_summary(p) for p in qs[offset : offset + limit]],
    }


def _write_actor(request) -> tuple[object | None, bool, str]:
    """(actor, system, who) of an import: the signed-in administrator, or a key of a top-level
    organisation with `procedures:write` (run as the system, the key named in the source)."""
    principal = request.auth
    if isinstance(principal, ApiKey):
        require(request, "procedure.manage", scope=WRITE_SCOPE)
        if principal.organisation.parent_id is not None:
            raise PermissionDenied(
                "Chỉ khóa API của cơ quan cấp tỉnh được nhập danh mục thủ tục.",
                code="catalogue_manager_required",
            )
        return None, True, f"khóa API {principal.prefix} ({principal.name})"
    if not services.can_manage_catalogue(principal):
        raise PermissionDenied(
            "Chỉ quản trị hệ thống cấp tỉnh được thay đổi danh mục thủ tục hành chính.",
            code="catalogue_manager_required",
        )
    return principal, False, principal.get_username()


def _export_actor(request) -> tuple[object | None, bool]:
    _require_reader(request)
    if isinstance(request.auth, ApiKey):
        return None, True
    return request.auth, False


def _filename(ext: str) -> str:
    return f"danh-muc-thu-tuc-{timezone.localdate():%Y%m%d}.{ext}"


@router.get(
    "/export.json",
    auth=AUTH,
    response={200: list[dict], 403: ErrorOut},
    summary="Xuất danh mục (JSON, nhập lại được)",
)
def export_json(request: HttpRequest):
    actor, system = _export_actor(request)
    records = services.export_catalogue(actor=actor, system=system)
    body = json.dumps(records, ensure_ascii=False, indent=1, default=str)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename("json")}"'
    return response


@router.get(
    "/export.xlsx",
    auth=AUTH,
    response={200: None, 403: ErrorOut},
    summary="Xuất danh mục (Excel, nhập lại được)",
)
def export_xlsx(request: HttpRequest):
    actor, system = _export_actor(request)
    data = services.export_workbook(actor=actor, system=system)
    response = HttpResponse(data, content_type=services.excel.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_filename("xlsx")}"'
    return response


def _payload(request) -> tuple[str, object]:
    """("json", records) or ("xlsx", bytes) from an uploaded `file` or a JSON body."""
    upload = request.FILES.get("file") if request.FILES else None
    if upload is not None:
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationFailed("Tệp quá lớn (tối đa 20 MB).", code="too_large")
        data = upload.read()
        name = upload.name or "tệp tải lên"
    else:
        data = request.body
        name = "nội dung yêu cầu"
    if services.excel.is_xlsx(data):
        return name, data
    try:
        payload = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed(
            "Dữ liệu không phải JSON hoặc Excel (.xlsx) hợp lệ.", code="invalid_payload"
        ) from None
    if isinstance(payload, dict) and isinstance(payload.get("records"), list):
        name = str(payload.get("source") or name)
        payload = payload["records"]
    if not isinstance(payload, list):
        raise ValidationFailed(
            'Dữ liệu nhập phải là một danh sách thủ tục (hoặc {"records": [...]}).',
            code="invalid_payload",
        )
    return name, payload


@router.post(
    "/import",
    auth=AUTH,
    response={200: ImportReportOut, 400: ErrorOut, 403: ErrorOut},
    summary="Nhập danh mục (JSON hoặc Excel; định dạng Cổng DVCQG hoặc định dạng xuất)",
)
def import_procedures(request: HttpRequest):
    """Thân yêu cầu là JSON (danh sách, hoặc `{"records": [...], "source": "..."}`), hoặc tệp
    `file` (multipart) JSON/Excel. Mỗi bản ghi được nhập riêng; lỗi của từng bản ghi nằm trong
    báo cáo, các bản ghi khác vẫn được nhập."""
    actor, system, who = _write_actor(request)
    name, payload = _payload(request)
    source = f"API: {name} ({who})"[:300]
    if isinstance(payload, bytes):
        report = services.import_workbook(actor=actor, data=payload, source=source, system=system)
    else:
        report = services.import_catalogue(
            actor=actor, records=payload, source=source, system=system
        )
    return report.as_dict()


# --- One procedure -------------------------------------------------------------------------------


@router.get(
    "/{code}",
    response={200: ProcedureDetail, 404: ErrorOut},
    auth=None,
    summary="Một thủ tục: nội dung phiên bản hiện hành (công khai)",
)
def get_procedure(request: HttpRequest, code: str):
    return _detail(queries.get_procedure(code))


@router.get(
    "/{code}/versions",
    response={200: list[VersionOut], 403: ErrorOut, 404: ErrorOut},
    auth=AUTH,
    summary="Các phiên bản của một thủ tục",
)
def list_versions(request: HttpRequest, code: str):
    _require_reader(request)
    procedure = queries.get_procedure(code)
    return [
        {
            "number": v.number,
            "name": v.name,
            "processing_time": time_number(v.processing_time),
            "processing_unit": v.processing_unit,
            "created_at": v.created_at,
            "created_by": v.created_by.get_username() if v.created_by_id else None,
            "change_note": v.change_note,
            "is_current": v.pk == procedure.current_version_id,
        }
        for v in queries.versions_of(procedure)
    ]


@router.get(
    "/{code}/versions/{number}",
    response={200: ProcedureDetail, 403: ErrorOut, 404: ErrorOut},
    auth=AUTH,
    summary="Nội dung một phiên bản (hồ sơ giữ phiên bản lúc tiếp nhận)",
)
def get_version(request: HttpRequest, code: str, number: int):
    _require_reader(request)
    procedure = queries.get_procedure(code)
    return _detail(procedure, queries.get_version(procedure, number))


@router.get(
    "/{code}/processes/{organisation_id}",
    response={200: ProcessOut, 403: ErrorOut, 404: ErrorOut},
    auth=AUTH,
    summary="Quy trình nội bộ hiện hành của một cơ quan",
)
def get_process(request: HttpRequest, code: str, organisation_id: int):
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        raise NotFound("Không tìm thấy cơ quan, đơn vị.", code="organisation_not_found")
    if isinstance(request.auth, ApiKey):
        require(request, "procedure.view", organisation, scope=READ_SCOPE)
    elif not queries.can_view_process(request.auth, organisation):
        raise NotFound("Không tìm thấy cơ quan, đơn vị.", code="organisation_not_found")
    procedure = queries.get_procedure(code)
    process = queries.current_process(procedure, organisation)
    if process is None:
        raise NotFound(
            "Cơ quan chưa có quy trình nội bộ cho thủ tục này.", code="process_not_found"
        )
    steps = list(process.steps.all())
    return {
        "procedure": procedure.national_code,
        "organisation_id": organisation.pk,
        "organisation": organisation.name,
        "number": process.number,
        "created_at": process.created_at,
        "total_minutes": sum(s.allotment_minutes for s in steps),
        "legal_minutes": services.legal_time(procedure.current_version).minutes,
        "steps": [
            {
                "order": s.order,
                "name": s.name,
                "kind": s.kind,
                "kind_label": s.get_kind_display(),
                "unit_id": s.unit_id,
                "unit": s.unit.name,
                "role": s.role,
                "allotment_minutes": s.allotment_minutes,
                "transfer_to_id": s.transfer_to_id,
                "next_orders": queries.next_orders(s, step_count=len(steps)),
            }
            for s in steps
        ],
    }
