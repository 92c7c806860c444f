"""Public working-day calendar: compute a due date, list a year's days off (issue #2, point 8).

Both endpoints are public (no sign-in): citizens and other systems check deadlines with them.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from django.http import HttpRequest
from ninja import Router, Schema

from chinhquyenso.core.errors import NotFound, ValidationFailed
from chinhquyenso.core.models import Organisation
from chinhquyenso.core.services import calendar

router = Router(tags=["calendar"])

# In a query string an unencoded "+07:00" arrives as " 07:00"; accept that form too.
_SPACE_OFFSET = re.compile(r"^(\S+T\S+?) (\d{2}(?::?\d{2})?)$")


def parse_start(value: str) -> datetime:
    """An ISO-8601 instant with its UTC offset (2026-02-13T10:00:00+07:00 or ...Z)."""
    text = (value or "").strip()
    if m := _SPACE_OFFSET.match(text):
        text = f"{m.group(1)}+{m.group(2)}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            "Thời điểm bắt đầu (start) không đúng định dạng ISO 8601, "
            "ví dụ 2026-02-13T10:00:00+07:00.",
            code="invalid_start",
            details={"start": value},
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValidationFailed(
            "Thời điểm bắt đầu (start) phải ghi múi giờ, ví dụ 2026-02-13T10:00:00+07:00.",
            code="invalid_start",
            details={"start": value},
        )
    return parsed


def _organisation(org_id: int | None) -> Organisation | None:
    if org_id is None:
        return None
    org = Organisation.objects.filter(pk=org_id).first()
    if org is None:
        raise NotFound("Không tìm thấy cơ quan, đơn vị.", code="organisation_not_found")
    return org


class DueOut(Schema):
    due: str
    start: str
    working_minutes: int


@router.get(
    "/due",
    response=DueOut,
    auth=None,
    summary="Tính hạn theo ngày/giờ làm việc (không cần đăng nhập)",
    description=(
        "`start`: thời điểm tiếp nhận, ISO 8601 có múi giờ. Cho đúng một trong `working_days` "
        "(1–3650) hoặc `working_hours`. `organisation`: mã số cơ quan (giờ làm việc và ngày "
        "nghỉ riêng của cơ quan), bỏ trống để dùng lịch chung."
    ),
)
def due(
    request: HttpRequest,
    start: str,
    working_days: int | None = None,
    working_hours: int | None = None,
    organisation: int | None = None,
):
    begin = parse_start(start)
    if (working_days is None) == (working_hours is None):
        raise ValidationFailed(
            "Cần cho đúng một trong hai tham số working_days hoặc working_hours.",
            code="invalid_duration",
        )
    org = _organisation(organisation)
    deadline = calendar.due(
        begin, working_days=working_days, working_hours=working_hours, organisation=org
    )
    normalised = calendar.next_working_moment(begin, organisation=org)
    return {
        "due": deadline.isoformat(),
        "start": normalised.isoformat(),
        "working_minutes": calendar.working_minutes_between(normalised, deadline, organisation=org),
    }


class DayOut(Schema):
    date: date
    name: str
    kind: str


class HolidaysOut(Schema):
    year: int
    organisation: int | None
    days_off: list[DayOut]
    extra_working_days: list[DayOut]


@router.get(
    "/holidays",
    response=HolidaysOut,
    auth=None,
    summary="Ngày nghỉ lễ, nghỉ bù và ngày làm bù trong năm (không cần đăng nhập)",
    description=(
        "`days_off`: ngày nghỉ lễ, nghỉ bù, nghỉ hoán đổi và ngày nghỉ do quản trị điều chỉnh "
        "(kind: holiday, observed, substituted, override); thứ Bảy, Chủ nhật thông thường "
        "không được liệt kê. `extra_working_days`: thứ Bảy, Chủ nhật hoặc ngày lễ vẫn "
        "làm việc (hoán đổi, làm bù hoặc do quản trị điều chỉnh)."
    ),
)
def holidays(request: HttpRequest, year: int, organisation: int | None = None):
    org = _organisation(organisation)
    result = calendar.holidays_of_year(year, organisation=org)
    return {
        "year": result.year,
        "organisation": org.pk if org else None,
        "days_off": result.days_off,
        "extra_working_days": result.extra_working_days,
    }
