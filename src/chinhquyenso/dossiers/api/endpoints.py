"""Intake, lists and queues, supervision figures, one dossier."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from ninja import Query
from ninja import Status as HttpStatus
from ninja.errors import HttpError

from chinhquyenso.apiauth import AUTH, session_auth
from chinhquyenso.core.errors import PermissionDenied
from chinhquyenso.core.models import ApiKey
from chinhquyenso.dossiers import queries, services, supervision_queries
from chinhquyenso.dossiers.api._router import router
from chinhquyenso.dossiers.api.access import (
    any_organisation,
    dossier_in_scope,
    organisation_for,
    require_read_scope,
)
from chinhquyenso.dossiers.api.schemas import (
    MAX_LIMIT,
    DossierDetailOut,
    DossierListOut,
    FilterQuery,
    IntakeIn,
    SupervisionOut,
)
from chinhquyenso.dossiers.api.serialise import detail, figures, ref, summary
from chinhquyenso.dossiers.privacy import personal_data_visible, sees_personal_data


@router.post(
    "",
    response={201: DossierDetailOut},
    auth=AUTH,
    summary="Tiếp nhận hồ sơ tại Bộ phận Một cửa",
    description=(
        "Header `Idempotency-Key` (8–64 ký tự chữ, số, `-`, `_`; nên gửi): gửi lại cùng khóa "
        "tại cùng nơi tiếp nhận (mất kết nối, thử lại) không tạo hồ sơ thứ hai mà trả 409 "
        "`already_received` với `details.dossier_code` là mã hồ sơ đã tiếp nhận."
    ),
)
def receive(request: HttpRequest, payload: IntakeIn):
    dossier = services.receive_dossier(
        actor=request.auth,
        organisation=organisation_for(request, payload.organisation_id),
        procedure=payload.procedure,
        applicant=payload.applicant.model_dump(),
        documents=[d.model_dump() for d in payload.documents],
        channel=payload.channel,
        result_delivery=payload.result_delivery,
        fees=[f.model_dump() for f in payload.fees] if payload.fees is not None else None,
        received_at=payload.received_at,
        handling_organisation=any_organisation(payload.handling_organisation_id)
        if payload.handling_organisation_id
        else None,
        # A client retrying a request it got no answer to sends the same key: 409
        # `already_received` naming the dossier, never a second dossier.
        intake_key=request.headers.get("Idempotency-Key"),
    )
    # Built from what the service holds in memory: nothing is read back.
    return HttpStatus(201, detail(dossier, personal=sees_personal_data(request.auth, dossier)))


@router.get("", response=DossierListOut, auth=AUTH, summary="Hàng đợi và danh sách hồ sơ")
def list_dossiers(request: HttpRequest, filters: Query[FilterQuery]):
    require_read_scope(request)
    params = filters.model_dump()
    queue, limit, offset = params.pop("queue"), params.pop("limit"), params.pop("offset")
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise HttpError(400, f"limit phải trong khoảng 1–{MAX_LIMIT}, offset không âm.")
    if queue:
        if isinstance(request.auth, ApiKey):
            raise PermissionDenied("Hàng đợi là của cán bộ đăng nhập.", code="person_required")
        qs = queries.queue_for(request.auth, queue)
    elif isinstance(request.auth, ApiKey):
        qs = queries.dossiers_visible_to_api_key(request.auth).filter(queries.filter_q(params))
        qs = qs.order_by("-received_at", "-id")
    else:
        qs = queries.filtered_dossiers(request.auth, params)
    count = qs.count()
    rows = list(qs[offset : offset + limit])
    visible = personal_data_visible(request.auth, rows)
    return {"count": count, "items": [summary(d, personal=d.pk in visible) for d in rows]}


@router.get("/supervision", response=SupervisionOut, auth=session_auth, summary="Số liệu giám sát")
def supervision(
    request: HttpRequest,
    organisation: int,
    period_from: date | None = None,
    period_to: date | None = None,
):
    org = organisation_for(request, organisation)
    period = (period_from, period_to) if period_from and period_to else None
    result = supervision_queries.supervision_counts(request.auth, org, period)
    return {
        "organisation": ref(org),
        "period_from": result.period[0],
        "period_to": result.period[1],
        "received_today": figures(result.received_today),
        "received_period": figures(result.received_period),
        "in_progress": figures(result.in_progress),
        "awaiting_supplement": figures(result.awaiting_supplement),
        "finished": figures(result.finished),
        "by_procedure": figures(result.by_procedure),
        "by_official": figures(result.by_official),
    }


@router.get("/{code}", response=DossierDetailOut, auth=AUTH, summary="Chi tiết hồ sơ")
def get_dossier(request: HttpRequest, code: str):
    require_read_scope(request)
    dossier = dossier_in_scope(request, code)
    return detail(dossier, personal=sees_personal_data(request.auth, dossier))
