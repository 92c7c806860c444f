"""One answer to "may this person do this action on this object?" (issue #2, point 6).

A permission is granted by a role held in a position whose organisation is the target's
organisation or one of its ancestors (role × organisation subtree). A system superuser may do
everything. Modules register their own actions with `register_action` at import time.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from chinhquyenso.core.errors import PermissionDenied
from chinhquyenso.core.models import Organisation, Position, Role

OFFICIAL_ROLES = frozenset(Role)
MANAGERS = frozenset({Role.LEADER, Role.UNIT_HEAD, Role.UNIT_DEPUTY, Role.ADMIN})

_ACTIONS: dict[str, frozenset[str]] = {}


def register_action(code: str, roles: Iterable[str]) -> None:
    """Declare which roles may perform `code` within their organisation subtree."""
    _ACTIONS[code] = frozenset(roles)


def roles_for(code: str) -> frozenset[str]:
    try:
        return _ACTIONS[code]
    except KeyError:
        raise KeyError(f"unknown permission action {code!r}") from None


# Core actions. Codes are stable; the UI shows the labels.
register_action("organisation.view", OFFICIAL_ROLES)
register_action("organisation.manage", {Role.ADMIN})
register_action("organisation.merge", {Role.ADMIN})
register_action("person.view", MANAGERS)
register_action("person.manage", {Role.ADMIN})
register_action("calendar.manage", {Role.ADMIN})
register_action("audit.view", {Role.ADMIN})
register_action("apikey.manage", {Role.ADMIN})
register_action("tasks.view", {Role.ADMIN})
register_action("notification.view_log", {Role.ADMIN})
register_action("file.upload", OFFICIAL_ROLES)
register_action("file.view", OFFICIAL_ROLES)
# Signing certificates (issue #4): an official registers their own; an administrator registers
# organisations' seal certificates and officials' certificates within their subtree.
register_action("certificate.register_own", OFFICIAL_ROLES)
register_action("certificate.manage", {Role.ADMIN})


def active_positions(user) -> list[Position]:
    """The user's current positions, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_cqs_positions", None)
    if cached is None:
        if not user.is_official:
            cached = []
        else:
            cached = list(
                Position.objects.active()
                .filter(user=user, organisation__is_active=True)
                .select_related("organisation")
            )
        user._cqs_positions = cached
    return cached


def forget_positions(user) -> None:
    if hasattr(user, "_cqs_positions"):
        del user._cqs_positions


def target_organisation(obj) -> Organisation | None:
    """The organisation owning `obj`: itself, `obj.owning_organisation()` or `obj.organisation`."""
    if obj is None:
        return None
    if isinstance(obj, Organisation):
        return obj
    owner = getattr(obj, "owning_organisation", None)
    if callable(owner):
        return owner()
    return getattr(obj, "organisation", None)


def can(user, action: str, obj=None) -> bool:
    """True when `user` may perform `action` on `obj` (or anywhere, when obj is None)."""
    roles = roles_for(action)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    org = target_organisation(obj)
    if obj is not None and org is None:
        return False
    for position in active_positions(user):
        if position.role not in roles:
            continue
        if org is None or org.path.startswith(position.organisation.path):
            return True
    return False


def can_installation_wide(user, action: str) -> bool:
    """True when `user` may do `action` on what the whole installation shares (e.g. the
    signature trust store): a superuser, or a role for `action` held in a top-level organisation.
    An administrator of a commune or department may not change what every agency relies on."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    roles = roles_for(action)
    return any(p.role in roles and p.organisation.parent_id is None for p in active_positions(user))


def require_installation_wide(user, action: str) -> None:
    if not can_installation_wide(user, action):
        raise PermissionDenied("Chỉ quản trị viên cấp cao nhất mới được thực hiện thao tác này.")


def require(user, action: str, obj=None) -> None:
    """Raise PermissionDenied (code `permission_denied`) unless `can(...)`."""
    if not can(user, action, obj):
        raise PermissionDenied("Bạn không có quyền thực hiện thao tác này.")


def scope_q(user, action: str, field: str = "") -> Q:
    """A Q restricting organisations (or objects through `field`, e.g. "organisation") to the
    subtrees where `user` may do `action`. Matches nothing for a user with no such position."""
    prefix = f"{field}__" if field else ""
    if getattr(user, "is_superuser", False) and user.is_active:
        return Q()
    roles = roles_for(action)
    paths = sorted(
        {p.organisation.path for p in active_positions(user) if p.role in roles}, key=len
    )
    # Drop paths inside another path already in the list.
    roots: list[str] = []
    for path in paths:
        if not any(path.startswith(root) for root in roots):
            roots.append(path)
    if not roots:
        return Q(pk__in=[])
    q = Q()
    for root in roots:
        q |= Q(**{f"{prefix}path__startswith": root})
    return q


def organisations_for(user, action: str) -> QuerySet[Organisation]:
    """Every organisation where `user` may do `action`."""
    return Organisation.objects.filter(scope_q(user, action))
