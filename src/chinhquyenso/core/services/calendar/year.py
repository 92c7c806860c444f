"""A year of the working-day calendar as people read it (the holidays page, the API): the
statutory holidays, nghỉ bù and administrator days off with their Vietnamese names, and the
weekend days worked instead. Computed from the engine's calendar for the organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.core.models.calendar import Weekday
from chinhquyenso.core.services.calendar.engine import MAX_YEAR, MIN_YEAR, days_view
from chinhquyenso.core.services.calendar.statutory import (
    statutory_holidays,
    swapped_days,
    vietnamese_name,
)


@dataclass(frozen=True)
class CalendarDay:
    date: date
    name: str
    # holiday | observed | substituted | override
    kind: str

    @property
    def weekday(self) -> str:
        """The weekday as users read it, the labels of `Weekday`: Thứ Hai … Chủ nhật (not Django's
        "Thứ 2" …)."""
        return str(Weekday(self.date.weekday()).label)


@dataclass(frozen=True)
class YearCalendar:
    year: int
    # Holidays, nghỉ bù, swapped days off and administrator days off (not ordinary weekends).
    days_off: list[CalendarDay]
    # Saturdays, Sundays or holidays that are worked (hoán đổi, làm bù, administrator).
    extra_working_days: list[CalendarDay]


def holidays_of_year(year: int, *, organisation=None) -> YearCalendar:
    """The holidays, nghỉ bù and administrator days off of `year` for `organisation`, with
    Vietnamese names, and the weekend days that are worked instead."""
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed(f"Năm phải trong khoảng {MIN_YEAR}–{MAX_YEAR}.", code="invalid_year")
    rules = days_view(date(year, 1, 1), date(year, 12, 31), organisation=organisation)
    overrides = rules.overrides()
    vn = statutory_holidays(year, year)
    days_off: dict[date, CalendarDay] = {}
    working: dict[date, CalendarDay] = {}
    for day, english in vn.items():
        if day.year != year:
            continue
        name, kind = vietnamese_name(english)
        if rules.is_working(day):
            continue  # an administrator made it a working day; listed below
        days_off[day] = CalendarDay(day, name, kind)
    swaps = swapped_days(vn)
    for day in sorted(vn.weekend_workdays):
        if day.year == year and rules.is_working(day) and day not in overrides:
            off = swaps.get(day)
            name = f"Làm bù (hoán đổi với ngày {off:%d/%m/%Y})" if off else "Làm bù"
            working[day] = CalendarDay(day, name, "substituted")
    for day, (is_work, reason) in overrides.items():
        if is_work:
            if day.weekday() >= 5 or day in vn:
                days_off.pop(day, None)
                working[day] = CalendarDay(day, reason or "Làm bù", "override")
        elif day not in days_off:
            days_off[day] = CalendarDay(day, reason or "Ngày nghỉ", "override")
    return YearCalendar(
        year=year,
        days_off=[days_off[d] for d in sorted(days_off)],
        extra_working_days=[working[d] for d in sorted(working)],
    )
