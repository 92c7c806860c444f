"""Read side of the one-stop back office: who sees which dossiers, queues, list filters.

Who sees a dossier (`dossiers_visible_to`): an official whose position (any official role)
covers, in its organisation subtree, the dossier's handling organisation, its receiving
organisation, the unit holding it now or a unit it passed through; its current handler; for
an inter-agency part, the parent's organisation and the units the parent passed through, and
for a parent, whoever sees one of its parts by the rules above (the department's desk, the
specialist holding the part...): both sides see the progress, read only.
Nobody else: a desk officer of one commune never sees another commune's dossiers unless one is
transferred to them. Out of scope is reported as "not found" (no existence leak).

The list filters (`filter_q`) are the vocabulary the supervision figures
(`supervision_queries.py`) click through with.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone
from django.utils.translation import gettext

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import NotFound, ValidationFailed
from chinhquyenso.core.models import ApiKey, Organisation
from chinhquyenso.core.services import calendar
from chinhquyenso.dossiers import timeliness
from chinhquyenso.dossiers.models import (
    FINAL_STATUSES,
    Channel,
    Dossier,
    Pause,
    Status,
    StepRun,
    Timeliness,
)
from chinhquyenso.dossiers.permissions import RECEIVE, VIEW
from chinhquyenso.dossiers.services.deadlines import TZ
from chinhquyenso.procedures.models import ProcessStep

NOT_FOUND = "Không tìm thấy hồ sơ."
LIST_RELATED = (
    "procedure",
    "procedure_version",
    "receiving_organisation",
    "handling_organisation",
    "current_step",
    "current_unit",
    "current_handler",
    "parent",
)
# Still being worked on (received, not finished, not waiting for the applicant's supplement).
IN_PROGRESS = (Status.RECEIVED, Status.PROCESSING, Status.AWAITING_PAYMENT)
# Positive list of the running statuses: `status IN (...)` can use the status indexes, where
# `NOT (status IN FINAL)` cannot.
NON_FINAL_STATUSES = tuple(s for s in Status if s not in FINAL_STATUSES)
QUEUE_KINDS = ("to_handle", "due_soon", "late", "waiting_others")


def _none() -> QuerySet[Dossier]:
    return Dossier.objects.none()


def _in_view(user) -> list[int]:
    """The ids of the organisations where `user` may view dossiers (read with the positions,
    once per request): the visibility filter then tests columns of the dossier row, with no
    join on the organisation path."""
    roles = permissions.roles_for(VIEW)
    return _subtree_ids(
        user, [p.organisation.path for p in permissions.active_positions(user) if p.role in roles]
    )


def _own_visibility_q(user) -> Q:
    """Who sees a dossier through the dossier itself: its organisations, the unit holding it,
    its current handler, the units it passed through."""
    passed = StepRun.objects.filter(dossier=OuterRef("pk"), unit__in=_in_view(user))
    return (
        Q(handling_organisation__in=_in_view(user))
        | Q(receiving_organisation__in=_in_view(user))
        | Q(current_unit__in=_in_view(user))
        | Q(current_handler=user)
        | Exists(passed)
    )


def visibility_q(user) -> Q | None:
    """The visibility rule as a filter (None: everything, for a superuser)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return None
    if not permissions.active_positions(user):
        return Q(pk__in=[])
    # A parent is seen (read only: every action checks its own permission) by whoever sees one
    # of its inter-agency parts, e.g. the department specialist handling the part, so both
    # sides follow the whole dossier (một cửa liên thông, NĐ 118/2025/NĐ-CP, formerly NĐ 61/2018).
    children = Dossier.objects.filter(parent=OuterRef("pk")).filter(_own_visibility_q(user))
    parent_in_view = Dossier.objects.filter(
        pk=OuterRef("parent_id"), handling_organisation__in=_in_view(user)
    )
    parent_passed = StepRun.objects.filter(dossier=OuterRef("parent_id"), unit__in=_in_view(user))
    return (
        _own_visibility_q(user)
        | Exists(children)
        | (Q(parent__isnull=False) & (Exists(parent_in_view) | Exists(parent_passed)))
    )


def dossiers_visible_to(user) -> QuerySet[Dossier]:
    """Dossiers `user` may see (officials; see the module docstring)."""
    q = visibility_q(user)
    qs = Dossier.objects.all() if q is None else Dossier.objects.filter(q)
    return qs.select_related(*LIST_RELATED)


