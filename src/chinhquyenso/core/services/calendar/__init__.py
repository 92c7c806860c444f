"""The working-day calendar (issue #2, point 8): `engine` computes, `admin` changes the data,
`statutory` holds the statutory holidays and their Vietnamese names, `year` shows a year.

Import from here: `from chinhquyenso.core.services import calendar; calendar.due(...)`.
"""

from chinhquyenso.core.services.calendar.admin import (
    create_override,
    delete_override,
    set_office_sessions,
)
from chinhquyenso.core.services.calendar.engine import (
    MAX_WORKING_DAYS,
    MAX_WORKING_HOURS,
    MAX_YEAR,
    MIN_YEAR,
    REVISION_KEY,
    TZ,
    due,
    invalidate_cache,
    is_working_day,
    next_working_moment,
    working_minutes_between,
)
from chinhquyenso.core.services.calendar.statutory import vietnamese_name
from chinhquyenso.core.services.calendar.year import CalendarDay, YearCalendar, holidays_of_year

__all__ = [
    "MAX_WORKING_DAYS",
    "MAX_WORKING_HOURS",
    "MAX_YEAR",
    "MIN_YEAR",
    "REVISION_KEY",
    "TZ",
    "CalendarDay",
    "YearCalendar",
    "create_override",
    "delete_override",
    "due",
    "holidays_of_year",
    "invalidate_cache",
    "is_working_day",
    "next_working_moment",
    "set_office_sessions",
    "vietnamese_name",
    "working_minutes_between",
]
