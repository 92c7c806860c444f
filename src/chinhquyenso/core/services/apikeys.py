"""API keys for other systems: per organisation, with scopes, stored hashed."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.core.models import ApiKey, Organisation
from chinhquyenso.core.services import audit

KEY_PREFIX = "cqs"
# Scopes another system may be granted. Modules add theirs here when they expose an API.
KNOWN_SCOPES = {
    "organisations:read": "Đọc danh mục cơ quan, đơn vị",
    "people:read": "Đọc danh sách cán bộ",
    "calendar:read": "Tính hạn theo lịch làm việc",
    "files:read": "Đọc tệp",
    "files:write": "Tải tệp lên",
    "procedures:read": "Đọc danh mục thủ tục hành chính",
    "procedures:write": "Nhập, sửa danh mục thủ tục hành chính",
    "dossiers:read": "Đọc hồ sơ",
    "dossiers:write": "Tiếp nhận, xử lý hồ sơ",
    "signatures:validate": "Kiểm tra chữ ký số",
}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@transaction.atomic
def create_api_key(
    *, actor, organisation: Organisation, name: str, scopes: list[str], expires_at=None
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plaintext key, which is shown once and never stored."""
    permissions.require(actor, "apikey.manage", organisation)
    unknown = sorted(set(scopes) - set(KNOWN_SCOPES))
    if unknown:
        raise ValidationFailed(f"Phạm vi không hợp lệ: {', '.join(unknown)}", code="unknown_scope")
    if not name.strip():
        raise ValidationFailed("Cần đặt tên cho khóa.", code="name_required")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        organisation=organisation,
        name=name.strip(),
        prefix=prefix,
        key_hash=_hash(secret),
        scopes=sorted(set(scopes)),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        expires_at=expires_at,
    )
    audit.record(
        action="apikey.created",
        actor=actor,
        obj=key,
        organisation=organisation,
        data={"name": key.name, "scopes": key.scopes, "prefix": prefix},
    )
    return key, f"{KEY_PREFIX}_{prefix}_{secret}"


def authenticate(raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Constant-time comparison of the hash."""
    try:
        label, prefix, secret = raw_key.strip().split("_", 2)
    except ValueError:
        return None
    if label != KEY_PREFIX or not prefix or not secret:
        return None
    key = (
        ApiKey.objects.select_related("organisation")
        .filter(prefix=prefix, revoked_at__isnull=True, organisation__is_active=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.key_hash, _hash(secret)):
        return None
    now = timezone.now()
    if key.expires_at and key.expires_at <= now:
        return None
    # Best-effort usage stamp, at most once a minute, outside any business transaction.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


@transaction.atomic
def revoke_api_key(*, actor, key: ApiKey) -> ApiKey:
    permissions.require(actor, "apikey.manage", key.organisation)
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(action="apikey.revoked", actor=actor, obj=key, organisation=key.organisation)
    return key
