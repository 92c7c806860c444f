"""Public calendar API: /api/v1/calendar/due and /api/v1/calendar/holidays."""

from __future__ import annotations

import datetime as dt

import pytest

from chinhquyenso.core.services import calendar

DUE = "/api/v1/calendar/due"
HOLIDAYS = "/api/v1/calendar/holidays"


@pytest.fixture(autouse=True)
def fresh_calendar_cache(db):
    calendar.invalidate_cache()
    yield
    calendar.invalidate_cache()


def test_due_after_tet_2026_for_anyone(client):
    response = client.get(DUE, {"start": "2026-02-13T10:00:00+07:00", "working_days": 3})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "due": "2026-02-25T10:00:00+07:00",
        "start": "2026-02-13T10:00:00+07:00",
        "working_minutes": 3 * 450,
    }


def test_due_in_hours_from_utc_and_a_start_outside_office_hours(client):
    # 2026-03-14 14:00Z is Saturday 21:00 in Hà Nội: counting starts Monday 07:30.
    response = client.get(DUE, {"start": "2026-03-14T14:00:00Z", "working_hours": 2})
    assert response.status_code == 200
    assert response.json() == {
        "due": "2026-03-16T09:30:00+07:00",
        "start": "2026-03-16T07:30:00+07:00",
        "working_minutes": 120,
    }


def test_unencoded_plus_in_the_offset_is_understood(client):
    # "?start=2026-02-13T10:00:00+07:00" typed in a browser arrives with a space for the "+".
    response = client.get(DUE + "?start=2026-02-13T10:00:00+07:00&working_days=3")
    assert response.status_code == 200
    assert response.json()["due"] == "2026-02-25T10:00:00+07:00"


def test_due_for_an_organisation_with_saturday_sessions(client, province_admin, commune_a, unit_a):
    sessions = [(day, dt.time(7, 30), dt.time(11, 30)) for day in range(6)]
    sessions += [(day, dt.time(13, 30), dt.time(17, 0)) for day in range(5)]
    calendar.set_office_sessions(actor=province_admin, organisation=commune_a, sessions=sessions)
    params = {"start": "2026-03-13T10:00:00+07:00", "working_days": 1}
    assert client.get(DUE, params).json()["due"] == "2026-03-16T10:00:00+07:00"
    params["organisation"] = unit_a.pk
    assert client.get(DUE, params).json()["due"] == "2026-03-14T10:00:00+07:00"


@pytest.mark.parametrize(
    "params, code",
    [
        ({"start": "13/02/2026 10:00", "working_days": 3}, "invalid_start"),
        ({"start": "2026-02-30T10:00:00+07:00", "working_days": 3}, "invalid_start"),
        ({"start": "2026-02-13T10:00:00", "working_days": 3}, "invalid_start"),
        ({"start": "2026-02-13", "working_days": 3}, "invalid_start"),
        ({"start": "2026-02-13T10:00:00+07:00"}, "invalid_duration"),
        (
            {"start": "2026-02-13T10:00:00+07:00", "working_days": 3, "working_hours": 8},
            "invalid_duration",
        ),
        ({"start": "2026-02-13T10:00:00+07:00", "working_days": 0}, "invalid_duration"),
        ({"start": "2026-02-13T10:00:00+07:00", "working_days": -1}, "invalid_duration"),
        ({"start": "2026-02-13T10:00:00+07:00", "working_days": 3651}, "invalid_duration"),
        ({"start": "1970-02-13T10:00:00+07:00", "working_days": 1}, "date_out_of_range"),
    ],
)
def test_due_rejects_bad_input_with_400_and_a_stable_code(client, params, code):
    response = client.get(DUE, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code
    assert body["message"]  # a Vietnamese sentence for people
    assert set(body) == {"code", "message", "details"}


def test_unknown_organisation_is_404(client):
    response = client.get(
        DUE, {"start": "2026-02-13T10:00:00+07:00", "working_days": 3, "organisation": 999_999}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "organisation_not_found"
    assert client.get(HOLIDAYS, {"year": 2026, "organisation": 999_999}).status_code == 404


def test_holidays_of_2026_in_vietnamese(client):
    response = client.get(HOLIDAYS, {"year": 2026})
    assert response.status_code == 200
    body = response.json()
    days = {item["date"]: item for item in body["days_off"]}
    assert days["2026-02-17"]["name"] == "Tết Nguyên đán (Mùng 1)"
    assert days["2026-04-27"] == {
        "date": "2026-04-27",
        "name": "Nghỉ bù Giỗ Tổ Hùng Vương",
        "kind": "observed",
    }
    assert days["2026-04-30"]["name"] == "Ngày Giải phóng miền Nam, thống nhất đất nước"
    assert days["2026-05-01"]["name"] == "Ngày Quốc tế Lao động"
    assert days["2026-09-02"]["name"] == "Quốc khánh"
    assert days["2026-08-31"]["kind"] == "substituted"
    assert days["2026-11-24"]["name"] == "Ngày Văn hóa Việt Nam"
    assert body["extra_working_days"] == [
        {
            "date": "2026-08-22",
            "name": "Làm bù (hoán đổi với ngày 31/08/2026)",
            "kind": "substituted",
        }
    ]


def test_holidays_include_the_overrides_of_the_organisation(
    client, commune_admin, commune_a, unit_a, commune_b
):
    calendar.create_override(
        actor=commune_admin,
        organisation=commune_a,
        date=dt.date(2026, 3, 12),
        kind="day_off",
        reason="Bầu cử bổ sung",
    )
    calendar.create_override(
        actor=commune_admin,
        organisation=commune_a,
        date=dt.date(2026, 4, 30),
        kind="working_day",
        reason="Trực lễ",
    )
    mine = client.get(HOLIDAYS, {"year": 2026, "organisation": unit_a.pk}).json()
    days = {item["date"]: item for item in mine["days_off"]}
    assert days["2026-03-12"] == {
        "date": "2026-03-12",
        "name": "Bầu cử bổ sung",
        "kind": "override",
    }
    assert "2026-04-30" not in days
    assert {"date": "2026-04-30", "name": "Trực lễ", "kind": "override"} in mine[
        "extra_working_days"
    ]
    other = client.get(HOLIDAYS, {"year": 2026, "organisation": commune_b.pk}).json()
    assert "2026-03-12" not in {item["date"] for item in other["days_off"]}


def test_holidays_reject_a_year_out_of_range(client):
    response = client.get(HOLIDAYS, {"year": 1900})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_year"
