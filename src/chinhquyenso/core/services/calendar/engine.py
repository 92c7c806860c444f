"""The working-day calendar: when is something due, counted in working time (issue #2, point 8).

Legal basis
-----------
* Labour Code 2019 (45/2019/QH14) Art. 111–112: holidays, nghỉ bù and swaps (`statutory.py`);
  administrator overrides (`CalendarOverride`) are the final word on top.
* Deadlines of administrative procedures (TTHC) are published in working days ("ngày làm việc")
  or working hours (CSDL quốc gia về TTHC, `DonViTinh`); see DOMAIN.md §8.2.
* Civil Code 2015 Art. 147–148: a period in days starts after the event, ends at the end of its
  last day, and a last day that is a rest day or holiday moves to the end of the next working
  day. Counting only working days and ending at the close of office hours satisfies both.

Which days are working, for an organisation
-------------------------------------------
Office sessions: the organisation's own `OfficeSession` rows if it has any, else those of its
nearest ancestor that has some, else the defaults (no organisation; Monday–Friday 07:30–11:30 and
13:30–17:00 from the data migration). A date is a working day when, in this order:

1. an override exists for it (from the organisation or any ancestor, the nearest one winning, an
   organisation's beating a global one): its kind decides;
2. it is a statutory holiday, observed day or swapped day off: not working;
3. it is a Saturday/Sunday swapped in as a working day by the government: working;
4. otherwise: working when the organisation has sessions on that weekday (so a centre with a
   Saturday-morning session works on Saturdays, a Monday–Friday office does not).

Sessions of a working day whose weekday has none (a Saturday or Sunday made working by rule 1
or 3 in a Monday–Friday office): the sessions defined for Monday; if Monday has none, the first
weekday (Tuesday, Wednesday, ...) that has some. That is a normal full day of that office.

Counting
--------
Time is counted in working time over the sessions, to the microsecond; `pauses` (e.g. while the
dossier waits for the citizen's supplement) do not count. A start outside office hours counts
from the next working moment (a dossier received at 18:00, at lunch or on Sunday starts at the
next session's opening).

* Hours: due = start + N×60 working minutes. Landing exactly on the end of a session gives that
  session's end (11:30), not the next session's start (13:30).
* Days: let the normalised start be on working day D0, `o` working minutes after D0's opening.
  Due = the N-th working day after D0 at the same working offset `o` (clamped to the end of that
  day when it is shorter). When `o` is 0 (received before opening, or after closing the day
  before), that instant equals the close of the (N-1)-th working day after D0, and the close is
  what we return: received Monday before 07:30 with 1 working day is due Monday 17:00, not
  Tuesday 07:30. Generally, of two wall-clock instants that are the same working moment (a
  session's end and the next session's start) the earlier one is returned.
* Pauses with a duration in days: the working time the days rule gives is counted from the start
  and the paused working time is added at the point where it falls (so a 2-working-day pause
  moves a 10:00 deadline by two working days, to 10:00 when the days are alike).

All returned datetimes are aware, in Asia/Ho_Chi_Minh.

Speed
-----
Per organisation, a calendar object holds the working days of a range of years as arrays (day
ordinals, cumulative working time, sessions), so `due()` is a few list look-ups and a bisect with
no database query once warm. It is cached in-process, keyed by organisation id. The admin
services below bump a revision token in Django's cache (shared through Redis between nodes);
the in-process cache re-reads that token at most every `settings.CQS_CALENDAR_CACHE_SECONDS`
(0: on every call) and drops everything when it changed.
"""

from __future__ import annotations

import threading
import time as _time
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver

