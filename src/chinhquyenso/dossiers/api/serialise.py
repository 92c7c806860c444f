"""Dossiers as JSON for the API (one evaluation of timeliness per dossier, no query for
lists beyond the select_related of `queries.LIST_RELATED`)."""

from __future__ import annotations

from django.utils import timezone

from chinhquyenso.dossiers import queries, services, supervision_queries, timeliness
from chinhquyenso.dossiers.events import label_for
from chinhquyenso.dossiers.models import (
    Dossier,
    Status,
)
from chinhquyenso.dossiers.public import mask_name

# --- Serialisation ------------------------------------------------------------------------------


def local(value):
    """Instants are stored in UTC and shown in Asia/Ho_Chi_Minh (+07:00) at the edges."""
    return timezone.localtime(value) if value is not None else None


def ref(obj) -> dict | None:
    if obj is None:
        return None
    name = getattr(obj, "full_name", "") or getattr(obj, "name", "") or str(obj)
    return {"id": obj.pk, "name": name}


def status_ref(value: int) -> dict:
    return {"code": value, "name": str(Status(value).label)}


def step_ref(step) -> dict | None:
    if step is None:
        return None
    return {"order": step.order, "name": step.name, "kind": step.kind, "role": step.role}


def person_name(user) -> str:
    return (user.full_name or user.get_username()) if user is not None else ""


def available_actions(d: Dossier) -> list[str]:
    return [name for name, (sources, _) in services.ACTIONS.items() if d.status in sources]


def summary(d: Dossier, *, personal: bool, now=None) -> dict:
    """The list row. `personal` (from `privacy.personal_data_visible`): the applicant's name and
    identification number; otherwise the masked name and no number."""
    result = timeliness.evaluate(d, now=now)
    return {
        "code": d.code,
        "revision": d.revision,
        "status": status_ref(d.status),
        "procedure_code": d.procedure.national_code,
        "procedure_name": d.procedure_version.name,
        "procedure_version": d.procedure_version.number,
        "receiving_organisation": ref(d.receiving_organisation),
        "handling_organisation": ref(d.handling_organisation),
        "channel": d.channel,
        "applicant_kind": d.applicant_kind,
        "personal_data": personal,
        "applicant_name": d.applicant_name if personal else mask_name(d.applicant_name),
        "applicant_id_number": d.applicant_id_number if personal else None,
        "submitted_at": local(d.submitted_at),
        "received_at": local(d.received_at),
        "clock_started_at": local(d.clock_started_at),
        "due_at": local(d.due_at),
        "original_due_at": local(d.original_due_at),
        "finished_at": local(d.finished_at),
        "returned_at": local(d.returned_at),
        "current_step": step_ref(d.current_step),
        "current_unit": ref(d.current_unit),
        "current_handler": ref(d.current_handler),
        "step_due_at": local(d.step_due_at),
        "supplement_count": d.supplement_count,
        "apology_count": d.apology_count,
        "timeliness": {
            "state": result.state,
            "label": result.label,
            "working_minutes_used": result.working_minutes_used,
            "working_minutes_allowed": result.working_minutes_allowed,
            "recorded": d.timeliness,
        },
        "parent": d.parent.code if d.parent_id else None,
        "result_delivery": d.result_delivery,
        "actions": available_actions(d),
    }


def reloaded(dossier: Dossier) -> Dossier:
    """The dossier as it is now, after a service changed it (the caller just acted on it)."""
    return Dossier.objects.select_related(*queries.LIST_RELATED).get(pk=dossier.pk)


def _related(d: Dossier, name: str, query):
    """The related rows `name` as a service left them on a new dossier (see
    `services._common.known_related`: no query), else `query()`."""
    known = getattr(d, "_prefetched_objects_cache", {})
    return known[name] if name in known else query()


def detail(d: Dossier, *, personal: bool) -> dict:
    """The whole dossier. A dossier a service has just created carries the rows it wrote, so
    the 201 of an intake is built without reading anything back."""
    data = summary(d, personal=personal)
    children = _related(
        d,
        "children",
        lambda: Dossier.objects.filter(parent=d).select_related(
            "handling_organisation", "current_step"
        ),
    )
    events = _related(d, "events", lambda: d.events.select_related("actor"))
    step_runs = _related(
        d,
        "step_runs",
        lambda: d.step_runs.select_related("step", "unit", "handler", "handed_over_by"),
    )
    data.update(
        {
            "applicant_phone": d.applicant_phone if personal else None,
            "applicant_email": d.applicant_email if personal else None,
            "applicant_address": d.applicant_address if personal else None,
            "fees": d.fees,
            "fees_paid": d.fees_paid,
            "returned_via": d.returned_via,
            "returned_to_name": d.returned_to_name,
            "postal_tracking": d.postal_tracking,
            "result_file_id": d.result_file_id,
            "children": [
                {
                    "code": child.code,
                    "status": status_ref(child.status),
                    "organisation": ref(child.handling_organisation),
                    "current_step": step_ref(child.current_step),
                }
                for child in children
            ],
            "documents": [
                {
                    "id": doc.pk,
                    "name": doc.name,
                    "copy_type": doc.copy_type,
                    "quantity": doc.quantity,
                    "provided": doc.provided,
                    "file_id": doc.file_id,
                    "from_state_data": doc.from_state_data,
                    "reused": doc.reused_from_id is not None,
                    "supplement_round": doc.supplement_round,
                }
                for doc in d.documents.all()
            ],
            "events": [
                {
                    "at": local(e.at),
                    "action": e.action,
                    "label": label_for(e.action),
                    "actor": person_name(e.actor),
                    "from_status": e.from_status,
                    "to_status": e.to_status,
                    "comment": e.comment,
                }
                for e in events
            ],
            "step_runs": [
                {
                    "step": step_ref(r.step),
                    "unit": ref(r.unit),
                    "handler": person_name(r.handler),
                    "handed_over_by": person_name(r.handed_over_by),
                    "started_at": local(r.started_at),
                    "due_at": local(r.due_at),
                    "finished_at": local(r.finished_at),
                    "timeliness": r.timeliness,
                }
                for r in step_runs
            ],
            "pauses": [
                {
                    "kind": p.kind,
                    "started_at": local(p.started_at),
                    "ended_at": local(p.ended_at),
                    "reason": p.reason,
                    "missing_documents": p.missing_documents or [],
                    "paused_minutes": p.paused_minutes,
                }
                for p in d.pauses.all()
            ],
        }
    )
    return data


def figures(value):
    if isinstance(value, supervision_queries.Figure):
        return {"value": value.value, "filters": value.filters}
    if isinstance(value, dict):
        return {k: figures(v) for k, v in value.items()}
    if isinstance(value, list):
        return [figures(v) for v in value]
    return value
