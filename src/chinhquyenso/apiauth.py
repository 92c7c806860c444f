"""Who is calling the API: a signed-in person (session) or another system (API key)."""

from __future__ import annotations

from ninja.security import APIKeyHeader, SessionAuth

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import PermissionDenied
from chinhquyenso.core.services import apikeys


class OfficialSession(SessionAuth):
    """Session auth that also insists the second factor was passed where it is required."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is None:
            return None
        from chinhquyenso.core.services.people import confirmed_totp, requires_second_factor

        if not user.is_verified() and (requires_second_factor(user) or confirmed_totp(user)):
            return None
        return user


class ApiKeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request, key):
        if not key:
            return None
        api_key = apikeys.authenticate(key)
        if api_key is None:
            return None
        request.api_key = api_key
        return api_key


session_auth = OfficialSession()
api_key_auth = ApiKeyAuth()
# API key first: session auth enforces CSRF (a browser concern) and would refuse a system's
# POST before its key is even looked at.
AUTH = [api_key_auth, session_auth]


def require(request, action: str, obj=None, *, scope: str | None = None) -> None:
    """The one check every endpoint makes.

    A person: `permissions.require(user, action, obj)`. A system: its key must carry `scope` and
    `obj` must lie within the key's organisation subtree.
    """
    api_key = getattr(request, "api_key", None)
    if api_key is not None and request.auth is api_key:
        if scope is None or scope not in api_key.scopes:
            raise PermissionDenied(
                "Khóa API không có phạm vi cho thao tác này.", code="scope_missing"
            )
        org = permissions.target_organisation(obj)
        if org is not None and not org.path.startswith(api_key.organisation.path):
            raise PermissionDenied("Đối tượng nằm ngoài phạm vi cơ quan của khóa API.")
        return
    permissions.require(request.auth, action, obj)
