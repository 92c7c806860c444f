"""Appending to and verifying the hash-chained audit trail.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical
content, so editing or deleting any row breaks the chain from that row on; `verify()` finds the
first broken link. Appends are serialised by locking the single `AuditChainHead` row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from chinhquyenso.core.models import AuditChainHead, AuditEntry

GENESIS_HASH = "0" * 64


def _canonical(value: Any) -> Any:
    """The JSON form a value has after a round trip through the database."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def compute_hash(
    *,
    prev_hash: str,
    at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    organisation_id: int | None,
    data: Any,
    ip: str | None,
) -> str:
    payload = json.dumps(
        [
            prev_hash,
            at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            actor_id,
            actor_label,
            action,
            object_type,
            object_id,
            organisation_id,
            data,
            ip,
        ],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    return compute_hash(
        prev_hash=prev_hash,
        at=entry.at,
        actor_id=entry.actor_id,
        actor_label=entry.actor_label,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        organisation_id=entry.organisation_id,
        data=entry.data,
        ip=entry.ip,
    )


def record(
    *,
    action: str,
    actor=None,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    organisation=None,
    data: dict | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one entry. Must run inside the caller's transaction (the change it describes).

    `action` is a stable dotted code such as `organisation.merged`; the text people read comes
    from `core.audit_labels`.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record must be called inside the transaction of the change")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    head = AuditChainHead.objects.select_for_update().get(pk=1)
    entry = AuditEntry(
        at=timezone.now(),
        actor=actor_obj,
        actor_label=(actor_obj.get_username() if actor_obj else (str(actor) if actor else "")),
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id != "" else "",
        organisation=organisation,
        data=_canonical(data or {}),
        ip=ip,
        prev_hash=head.last_hash,
    )
    entry.hash = _entry_hash(entry, head.last_hash)
    entry.save(force_insert=True)
    AuditChainHead.objects.filter(pk=1).update(last_entry_id=entry.pk, last_hash=entry.hash)
    return entry


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    broken_entry_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_entry_id is None and not self.reason


def verify(*, chunk_size: int = 5000) -> VerifyResult:
    """Walk the chain in order and report the first link that does not hold."""
    prev_hash = GENESIS_HASH
    checked = 0
    last_id = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=chunk_size):
        if entry.prev_hash != prev_hash:
            return VerifyResult(
                checked,
                entry.id,
                "liên kết tới bản ghi trước bị đứt (một bản ghi trước đó đã bị xóa hoặc sửa)",
            )
        if _entry_hash(entry, prev_hash) != entry.hash:
            return VerifyResult(checked, entry.id, "nội dung bản ghi đã bị sửa sau khi ghi")
        prev_hash = entry.hash
        last_id = entry.id
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_hash != prev_hash or head.last_entry_id != last_id):
        return VerifyResult(
            checked, head.last_entry_id, "các bản ghi cuối chuỗi đã bị xóa (đầu chuỗi không khớp)"
        )
    return VerifyResult(checked)
