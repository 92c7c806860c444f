"""Public API (no sign-in): dossier status lookup by code. Thin: rate limit -> public.lookup."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from chinhquyenso.dossiers import public

router = Router(tags=["public"])
JSON = "application/json; charset=utf-8"


class PublicErrorOut(Schema):
    code: str
    message: str
    details: dict | list | None = None


class ProcedureRef(Schema):
    code: str
    name: str


class OrganisationRef(Schema):
    name: str


class StatusRef(Schema):
    code: int
    name: str


class TimelinessRef(Schema):
    code: str
    name: str
    final: bool


class PublicDossierOut(Schema):
    code: str
    procedure: ProcedureRef
    receiving_organisation: OrganisationRef
    status: StatusRef
    received_at: str | None
    due_at: str | None
    returned_at: str | None
    timeliness: TimelinessRef | None
    current_step: str | None
    applicant_name_masked: str


@router.get(
    "/dossiers/{code}",
    response={200: PublicDossierOut, 404: PublicErrorOut, 429: PublicErrorOut},
    auth=None,
    summary="Tra cứu tình trạng hồ sơ theo mã (không cần đăng nhập)",
    description=(
        "Trả về thủ tục, cơ quan tiếp nhận, trạng thái (mã 1–10 và tên), thời điểm tiếp nhận, "
        "hẹn trả, trả kết quả (ISO 8601, +07:00), tiến độ, bước đang xử lý và tên người nộp đã "
        "che. Mã không tồn tại hoặc sai định dạng: 404 `dossier_not_found`. Giới hạn số lần "
        "tra cứu mỗi phút theo địa chỉ IP: 429 `rate_limited` kèm `Retry-After`."
    ),
)
def lookup_dossier(request: HttpRequest, code: str, response: HttpResponse):
    decision = public.check_rate(request)
    if not decision.allowed:
        response["Retry-After"] = str(decision.retry_after)
        return Status(429, {"code": "rate_limited", "message": decision.message, "details": None})
    try:
        found = public.lookup(code)
    except public.DossierNotFound as exc:
        return Status(404, {"code": exc.code, "message": exc.message, "details": None})
    # Rendered here, not validated again against PublicDossierOut: `as_json` is the contract
    # (tests pin it and the schema), and re-validating every answer costs as much CPU as the
    # lookup itself. UTF-8 rather than \u escapes: the Vietnamese names take 420 bytes, not 560.
    body = json.dumps(found.as_json(), ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(body.encode(), content_type=JSON)
