"""Due dates of dossiers and steps, all from the working-day calendar of `core`.

* The clock starts at receipt, or at the opening of the next working day when the dossier is
  received after the cut-off (`settings.CQS_DOSSIER_CUTOFF`, default "15:00"; DOMAIN.md §3.5
  "sau 15 giờ thì chuyển ngày làm việc tiếp theo") or on a day off.
* Working days / working hours: `calendar.due(...)` (a fraction of a day is counted in working
  minutes of a standard day, the procedures module's `standard_day_minutes()`).
* Calendar days (Civil Code 2015 Art. 147–148): the period starts the day after the event,
  ends at the close of its last day, and a last day that is not a working day moves to the end
  of the next working day.
* A step's due date: its allotment in working minutes from the hand-over.
* Clock stops move due dates later by the paused working time (`add_working_minutes`).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from chinhquyenso.core.services import calendar
from chinhquyenso.procedures.models import TimeUnit

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_CUTOFF_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def cutoff() -> time:
    """The intake cut-off as a local time (setting `CQS_DOSSIER_CUTOFF`, "HH:MM")."""
    raw = str(getattr(settings, "CQS_DOSSIER_CUTOFF", "15:00")).strip()
    match = _CUTOFF_RE.match(raw)
    if not match:
        raise ImproperlyConfigured(f"CQS_DOSSIER_CUTOFF must be HH:MM, got {raw!r}")
    return time(int(match.group(1)), int(match.group(2)))


def _local_midnight(day) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TZ)


def clock_start(received_at: datetime, organisation) -> datetime:
    """When processing time starts to run for a dossier received at `received_at`."""
    local = received_at.astimezone(TZ)
    if calendar.is_working_day(local.date(), organisation=organisation) and (
        local.time().replace(tzinfo=None) <= cutoff()
    ):
        return calendar.next_working_moment(received_at, organisation=organisation)
    return calendar.next_working_moment(
        _local_midnight(local.date() + timedelta(days=1)), organisation=organisation
    )


def add_working_minutes(start: datetime, minutes: int, organisation) -> datetime:
    """The earliest instant by which `minutes` working minutes have passed since `start`."""
    if minutes <= 0:
        return start
    hours, rest = divmod(int(minutes), 60)
    base = (
        start if hours == 0 else calendar.due(start, working_hours=hours, organisation=organisation)
    )
    if rest == 0:
        return base
    # Fast path: the remaining minutes fit in the session that `base` is in (or opens).
    opening = calendar.next_working_moment(base, organisation=organisation)
    candidate = opening + timedelta(minutes=rest)
    if calendar.working_minutes_between(base, candidate, organisation=organisation) >= rest:
        return candidate
    # Across a break: search the instant (to the microsecond) in working time.
    lo = base
    hi = calendar.due(start, working_hours=hours + 1, organisation=organisation)
    while hi - lo > timedelta(microseconds=1):
        mid = lo + (hi - lo) / 2
        if calendar.working_minutes_between(start, mid, organisation=organisation) >= minutes:
            hi = mid
        else:
            lo = mid
    return hi


def legal_due(start: datetime, version, organisation) -> datetime | None:
    """The due date of a procedure version's processing time counted from `start` (None when
    the version states no processing time)."""
    amount = version.processing_time
    if amount is None or amount <= 0:
        return None
    amount = Decimal(amount)
    unit = version.processing_unit
    if unit == TimeUnit.CALENDAR_DAYS:
        last = start.astimezone(TZ).date() + timedelta(days=math.ceil(amount))
        while not calendar.is_working_day(last, organisation=organisation):
            last += timedelta(days=1)
        # From before the opening of `last`, one working day ends at its close.
        return calendar.due(_local_midnight(last), working_days=1, organisation=organisation)
    if unit == TimeUnit.WORKING_HOURS:
        if amount == amount.to_integral_value():
            return calendar.due(start, working_hours=int(amount), organisation=organisation)
        return add_working_minutes(start, int(round(amount * 60)), organisation)
    if amount == amount.to_integral_value():
        return calendar.due(start, working_days=int(amount), organisation=organisation)
    from chinhquyenso.procedures.services.processes import standard_day_minutes

    return add_working_minutes(start, int(round(amount * standard_day_minutes())), organisation)


def step_due(start: datetime, step) -> datetime:
    return add_working_minutes(start, step.allotment_minutes, step.unit_id)