def dossiers_visible_to_api_key(api_key: ApiKey) -> QuerySet[Dossier]:
    root = api_key.organisation.path
    return Dossier.objects.filter(
        Q(receiving_organisation__path__startswith=root)
        | Q(handling_organisation__path__startswith=root)
    ).select_related(*LIST_RELATED)


def dossiers_of_applicant(user) -> QuerySet[Dossier]:
    """A citizen's or business's own dossiers (for the portal)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_applicant", False):
        return _none()
    own = user.personal_id if user.kind == "citizen" else user.tax_code
    q = Q(applicant=user)
    if own:
        q |= Q(applicant_id_number=own)
    return Dossier.objects.filter(q, parent__isnull=True).select_related(*LIST_RELATED)


def get_dossier_for(user, code: str, lock: bool = False) -> Dossier:
    """The dossier with `code` if `user` may see it; NotFound `dossier_not_found` otherwise
    (whether it exists elsewhere is not revealed). `lock`: under a row lock (inside a
    transaction)."""
    if isinstance(user, ApiKey):
        qs = dossiers_visible_to_api_key(user)
    else:
        qs = dossiers_visible_to(user)
    qs = qs.filter(code=str(code or "").strip())
    if lock:
        qs = qs.select_for_update(of=("self",))
    dossier = qs.first()
    if dossier is None:
        raise NotFound(NOT_FOUND, code="dossier_not_found")
    return dossier


# --- Queues ---------------------------------------------------------------------------------


def _has_active_child() -> Q:
    """Dossiers waiting for one of their inter-agency parts (a child still running). The few
    parents with a running part are read once (hashed), not probed per dossier."""
    return Q(
        pk__in=Dossier.objects.filter(parent__isnull=False, status__in=NON_FINAL_STATUSES).values(
            "parent_id"
        )
    )


def _subtree_ids(user, paths) -> list[int]:
    """The ids of the organisations under any of `paths` (among the subtrees of `user`'s
    positions, read in one query and kept with the positions for the request).

    A list of ids rather than a join on the organisation's materialised path: the queue filters
    then read only columns of the dossier row, so the indexes on `(current_unit, status)`,
    `(current_handler, status)` and `(receiving_organisation, status)` pick the few dossiers of
    the official's units out of a million, and the planner has no extra join to order."""
    positions = permissions.active_positions(user)
    cached = getattr(user, "_cqs_subtrees", None)
    if cached is None or cached[0] is not positions:
        roots = Q(pk__in=[])
        for p in positions:
            roots |= Q(path__startswith=p.organisation.path)
        cached = (positions, list(Organisation.objects.filter(roots).values_list("id", "path")))
        user._cqs_subtrees = cached
    prefixes = tuple(paths)
    return sorted(pk for pk, path in cached[1] if path.startswith(prefixes))


def _steps_with_role(role: str) -> QuerySet[ProcessStep]:
    return ProcessStep.objects.filter(role=role).values("id")


# Statuses the queues can list: `to_handle` waits at a step (received, processing, resolved at
# the return step) or, for a desk, at the online inbox (submitted); `waiting_others` is among the
# running ones. Every queue filter is a union of branches that each start with a positive list
# of statuses, so the status indexes narrow a million dossiers to the few thousand still open.
TO_HANDLE_STATUSES = (Status.RECEIVED, Status.PROCESSING, Status.RESOLVED)
# Joined in the page query of a list (queues, click-through); the rows' organisations are read
# by id in one query, the parents (if any) in another: with all eight joins, PostgreSQL spent
# 35–200 ms choosing the join order of a query that runs in a few milliseconds (issue #3).
LIST_JOINED = ("procedure", "procedure_version", "current_step", "current_handler")
LIST_ORGANISATIONS = ("receiving_organisation", "handling_organisation", "current_unit")


class _ListQuerySet(QuerySet):
    """Dossiers for a list page: the three organisations of the rows read in one query (by id)
    when the rows are fetched, the parents (when a row has one) in another."""

    def _fetch_all(self):
        fresh = self._result_cache is None
        super()._fetch_all()
        if fresh and self._result_cache and isinstance(self._result_cache[0], Dossier):
            _attach_organisations(self._result_cache)


def _attach_organisations(rows: list[Dossier]) -> None:
    fields = [Dossier._meta.get_field(name) for name in LIST_ORGANISATIONS]
    ids = {getattr(d, f.attname) for d in rows for f in fields} - {None}
    found = Organisation.objects.in_bulk(ids)
    for d in rows:
        for f in fields:
            pk = getattr(d, f.attname)
            if pk is not None and not f.is_cached(d):
                f.set_cached_value(d, found.get(pk))


