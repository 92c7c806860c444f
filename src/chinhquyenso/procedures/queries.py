"""Read side of the procedures module: the catalogue, versions and current processes.

The catalogue of procedures is public information (Decree 63/2010/NĐ-CP on the control of
administrative procedures requires publishing them), so `catalogue()` is not scoped; process
lists are scoped to the organisations a person may see.
"""

from __future__ import annotations

import re

from django.db.models import Prefetch, Q, QuerySet

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import NotFound, ValidationFailed
from chinhquyenso.core.models import Organisation
from chinhquyenso.procedures.models import (
    Field,
    Procedure,
    ProcedureVersion,
    Process,
    ProcessStep,
)
from chinhquyenso.procedures.text import fold

# An id as typed in a query string or a file: ASCII digits only (`str.isdigit()` is also true
# for "²", which int() refuses, and for "١٢", which it reads), and at most 18 of them, so
# that any such number fits the bigint primary keys.
_PLAIN_ID = re.compile(r"[0-9]{1,18}")


def plain_id(value) -> int | None:
    """`value` as an id if it is 1–18 ASCII digits, else None."""
    text = str(value)
    return int(text) if _PLAIN_ID.fullmatch(text) else None


def _base() -> QuerySet[Procedure]:
    return Procedure.objects.filter(current_version__isnull=False).select_related(
        "current_version", "field"
    )


def search(qs: QuerySet[Procedure], q: str) -> QuerySet[Procedure]:
    """Every word of `q` in the code, name or field, accents and case ignored."""
    for word in fold(q).split():
        qs = qs.filter(search_text__contains=word)
    return qs


def catalogue(
    *,
    q: str = "",
    field: int | str | None = None,
    level: str | None = None,
    include_inactive: bool = False,
) -> QuerySet[Procedure]:
    """The catalogue, filtered: `field` is a Field id or name, `level` an ImplementingLevel.
    A `field` of digits that is not a plain id ("²", "١٢", 30 digits) is ValidationFailed
    (`invalid_field`)."""
    qs = _base()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if q:
        qs = search(qs, q)
    if field not in (None, ""):
        text = str(field).strip()
        field_id = field if isinstance(field, int) else plain_id(text)
        if field_id is not None:
            qs = qs.filter(field_id=field_id)
        elif text.isdigit():
            raise ValidationFailed(
                f"Lĩnh vực “{field}” không hợp lệ: nhập mã số lĩnh vực (chữ số 0–9) hoặc tên "
                "lĩnh vực.",
                code="invalid_field",
                details={"field": str(field)},
            )
        else:
            qs = qs.filter(field__name__iexact=text)
    if level:
        qs = qs.filter(level=level)
    return qs.order_by("national_code")


def search_procedures(q: str, *, include_inactive: bool = False) -> QuerySet[Procedure]:
    return catalogue(q=q, include_inactive=include_inactive)


def fields() -> QuerySet[Field]:
    return Field.objects.filter(procedures__isnull=False).distinct().order_by("name")


def get_procedure(code: str, *, include_inactive: bool = True) -> Procedure:
    """The procedure with national code `code`; NotFound (`procedure_not_found`) otherwise."""
    qs = _base()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    procedure = qs.filter(national_code=(code or "").strip()).first()
    if procedure is None:
        raise NotFound(
            f"Không tìm thấy thủ tục hành chính có mã “{code}”.", code="procedure_not_found"
        )
    return procedure


def get_version(procedure: Procedure, number: int) -> ProcedureVersion:
    version = procedure.versions.filter(number=number).first()
    if version is None:
        raise NotFound(
            f"Thủ tục {procedure.national_code} không có phiên bản {number}.",
            code="version_not_found",
        )
    return version


def versions_of(procedure: Procedure) -> QuerySet[ProcedureVersion]:
    return procedure.versions.select_related("created_by").order_by("-number")


def _province_root(org: Organisation) -> str:
    """The materialised path of the top-level organisation above `org` ("/1/")."""
    first = org.path.strip("/").split("/")[0] if org.path else ""
    return f"/{first}/" if first else ""


def procedures_for_organisation(
    org: Organisation, *, include_inactive: bool = False
) -> QuerySet[Procedure]:
    """Procedures `org` implements, plus the location-independent (phi địa giới, Decree
    118/2025) ones implemented anywhere in its province (the top of its tree), which it may
    receive too. Pass the implementing organisation (UBND xã, Sở), not one of its units."""
    q = Q(organisations=org)
    root = _province_root(org)
    if root:
        q |= Q(location_independent=True, organisations__path__startswith=root)
    ids = Procedure.objects.filter(q).values("pk")
    qs = _base().filter(pk__in=ids)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("national_code")


def _with_steps(qs: QuerySet[Process]) -> QuerySet[Process]:
    return qs.select_related("procedure", "organisation").prefetch_related(
        Prefetch(
            "steps",
            queryset=ProcessStep.objects.select_related("unit", "transfer_to").order_by("order"),
        )
    )


def current_process(procedure: Procedure, organisation: Organisation) -> Process | None:
    """The current process version of `procedure` in `organisation` with its steps
    (prefetched, in order), or None when the organisation has none yet (see
    `services.ensure_process`)."""
    return _with_steps(
        Process.objects.filter(procedure=procedure, organisation=organisation, is_current=True)
    ).first()


def process_versions(procedure: Procedure, organisation: Organisation) -> QuerySet[Process]:
    return _with_steps(
        Process.objects.filter(procedure=procedure, organisation=organisation)
    ).order_by("-number")


def _ancestor_paths(user) -> list[str]:
    """Paths of the organisations above (and at) each of `user`'s positions."""
    roles = permissions.roles_for("procedure.view")
    paths: set[str] = set()
    for position in permissions.active_positions(user):
        if position.role not in roles:
            continue
        ids = position.organisation.path.strip("/").split("/")
        paths.update("/" + "/".join(ids[: i + 1]) + "/" for i in range(len(ids)))
    return sorted(paths)


def can_view_process(user, organisation: Organisation) -> bool:
    """An official may read the processes of the organisations they work in or above them
    (a specialist in a commune's office follows the commune's process), and of everything
    under them."""
    if permissions.can(user, "procedure.view", organisation):
        return True
    return organisation.path in _ancestor_paths(user)


def processes_visible_to(user, procedure: Procedure) -> QuerySet[Process]:
    """Current processes of `procedure` that `user` may read (see `can_view_process`)."""
    scope = permissions.scope_q(user, "procedure.view", "organisation")
    ancestors = _ancestor_paths(user)
    if ancestors:
        scope |= Q(organisation__path__in=ancestors)
    return (
        Process.objects.filter(procedure=procedure, is_current=True)
        .filter(scope)
        .select_related("organisation")
        .order_by("organisation__path")
    )


def next_orders(step: ProcessStep, *, step_count: int | None = None) -> list[int]:
    """The orders a dossier at `step` may go to: the following step (unless `can_forward` is
    off or this is the last step) and `allowed_next`. Pass `step_count` (the number of steps of
    the process) when you have it, to save a query."""
    out = set(step.allowed_next or ())
    last = step_count if step_count is not None else step.process.steps.count()
    if step.can_forward and step.order < last:
        out.add(step.order + 1)
    out.discard(step.order)
    return sorted(out)


def manageable_organisations(user, action: str = "process.manage") -> QuerySet[Organisation]:
    """Active organisations where `user` may do `action` (for the process editor's chooser)."""
    return permissions.organisations_for(user, action).filter(is_active=True).order_by("path")
