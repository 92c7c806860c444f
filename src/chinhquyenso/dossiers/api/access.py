"""Who is calling and what they may name: dossiers in scope, organisations, officials."""

from __future__ import annotations

from chinhquyenso.core import queries as core_queries
from chinhquyenso.core.errors import NotFound, PermissionDenied
from chinhquyenso.core.models import ApiKey, Organisation
from chinhquyenso.dossiers import queries
from chinhquyenso.dossiers.api.schemas import READ_SCOPE
from chinhquyenso.dossiers.models import (
    Dossier,
)

# --- Helpers ------------------------------------------------------------------------------------


def person_only(request) -> object:
    """Transitions are decisions of a person: API keys may receive dossiers, not route them."""
    if isinstance(request.auth, ApiKey):
        raise PermissionDenied(
            "Thao tác này cần cán bộ đăng nhập, không dùng khóa API.", code="person_required"
        )
    return request.auth


def require_read_scope(request) -> None:
    if isinstance(request.auth, ApiKey) and READ_SCOPE not in (request.auth.scopes or []):
        raise PermissionDenied("Khóa API không có phạm vi cho thao tác này.", code="scope_missing")


def organisation_for(request, pk: int | None) -> Organisation | None:
    if pk is None:
        return None
    if isinstance(request.auth, ApiKey):
        org = core_queries.organisations_for_api_key(request.auth).filter(pk=pk).first()
        if org is None:
            raise NotFound("Không tìm thấy cơ quan, đơn vị.", code="organisation_not_found")
        return org
    return core_queries.get_organisation_for(request.auth, pk)


def any_organisation(pk: int) -> Organisation:
    """An organisation as a target (transfer): any active one; its name is public."""
    org = Organisation.objects.filter(pk=pk, is_active=True).first()
    if org is None:
        raise NotFound("Không tìm thấy cơ quan, đơn vị.", code="organisation_not_found")
    return org


def official(actor, pk: int | None):
    if pk is None:
        return None
    from chinhquyenso.core.models import User, UserKind

    user = User.objects.filter(pk=pk, kind=UserKind.OFFICIAL, is_active=True).first()
    if user is None:
        raise NotFound("Không tìm thấy cán bộ.", code="official_not_found")
    return user


def dossier_in_scope(request, code: str) -> Dossier:
    return queries.get_dossier_for(request.auth, code)
