"""On-time accounting: the ONE definition of early / on time / late used everywhere.

Queues, pages, forms (Form 05, Form 06), statistics and any synchronisation with the national
portal call `evaluate` (one dossier), `evaluate_step` (one hand-over) or, for database filters,
`overdue_q` / `in_time_q`, which are the same rule written as SQL. Nothing else decides.

The rule (Bộ chỉ số 766, QĐ 766/QĐ-TTg indicator 2.1; DOMAIN.md §3.5)
------------------------------------------------------------------------
* The clock starts at `Dossier.clock_started_at` (receipt, or the next working day's opening
  when received after the cut-off) and ends at the first final status (`finished_at`: refused,
  withdrawn, stopped, resolved, returned; "resolved" comes before "returned", so it wins).
* Time the clock stood still for a supplement (or a financial obligation) is subtracted: the
  services move `original_due_at` later by exactly the paused working time when the clock
  restarts, and keep the paused working minutes in `Dossier.paused_minutes`. While the dossier
  still waits for the applicant, the moment of the request is treated as the end.
* Late when the end is after `original_due_at` (the legal due date; an apology's new
  appointment moves `due_at` but never `original_due_at`, so an apology never makes a dossier
  on time), or when more than one supplement was requested, or once the dossier has been
  counted late (`counted_late`, a sticky flag the services set the first time they see the
  dossier past its due date: no later action can undo lateness).
* Early: finished (not late) at least one full working day before the due date, i.e. the
  instant one working day after the end is still on or before the due date.
* While in progress: "overdue" when the same test fails at `now`, else "in_time".
* A dossier with no processing time (nothing to be late against) is on time / in time.

All comparisons are of aware instants; working time comes from `core.services.calendar` for the
dossier's handling organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chinhquyenso.core.services import calendar
from chinhquyenso.dossiers.models import Timeliness

EARLY = Timeliness.EARLY.value
ON_TIME = Timeliness.ON_TIME.value
LATE = Timeliness.LATE.value
IN_TIME = "in_time"
OVERDUE = "overdue"

LABELS = {
    EARLY: _("Trước hạn"),
    ON_TIME: _("Đúng hạn"),
    LATE: _("Trễ hạn"),
    IN_TIME: _("Trong hạn"),
    OVERDUE: _("Quá hạn"),
}
FINISHED_STATES = frozenset({EARLY, ON_TIME, LATE})


@dataclass(frozen=True)
class TimelinessResult:
    # early | on_time | late (finished) or in_time | overdue (still running)
    state: str
    # The instant the clock stopped for good (None while running).
    end_instant: datetime | None
    working_minutes_used: int
    # None when the procedure has no processing time.
    working_minutes_allowed: int | None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def is_late(self) -> bool:
        return self.state in (LATE, OVERDUE)

    @property
    def label(self) -> str:
        return str(LABELS[self.state])


def _minutes(a: datetime, b: datetime, organisation_id) -> int:
    if b <= a:
        return 0
    return calendar.working_minutes_between(a, b, organisation=organisation_id)


def _early(end: datetime, due: datetime, organisation_id) -> bool:
    """At least one full working day between the end and the due date."""
    return calendar.due(end, working_days=1, organisation=organisation_id) <= due


def is_past_due(dossier, at: datetime) -> bool:
    """True when, at `at`, the dossier is late or overdue by the rule above (no query)."""
    if dossier.counted_late or dossier.supplement_count > 1:
        return True
    if dossier.original_due_at is None or dossier.clock_started_at is None:
        return False
    end = dossier.finished_at or at
    if dossier.clock_paused_at is not None:
        end = min(end, dossier.clock_paused_at)
    return end > dossier.original_due_at


def evaluate(dossier, *, now: datetime | None = None) -> TimelinessResult:
    """Early / on time / late for a finished dossier, in time / overdue for a running one.

    Reads only fields of `dossier` (no query); working time from the calendar cache.
    """
    now = now or timezone.now()
    org = dossier.handling_organisation_id
    finished = dossier.finished_at is not None
    end = dossier.finished_at if finished else now
    # Waiting for the applicant (or stopped while waiting): the request is the end (766 rule).
    effective_end = end
    if dossier.clock_paused_at is not None and dossier.clock_paused_at < end:
        effective_end = dossier.clock_paused_at
    start = dossier.clock_started_at
    if start is None:
        return TimelinessResult(
            ON_TIME if finished else IN_TIME, end if finished else None, 0, None
        )
    used = max(0, _minutes(start, effective_end, org) - dossier.paused_minutes)
    allowed = None
    if dossier.original_due_at is not None:
        allowed = max(0, _minutes(start, dossier.original_due_at, org) - dossier.paused_minutes)
    state = _state(dossier, finished, effective_end, org)
    return TimelinessResult(state, end if finished else None, used, allowed)


def state_of(dossier, *, now: datetime | None = None) -> str:
    """`evaluate(dossier, now=now).state` without the working-minute counts, for pages that
    show the state only (the public lookup). A finished dossier's state is the one `evaluate`
    gave when it finished (`Dossier.timeliness`, written by the services in the same
    transaction as `finished_at`, and the one statistics count); a running one's needs no
    calendar call at all."""
    finished = dossier.finished_at is not None
    if finished and dossier.timeliness:
        return dossier.timeliness
    end = dossier.finished_at if finished else (now or timezone.now())
    if dossier.clock_started_at is None:
        return ON_TIME if finished else IN_TIME
    if dossier.clock_paused_at is not None and dossier.clock_paused_at < end:
        end = dossier.clock_paused_at
    return _state(dossier, finished, end, dossier.handling_organisation_id)


def _state(dossier, finished: bool, effective_end: datetime, org) -> str:
    """The rule itself, for a dossier whose clock has started (shared by `evaluate` and
    `state_of`, so the two cannot disagree)."""
    late = is_past_due(dossier, effective_end)
    if not finished:
        return OVERDUE if late else IN_TIME
    if late:
        return LATE
    if dossier.original_due_at is not None and _early(effective_end, dossier.original_due_at, org):
        return EARLY
    return ON_TIME


def evaluate_step(run, *, now: datetime | None = None, paused_at: datetime | None = None):
    """The same rule for one pass through one step (Form 05: trước hạn / đúng hạn / quá hạn).

    `paused_at`: when the dossier's clock is stopped now, the instant it stopped (an open step
    does not run late while the applicant has the dossier).
    """
    now = now or timezone.now()
    finished = run.finished_at is not None
    end = run.finished_at if finished else now
    if paused_at is not None and paused_at < end:
        end = paused_at
    used = _minutes(run.started_at, end, run.unit_id)
    allowed = _minutes(run.started_at, run.due_at, run.unit_id)
    late = end > run.due_at
    if not finished:
        state = OVERDUE if late else IN_TIME
    elif late:
        state = LATE
    elif _early(end, run.due_at, run.unit_id):
        state = EARLY
    else:
        state = ON_TIME
    return TimelinessResult(state, run.finished_at, used, allowed)


# --- The same rule as database filters (for dossiers that are still running) ----------------


def overdue_q(now: datetime) -> Q:
    """Running dossiers that are overdue at `now` (mirror of `is_past_due`)."""
    return (
        Q(counted_late=True)
        | Q(supplement_count__gt=1)
        | Q(clock_paused_at__isnull=True, original_due_at__lt=now)
        | Q(clock_paused_at__isnull=False, clock_paused_at__gt=F("original_due_at"))
    )


def in_time_q(now: datetime) -> Q:
    """Running dossiers still in time at `now` (the complement of `overdue_q`)."""
    return Q(counted_late=False, supplement_count__lte=1) & (
        Q(original_due_at__isnull=True)
        | Q(clock_paused_at__isnull=True, original_due_at__gte=now)
        | Q(clock_paused_at__isnull=False, clock_paused_at__lte=F("original_due_at"))
    )
