"""Organisations: create, edit, move in the tree, merge (as the 2025 reform merged communes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import PermissionDenied, ValidationFailed, from_django_validation
from chinhquyenso.core.models import Organisation, Position
from chinhquyenso.core.services import audit, calendar

# Other modules register a function (source, target, actor, on_date) -> dict that moves their
# open work (dossiers, documents...) from a merged organisation to its successor. Called inside
# the merge transaction; the dict it returns is written into the audit entry.
MergeHandler = Callable[[Organisation, Organisation, object, dt.date], dict]
_merge_handlers: list[tuple[str, MergeHandler]] = []


def register_merge_handler(name: str, handler: MergeHandler) -> None:
    if all(existing != name for existing, _ in _merge_handlers):
        _merge_handlers.append((name, handler))


def _set_path(org: Organisation) -> None:
    parent_path = org.parent.path if org.parent_id else "/"
    org.path = f"{parent_path}{org.pk}/"
    org.depth = org.path.count("/") - 2


EDITABLE_FIELDS = (
    "name",
    "short_name",
    "kind",
    "org_code",
    "admin_unit",
    "address",
    "phone",
    "email",
)


@transaction.atomic
def create_organisation(*, actor, parent: Organisation | None, **fields) -> Organisation:
    """Add an organisation under `parent` (None: a top-level one, superusers only)."""
    if parent is None and not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Chỉ quản trị toàn hệ thống mới tạo được cơ quan cấp cao nhất.")
    permissions.require(actor, "organisation.manage", parent)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Trường không hợp lệ: {', '.join(sorted(unknown))}")
    org = Organisation(parent=parent, **fields)
    org.path = "/pending/"
    try:
        org.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from None
    org.save()
    _set_path(org)
    org.save(update_fields=["path", "depth"])
    audit.record(
        action="organisation.created",
        actor=actor,
        obj=org,
        organisation=org,
        data={"name": org.name, "org_code": org.org_code, "parent": parent.pk if parent else None},
    )
    return org


@transaction.atomic
def update_organisation(*, actor, organisation: Organisation, **fields) -> Organisation:
    permissions.require(actor, "organisation.manage", organisation)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Trường không hợp lệ: {', '.join(sorted(unknown))}")
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    before = {name: str(getattr(org, name)) for name in fields}
    for name, value in fields.items():
        setattr(org, name, value)
    try:
        org.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from None
    org.save(update_fields=list(fields))
    after = {name: str(getattr(org, name)) for name in fields}
    changed = {k: [before[k], after[k]] for k in fields if before[k] != after[k]}
    audit.record(
        action="organisation.updated", actor=actor, obj=org, organisation=org, data=changed
    )
    return org


def _reparent(org: Organisation, new_parent: Organisation) -> None:
    """Move `org` and its subtree under `new_parent`, rewriting materialised paths."""
    old_path = org.path
    org.parent = new_parent
    _set_path(org)
    org.save(update_fields=["parent", "path", "depth"])
    for child in Organisation.objects.filter(path__startswith=old_path).exclude(pk=org.pk):
        child.path = org.path + child.path[len(old_path) :]
        child.depth = child.path.count("/") - 2
        child.save(update_fields=["path", "depth"])


@transaction.atomic
def move_organisation(
    *, actor, organisation: Organisation, new_parent: Organisation
) -> Organisation:
    permissions.require(actor, "organisation.manage", organisation)
    permissions.require(actor, "organisation.manage", new_parent)
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if new_parent.path.startswith(org.path):
        raise ValidationFailed("Không thể chuyển một cơ quan vào chính nó hoặc đơn vị cấp dưới.")
    old_parent_id = org.parent_id
    _reparent(org, new_parent)
    # Office hours and overrides are inherited along the tree: the calendar must be rebuilt.
    transaction.on_commit(calendar.invalidate_cache)
    audit.record(
        action="organisation.moved",
        actor=actor,
        obj=org,
        organisation=org,
        data={"from_parent": old_parent_id, "to_parent": new_parent.pk},
    )
    return org


@transaction.atomic
def merge_organisations(
    *,
    actor,
    sources: list[Organisation],
    target: Organisation,
    on_date: dt.date | None = None,
    reason: str,
) -> dict:
    """Merge `sources` into `target` (NQ 76/2025/UBTVQH15-style commune merger).

    People holding positions directly in a source get the same role and title in `target` from
    `on_date`; their old positions end the day before, so history stays. A source's units move
    under `target` with their people. Other modules move open work through their registered merge
    handlers. Each source is kept, inactive, with `merged_into` pointing at `target`.
    """
    on_date = on_date or timezone.localdate()
    if not reason.strip():
        raise ValidationFailed("Cần ghi căn cứ hoặc lý do hợp nhất.", code="reason_required")
    if not sources:
        raise ValidationFailed("Chọn ít nhất một cơ quan để hợp nhất.", code="no_sources")
    permissions.require(actor, "organisation.merge", target)
    for src in sources:
        permissions.require(actor, "organisation.merge", src)
    ids = sorted({s.pk for s in sources} | {target.pk})
    # Lock in a fixed order (by id) so two concurrent merges cannot deadlock.
    locked = {
        o.pk: o for o in Organisation.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    target = locked[target.pk]
    if not target.is_active:
        raise ValidationFailed("Cơ quan nhận hợp nhất đã thôi hoạt động.", code="target_inactive")
    summary: dict = {"target": target.pk, "sources": {}}
    for src_id in sorted({s.pk for s in sources}):
        src = locked[src_id]
        if src.pk == target.pk or target.path.startswith(src.path):
            raise ValidationFailed(
                "Không thể hợp nhất một cơ quan vào chính nó hoặc vào đơn vị cấp dưới của nó.",
                code="merge_into_self",
            )
        if not src.is_active:
            raise ValidationFailed(f"{src.name} đã thôi hoạt động.", code="source_inactive")
        moved_positions = 0
        for position in Position.objects.active(on_date).filter(organisation=src):
            Position.objects.create(
                user=position.user,
                organisation=target,
                role=position.role,
                title=position.title,
                is_primary=position.is_primary,
                start_date=on_date,
            )
            position.end_date = on_date - dt.timedelta(days=1)
            position.save(update_fields=["end_date"])
            moved_positions += 1
        moved_units = []
        for child in Organisation.objects.filter(parent=src, is_active=True).order_by("pk"):
            _reparent(child, target)
            moved_units.append(child.pk)
        handlers = {name: handler(src, target, actor, on_date) for name, handler in _merge_handlers}
        src.is_active = False
        src.merged_into = target
        src.dissolved_on = on_date
        src.save(update_fields=["is_active", "merged_into", "dissolved_on"])
        detail = {"positions": moved_positions, "units": moved_units, "work": handlers}
        transaction.on_commit(calendar.invalidate_cache)
        summary["sources"][src.pk] = detail
        audit.record(
            action="organisation.merged",
            actor=actor,
            obj=src,
            organisation=target,
            data={"into": target.pk, "on": on_date.isoformat(), "reason": reason, **detail},
        )
    return summary
