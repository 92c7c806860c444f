"""The procedure catalogue: import, export, edit, assign implementing organisations.

Versioning rule: a procedure's legal content lives in immutable `ProcedureVersion` rows. A
change to that content (name, time, fees, documents, legal basis, online service, forms,
channels, decision, source) creates version n+1 and moves `current_version`; nothing ever edits
an existing version, because dossiers point at the version they were received under. The
procedure's own attributes (field, level, phi địa giới, active, implementing organisations)
are not legal content of a version and are updated in place, with an audit entry.

Who may change the catalogue: the catalogue of national procedures is one per installation
(the province's), so importing or editing it takes `procedure.manage` at a top-level
organisation (the province's administrator) or a superuser; see `can_manage_catalogue`.
Assigning implementing organisations takes `procedure.manage` over each organisation
concerned, so a commune's administrator can declare what the commune implements.
Commands and the demo loader run as the system (`actor=None, system=True`), audited as
"hệ thống".
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import (
    DomainError,
    PermissionDenied,
    ValidationFailed,
    from_django_validation,
)
from chinhquyenso.core.models import Organisation
from chinhquyenso.core.services import audit
from chinhquyenso.procedures.models import (
    Field,
    ImplementingLevel,
    Procedure,
    ProcedureVersion,
)
from chinhquyenso.procedures.queries import plain_id
from chinhquyenso.procedures.services.records import (
    VERSION_FIELDS,
    ParsedRecord,
    content_of,
    fingerprint,
    parse_record,
    time_number,
)
from chinhquyenso.procedures.text import fold

log = logging.getLogger(__name__)

SYSTEM_LABEL = "hệ thống"
ORG_ID_PREFIX = "id:"

PROCEDURE_ATTRIBUTES = ("field", "level", "level_text", "location_independent", "is_active")


# --- Who may --------------------------------------------------------------------------------------


def can_manage_catalogue(user) -> bool:
    """An administrator of a top-level organisation (the province), or a superuser."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    roles = permissions.roles_for("procedure.manage")
    return any(
        p.role in roles and p.organisation.parent_id is None
        for p in permissions.active_positions(user)
    )


def _catalogue_organisation(actor) -> Organisation | None:
    """The organisation an actor's catalogue change is recorded under (for the audit pages)."""
    roles = permissions.roles_for("procedure.manage")
    for position in permissions.active_positions(actor):
        if position.role in roles and position.organisation.parent_id is None:
            return position.organisation
    return None


def _check_actor(actor, system: bool) -> None:
    if actor is None:
        if not system:
            raise PermissionDenied(
                "Cần người thực hiện (hoặc chạy dưới quyền hệ thống).", code="actor_required"
            )
        return
    if system:
        raise ValidationFailed("Chỉ dùng quyền hệ thống khi không có người thực hiện.")


def require_catalogue_manager(actor, *, system: bool = False) -> None:
    _check_actor(actor, system)
    if actor is not None and not can_manage_catalogue(actor):
        raise PermissionDenied(
            "Chỉ quản trị hệ thống cấp tỉnh được thay đổi danh mục thủ tục hành chính.",
            code="catalogue_manager_required",
        )


def _audit_actor(actor):
    return actor if actor is not None else SYSTEM_LABEL


# --- The import report ----------------------------------------------------------------------------


@dataclass
class RecordError:
    index: int  # 1-based position of the record in the input
    code: str  # the procedure's code when it could be read, else ""
    message: str  # Vietnamese
    error_code: str  # stable machine code
    details: Any = None


@dataclass
class ImportReport:
    source: str
    total: int = 0
    created: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # attributes only, no new version
    unchanged: list[str] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> int:
        return len(self.created) + len(self.new_versions) + len(self.updated)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        return data

    def summary(self) -> str:
        return (
            f"{self.total} bản ghi: {len(self.created)} thủ tục mới, "
            f"{len(self.new_versions)} phiên bản mới, {len(self.updated)} cập nhật thông tin, "
            f"{len(self.unchanged)} không đổi, {len(self.errors)} lỗi."
        )


# --- Writing one record ---------------------------------------------------------------------------


def _full_clean(obj, **kwargs) -> None:
    try:
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        raise from_django_validation(exc) from None


def _field_named(name: str, cache: dict[str, Field]) -> Field:
    key = fold(name)
    if key in cache:
        return cache[key]
    found = Field.objects.filter(name__iexact=name).first()
    if found is None:
        found = Field(name=name)
        _full_clean(found)
        found.save()
    cache[key] = found
    return found


