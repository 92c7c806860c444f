"""Statutory holidays and their Vietnamese names; the calendar engine (`engine.py`) counts
working time on top.

Labour Code 2019 (45/2019/QH14) Art. 112: the public holidays (Tết Dương lịch; 5 days of Tết
Nguyên đán set each year by the Prime Minister; Giỗ Tổ Hùng Vương 10/3 lunar; 30/4; 1/5;
2/9 plus an adjacent day; 24/11 Ngày Văn hóa Việt Nam from 2026). A holiday on the weekly rest
day is taken on the next working day (Art. 111.3, "nghỉ bù"), and each year the government may
swap a working day with a Saturday ("hoán đổi": the Saturday becomes a working day). All of
these come from the `holidays` package (`holidays.VN`, including its `weekend_workdays`, the
swapped-in Saturdays).
"""

from __future__ import annotations

import functools
import re
from datetime import date

import holidays as holidays_lib

_VI_NAMES = {
    "New Year's Day": "Tết Dương lịch",
    "29 of Lunar New Year": "Tết Nguyên đán (29 Tết)",
    "Lunar New Year's Eve": "Tết Nguyên đán (Giao thừa)",
    "Lunar New Year": "Tết Nguyên đán (Mùng 1)",
    "Second Day of Lunar New Year": "Tết Nguyên đán (Mùng 2)",
    "Third Day of Lunar New Year": "Tết Nguyên đán (Mùng 3)",
    "Fourth Day of Lunar New Year": "Tết Nguyên đán (Mùng 4)",
    "Fifth Day of Lunar New Year": "Tết Nguyên đán (Mùng 5)",
    "Sixth Day of Lunar New Year": "Tết Nguyên đán (Mùng 6)",
    "Hung Kings' Commemoration Day": "Giỗ Tổ Hùng Vương",
    "Liberation Day/Reunification Day": "Ngày Giải phóng miền Nam, thống nhất đất nước",
    "International Labor Day": "Ngày Quốc tế Lao động",
    "National Day": "Quốc khánh",
    "Vietnam Cultural Day": "Ngày Văn hóa Việt Nam",
}
_SUBSTITUTED_RE = re.compile(r"^Day off \(substituted from (\d{2})/(\d{2})/(\d{4})\)$")
_SUFFIXES = (
    (" (observed, estimated)", "Nghỉ bù {} (dự kiến)", "observed"),
    (" (observed)", "Nghỉ bù {}", "observed"),
    (" (estimated)", "{} (dự kiến)", "holiday"),
)


def vietnamese_name(english: str) -> tuple[str, str]:
    """(Vietnamese name, kind) for one name of `holidays.VN(language="en_US")`.

    kind: "holiday" (Art. 112), "observed" (nghỉ bù, Art. 111.3), "substituted" (a day off
    swapped with a Saturday worked instead). Unknown names are kept in English.
    """
    names, kinds = [], []
    for part in english.split("; "):
        if m := _SUBSTITUTED_RE.match(part):
            month, day, year = m.groups()
            names.append(f"Nghỉ bù (hoán đổi, làm bù ngày {day}/{month}/{year})")
            kinds.append("substituted")
            continue
        for suffix, template, kind in _SUFFIXES:
            if part.endswith(suffix):
                base = part[: -len(suffix)]
                names.append(template.format(_VI_NAMES.get(base, base)))
                kinds.append(kind)
                break
        else:
            names.append(_VI_NAMES.get(part, part))
            kinds.append("holiday")
    kind = "holiday" if "holiday" in kinds else kinds[0]
    return "; ".join(names), kind


@functools.lru_cache(maxsize=16)
def statutory_days(year_lo: int, year_hi: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, swapped-in weekend working days) for [year_lo, year_hi]. One year either side
    is populated too, because a swap announced in one year may move a day in the next."""
    vn = statutory_holidays(year_lo, year_hi)
    return frozenset(vn.keys()), frozenset(vn.weekend_workdays)


def statutory_holidays(year_lo: int, year_hi: int) -> holidays_lib.HolidayBase:
    """`holidays.VN` (English names) for [year_lo - 1, year_hi + 1]."""
    return holidays_lib.VN(years=range(year_lo - 1, year_hi + 2), language="en_US")


def swapped_days(vn: holidays_lib.HolidayBase) -> dict[date, date]:
    """Each weekend day worked instead of a swapped day off (hoán đổi) -> that day off."""
    swaps = {}
    for day, english in vn.items():
        for part in english.split("; "):
            if m := _SUBSTITUTED_RE.match(part):
                month, dd, yy = (int(g) for g in m.groups())
                swaps[date(yy, month, dd)] = day
    return swaps