def _list(qs: QuerySet[Dossier]) -> QuerySet[Dossier]:
    listed = qs.select_related(None).select_related(*LIST_JOINED).prefetch_related("parent")
    listed.__class__ = _ListQuerySet
    return listed


def _to_handle_q(user) -> Q:
    """What waits for `user`: the dossiers assigned to them, the unassigned ones at a step whose
    role they hold in the step's unit, and (desk officers) online submissions to accept."""
    positions = permissions.active_positions(user)
    waiting = Q(status__in=TO_HANDLE_STATUSES)
    q = waiting & Q(current_handler=user)
    paths_by_role: dict[str, list[str]] = {}
    for p in positions:
        paths_by_role.setdefault(p.role, []).append(p.organisation.path)
    for role, paths in sorted(paths_by_role.items()):
        q |= waiting & Q(
            current_handler__isnull=True,
            current_unit__in=_subtree_ids(user, paths),
            current_step__in=_steps_with_role(role),
        )
    desk_paths = [
        p.organisation.path for p in positions if p.role in permissions.roles_for(RECEIVE)
    ]
    if desk_paths:
        q |= Q(status=Status.SUBMITTED, receiving_organisation__in=_subtree_ids(user, desk_paths))
    return q


def _waiting_visibility_q(user) -> Q | None:
    """The visibility rule for the `waiting_others` queue (None: `user` sees nothing).

    Its candidates are dossiers `user` handled, paused or holds, so the parts of
    `visibility_q` that apply to them are tested on columns of the dossier row against the
    organisation ids of the other queues (`_in_view`), plus the official's own step runs in a
    unit they may view (the "passed through" rule, narrowed to their runs: one hashed set, no
    per-row subquery). Every dossier it lets through is visible by `visibility_q`."""
    if user.is_superuser:
        return Q()
    if not permissions.active_positions(user):
        return None
    ids = _in_view(user)
    own_runs = StepRun.objects.filter(handler=user, unit__in=ids).values("dossier_id")
    return (
        Q(handling_organisation__in=ids)
        | Q(receiving_organisation__in=ids)
        | Q(current_unit__in=ids)
        | Q(current_handler=user)
        | Q(pk__in=own_runs)
    )


def queue_for(user, kind: str = "to_handle", *, now: datetime | None = None) -> QuerySet[Dossier]:
    """An official's queue, soonest due first. Evaluated: the page query, one query for the
    rows' organisations (and one for parents, if any); the first call of a request also reads
    the ids of the official's units. A bounded number whatever the number of dossiers.

    to_handle: waiting for them; due_soon: of those, due within one working day (the dossier
    or its current step); late: of those, overdue by the on-time rule; waiting_others: handed
    on or waiting for the applicant (supplement, payment) or another organisation.
    """
    if kind not in QUEUE_KINDS:
        raise ValidationFailed(
            f"Hàng đợi không hợp lệ: {kind}.",
            code="invalid_queue",
            details={"allowed": list(QUEUE_KINDS)},
        )
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return _none()
    now = now or timezone.now()
    qs = _list(Dossier.objects.all())
    if kind == "waiting_others":
        seen = _waiting_visibility_q(user)
        if seen is None:
            return _none()
        # Sets read once (hashed), not probed per running dossier.
        handed_on = Q(
            pk__in=StepRun.objects.filter(handler=user, finished_at__isnull=False).values(
                "dossier_id"
            )
        )
        asked = Q(
            pk__in=Pause.objects.filter(requested_by=user, ended_at=None).values("dossier_id")
        )
        mine = Q(current_handler=user)
        paused = (Status.AWAITING_SUPPLEMENT, Status.AWAITING_PAYMENT)
        # Handed on and now with someone else, or handed on and waiting for an inter-agency
        # part; or waiting for the applicant on their request or while theirs. Among the
        # dossiers they may see now: an official who has left the unit or the commune no longer
        # follows what they once handled there.
        qs = qs.filter(
            Q(status__in=NON_FINAL_STATUSES),
            seen,
            (
                Q(status__in=IN_PROGRESS)
                & handed_on
                & (~mine | (Q(status=Status.PROCESSING) & _has_active_child()))
            )
            | (Q(status__in=paused) & (mine | asked)),
        )
        return qs.order_by("due_at", "id")
    qs = qs.filter(_to_handle_q(user)).exclude(_has_active_child())
    if kind == "due_soon":
        soon = calendar.due(now, working_days=1)
        qs = qs.filter(timeliness.in_time_q(now)).filter(
            Q(due_at__lte=soon) | Q(step_due_at__lte=soon)
        )
    elif kind == "late":
        qs = qs.filter(timeliness.overdue_q(now), status__in=(Status.RECEIVED, Status.PROCESSING))
    return qs.order_by("step_due_at", "due_at", "id")