def search_text(code: str, name: str, field_name: str) -> str:
    return fold(f"{code} {name} {field_name}")


def _resolve_organisations(refs: list[str], warnings: list[str], code: str) -> list[Organisation]:
    ids = [
        pk
        for r in refs
        if r.startswith(ORG_ID_PREFIX) and (pk := plain_id(r[len(ORG_ID_PREFIX) :])) is not None
    ]
    codes = [r for r in refs if not r.startswith(ORG_ID_PREFIX)]
    found = list(Organisation.objects.filter(org_code__in=codes)) + list(
        Organisation.objects.filter(pk__in=ids)
    )
    known = {o.org_code for o in found} | {f"{ORG_ID_PREFIX}{o.pk}" for o in found}
    for ref in refs:
        if ref not in known:
            warnings.append(f"{code}: không tìm thấy cơ quan “{ref}”, bỏ qua.")
    return found


def organisation_ref(org: Organisation) -> str:
    """How an implementing organisation is written in an export: its code, else its id."""
    return org.org_code or f"{ORG_ID_PREFIX}{org.pk}"


def _new_version(procedure, content, *, number, actor, change_note) -> ProcedureVersion:
    version = ProcedureVersion(
        procedure=procedure,
        number=number,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        change_note=change_note[:500],
        **content,
    )
    _full_clean(version)
    version.save(force_insert=True)
    return version


