"""Read side of core: permission-scoped querysets for lists and pages."""

from __future__ import annotations

from django.db.models import QuerySet

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import NotFound
from chinhquyenso.core.models import AuditEntry, Organisation, Position, User, UserKind


def organisations_visible_to(user) -> QuerySet[Organisation]:
    return permissions.organisations_for(user, "organisation.view").select_related("admin_unit")


def organisations_for_api_key(api_key) -> QuerySet[Organisation]:
    return Organisation.objects.filter(path__startswith=api_key.organisation.path).select_related(
        "admin_unit"
    )


def get_organisation_for(user, org_id: int, action: str = "organisation.view") -> Organisation:
    """The organisation if it exists and `user` may `action` it; NotFound otherwise (no leak of
    whether it exists outside the user's scope)."""
    org = Organisation.objects.select_related("admin_unit", "parent").filter(pk=org_id).first()
    if org is None or not permissions.can(user, action, org):
        raise NotFound("Không tìm thấy cơ quan, đơn vị.", code="organisation_not_found")
    return org


def officials_visible_to(user) -> QuerySet[User]:
    """Officials holding a current position in an organisation where `user` may view people."""
    orgs = permissions.organisations_for(user, "person.view")
    user_ids = Position.objects.active().filter(organisation__in=orgs).values("user_id")
    return User.objects.filter(kind=UserKind.OFFICIAL, pk__in=user_ids).order_by("full_name")


def audit_entries_visible_to(user) -> QuerySet[AuditEntry]:
    """All entries for a superuser; for an organisation's administrator, those about its subtree."""
    if getattr(user, "is_superuser", False):
        return AuditEntry.objects.select_related("actor", "organisation")
    orgs = permissions.organisations_for(user, "audit.view")
    return AuditEntry.objects.filter(organisation__in=orgs).select_related("actor", "organisation")
