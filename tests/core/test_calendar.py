"""Working-day calendar: real dates an official or a citizen would check by hand."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chinhquyenso.core.errors import PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry, CalendarOverride, OfficeSession
from chinhquyenso.core.services import calendar

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(day: str, hhmm: str = "00:00") -> dt.datetime:
    """at("13/02/2026", "10:00"): an aware instant in Vietnam, written as people write it."""
    return dt.datetime.strptime(f"{day} {hhmm}", "%d/%m/%Y %H:%M").replace(tzinfo=VN)


def d(day: str) -> dt.date:
    return dt.datetime.strptime(day, "%d/%m/%Y").date()


@pytest.fixture(autouse=True)
def fresh_calendar_cache(db):
    # Each test's database is rolled back afterwards; the in-process calendars must not outlive it.
    calendar.invalidate_cache()
    yield
    calendar.invalidate_cache()


# --- Statutory holidays -----------------------------------------------------------------------


def test_three_days_from_friday_before_tet_2026_land_after_the_break(db):
    # Tết Bính Ngọ: Mon 16/02 – Fri 20/02/2026 off; then Mon 23 (1), Tue 24 (2), Wed 25 (3).
    assert calendar.due(at("13/02/2026", "10:00"), working_days=3) == at("25/02/2026", "10:00")
    for day in ("16/02/2026", "17/02/2026", "18/02/2026", "19/02/2026", "20/02/2026"):
        assert not calendar.is_working_day(d(day))
    assert calendar.is_working_day(d("23/02/2026"))


def test_gio_to_on_a_sunday_is_observed_on_monday_then_30_4_and_1_5(db):
    # 26/04/2026 is a Sunday: nghỉ bù Mon 27/04. 30/04 (Thu) and 01/05 (Fri) are off too.
    assert not calendar.is_working_day(d("27/04/2026"))
    assert not calendar.is_working_day(d("30/04/2026"))
    assert not calendar.is_working_day(d("01/05/2026"))
    # Received Fri 24/04 09:00: Tue 28 (1), Wed 29 (2), Mon 04/05 (3).
    assert calendar.due(at("24/04/2026", "09:00"), working_days=3) == at("04/05/2026", "09:00")


def test_tet_2027_from_wednesday_before_the_break(db):
    # Tết Đinh Mùi: Thu 04/02 – Wed 10/02/2027 off.
    assert calendar.due(at("03/02/2027", "14:00"), working_days=2) == at("12/02/2027", "14:00")
    assert calendar.due(at("03/02/2027", "14:00"), working_days=1) == at("11/02/2027", "14:00")


def test_national_day_2026_swap_makes_saturday_22_08_a_working_day(db):
    # The government moved Mon 31/08/2026 off and Sat 22/08/2026 on (hoán đổi).
    assert calendar.is_working_day(d("22/08/2026"))
    assert not calendar.is_working_day(d("31/08/2026"))
    # A Saturday worked instead of a Monday follows Monday's sessions: due Sat 10:00.
    assert calendar.due(at("21/08/2026", "10:00"), working_days=1) == at("22/08/2026", "10:00")
    # 31/08, 01/09, 02/09 off: Thu 03 (1), Fri 04 (2), Mon 07 (3), Tue 08 (4), Wed 09 (5).
    assert calendar.due(at("28/08/2026", "10:00"), working_days=5) == at("09/09/2026", "10:00")


def test_vietnam_cultural_day_24_11_from_2026(db):
    assert not calendar.is_working_day(d("24/11/2026"))
    assert calendar.is_working_day(d("24/11/2025"))


# --- The counting rule -----------------------------------------------------------------------


def test_received_before_opening_is_due_at_closing_of_the_last_day(db):
    assert calendar.due(at("09/03/2026", "07:00"), working_days=1) == at("09/03/2026", "17:00")
    assert calendar.due(at("09/03/2026", "07:30"), working_days=2) == at("10/03/2026", "17:00")


def test_received_after_closing_counts_from_the_next_working_morning(db):
    # Friday 17:30 -> Monday 07:30, offset 0: due Monday 17:00.
    assert calendar.due(at("13/03/2026", "17:30"), working_days=1) == at("16/03/2026", "17:00")


def test_received_saturday_night(db):
    start = at("14/03/2026", "21:00")
    assert calendar.next_working_moment(start) == at("16/03/2026", "07:30")
    assert calendar.due(start, working_days=1) == at("16/03/2026", "17:00")
    assert calendar.due(start, working_hours=2) == at("16/03/2026", "09:30")


def test_received_at_lunch_counts_from_the_afternoon_session(db):
    start = at("09/03/2026", "12:15")
    assert calendar.next_working_moment(start) == at("09/03/2026", "13:30")
    assert calendar.due(start, working_hours=1) == at("09/03/2026", "14:30")
    # Same working moment as Tuesday 13:30; the earlier wall-clock instant is returned.
    assert calendar.due(start, working_days=1) == at("10/03/2026", "11:30")


def test_hours_across_the_lunch_break_and_overnight(db):
    assert calendar.due(at("09/03/2026", "10:30"), working_hours=2) == at("09/03/2026", "14:30")
    assert calendar.due(at("09/03/2026", "16:00"), working_hours=2) == at("10/03/2026", "08:30")
    # 24 working hours from Monday 08:00: 3 days of 7.5 h = 22.5 h, then 1.5 h on Thursday.
    assert calendar.due(at("09/03/2026", "08:00"), working_hours=24) == at("12/03/2026", "09:30")


def test_landing_on_a_session_end_returns_that_end(db):
    assert calendar.due(at("09/03/2026", "10:30"), working_hours=1) == at("09/03/2026", "11:30")
    assert calendar.due(at("09/03/2026", "16:00"), working_hours=1) == at("09/03/2026", "17:00")


def test_offset_is_kept_and_microseconds_survive(db):
    start = at("09/03/2026", "08:00").replace(second=30, microsecond=123)
    assert calendar.due(start, working_days=3) == start + dt.timedelta(days=3)


def test_result_is_in_vietnam_time_whatever_the_input_zone(db):
    start = dt.datetime(2026, 3, 9, 3, 0, tzinfo=dt.UTC)  # 10:00 in Hà Nội
    result = calendar.due(start, working_days=1)
    assert result.utcoffset() == dt.timedelta(hours=7)
    assert result == at("10/03/2026", "10:00")


def test_working_minutes_between(db):
    assert (
        calendar.working_minutes_between(at("09/03/2026", "07:00"), at("09/03/2026", "18:00"))
        == 450
    )
    assert (
        calendar.working_minutes_between(at("13/02/2026", "10:00"), at("25/02/2026", "10:00"))
        == 3 * 450
    )
    assert calendar.working_minutes_between(at("10/03/2026"), at("09/03/2026")) == 0
    assert (
        calendar.working_minutes_between(at("14/03/2026", "08:00"), at("14/03/2026", "10:00")) == 0
    )


def test_pauses_do_not_count_and_overlapping_pauses_count_once(db):
    start = at("09/03/2026", "08:00")
    assert calendar.due(start, working_days=3) == at("12/03/2026", "08:00")
    waiting = (at("10/03/2026", "07:30"), at("11/03/2026", "07:30"))  # one working day
    assert calendar.due(start, working_days=3, pauses=[waiting]) == at("13/03/2026", "08:00")
    overlapping = [waiting, (at("10/03/2026", "09:00"), at("10/03/2026", "15:00"))]
    assert calendar.due(start, working_days=3, pauses=overlapping) == at("13/03/2026", "08:00")
    # A pause over the weekend costs nothing.
    weekend = (at("14/03/2026"), at("16/03/2026"))
    assert calendar.due(at("13/03/2026", "08:00"), working_days=1, pauses=[weekend]) == at(
        "16/03/2026", "08:00"
    )
    # Hours: a 30-minute pause at 09:00 moves 10:00 to 10:30; a deadline reached when the
    # pause begins is not moved.
    pause = (at("09/03/2026", "09:00"), at("09/03/2026", "09:30"))
    assert calendar.due(start, working_hours=1, pauses=[pause]) == at("09/03/2026", "09:00")
    assert calendar.due(start, working_hours=2, pauses=[pause]) == at("09/03/2026", "10:30")
    assert (
        calendar.working_minutes_between(
            start, at("09/03/2026", "17:00"), pauses=[pause, pause, (pause[0], pause[0])]
        )
        == 390
    )


def test_bad_input_raises_stable_codes(db):
    with pytest.raises(ValidationFailed) as exc:
        calendar.due(dt.datetime(2026, 3, 9, 8, 0), working_days=1)
    assert exc.value.code == "naive_datetime"
    for kwargs in (
        {},
        {"working_days": 1, "working_hours": 1},
        {"working_days": 0},
        {"working_hours": -2},
        {"working_days": 3651},
        {"working_days": True},
    ):
        with pytest.raises(ValidationFailed) as exc:
            calendar.due(at("09/03/2026", "08:00"), **kwargs)
        assert exc.value.code == "invalid_duration", kwargs
    with pytest.raises(ValidationFailed) as exc:
        calendar.due(
            at("09/03/2026", "08:00"), working_days=1, pauses=[(at("10/03/2026"), at("09/03/2026"))]
        )
    assert exc.value.code == "invalid_pause"
    with pytest.raises(ValidationFailed) as exc:
        calendar.due(at("09/03/1980", "08:00"), working_days=1)
    assert exc.value.code == "date_out_of_range"


def test_ten_years_ahead_widens_the_calendar(db):
    start = at("09/03/2026", "08:00")
    far = calendar.due(start, working_days=3650)
    assert far.year in (2040, 2041)
    assert calendar.working_minutes_between(start, far) == 3650 * 450


# --- Overrides and sessions per organisation --------------------------------------------------


def test_a_global_day_off_pushes_the_due_date(superuser):
    start = at("09/03/2026", "08:00")
    calendar.create_override(
        actor=superuser,
        date=d("12/03/2026"),
        kind="day_off",
        reason="Nghỉ theo thông báo của UBND tỉnh",
    )
    assert calendar.due(start, working_days=3) == at("13/03/2026", "08:00")


def test_a_saturday_working_day_override_uses_monday_sessions(superuser):
    calendar.create_override(
        actor=superuser, date=d("14/03/2026"), kind="working_day", reason="Làm bù"
    )
    assert calendar.is_working_day(d("14/03/2026"))
    assert calendar.due(at("13/03/2026", "10:00"), working_days=1) == at("14/03/2026", "10:00")
    assert calendar.due(at("13/03/2026", "16:30"), working_hours=1) == at("14/03/2026", "08:00")


def test_override_of_an_organisation_reaches_its_subtree_and_beats_a_global_one(
    superuser, commune_admin, commune_a, unit_a, commune_b
):
    calendar.create_override(
        actor=commune_admin,
        organisation=commune_a,
        date=d("12/03/2026"),
        kind="day_off",
        reason="Bầu cử bổ sung",
    )
    assert not calendar.is_working_day(d("12/03/2026"), organisation=unit_a)
    assert not calendar.is_working_day(d("12/03/2026"), organisation=commune_a)
    assert calendar.is_working_day(d("12/03/2026"), organisation=commune_b)
    assert calendar.is_working_day(d("12/03/2026"))
    # A global day off that commune A must work anyway (tiếp dân).
    calendar.create_override(
        actor=superuser, date=d("13/03/2026"), kind="day_off", reason="Nghỉ chung"
    )
    calendar.create_override(
        actor=commune_admin,
        organisation=commune_a,
        date=d("13/03/2026"),
        kind="working_day",
        reason="Trực tiếp công dân",
    )
    assert calendar.is_working_day(d("13/03/2026"), organisation=unit_a)
    assert not calendar.is_working_day(d("13/03/2026"), organisation=commune_b)
    # Organisation given by id works the same way.
    assert calendar.is_working_day(d("13/03/2026"), organisation=unit_a.pk)


def test_a_centre_with_saturday_morning_and_its_child_unit(
    province_admin, commune_a, unit_a, commune_b
):
    week = [(day, dt.time(7, 30), dt.time(11, 30)) for day in range(5)]
    week += [(day, dt.time(13, 30), dt.time(17, 0)) for day in range(5)]
    week.append((5, dt.time(7, 30), dt.time(11, 30)))
    calendar.set_office_sessions(actor=province_admin, organisation=commune_a, sessions=week)
    saturday = d("14/03/2026")
    assert calendar.is_working_day(saturday, organisation=commune_a)
    assert calendar.is_working_day(saturday, organisation=unit_a)  # inherited
    assert not calendar.is_working_day(saturday, organisation=commune_b)
    # Friday 15:00 is 330 working minutes into Friday; Saturday has only 240: 11:30.
    assert calendar.due(at("13/03/2026", "15:00"), working_days=1, organisation=unit_a) == at(
        "14/03/2026", "11:30"
    )
    assert calendar.due(at("13/03/2026", "10:00"), working_days=1, organisation=unit_a) == at(
        "14/03/2026", "10:00"
    )
    assert calendar.due(at("13/03/2026", "16:30"), working_hours=1, organisation=unit_a) == at(
        "14/03/2026", "08:00"
    )
    # Holidays still win: Saturday 06/02/2027 is Tết.
    assert not calendar.is_working_day(d("06/02/2027"), organisation=unit_a)
    # Going back to the defaults.
    calendar.set_office_sessions(actor=province_admin, organisation=commune_a, sessions=[])
    assert not calendar.is_working_day(saturday, organisation=unit_a)


def test_a_child_with_its_own_sessions_ignores_the_parent_ones(province_admin, commune_a, unit_a):
    calendar.set_office_sessions(
        actor=province_admin,
        organisation=commune_a,
        sessions=[(5, dt.time(7, 30), dt.time(11, 30)), (0, dt.time(8, 0), dt.time(12, 0))],
    )
    calendar.set_office_sessions(
        actor=province_admin,
        organisation=unit_a,
        sessions=[(day, dt.time(8, 0), dt.time(16, 0)) for day in range(5)],
    )
    assert not calendar.is_working_day(d("14/03/2026"), organisation=unit_a)
    assert calendar.due(at("09/03/2026", "08:00"), working_hours=8, organisation=unit_a) == at(
        "09/03/2026", "16:00"
    )


def test_session_validation(province_admin, commune_a):
    with pytest.raises(ValidationFailed) as exc:
        calendar.set_office_sessions(
            actor=province_admin,
            organisation=commune_a,
            sessions=[(0, dt.time(7, 30), dt.time(11, 30)), (0, dt.time(11, 0), dt.time(14, 0))],
        )
    assert exc.value.code == "sessions_overlap"
    with pytest.raises(ValidationFailed):
        calendar.set_office_sessions(
            actor=province_admin,
            organisation=commune_a,
            sessions=[(0, dt.time(11, 30), dt.time(7, 30))],
        )
    with pytest.raises(ValidationFailed):
        calendar.set_office_sessions(
            actor=province_admin,
            organisation=commune_a,
            sessions=[(7, dt.time(7, 30), dt.time(11, 30))],
        )
    assert not OfficeSession.objects.filter(organisation=commune_a).exists()
    # Touching sessions are fine.
    calendar.set_office_sessions(
        actor=province_admin,
        organisation=commune_a,
        sessions=[(0, dt.time(7, 30), dt.time(11, 30)), (0, dt.time(11, 30), dt.time(12, 0))],
    )
    assert OfficeSession.objects.filter(organisation=commune_a).count() == 2


# --- Administration: permissions, duplicates, audit -------------------------------------------


def test_specialist_cannot_manage_the_calendar(responsible, unit_a):
    with pytest.raises(PermissionDenied):
        calendar.create_override(
            actor=responsible, organisation=unit_a, date=d("12/03/2026"), kind="day_off", reason="x"
        )
    with pytest.raises(PermissionDenied):
        calendar.set_office_sessions(actor=responsible, organisation=unit_a, sessions=[])
    assert not CalendarOverride.objects.exists()


def test_commune_admin_cannot_touch_another_commune_or_the_global_calendar(
    commune_admin, commune_b
):
    with pytest.raises(PermissionDenied):
        calendar.create_override(
            actor=commune_admin,
            organisation=commune_b,
            date=d("12/03/2026"),
            kind="day_off",
            reason="x",
        )
    with pytest.raises(PermissionDenied):
        calendar.create_override(
            actor=commune_admin, date=d("12/03/2026"), kind="day_off", reason="x"
        )
    assert not CalendarOverride.objects.exists()


def test_commune_admin_manages_own_commune_with_audit(commune_admin, commune_a):
    override = calendar.create_override(
        actor=commune_admin,
        organisation=commune_a,
        date=d("12/03/2026"),
        kind="day_off",
        reason="Bầu cử bổ sung",
    )
    assert override.created_by == commune_admin
    entry = AuditEntry.objects.get(action="calendar.override_created")
    assert entry.actor == commune_admin
    assert entry.organisation == commune_a
    assert entry.object_id == str(override.pk)
    assert entry.data == {"date": "2026-03-12", "kind": "day_off", "reason": "Bầu cử bổ sung"}
    with pytest.raises(ValidationFailed) as exc:
        calendar.create_override(
            actor=commune_admin,
            organisation=commune_a,
            date=d("12/03/2026"),
            kind="working_day",
            reason="Trùng",
        )
    assert exc.value.code == "override_exists"
    calendar.delete_override(actor=commune_admin, override=override)
    assert not CalendarOverride.objects.exists()
    assert AuditEntry.objects.filter(
        action="calendar.override_deleted", object_id=str(override.pk)
    ).exists()
    assert calendar.is_working_day(d("12/03/2026"), organisation=commune_a)


def test_province_admin_may_set_a_global_override_and_duplicates_are_refused(province_admin):
    calendar.create_override(
        actor=province_admin, date=d("12/03/2026"), kind="day_off", reason="Nghỉ chung"
    )
    with pytest.raises(ValidationFailed) as exc:
        calendar.create_override(
            actor=province_admin, date=d("12/03/2026"), kind="day_off", reason="Lần hai"
        )
    assert exc.value.code == "override_exists"


def test_override_needs_a_reason_and_a_known_kind(superuser):
    with pytest.raises(ValidationFailed):
        calendar.create_override(actor=superuser, date=d("12/03/2026"), kind="day_off", reason="  ")
    with pytest.raises(ValidationFailed):
        calendar.create_override(actor=superuser, date=d("12/03/2026"), kind="holiday", reason="x")


def test_sessions_change_is_audited(province_admin, commune_a):
    calendar.set_office_sessions(
        actor=province_admin,
        organisation=commune_a,
        sessions=[(5, dt.time(7, 30), dt.time(11, 30))],
    )
    entry = AuditEntry.objects.get(action="calendar.sessions_set")
    assert entry.organisation == commune_a
    assert entry.data == {"before": [], "after": ["5:07:30-11:30"]}


# --- Cache ------------------------------------------------------------------------------------


def test_no_query_per_call_once_warm(db, unit_a, django_assert_num_queries):
    calendar.due(at("09/03/2026", "08:00"), working_days=5, organisation=unit_a)
    calendar.due(at("09/03/2026", "08:00"), working_days=5)
    with django_assert_num_queries(0):
        for n in (1, 5, 20, 60):
            calendar.due(at("09/03/2026", "08:00"), working_days=n, organisation=unit_a)
            calendar.due(at("09/03/2026", "08:00"), working_days=n)


def test_another_node_changing_the_calendar_is_seen_through_the_revision(db, settings):
    settings.CQS_CALENDAR_CACHE_SECONDS = 0
    start = at("09/03/2026", "08:00")
    assert calendar.due(start, working_days=3) == at("12/03/2026", "08:00")
    # Another node writes the override (bulk_create: no signal in this process) and bumps the
    # shared revision.
    CalendarOverride.objects.bulk_create(
        [CalendarOverride(date=d("12/03/2026"), kind="day_off", reason="Nút khác")]
    )
    assert calendar.due(start, working_days=3) == at("12/03/2026", "08:00")  # not seen yet
    cache.set(calendar.REVISION_KEY, "revision-from-another-node", timeout=None)
    assert calendar.due(start, working_days=3) == at("13/03/2026", "08:00")


def test_rows_written_outside_the_services_are_seen(db):
    start = at("09/03/2026", "08:00")
    assert calendar.due(start, working_days=3) == at("12/03/2026", "08:00")
    CalendarOverride.objects.create(date=d("12/03/2026"), kind="day_off", reason="Trang quản trị")
    assert calendar.due(start, working_days=3) == at("13/03/2026", "08:00")


def test_vietnamese_names():
    assert calendar.vietnamese_name("Lunar New Year") == ("Tết Nguyên đán (Mùng 1)", "holiday")
    assert calendar.vietnamese_name("Hung Kings' Commemoration Day (observed)") == (
        "Nghỉ bù Giỗ Tổ Hùng Vương",
        "observed",
    )
    assert calendar.vietnamese_name("Day off (substituted from 08/22/2026)") == (
        "Nghỉ bù (hoán đổi, làm bù ngày 22/08/2026)",
        "substituted",
    )
    assert calendar.vietnamese_name("Liberation Day/Reunification Day")[0] == (
        "Ngày Giải phóng miền Nam, thống nhất đất nước"
    )


def test_holidays_of_2026(db):
    year = calendar.holidays_of_year(2026)
    names = {day.date: day.name for day in year.days_off}
    assert names[d("01/01/2026")] == "Tết Dương lịch"
    assert names[d("17/02/2026")] == "Tết Nguyên đán (Mùng 1)"
    assert names[d("26/04/2026")] == "Giỗ Tổ Hùng Vương"
    assert names[d("27/04/2026")] == "Nghỉ bù Giỗ Tổ Hùng Vương"
    assert names[d("31/08/2026")].startswith("Nghỉ bù (hoán đổi")
    assert names[d("24/11/2026")] == "Ngày Văn hóa Việt Nam"
    assert [day.date for day in year.extra_working_days] == [d("22/08/2026")]


# --- Properties -------------------------------------------------------------------------------

instants = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31)).map(
    lambda t: t.replace(tzinfo=VN)
)
property_settings = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@property_settings
@given(start=instants, hours=st.integers(min_value=1, max_value=400))
def test_property_hours_are_exactly_counted(db, start, hours):
    result = calendar.due(start, working_hours=hours)
    assert calendar.working_minutes_between(start, result) == 60 * hours
    assert calendar.is_working_day(result.date())
    assert result.utcoffset() == dt.timedelta(hours=7)


@property_settings
@given(start=instants, n=st.integers(min_value=1, max_value=80))
def test_property_days_are_monotonic_and_land_on_working_days(db, start, n):
    first, second = calendar.due(start, working_days=n), calendar.due(start, working_days=n + 1)
    assert start < first < second
    assert calendar.is_working_day(first.date())
    assert calendar.working_minutes_between(start, first) <= n * 450
    assert calendar.working_minutes_between(start, first) > (n - 1) * 450


@property_settings
@given(
    start=instants,
    hours=st.integers(min_value=1, max_value=100),
    pauses=st.lists(
        st.tuples(instants, st.integers(min_value=0, max_value=7 * 24 * 60)), max_size=4
    ),
)
def test_property_pauses_are_not_counted(db, start, hours, pauses):
    spans = [(p, p + dt.timedelta(minutes=m)) for p, m in pauses]
    result = calendar.due(start, working_hours=hours, pauses=spans)
    assert result >= calendar.due(start, working_hours=hours)
    assert calendar.working_minutes_between(start, result, pauses=spans) == 60 * hours


def test_a_rolled_back_change_leaves_nothing_in_the_cache(superuser):
    from django.db import transaction

    start = at("09/03/2026", "08:00")
    with pytest.raises(RuntimeError), transaction.atomic():
        calendar.create_override(
            actor=superuser, date=d("12/03/2026"), kind="day_off", reason="Sẽ bị hủy"
        )
        assert calendar.due(start, working_days=3) == at("13/03/2026", "08:00")
        assert None not in calendar.engine._calendars  # not cached while a rollback may undo it
        raise RuntimeError("rollback")
    assert calendar.due(start, working_days=3) == at("12/03/2026", "08:00")
    assert None in calendar.engine._calendars  # nothing pending any more: cached again