def _apply(
    record: ParsedRecord,
    *,
    actor,
    source: str,
    field_cache: dict[str, Field],
    warnings: list[str],
    default_note: str,
) -> str:
    """Create or update one procedure from a parsed record. Returns "created", "new_version",
    "updated" or "unchanged". Runs inside the caller's savepoint."""
    audit_org = _catalogue_organisation(actor) if actor is not None else None
    field_obj = _field_named(record.field, field_cache)
    procedure = (
        Procedure.objects.select_for_update(of=("self",))
        .select_related("current_version", "field")
        .filter(national_code=record.code)
        .first()
    )
    note = record.change_note or default_note
    if procedure is None:
        procedure = Procedure(
            national_code=record.code,
            field=field_obj,
            level=record.level,
            level_text=record.level_text or "",
            location_independent=bool(record.location_independent),
            is_active=record.is_active if record.is_active is not None else True,
        )
        _full_clean(procedure)
        procedure.save(force_insert=True)
        version = _new_version(procedure, record.content, number=1, actor=actor, change_note=note)
        procedure.current_version = version
        procedure.search_text = search_text(record.code, version.name, field_obj.name)
        procedure.save(update_fields=["current_version", "search_text"])
        if record.organisations:
            procedure.organisations.set(
                _resolve_organisations(record.organisations, warnings, record.code)
            )
        audit.record(
            action="procedure.created",
            actor=_audit_actor(actor),
            obj=procedure,
            organisation=audit_org,
            data={"code": record.code, "name": version.name, "version": 1, "source": source},
        )
        return "created"

    changed: dict[str, list] = {}
    wanted = {
        "field": field_obj,
        "level": record.level,
        "level_text": record.level_text,
        "location_independent": record.location_independent,
        "is_active": record.is_active,
    }
    for name, value in wanted.items():
        if value is None:
            continue
        before = getattr(procedure, name)
        if before != value:
            changed[name] = [str(before), str(value)]
            setattr(procedure, name, value)

    outcome = "unchanged"
    current = procedure.current_version
    if current is None or fingerprint(content_of(current)) != fingerprint(record.content):
        number = (procedure.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        version = _new_version(
            procedure, record.content, number=number, actor=actor, change_note=note
        )
        procedure.current_version = version
        changed["current_version"] = [current.number if current else None, number]
        outcome = "new_version"
        audit.record(
            action="procedure.version_created",
            actor=_audit_actor(actor),
            obj=version,
            organisation=audit_org,
            data={
                "code": record.code,
                "version": number,
                "previous": current.number if current else None,
                "changed": [
                    name
                    for name in VERSION_FIELDS
                    if current is None
                    or fingerprint({name: getattr(current, name)})
                    != fingerprint({name: record.content[name]})
                ],
                "source": source,
            },
        )

    if record.organisations is not None:
        wanted_orgs = _resolve_organisations(record.organisations, warnings, record.code)
        before_ids = set(procedure.organisations.values_list("pk", flat=True))
        if before_ids != {o.pk for o in wanted_orgs}:
            procedure.organisations.set(wanted_orgs)
            changed["organisations"] = [sorted(before_ids), sorted(o.pk for o in wanted_orgs)]

    if not changed:
        return outcome
    new_search = search_text(
        procedure.national_code, procedure.current_version.name, procedure.field.name
    )
    procedure.search_text = new_search
    _full_clean(procedure)
    fields = [n for n in (*PROCEDURE_ATTRIBUTES, "current_version") if n in changed]
    procedure.save(update_fields=[*fields, "search_text"])
    attribute_changes = {k: v for k, v in changed.items() if k != "current_version"}
    if attribute_changes:
        audit.record(
            action="procedure.updated",
            actor=_audit_actor(actor),
            obj=procedure,
            organisation=audit_org,
            data={"code": procedure.national_code, "changed": attribute_changes, "source": source},
        )
        if outcome == "unchanged":
            outcome = "updated"
    return outcome


# --- Import ---------------------------------------------------------------------------------------


@transaction.atomic
def import_catalogue(
    *, actor, records: list[dict], source: str, system: bool = False
) -> ImportReport:
    """Import catalogue records (national portal format or our export format, mixed freely).

    Each record is applied in its own savepoint: a bad record is reported (its position, its
    code when readable, a Vietnamese message and a stable code) and the others go in.
    Importing the same data again changes nothing.
    """
    require_catalogue_manager(actor, system=system)
    if not isinstance(records, list):
        raise ValidationFailed(
            "Dữ liệu nhập phải là một danh sách thủ tục.", code="invalid_payload"
        )
    report = ImportReport(source=source, total=len(records))
    field_cache: dict[str, Field] = {}
    seen: set[str] = set()
    default_note = f"Nhập từ {source}"[:500] if source else "Nhập danh mục"
    for index, raw in enumerate(records, start=1):
        code = raw.get("code") if isinstance(raw, dict) else None
        code = code.strip() if isinstance(code, str) else ""
        try:
            record = parse_record(raw)
            if record.code in seen:
                raise ValidationFailed(
                    f"Mã thủ tục {record.code} xuất hiện nhiều lần trong dữ liệu nhập; "
                    "chỉ bản ghi đầu tiên được nhập.",
                    code="duplicate_code",
                )
            seen.add(record.code)
            with transaction.atomic():
                outcome = _apply(
                    record,
                    actor=actor,
                    source=source,
                    field_cache=field_cache,
                    warnings=report.warnings,
                    default_note=default_note,
                )
        except DomainError as exc:
            field_cache.clear()  # a rolled-back savepoint may have held a new Field
            report.errors.append(RecordError(index, code, exc.message, exc.code, exc.details))
            continue
        except IntegrityError:
            field_cache.clear()
            report.errors.append(
                RecordError(
                    index,
                    code,
                    "Thủ tục đang được người khác cập nhật cùng lúc; hãy nhập lại bản ghi này.",
                    "concurrent_update",
                )
            )
            continue
        except (TypeError, ValueError, AttributeError, ArithmeticError):
            # Input no check foresaw: this record is refused, the others still go in.
            log.warning("Unreadable catalogue record %s (%s)", index, code, exc_info=True)
            field_cache.clear()
            report.errors.append(
                RecordError(index, code, "Bản ghi không đọc được.", "invalid_record")
            )
            continue
        {
            "created": report.created,
            "new_version": report.new_versions,
            "updated": report.updated,
            "unchanged": report.unchanged,
        }[outcome].append(record.code)
    audit.record(
        action="procedure.catalogue_imported",
        actor=_audit_actor(actor),
        object_type="procedures.catalogue",
        organisation=_catalogue_organisation(actor) if actor is not None else None,
        data={
            "source": source,
            "total": report.total,
            "created": len(report.created),
            "new_versions": len(report.new_versions),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged),
            "errors": [f"{e.index}:{e.code}:{e.error_code}" for e in report.errors][:100],
        },
    )
    return report


# --- Export ---------------------------------------------------------------------------------------


