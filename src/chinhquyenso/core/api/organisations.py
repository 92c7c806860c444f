"""Who am I, and the organisations tree."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from chinhquyenso.apiauth import AUTH, require
from chinhquyenso.core import permissions, queries
from chinhquyenso.core.errors import NotFound
from chinhquyenso.core.models import ApiKey

router = Router(tags=["organisations"])


class PingOut(Schema):
    status: str


@router.get("/ping", response=PingOut, auth=None, summary="Kiểm tra dịch vụ (không cần đăng nhập)")
def ping(request: HttpRequest):
    return {"status": "ok"}


class PositionOut(Schema):
    organisation_id: int
    organisation: str
    role: str
    title: str


class MeOut(Schema):
    kind: str
    username: str
    full_name: str
    positions: list[PositionOut]


@router.get("/me", response=MeOut, auth=AUTH, summary="Tài khoản đang gọi API")
def me(request: HttpRequest):
    principal = request.auth
    if isinstance(principal, ApiKey):
        return {
            "kind": "api_key",
            "username": principal.prefix,
            "full_name": principal.name,
            "positions": [],
        }
    return {
        "kind": principal.kind,
        "username": principal.username,
        "full_name": principal.full_name,
        "positions": [
            {
                "organisation_id": p.organisation_id,
                "organisation": p.organisation.name,
                "role": p.role,
                "title": p.title,
            }
            for p in permissions.active_positions(principal)
        ],
    }


class OrganisationOut(Schema):
    id: int
    name: str
    short_name: str
    kind: str
    org_code: str | None
    parent_id: int | None
    depth: int
    admin_unit: str | None
    is_active: bool

    @staticmethod
    def resolve_admin_unit(obj):
        return obj.admin_unit.name if obj.admin_unit_id else None


class OrganisationPage(Schema):
    count: int
    items: list[OrganisationOut]


def _scoped(request):
    if isinstance(request.auth, ApiKey):
        require(request, "organisation.view", scope="organisations:read")
        return queries.organisations_for_api_key(request.auth)
    return queries.organisations_visible_to(request.auth)


@router.get(
    "/organisations", response=OrganisationPage, auth=AUTH, summary="Cơ quan, đơn vị trong phạm vi"
)
def list_organisations(request: HttpRequest, offset: int = 0, limit: int = 100, q: str = ""):
    limit = max(1, min(limit, 500))
    qs = _scoped(request)
    if q:
        qs = qs.filter(name__icontains=q)
    return {
        "count": qs.count(),
        "items": list(qs.order_by("path")[max(0, offset) : offset + limit]),
    }


@router.get(
    "/organisations/{org_id}", response=OrganisationOut, auth=AUTH, summary="Một cơ quan, đơn vị"
)
def get_organisation(request: HttpRequest, org_id: int):
    org = _scoped(request).filter(pk=org_id).first()
    if org is None:
        raise NotFound("Không tìm thấy cơ quan, đơn vị.", code="organisation_not_found")
    return org