# --- Filters (the click-through vocabulary) ---------------------------------------------------

FILTER_KEYS = (
    "organisation",
    "status",
    "channel",
    "procedure",
    "handler",
    "handled_by",
    "progress",
    "timeliness",
    "received_from",
    "received_to",
    "finished_from",
    "finished_to",
)
PROGRESS_VALUES = ("in_time", "overdue", "awaiting_supplement")


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TZ)


# The days a date filter may name. Outside them a day's bounds cannot be computed or stored
# (9999-12-31 has no next day, 0001-01-01 at 00:00 in Asia/Ho_Chi_Minh is before year 1 in UTC),
# and no dossier of the platform is received or finished there.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)


def _vn_day(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"  # strftime does not pad year 1


def local_day(value, key: str) -> date:
    """A local day from a date, an aware datetime or an ISO string; ValidationFailed
    `invalid_filter` for anything else or a day outside FIRST_DAY..LAST_DAY."""
    try:
        if isinstance(value, datetime):
            day = value.astimezone(TZ).date()
        elif isinstance(value, date):
            day = value
        else:
            day = date.fromisoformat(str(value))
    except (ValueError, OverflowError):
        raise _bad(key, value) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationFailed(
            f"Ngày lọc {_vn_day(day)} nằm ngoài khoảng cho phép: chỉ lọc theo ngày từ "
            f"{_vn_day(FIRST_DAY)} đến {_vn_day(LAST_DAY)}.",
            code="invalid_filter",
            details={key: str(value)},
        )
    return day


# The longest period of the leader's figures and of the register (Form 06).
MAX_PERIOD_DAYS = 366 * 5


def check_period(start: date, end: date) -> None:
    """ValidationFailed unless [start, end] is a period the figures and the register accept:
    the end not before the start (`period_reversed`), at most five years (`period_too_long`).
    The messages say what to correct, in the reader's language."""
    dates = {"start": f"{start:%d/%m/%Y}", "end": f"{end:%d/%m/%Y}"}
    if end < start:
        raise ValidationFailed(
            gettext("“Từ ngày” (%(start)s) phải trước hoặc trùng “Đến ngày” (%(end)s).") % dates,
            code="period_reversed",
        )
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ValidationFailed(
            gettext("Mỗi lần chỉ xem tối đa 5 năm (từ %(start)s đến %(end)s là quá dài).") % dates,
            code="period_too_long",
        )


_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits that fit a bigint ("²" and "١" are digits too)


def _int(value, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**18:
        return value
    if isinstance(value, str) and _ID.fullmatch(value.strip()):
        return int(value)
    raise _bad(key, value)


# The filters as the list page names them (the message says which one is wrong).
FILTER_LABELS = {
    "organisation": "Cơ quan",
    "status": "Trạng thái",
    "channel": "Kênh nộp",
    "procedure": "Thủ tục",
    "handler": "Người đang xử lý",
    "handled_by": "Người đã xử lý",
    "progress": "Tiến độ",
    "timeliness": "Kết quả đúng hạn",
    "received_from": "Tiếp nhận từ ngày",
    "received_to": "Tiếp nhận đến ngày",
    "finished_from": "Kết thúc từ ngày",
    "finished_to": "Kết thúc đến ngày",
    "period": "Khoảng thời gian",
}


def _bad(key, value) -> ValidationFailed:
    label = FILTER_LABELS.get(key, key)
    return ValidationFailed(
        f"Giá trị lọc không hợp lệ: “{label}” = {value}.",
        code="invalid_filter",
        details={key: value},
    )


def organisation_q(
    organisation: Organisation, ids: list[int] | None = None, *, prefix: str = ""
) -> Q:
    """Dossiers of an organisation's subtree: handled, received or held there.

    `ids`: the subtree's organisation ids when the caller has read them, else one query reads
    them (`subtree_ids`). A list of ids, not a join on the materialised path nor a subquery
    (which PostgreSQL may re-run for every row inside an OR): the filter reads only columns of
    the dossier row, so the indexes on those columns apply."""
    subtree = ids if ids is not None else subtree_ids(organisation)
    return (
        Q(**{f"{prefix}handling_organisation__in": subtree})
        | Q(**{f"{prefix}receiving_organisation__in": subtree})
        | Q(**{f"{prefix}current_unit__in": subtree})
    )


def subtree_or_everything(organisation: Organisation) -> tuple[list[int], bool]:
    """The subtree's ids, and whether they are every organisation there is (one query)."""
    total = Subquery(
        Organisation.objects.order_by()
        .annotate(one=Value(1))
        .values("one")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = list(
        Organisation.objects.filter(path__startswith=organisation.path)
        .annotate(total=total)
        .values_list("id", "total")
    )
    return [pk for pk, _ in rows], bool(rows) and len(rows) == rows[0][1]


def subtree_ids(organisation: Organisation) -> list[int]:
    """The ids of `organisation` and everything under it (one query)."""
    return list(
        Organisation.objects.filter(path__startswith=organisation.path).values_list("id", flat=True)
    )


def filter_q(filters: dict, *, now: datetime | None = None) -> Q:
    """A Q for the list filters (all optional; dates are local days, inclusive):

    organisation (Organisation or id), status, channel, procedure (id), handler (current
    handler id), handled_by (an official who handled any step), progress (in_time | overdue:
    still in progress, by the on-time rule; awaiting_supplement), timeliness (early | on_time |
    late: finished), received_from/received_to, finished_from/finished_to.
    """
    now = now or timezone.now()
    q = Q()
    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        key = sorted(unknown)[0]
        raise _bad(key, filters[key])
    for key, value in filters.items():
        if value in (None, ""):
            continue
        if key == "organisation":
            org = value
            if not isinstance(org, Organisation):
                org = Organisation.objects.filter(pk=_int(value, key)).first()
                if org is None:
                    raise _bad(key, value)
            q &= organisation_q(org)
        elif key == "status":
            status = _int(value, key)
            if status not in Status.values:
                raise _bad(key, value)
            q &= Q(status=status)
        elif key == "channel":
            channel = _int(value, key)
            if channel not in Channel.values:
                raise _bad(key, value)
            q &= Q(channel=channel)
        elif key == "procedure":
            q &= Q(procedure_id=_int(value, key))
        elif key == "handler":
            q &= Q(current_handler_id=_int(value, key))
        elif key == "handled_by":
            q &= Exists(StepRun.objects.filter(dossier=OuterRef("pk"), handler_id=_int(value, key)))
        elif key == "progress":
            if value == "awaiting_supplement":
                q &= Q(status=Status.AWAITING_SUPPLEMENT)
            elif value == "in_time":
                q &= Q(status__in=IN_PROGRESS) & timeliness.in_time_q(now)
            elif value == "overdue":
                q &= Q(status__in=IN_PROGRESS) & timeliness.overdue_q(now)
            else:
                raise _bad(key, value)
        elif key == "timeliness":
            if value not in Timeliness.values:
                raise _bad(key, value)
            q &= Q(finished_at__isnull=False, timeliness=value)
        elif key == "received_from":
            q &= Q(received_at__gte=start_of(local_day(value, key)))
        elif key == "received_to":
            q &= Q(received_at__lt=start_of(local_day(value, key) + timedelta(days=1)))
        elif key == "finished_from":
            q &= Q(finished_at__gte=start_of(local_day(value, key)))
        elif key == "finished_to":
            q &= Q(finished_at__lt=start_of(local_day(value, key) + timedelta(days=1)))
    return q


def filtered_dossiers(user, filters: dict, *, now: datetime | None = None) -> QuerySet[Dossier]:
    """The dossiers `user` may see that match `filters` (the click-through of a figure).

    When the filter's organisation lies where `user` may view dossiers (a leader clicking a
    figure of their own organisation), every dossier it matches is visible to them, so the
    visibility rule (with its per-row subqueries) is left out: the same rows, a cheaper plan.
    """
    filters = dict(filters)
    qs = None
    value = filters.get("organisation")
    if value not in (None, ""):
        org = value
        if not isinstance(org, Organisation):
            org = Organisation.objects.filter(pk=_int(value, "organisation")).first()
            if org is None:
                raise _bad("organisation", value)
        filters["organisation"] = org
        if permissions.can(user, VIEW, org):
            qs = Dossier.objects.all()
    if qs is None:
        qs = dossiers_visible_to(user)
    return _list(qs).filter(filter_q(filters, now=now)).order_by("-received_at", "-id")