def export_record(procedure: Procedure, version: ProcedureVersion | None = None) -> dict:
    """One procedure in our format (see `records`). `version`: the current one by default.
    `organisations` must be prefetched for lists."""
    version = version or procedure.current_version
    record: dict[str, Any] = {
        "code": procedure.national_code,
        "name": version.name,
        "field": procedure.field.name,
        "level": procedure.level,
        "level_text": procedure.level_text,
        "location_independent": procedure.location_independent,
        "is_active": procedure.is_active,
    }
    for name in VERSION_FIELDS[1:]:
        record[name] = getattr(version, name)
    record["processing_time"] = time_number(version.processing_time)
    record["organisations"] = sorted(organisation_ref(o) for o in procedure.organisations.all())
    record["version"] = version.number
    return record


def export_catalogue(
    *, actor, system: bool = False, codes: list[str] | None = None, include_inactive=True
) -> list[dict]:
    """The catalogue in our format, ordered by code; importing it back changes nothing."""
    _check_actor(actor, system)
    if actor is not None:
        permissions.require(actor, "procedure.view")
    rows = (
        Procedure.objects.filter(current_version__isnull=False)
        .select_related("current_version", "field")
        .prefetch_related("organisations")
        .order_by("national_code")
    )
    if codes is not None:
        rows = rows.filter(national_code__in=codes)
    if not include_inactive:
        rows = rows.filter(is_active=True)
    return [export_record(p) for p in rows]


# --- Editing --------------------------------------------------------------------------------------

EDITABLE = frozenset(
    {*VERSION_FIELDS, "field", "level", "level_text", "location_independent", "is_active"}
)


@transaction.atomic
def update_procedure(
    *, actor, procedure: Procedure, change_note: str = "", system: bool = False, **changes
) -> Procedure:
    """Change a procedure. Changes to legal content create a new version (n+1, current);
    attribute changes (field, level, phi địa giới, active) are made in place. Changing nothing
    creates nothing."""
    require_catalogue_manager(actor, system=system)
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise ValidationFailed(f"Trường không hợp lệ: {', '.join(unknown)}", code="unknown_field")
    locked = (
        Procedure.objects.select_for_update(of=("self",))
        .select_related("current_version", "field")
        .get(pk=procedure.pk)
    )
    raw = export_record(locked) if locked.current_version_id else {"code": locked.national_code}
    raw.pop("organisations", None)
    raw.pop("version", None)
    for name, value in changes.items():
        if name == "field" and isinstance(value, Field):
            value = value.name
        raw[name] = value
    if "level" in changes and "level_text" not in changes:
        raw.pop("level_text", None)  # the new level's own label, not the old wording
    raw["change_note"] = change_note
    record = parse_record(raw)
    if "level" in changes and "level_text" not in changes:
        record.level_text = str(ImplementingLevel(record.level).label)
    _apply(
        record,
        actor=actor,
        source="update_procedure",
        field_cache={},
        warnings=[],
        default_note="Cập nhật thủ tục",
    )
    return Procedure.objects.select_related("current_version", "field").get(pk=procedure.pk)


@transaction.atomic
def assign_organisations(
    *, actor, procedure: Procedure, organisations: list[Organisation], system: bool = False
) -> Procedure:
    """Set the organisations implementing `procedure`, within the actor's reach.

    The result, inside the subtrees where the actor holds `procedure.manage`, is exactly
    `organisations`; assignments outside them are left alone (a commune's administrator
    declares what the commune implements without touching other communes). Every organisation
    given must be within the actor's reach.
    """
    _check_actor(actor, system)
    organisations = list(dict.fromkeys(organisations))
    if actor is not None:
        permissions.require(actor, "procedure.manage")
        for org in organisations:
            permissions.require(actor, "procedure.manage", org)
    for org in organisations:
        if not org.is_active:
            raise ValidationFailed(
                f"{org.name} đã thôi hoạt động, không thể giao thực hiện thủ tục.",
                code="organisation_inactive",
            )
    locked = Procedure.objects.select_for_update().get(pk=procedure.pk)
    current = list(locked.organisations.all())
    if actor is None:
        in_reach = current
    else:
        in_reach = [o for o in current if permissions.can(actor, "procedure.manage", o)]
    keep = [o for o in current if o not in in_reach]
    result = {o.pk: o for o in [*keep, *organisations]}
    before = {o.pk for o in current}
    if set(result) != before:
        locked.organisations.set(list(result.values()))
        audit.record(
            action="procedure.organisations_assigned",
            actor=_audit_actor(actor),
            obj=locked,
            organisation=organisations[0] if len(organisations) == 1 else None,
            data={
                "code": locked.national_code,
                "added": sorted(set(result) - before),
                "removed": sorted(before - set(result)),
            },
        )
    return locked
