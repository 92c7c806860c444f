"""What every dossier service shares: the state machine, locking, history, audit, permissions.

Locking order (STYLE.md: locks in a fixed order): a parent dossier before its inter-agency
child, the dossier before the counter row of a new code. `lock()` takes both the parent and the
dossier itself, so a service on a child never waits for its parent while holding the child.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import ApiKey, Role
from chinhquyenso.core.services import audit, calendar
from chinhquyenso.dossiers import timeliness
from chinhquyenso.dossiers.models import (
    FINAL_STATUSES,
    Dossier,
    DossierEvent,
    FinishedHandler,
    Pause,
    Status,
    StepRun,
)
from chinhquyenso.dossiers.permissions import APPROVE, RECEIVE, RETURN, SUPERVISE
from chinhquyenso.procedures.models import ProcessStep

S = Status

# The lifecycle (STYLE.md habit 4): from each status, the statuses a service may move it to.
# Routing inside "processing" (claim, assign, forward, send back) keeps the status.
TRANSITIONS: dict[int, frozenset[int]] = {
    S.SUBMITTED: frozenset({S.RECEIVED, S.REFUSED, S.WITHDRAWN}),
    S.RECEIVED: frozenset(
        {S.RECEIVED, S.PROCESSING, S.AWAITING_SUPPLEMENT, S.AWAITING_PAYMENT, S.RESOLVED}
        | {S.REFUSED, S.STOPPED, S.WITHDRAWN}
    ),
    S.PROCESSING: frozenset(
        {S.PROCESSING, S.AWAITING_SUPPLEMENT, S.AWAITING_PAYMENT, S.RESOLVED}
        | {S.REFUSED, S.STOPPED, S.WITHDRAWN}
    ),
    S.AWAITING_SUPPLEMENT: frozenset({S.PROCESSING, S.STOPPED, S.WITHDRAWN}),
    S.AWAITING_PAYMENT: frozenset({S.PROCESSING, S.STOPPED, S.WITHDRAWN}),
    S.RESOLVED: frozenset({S.RETURNED}),
    S.REFUSED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.STOPPED: frozenset(),
    S.RETURNED: frozenset(),
}

RUNNING = frozenset({S.RECEIVED, S.PROCESSING, S.AWAITING_SUPPLEMENT, S.AWAITING_PAYMENT})
PAUSED = frozenset({S.AWAITING_SUPPLEMENT, S.AWAITING_PAYMENT})
ROUTABLE = frozenset({S.RECEIVED, S.PROCESSING})

# One service per action: the statuses it starts from and what people read about it.
ACTIONS: dict[str, tuple[frozenset[int], str]] = {
    "accept": (frozenset({S.SUBMITTED}), _("tiếp nhận hồ sơ")),
    "refuse": (frozenset({S.SUBMITTED, S.RECEIVED, S.PROCESSING}), _("từ chối hồ sơ")),
    "claim": (ROUTABLE, _("nhận xử lý hồ sơ")),
    "assign": (ROUTABLE, _("phân công xử lý")),
    "forward": (ROUTABLE, _("chuyển bước xử lý")),
    "send_back": (ROUTABLE, _("trả lại bước trước")),
    "approve": (frozenset({S.PROCESSING}), _("phê duyệt")),
    "transfer": (ROUTABLE, _("chuyển liên thông")),
    "return_to_desk": (ROUTABLE, _("chuyển kết quả về Bộ phận Một cửa")),
    "return_result": (frozenset({S.RESOLVED}), _("trả kết quả")),
    "request_supplement": (ROUTABLE, _("yêu cầu bổ sung hồ sơ")),
    "receive_supplement": (frozenset({S.AWAITING_SUPPLEMENT}), _("nhận hồ sơ bổ sung")),
    "request_payment": (ROUTABLE, _("yêu cầu thực hiện nghĩa vụ tài chính")),
    "confirm_payment": (frozenset({S.AWAITING_PAYMENT}), _("xác nhận đã nộp phí, lệ phí")),
    "stop": (RUNNING, _("dừng xử lý")),
    "withdraw": (frozenset({S.SUBMITTED}) | RUNNING, _("rút hồ sơ")),
    "issue_apology": (RUNNING, _("lập phiếu xin lỗi, hẹn lại")),
}


def now() -> datetime:
    return timezone.now()


# --- Actors ----------------------------------------------------------------------------------


def is_person(actor) -> bool:
    return getattr(actor, "is_authenticated", False) and not isinstance(actor, ApiKey)


def person_or_none(actor):
    return actor if is_person(actor) else None


def audit_actor(actor):
    if is_person(actor):
        return actor
    if isinstance(actor, ApiKey):
        return f"apikey:{actor.prefix}"
    return actor or None


def holds_role(user, role: str, unit) -> bool:
    """True when `user` holds `role` in `unit` or one of its ancestors (or is a superuser)."""
    if not is_person(user) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return any(
        p.role == role and unit.path.startswith(p.organisation.path)
        for p in permissions.active_positions(user)
    )


def require_desk(actor, organisation, action: str = RECEIVE, *, scope: str = "") -> None:
    """A desk officer of `organisation` (or an API key with `scope` over it)."""
    if isinstance(actor, ApiKey):
        if not scope or scope not in (actor.scopes or []):
            raise PermissionDenied(
                "Khóa API không có phạm vi cho thao tác này.", code="scope_missing"
            )
        if not organisation.path.startswith(actor.organisation.path):
            raise PermissionDenied("Đối tượng nằm ngoài phạm vi cơ quan của khóa API.")
        return
    permissions.require(actor, action, organisation)


def require_step_actor(actor, dossier: Dossier) -> ProcessStep:
    """The person who may act on the dossier's current step: the step's role in the step's
    unit, and the assigned handler when there is one."""
    step = dossier.current_step
    if step is None:
        raise ValidationFailed("Hồ sơ không ở bước xử lý nào.", code="transition_not_allowed")
    if not holds_role(actor, step.role, step.unit):
        role = Role(step.role).label if step.role in Role.values else step.role
        raise PermissionDenied(
            f"Bạn không có vai trò “{role}” tại {step.unit.name} để xử lý bước “{step.name}”.",
            code="step_role_required",
        )
    if (
        dossier.current_handler_id is not None
        and dossier.current_handler_id != actor.pk
        and not actor.is_superuser
    ):
        raise PermissionDenied(
            f"Hồ sơ đang được giao cho {dossier.current_handler} xử lý.",
            code="assigned_to_other",
        )
    return step


def require_any(actor, dossier: Dossier, checks: Iterable[tuple[str, object]]) -> None:
    """PermissionDenied unless one of (action, object) is allowed."""
    if any(permissions.can(actor, action, obj) for action, obj in checks if obj is not None):
        return
    raise PermissionDenied("Bạn không có quyền thực hiện thao tác này.")


def may_act_on_step(actor, dossier: Dossier) -> bool:
    try:
        require_step_actor(actor, dossier)
    except (PermissionDenied, ValidationFailed):
        return False
    return True


def desk_or_step_or_manager(actor, dossier: Dossier) -> None:
    """Desk officer of the receiving organisation, the current step's actor, or a leader /
    unit head over the handling organisation or the current unit."""
    if may_act_on_step(actor, dossier):
        return
    require_any(
        actor,
        dossier,
        [
            (RECEIVE, dossier.receiving_organisation),
            (RETURN, dossier.receiving_organisation),
            (APPROVE, dossier.handling_organisation),
            (APPROVE, dossier.current_unit),
            (SUPERVISE, dossier.handling_organisation),
        ],
    )


# --- Locking, state checks, history ---------------------------------------------------------

_RELATED = (
    "procedure",
    "procedure_version",
    "process",
    "receiving_organisation",
    "handling_organisation",
    "current_step",
    "current_step__unit",
    "current_step__transfer_to",
    "current_handler",
    "current_unit",
    "applicant",
)


def lock(dossier: Dossier | int, expected_revision: int | None = None) -> Dossier:
    """The dossier re-read under a row lock (its parent locked first), revision checked.

    `expected_revision`: the revision the caller's page or request showed; another change
    since then is a Conflict `dossier_changed` (None: the caller does not check).
    """
    pk = dossier.pk if isinstance(dossier, Dossier) else dossier
    parent_id = Dossier.objects.filter(pk=pk).values_list("parent_id", flat=True).first()
    if parent_id is not None:
        list(Dossier.objects.select_for_update().filter(pk=parent_id).values_list("pk"))
    # The row alone first, then the row with its related rows in a second statement. Locked
    # together, a transaction that waited for the lock got None when the one before it had
    # moved a joined column (PostgreSQL rechecks the newest row against the join rows of its
    # first snapshot: accepting moves the handling organisation, so a concurrent second
    # acceptance was told "not found"). The second statement's snapshot, taken once the lock
    # is held, sees the committed row and its related rows as they are now.
    if not list(Dossier.objects.select_for_update().filter(pk=pk).values_list("pk", flat=True)):
        raise NotFound("Không tìm thấy hồ sơ.", code="dossier_not_found")
    locked = Dossier.objects.select_related(*_RELATED).get(pk=pk)
    check_revision(locked, expected_revision)
    return locked


def check_revision(dossier: Dossier, expected_revision: int | None) -> None:
    if expected_revision is not None and int(expected_revision) != dossier.revision:
        raise Conflict(
            "Hồ sơ vừa được người khác cập nhật. Vui lòng tải lại trang và thực hiện lại.",
            code="dossier_changed",
            details={"revision": dossier.revision, "expected_revision": expected_revision},
        )


def check_action(dossier: Dossier, action: str, to_status: int | None = None) -> None:
    """ValidationFailed `transition_not_allowed` unless `action` may start from the current
    status and (when it changes the status) the map allows the move."""
    sources, label = ACTIONS[action]
    allowed = dossier.status in sources
    if allowed and to_status is not None:
        allowed = to_status in TRANSITIONS[dossier.status]
    if not allowed:
        raise ValidationFailed(
            f"Không thể {label} khi hồ sơ đang ở trạng thái “{Status(dossier.status).label}”.",
            code="transition_not_allowed",
            details={"action": action, "status": dossier.status, "to_status": to_status},
        )


def active_child(dossier: Dossier) -> Dossier | None:
    return (
        Dossier.objects.filter(parent=dossier)
        .exclude(status__in=FINAL_STATUSES)
        .select_related("handling_organisation")
        .first()
    )


def refuse_while_transferred(dossier: Dossier) -> None:
    child = active_child(dossier)
    if child is not None:
        raise ValidationFailed(
            f"Hồ sơ đang được giải quyết liên thông tại {child.handling_organisation.name} "
            f"(mã {child.code}); chờ cơ quan đó trả kết quả.",
            code="transition_not_allowed",
            details={"child": child.code},
        )


def observe_lateness(dossier: Dossier, at: datetime, fields: list[str]) -> None:
    """Set the sticky `counted_late` the first time a service sees the dossier past due."""
    if not dossier.counted_late and timeliness.is_past_due(dossier, at):
        dossier.counted_late = True
        fields.append("counted_late")


def open_run(dossier: Dossier) -> StepRun | None:
    return (
        StepRun.objects.filter(dossier=dossier, finished_at__isnull=True)
        .order_by("-started_at", "-id")
        .first()
    )


def close_run(dossier: Dossier, at: datetime, *, comment: str = "", actor=None) -> StepRun | None:
    """Finish the open step run, graded by the one on-time rule."""
    run = open_run(dossier)
    if run is None:
        return None
    run.finished_at = at
    run.timeliness = timeliness.evaluate_step(run, now=at, paused_at=dossier.clock_paused_at).state
    fields = ["finished_at", "timeliness"]
    if comment:
        run.comment = comment[:2000] if not run.comment else f"{run.comment}\n{comment}"[:2000]
        fields.append("comment")
    if run.handler_id is None and is_person(actor):
        run.handler = actor
        fields.append("handler")
    run.save(update_fields=fields)
    return run


def save(
    dossier: Dossier,
    *,
    actor,
    action: str,
    fields: Iterable[str],
    at: datetime,
    from_status: int | None,
    comment: str = "",
    from_step=None,
    to_step=None,
    data: dict | None = None,
    inserted: bool = False,
) -> Dossier:
    """Write the change: revision+1, the history row and the audit entry, in the caller's
    transaction. `inserted`: the caller has just inserted the row (revision 1), so only the
    history and the audit entry are written."""
    if not inserted:
        dossier.revision += 1
        update = list(dict.fromkeys([*fields, "revision", "updated_at"]))
        dossier.save(update_fields=update)
    if dossier.finished_at is not None:
        record_finished_handlers(dossier)
    event = DossierEvent.objects.create(
        dossier=dossier,
        at=at,
        actor=person_or_none(actor),
        action=action,
        from_status=from_status,
        to_status=dossier.status,
        from_step=from_step,
        to_step=to_step,
        comment=comment or "",
        data=data or {},
    )
    if inserted:
        known_related(dossier, events=[event])
    audit.record(
        action=f"dossier.{action}",
        actor=audit_actor(actor),
        obj=dossier,
        organisation=dossier.handling_organisation,
        data={
            "code": dossier.code,
            "revision": dossier.revision,
            "from_status": from_status,
            "to_status": dossier.status,
            **({"from_step": from_step.order} if from_step is not None else {}),
            **({"to_step": to_step.order} if to_step is not None else {}),
            **({"comment": comment} if comment else {}),
            **(data or {}),
        },
    )
    return dossier


def record_finished_handlers(dossier: Dossier) -> None:
    """Keep the supervision summary (`FinishedHandler`) of a finished dossier in step: one row
    per official who handled one of its steps, with its end instant, on-time result and
    organisation columns as saved now. Written on every save of a finished dossier (the one
    that finishes it, and later ones: returning the result closes the desk's step run with a
    new handler and the unit holding it may change), so no later change leaves it stale."""
    handlers = (
        StepRun.objects.filter(dossier=dossier, handler__isnull=False)
        .order_by()
        .values_list("handler_id", flat=True)
        .distinct()
    )
    rows = [
        FinishedHandler(
            dossier=dossier,
            handler_id=handler_id,
            handling_organisation_id=dossier.handling_organisation_id,
            receiving_organisation_id=dossier.receiving_organisation_id,
            current_unit_id=dossier.current_unit_id,
            finished_at=dossier.finished_at,
            timeliness=dossier.timeliness,
        )
        for handler_id in handlers
    ]
    if rows:
        FinishedHandler.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["dossier", "handler"],
            update_fields=[
                "handling_organisation",
                "receiving_organisation",
                "current_unit",
                "finished_at",
                "timeliness",
            ],
        )


def known_related(dossier: Dossier, **rows: list) -> None:
    """Record rows a service has just written as the dossier's related sets (`documents`,
    `events`, `step_runs`, `pauses`, `children`), the way `prefetch_related` does, so the
    caller can show the new dossier without reading back what it wrote."""
    cache = dossier.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, values in rows.items():
        queryset = getattr(dossier, name).get_queryset()  # lazy: no query
        queryset._result_cache = list(values)
        queryset._prefetch_done = True
        cache[name] = queryset


def finish(dossier: Dossier, at: datetime, fields: list[str], *, actor=None, comment="") -> None:
    """Entering a final status: fix the end instant (the first final status wins), close the
    open step run and any open clock stop, and store the on-time result."""
    if dossier.finished_at is None:
        dossier.finished_at = at
        fields.append("finished_at")
    close_run(dossier, at, comment=comment, actor=actor)
    for pause in Pause.objects.filter(dossier=dossier, ended_at__isnull=True):
        # Finished while waiting for the applicant: the request stays the end (766 rule);
        # the pause is closed for the record but does not move any due date.
        pause.ended_at = at
        pause.paused_minutes = calendar.working_minutes_between(
            pause.started_at, at, organisation=dossier.handling_organisation_id
        )
        pause.save(update_fields=["ended_at", "paused_minutes"])
    result = timeliness.evaluate(dossier, now=at)
    dossier.timeliness = result.state
    if result.state == timeliness.LATE and not dossier.counted_late:
        dossier.counted_late = True
        fields.append("counted_late")
    dossier.current_handler = None
    dossier.step_due_at = None
    fields += ["timeliness", "current_handler", "step_due_at"]


def check_text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, code=f"{field}_required", details={field: [message]})
    return value


# --- Applicant notifications ----------------------------------------------------------------


def vn(dt: datetime | None) -> str:
    """An instant in messages, as the pages and notifications write it (`notify.vn_time`):
    "20/03/2026 16:30", Asia/Ho_Chi_Minh."""
    if dt is None:
        return ""
    return timezone.localtime(dt).strftime("%d/%m/%Y %H:%M")