from chinhquyenso.core.errors import (
    NotFound,
    ValidationFailed,
)
from chinhquyenso.core.models import CalendarOverride, OfficeSession, Organisation
from chinhquyenso.core.models.calendar import OverrideKind
from chinhquyenso.core.services.calendar.statutory import (
    statutory_days,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
US_PER_MINUTE = 60_000_000
US_PER_HOUR = 60 * US_PER_MINUTE
# `holidays.VN` applies observed days from 1995 and knows lunar dates up to 2100.
MIN_YEAR = 1995
MAX_YEAR = 2100
MAX_WORKING_DAYS = 3650
MAX_WORKING_HOURS = MAX_WORKING_DAYS * 8
REVISION_KEY = "cqs:calendar:revision"
_LAST_ORDINAL = date(MAX_YEAR, 12, 31).toordinal()

__all__ = [
    "due",
    "invalidate_cache",
    "is_working_day",
    "next_working_moment",
    "working_minutes_between",
]


# --------------------------------------------------------------------------------------------
# The per-organisation calendar
# --------------------------------------------------------------------------------------------

# A day's sessions: ((start_us, end_us, working_us_before_this_session), ...), and its length.
_Profile = tuple[tuple[tuple[int, int, int], ...], int]


class _OutOfRange(Exception):
    """The calendar object does not cover far enough; the caller extends it and retries."""


def _us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _profile(sessions: Sequence[tuple[int, int]]) -> _Profile:
    out, before = [], 0
    for start, end in sessions:
        out.append((start, end, before))
        before += end - start
    return tuple(out), before


def _year_bounds(year_lo: int, year_hi: int) -> tuple[int, int]:
    return max(MIN_YEAR, year_lo), min(MAX_YEAR, year_hi)


def _out_of_range() -> ValidationFailed:
    return ValidationFailed(
        f"Thời điểm nằm ngoài phạm vi lịch làm việc được hỗ trợ ({MIN_YEAR}–{MAX_YEAR}).",
        code="date_out_of_range",
    )


class _Calendar:
    """Working days of one organisation for the years [year_lo, year_hi]. Immutable; a wider
    range is a new object built from the same raw data (no database query).

    W ("working time") is the number of working microseconds from the start of year_lo.
    """

    __slots__ = (
        "key",
        "path",
        "sessions",
        "overrides",
        "reasons",
        "year_lo",
        "year_hi",
        "o_lo",
        "o_hi",
        "wd",
        "base",
        "cum",
        "prof",
        "next_idx",
    )

    def __init__(self, *, key, path, sessions, overrides, reasons, year_lo, year_hi):
        self.key = key
        self.path = path
        self.sessions: tuple[tuple[tuple[int, int], ...], ...] = sessions  # per weekday 0..6
        self.overrides: dict[date, bool] = overrides  # True: working day
        self.reasons: dict[date, str] = reasons
        self.year_lo, self.year_hi = year_lo, year_hi
        self.o_lo = date(year_lo, 1, 1).toordinal()
        self.o_hi = date(year_hi + 1, 1, 1).toordinal()
        profiles = [_profile(s) for s in sessions]
        fallback_day = next((d for d in range(7) if sessions[d]), None)
        if fallback_day is None:
            raise ValidationFailed(
                "Chưa cấu hình giờ làm việc cho cơ quan này.", code="no_office_sessions"
            )
        fallback = profiles[fallback_day]
        days_off, weekend_workdays = statutory_days(year_lo, year_hi)
        wd: list[int] = []
        prof: list[_Profile] = []
        cum = [0]
        next_idx: list[int] = []
        for o in range(self.o_lo, self.o_hi):
            next_idx.append(len(wd))
            d = date.fromordinal(o)
            weekday = (o - 1) % 7  # date(1, 1, 1) is a Monday with ordinal 1
            working = overrides.get(d)
            if working is None:
                if d in days_off:
                    working = False
                elif d in weekend_workdays:
                    working = True
                else:
                    working = bool(sessions[weekday])
            if working:
                p = profiles[weekday] if sessions[weekday] else fallback
                wd.append(o)
                prof.append(p)
                cum.append(cum[-1] + p[1])
        next_idx.append(len(wd))
        self.wd, self.cum, self.prof, self.next_idx = wd, cum, prof, next_idx
        # Midnight of each working day, aware: instant() only adds the time of day.
        self.base = [datetime.fromordinal(o).replace(tzinfo=TZ) for o in wd]

    def widened(self, year_lo: int, year_hi: int) -> _Calendar:
        return _Calendar(
            key=self.key,
            path=self.path,
            sessions=self.sessions,
            overrides=self.overrides,
            reasons=self.reasons,
            year_lo=min(self.year_lo, year_lo),
            year_hi=max(self.year_hi, year_hi),
        )

    # -- positions ---------------------------------------------------------------------------

    def is_working(self, o: int) -> bool:
        idx = self.next_idx[o - self.o_lo]
        return idx < len(self.wd) and self.wd[idx] == o

    def locate(self, o: int, us: int) -> tuple[int, int]:
        """(working-day index, working offset in that day) of the first working moment at or
        after local day ordinal `o`, time `us`. The index may be len(wd) (past the range)."""
        if not self.o_lo <= o < self.o_hi:
            raise _OutOfRange
        idx = self.next_idx[o - self.o_lo]
        if idx < len(self.wd) and self.wd[idx] == o:
            for start, end, before in self.prof[idx][0]:
                if us < end:
                    return idx, before + max(0, us - start)
            idx += 1
        return idx, 0

    def w_of(self, o: int, us: int) -> int:
        idx, r = self.locate(o, us)
        return self.cum[idx] + r

    def w_clipped(self, o: int, us: int) -> int:
        """W of any instant; instants outside the range clip to its ends (used for pauses,
        which only matter where the computation itself stays inside the range)."""
        if o < self.o_lo:
            return 0
        if o >= self.o_hi:
            return self.cum[-1]
        return self.w_of(o, us)

    def instant(self, x: int, *, earliest: bool) -> datetime:
        """The wall-clock instant of working time `x`. At a boundary between two sessions (or
        two days) `earliest` picks the session end, otherwise the next session's start."""
        cum = self.cum
        if x > cum[-1] or x < 0 or (not earliest and x == cum[-1]):
            raise _OutOfRange
        i = (bisect_left(cum, x) - 1) if earliest else (bisect_right(cum, x) - 1)
        if i < 0:
            raise _OutOfRange
        return self.at(i, x - cum[i], earliest=earliest)

    def at(self, i: int, r: int, *, earliest: bool) -> datetime:
        """The instant `r` working microseconds into working day `i` (0 <= r <= its length)."""
        sessions = self.prof[i][0]
        us = sessions[-1][1]
        for start, end, before in sessions:
            if r < before + end - start or (earliest and r == before + end - start):
                us = start + r - before
                break
        return self.base[i] + timedelta(microseconds=us)


# --------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------

_lock = threading.Lock()
_calendars: dict[int | None, _Calendar] = {}
_token: str | None = None  # the revision the calendars in `_calendars` were built under
_generation = 0  # bumped on every clear, so a build that raced with a clear is not kept
_next_check = float("-inf")  # monotonic time of the next look at the shared revision


def _clear(token: str | None) -> None:
    global _token, _generation, _next_check
    with _lock:
        _calendars.clear()
        _generation += 1
        _token = token
        _next_check = _time.monotonic() + _check_interval()


def _check_interval() -> float:
    return getattr(settings, "CQS_CALENDAR_CACHE_SECONDS", 60)


def invalidate_cache() -> None:
    """Forget every calendar in this process and tell the other nodes to do the same.

    Called by the services below; call it too after changing organisation paths (move, merge)
    or calendar rows by other means.
    """
    token = uuid.uuid4().hex
    cache.set(REVISION_KEY, token, timeout=None)
    _clear(token)


def _check_revision() -> None:
    global _next_check
    if _time.monotonic() < _next_check:
        return
    token = cache.get(REVISION_KEY)
    if token is None:  # first use, or evicted: start a new revision everybody will follow
        cache.add(REVISION_KEY, uuid.uuid4().hex, timeout=None)
        token = cache.get(REVISION_KEY)
    if token != _token:
        _clear(token)
    else:
        _next_check = _time.monotonic() + _check_interval()


@receiver(setting_changed)
def _interval_changed(*, setting, **kwargs) -> None:
    global _next_check
    if setting == "CQS_CALENDAR_CACHE_SECONDS":
        _next_check = float("-inf")


def _ancestor_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def _load(key: int | None, path: str, year_lo: int, year_hi: int) -> _Calendar:
    """Build from the database: 2 queries (sessions, overrides of the organisation's branch)."""
    ids = _ancestor_ids(path) if key is not None else []
    if key is not None and key not in ids:
        ids.append(key)
    depth = {org_id: i for i, org_id in enumerate(ids)}
    branch = Q(organisation__isnull=True) | Q(organisation_id__in=ids)

    by_org: dict[int | None, list[list[tuple[int, int]]]] = {}
    rows = OfficeSession.objects.filter(branch).values_list(
        "organisation_id", "weekday", "start", "end"
    )
    for org_id, weekday, start, end in rows:
        by_org.setdefault(org_id, [[] for _ in range(7)])[weekday].append((_us(start), _us(end)))
    owner = max(by_org, key=lambda org_id: depth.get(org_id, -1), default=None)
    chosen = by_org.get(owner) or [[] for _ in range(7)]
    sessions = tuple(tuple(sorted(day)) for day in chosen)

    overrides: dict[date, bool] = {}
    reasons: dict[date, str] = {}
    override_depth: dict[date, int] = {}
    rows = CalendarOverride.objects.filter(branch).values_list(
        "organisation_id", "date", "kind", "reason"
    )
    for org_id, day, kind, reason in rows:
        d = depth.get(org_id, -1) if org_id is not None else -1
        if day not in override_depth or d > override_depth[day]:
            override_depth[day] = d
            overrides[day] = kind == OverrideKind.WORKING_DAY
            reasons[day] = reason
    return _Calendar(
        key=key,
        path=path,
        sessions=sessions,
        overrides=overrides,
        reasons=reasons,
        year_lo=year_lo,
        year_hi=year_hi,
    )


def _org_key(organisation) -> tuple[int | None, str | None]:
    if organisation is None:
        return None, ""
    if isinstance(organisation, Organisation):
        return organisation.pk, organisation.path
    if isinstance(organisation, int) and not isinstance(organisation, bool):
        return organisation, None
    raise TypeError("organisation must be an Organisation, an id or None")


def _calendar(organisation, o_first: int, o_last: int) -> _Calendar:
    """The organisation's calendar covering local day ordinals [o_first, o_last] (cut at the
    end of MAX_YEAR: computations that need more raise `_OutOfRange`)."""
    _check_revision()
    key, path = _org_key(organisation)
    if o_last > _LAST_ORDINAL:
        o_last = _LAST_ORDINAL
    cal = _calendars.get(key)
    if (
        cal is not None
        and cal.o_lo <= o_first
        and o_last < cal.o_hi
        and (path is None or cal.path == path)
    ):
        return cal  # the hot path: no database, no allocation
    generation = _generation
    y_first = date.fromordinal(max(1, o_first)).year
    y_last = date.fromordinal(max(1, o_last)).year
    if y_first < MIN_YEAR or y_first > MAX_YEAR:
        raise _out_of_range()
    if cal is not None and path is not None and cal.path != path:
        cal = None  # the organisation moved in the tree: other ancestors, other rules
    lo, hi = _year_bounds(y_first - 1, y_last + 2)
    if cal is None:
        if path is None:
            path = Organisation.objects.filter(pk=key).values_list("path", flat=True).first()
            if path is None:
                raise NotFound("Không tìm thấy cơ quan, đơn vị.", code="organisation_not_found")
        today = date.today().year
        lo, hi = _year_bounds(min(lo, today - 1), max(hi, today + 3))
        cal = _load(key, path, lo, hi)
    else:
        cal = cal.widened(lo, hi)
    if not _change_pending():
        with _lock:
            if generation == _generation:
                _calendars[key] = cal
    return cal


def _run(organisation, o_first: int, o_last: int, compute):
    """Call compute(cal) on a calendar covering the range, widening it while it is too short."""
    cal = _calendar(organisation, o_first, o_last)
    while True:
        try:
            return compute(cal)
        except _OutOfRange:
            if cal.year_hi >= MAX_YEAR:
                raise _out_of_range() from None
            span = cal.o_hi - cal.o_lo
            cal = _calendar(organisation, o_first, cal.o_hi + span)


# --------------------------------------------------------------------------------------------
# Public reads
# --------------------------------------------------------------------------------------------


def _local(t: datetime, what: str = "start") -> tuple[int, int]:
    if not isinstance(t, datetime):
        raise ValidationFailed("Thời điểm không hợp lệ.", code="invalid_datetime")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValidationFailed(
            f"Thời điểm ({what}) phải có múi giờ, ví dụ 2026-02-13T10:00:00+07:00.",
            code="naive_datetime",
        )
    lt = t.astimezone(TZ)
    us = ((lt.hour * 60 + lt.minute) * 60 + lt.second) * 1_000_000 + lt.microsecond
    return lt.toordinal(), us


def _local_pauses(pauses) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    out = []
    for pause in pauses:
        try:
            p0, p1 = pause
        except (TypeError, ValueError):
            raise ValidationFailed(
                "Khoảng tạm dừng phải là một cặp (bắt đầu, kết thúc).", code="invalid_pause"
            ) from None
        a, b = _local(p0, "tạm dừng"), _local(p1, "tạm dừng")
        if b < a:
            raise ValidationFailed(
                "Khoảng tạm dừng có thời điểm kết thúc trước thời điểm bắt đầu.",
                code="invalid_pause",
            )
        if a < b:
            out.append((a, b))
    return out


def _merged_pauses(cal: _Calendar, pauses) -> list[tuple[int, int]]:
    """Pauses in working time, sorted and merged (overlapping pauses count once)."""
    spans = sorted((cal.w_clipped(*a), cal.w_clipped(*b)) for a, b in pauses)
    merged: list[list[int]] = []
    for a, b in spans:
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _advance(ws: int, need: int, pauses: list[tuple[int, int]]) -> int:
    """The working time at which `need` unpaused working time has passed since `ws`."""
    cur, rem = ws, need
    for a, b in pauses:
        if b <= cur:
            continue
        if a > cur:
            if a - cur >= rem:
                break
            rem -= a - cur
        cur = max(cur, b)
    return cur + rem


def _duration(working_days, working_hours) -> tuple[bool, int]:
    """(in days?, N) after checking that exactly one positive, bounded integer was given."""
    if working_hours is None and type(working_days) is int and 0 < working_days <= MAX_WORKING_DAYS:
        return True, working_days  # the common case, checked first
    if (working_days is None) == (working_hours is None):
        raise ValidationFailed(
            "Cần cho đúng một trong hai: số ngày làm việc hoặc số giờ làm việc.",
            code="invalid_duration",
        )
    in_days = working_days is not None
    n, limit = (working_days, MAX_WORKING_DAYS) if in_days else (working_hours, MAX_WORKING_HOURS)
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= limit:
        label = "ngày" if in_days else "giờ"
        raise ValidationFailed(
            f"Số {label} làm việc phải là số nguyên dương, tối đa {limit}.",
            code="invalid_duration",
        )
    return in_days, n


def _due_on(cal: _Calendar, o: int, us: int, in_days: bool, n: int, pauses) -> datetime:
    idx0, r0 = cal.locate(o, us)
    if idx0 >= len(cal.wd):
        raise _OutOfRange
    ws = cal.cum[idx0] + r0
    if in_days:
        target = idx0 + n
        if target >= len(cal.wd):
            raise _OutOfRange
        r = min(r0, cal.prof[target][1])
        if not pauses:
            # r0 == 0: the same working moment as the close of the day before, returned.
            return (
                cal.at(target, r, earliest=True)
                if r
                else cal.at(target - 1, cal.prof[target - 1][1], earliest=True)
            )
        x = cal.cum[target] + r
    else:
        x = ws + n * US_PER_HOUR
    if pauses:
        x = _advance(ws, x - ws, _merged_pauses(cal, pauses))
    return cal.instant(x, earliest=True)


def due(
    start: datetime,
    *,
    working_days: int | None = None,
    working_hours: int | None = None,
    organisation=None,
    pauses: Sequence[tuple[datetime, datetime]] = (),
) -> datetime:
    """The instant a period of N working days or hours that starts at `start` ends.

    See the module docstring for the rule and its legal basis. `organisation` is an
    Organisation, its id, or None (the defaults and global overrides).
    """
    in_days, n = _duration(working_days, working_hours)
    o, us = _local(start)
    local_pauses = _local_pauses(pauses) if pauses else None
    # Enough days for the usual case; `_run` widens the range when it is not.
    horizon = o + (n * 2 + 40 if in_days else n // 3 + 40)
    cal = _calendar(organisation, o, horizon)
    try:
        return _due_on(cal, o, us, in_days, n, local_pauses)
    except _OutOfRange:
        return _run(organisation, o, horizon, lambda c: _due_on(c, o, us, in_days, n, local_pauses))


def working_minutes_between(
    a: datetime,
    b: datetime,
    *,
    organisation=None,
    pauses: Sequence[tuple[datetime, datetime]] = (),
) -> int:
    """Whole working minutes in [a, b), not counting pauses (overlapping pauses count once)."""
    oa, ua = _local(a, "a")
    ob, ub = _local(b, "b")
    if (ob, ub) <= (oa, ua):
        return 0
    local_pauses = _local_pauses(pauses) if pauses else []

    def compute(cal: _Calendar) -> int:
        wa, wb = cal.w_of(oa, ua), cal.w_of(ob, ub)
        total = wb - wa
        for p0, p1 in _merged_pauses(cal, local_pauses):
            total -= max(0, min(p1, wb) - max(p0, wa))
        return total // US_PER_MINUTE

    return _run(organisation, oa, ob, compute)


def is_working_day(day: date, *, organisation=None) -> bool:
    """True when `day` is a working day for `organisation` (see the module docstring)."""
    if isinstance(day, datetime):
        day = day.date()
    o = day.toordinal()
    return _calendar(organisation, o, o).is_working(o)


@dataclass(frozen=True)
class DaysView:
    """The engine's rules for a span of days, read-only (the year page lists them)."""

    first: date
    last: date
    _cal: _Calendar

    def is_working(self, day: date) -> bool:
        return self._cal.is_working(day.toordinal())

    def overrides(self) -> dict[date, tuple[bool, str]]:
        """The administrators' overrides in the span: day -> (is a working day, reason)."""
        cal = self._cal
        return {
            day: (is_work, cal.reasons.get(day, ""))
            for day, is_work in cal.overrides.items()
            if self.first <= day <= self.last
        }


def days_view(first: date, last: date, *, organisation=None) -> DaysView:
    """The working-day rules of `organisation` from `first` to `last` (inclusive)."""
    return DaysView(first, last, _calendar(organisation, first.toordinal(), last.toordinal()))


def next_working_moment(t: datetime, *, organisation=None) -> datetime:
    """`t` itself when it falls inside a session, else the opening of the next session."""
    o, us = _local(t, "t")

    def compute(cal: _Calendar) -> datetime:
        idx, r = cal.locate(o, us)
        if idx >= len(cal.wd):
            raise _OutOfRange
        return cal.instant(cal.cum[idx] + r, earliest=False)

    return _run(organisation, o, o + 60, compute)


def _invalidate_after_commit() -> None:
    invalidate_cache()


def _change_pending() -> bool:
    """True while this connection's transaction holds a calendar change not yet committed.

    Calendars built then see rows that a rollback may still undo (a failed request, or every
    test under pytest-django), so they are used but not cached. Django drops the pending
    on-commit callback on rollback, which ends this state either way.
    """
    pending = getattr(transaction.get_connection(), "run_on_commit", ())
    return any(item[1] is _invalidate_after_commit for item in pending)


def _after_change() -> None:
    # Now, so this transaction sees its own change; and again after commit, because another
    # request may have rebuilt a calendar from the pre-commit rows in between.
    invalidate_cache()
    transaction.on_commit(_invalidate_after_commit)
