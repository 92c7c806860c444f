"""Public status lookup without sign-in: the API and the phone-sized pages (issue #3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chinhquyenso.dossiers import public
from chinhquyenso.dossiers.models import Status, Timeliness
from tests.conftest import postgresql_only, sign_in
from tests.dossiers.test_forms_fixtures import (
    StepKind,
    make_dossier,
    make_procedure,
    make_process,
    vn,
)

CODE = "000.01.39.H39-260302-0001"
API = "/api/v1/public/dossiers/"

PUBLIC_KEYS = {
    "code",
    "procedure",
    "receiving_organisation",
    "status",
    "received_at",
    "due_at",
    "returned_at",
    "timeliness",
    "current_step",
    "applicant_name_masked",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limit(settings, monkeypatch):
    settings.CQS_PUBLIC_LOOKUP_PER_MINUTE = 30
    # Mid-window, frozen: the requests of one test always fall in the same minute.
    monkeypatch.setattr(public, "_clock", lambda: 1_800_000_030.0)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def dossier(commune_a, unit_a, responsible):
    procedure = make_procedure(commune_a)
    _process, steps = make_process(
        procedure,
        commune_a,
        [(commune_a, "Tiếp nhận", StepKind.RECEIVE), (unit_a, "Thẩm định hồ sơ", StepKind.HANDLE)],
    )
    return make_dossier(
        commune_a,
        procedure,
        received_by=responsible,
        applicant_name="Nguyễn Văn An",
        applicant_id_number="068190001234",
        applicant_phone="0912345678",
        applicant_email="an.nguyen@example.vn",
        applicant_address="Thôn Lạc Xuân, xã Đơn Dương, tỉnh Lâm Đồng",
        current_step=steps[1],
        current_unit=unit_a,
        current_handler=responsible,
        received_at=vn(2026, 3, 2, 8, 30),
        due_at=vn(2099, 3, 3, 8, 30),
        original_due_at=vn(2099, 3, 3, 8, 30),
    )


# --- masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Nguyễn Văn An", "Nguyễn V** A*"),
        ("Nguyễn Thị Hằng", "Nguyễn T** H***"),
        ("  Trần   Thị  Bích   Ngọc ", "Trần T** B*** N***"),
        ("Lê Y", "Lê Y"),
        ("Hoàng", "Hoàng"),
        ("", ""),
        # Decomposed input (NFD) is masked per letter, not per combining mark.
        ("Nguye\u0302\u0303n Va\u0306n Ă\u0301nh", "Nguyễn V** Ắ**"),
    ],
)
def test_mask_name(name, masked):
    assert public.mask_name(name) == masked


# --- the API -----------------------------------------------------------------------------------


def test_anonymous_lookup_returns_exactly_the_public_fields(client, dossier):
    response = client.get(API + CODE)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PUBLIC_KEYS
    assert body == {
        "code": CODE,
        "procedure": {"code": "1.001193", "name": "Đăng ký khai sinh"},
        "receiving_organisation": {"name": "UBND xã Đơn Dương"},
        "status": {"code": 4, "name": "Đang xử lý"},
        "received_at": "2026-03-02T08:30:00+07:00",
        "due_at": "2099-03-03T08:30:00+07:00",
        "returned_at": None,
        "timeliness": {"code": "in_time", "name": "Trong hạn", "final": False},
        "current_step": "Thẩm định hồ sơ",
        "applicant_name_masked": "Nguyễn V** A*",
    }
    # UTF-8, not \u escapes (so that the check below also sees Vietnamese words as they are).
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "Đang xử lý" in response.content.decode()


def test_nothing_personal_leaks(client, dossier):
    raw = client.get(API + CODE).content.decode()
    for secret in (
        "068190001234",
        "0912345678",
        "an.nguyen@example.vn",
        "Lạc Xuân",
        "Nguyễn Văn An",  # the full name: also the handling official's name in the fixtures
        "Văn",
        "chuyenvien.a",
    ):
        assert secret not in raw, secret


def test_lowercase_and_padded_codes_are_found(client, dossier):
    response = client.get(API + "%20" + CODE.lower() + "%20")
    assert response.status_code == 200
    assert response.json()["code"] == CODE


def test_returned_dossier_shows_final_result_and_no_step(client, dossier):
    dossier.status = Status.RETURNED
    dossier.finished_at = vn(2026, 3, 2, 15, 0)
    dossier.returned_at = vn(2026, 3, 3, 9, 15)
    dossier.timeliness = Timeliness.EARLY
    dossier.current_step = None
    dossier.save()
    body = client.get(API + CODE).json()
    assert body["status"] == {"code": 10, "name": "Đã trả kết quả"}
    assert body["returned_at"] == "2026-03-03T09:15:00+07:00"
    assert body["timeliness"]["final"] is True
    assert body["timeliness"]["code"] in {"early", "on_time"}
    assert body["current_step"] is None


def test_overdue_dossier_says_so(client, dossier):
    dossier.due_at = dossier.original_due_at = vn(2026, 3, 3, 8, 30)
    dossier.save(update_fields=["due_at", "original_due_at"])
    body = client.get(API + CODE).json()
    assert body["timeliness"] == {"code": "overdue", "name": "Quá hạn", "final": False}


def test_submitted_online_but_not_received_has_no_timeliness(client, dossier):
    dossier.status = Status.SUBMITTED
    dossier.received_at = dossier.clock_started_at = dossier.due_at = None
    dossier.save()
    body = client.get(API + CODE).json()
    assert body["status"] == {"code": 1, "name": "Mới đăng ký"}
    assert body["received_at"] is None and body["due_at"] is None
    assert body["timeliness"] is None


def test_status_name_is_vietnamese_whatever_the_client_language(client, dossier):
    body = client.get(API + CODE, HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["status"]["name"] == "Đang xử lý"


@pytest.mark.parametrize(
    "code",
    [
        "000.01.39.H39-260302-9999",  # well-formed, does not exist
        "000.01.39.H39-260302",  # truncated
        "abc",  # too short
        "' OR 1=1 --",  # not a code at all
        "X" * 41,  # too long
        "000.01.39.H39-260302-0001%00",
    ],
)
def test_unknown_and_malformed_codes_get_the_same_404(client, dossier, code):
    response = client.get(API + code)
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "dossier_not_found"
    assert body["message"] == public.NOT_FOUND_MESSAGE


def test_lookup_is_one_query(dossier):
    public.lookup(CODE)  # warm the working-day calendar cache
    with CaptureQueriesContext(connection) as queries:
        public.lookup(CODE)
    assert len(queries) == 1


def _prepared_lookups() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "dossiers_dossier" WHERE "dossiers_dossier"."code" = $1%'],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_lookup_is_prepared_on_the_server_unless_turned_off(client, dossier, settings):
    postgresql_only("prepared statements are a PostgreSQL matter")
    settings.CQS_PREPARED_STATEMENTS = False
    connection.close()  # a new session: no statement prepared by an earlier test
    public._compiled.state = None
    assert client.get(API + CODE).json()["code"] == CODE
    assert _prepared_lookups() == 0
    settings.CQS_PREPARED_STATEMENTS = True
    public._compiled.state = None
    for _ in range(3):
        assert client.get(API + CODE).json()["code"] == CODE
    assert _prepared_lookups() == 1  # prepared once, reused


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_dead_database_connection_is_reopened_and_the_lookup_answers(client, dossier):
    """The lookup does without Django's per-request health check ("SELECT 1"): when the kept
    connection has died (the database restarted), it reconnects and reads again."""
    postgresql_only("terminating a server session needs PostgreSQL")
    assert client.get(API + CODE).status_code == 200
    victim = connection.connection.info.backend_pid
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [victim])
    finally:
        other.close()
    response = client.get(API + CODE)
    assert response.status_code == 200
    assert response.json()["status"]["name"] == "Đang xử lý"
    assert connection.connection.info.backend_pid != victim


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_lookup_prepares_again_after_the_session_dropped_its_statements(client, dossier):
    """DEALLOCATE ALL / DISCARD ALL on the session (a pooler's reset, a maintenance script):
    the next lookup prepares its statement again and answers."""
    postgresql_only("prepared statements are a PostgreSQL matter")
    assert client.get(API + CODE).status_code == 200
    assert _prepared_lookups() == 1
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert _prepared_lookups() == 0
    response = client.get(API + CODE)
    assert response.status_code == 200
    assert response.json()["code"] == CODE
    assert _prepared_lookups() == 1


def test_a_renamed_organisation_shows_its_new_name(client, dossier, commune_a):
    assert client.get(API + CODE).json()["receiving_organisation"]["name"] == "UBND xã Đơn Dương"
    commune_a.name = "UBND xã Đơn Dương (mới)"
    commune_a.save(update_fields=["name"])
    body = client.get(API + CODE).json()
    assert body["receiving_organisation"]["name"] == "UBND xã Đơn Dương (mới)"


def test_signed_in_officials_get_the_same_public_answer(client, dossier, responsible):
    sign_in(client, responsible)
    body = client.get(API + CODE).json()
    assert set(body) == PUBLIC_KEYS
    assert body["applicant_name_masked"] == "Nguyễn V** A*"


# --- rate limit --------------------------------------------------------------------------------


def test_rate_limit_per_client_ip(client, dossier, settings):
    settings.CQS_PUBLIC_LOOKUP_PER_MINUTE = 3
    for _ in range(3):
        assert client.get(API + CODE, REMOTE_ADDR="203.0.113.7").status_code == 200
    response = client.get(API + CODE, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "rate_limited"
    assert "Vui lòng thử lại sau" in body["message"]
    assert response["Retry-After"] == "30"
    # Another client is not affected.
    assert client.get(API + CODE, REMOTE_ADDR="198.51.100.9").status_code == 200


def test_misses_count_too_so_codes_cannot_be_enumerated(client, dossier, settings):
    settings.CQS_PUBLIC_LOOKUP_PER_MINUTE = 2
    assert client.get(API + "000.01.39.H39-260302-0002").status_code == 404
    assert client.get(API + "000.01.39.H39-260302-0003").status_code == 404
    assert client.get(API + CODE).status_code == 429


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(client, dossier, settings):
    settings.CQS_PUBLIC_LOOKUP_PER_MINUTE = 1
    settings.CQS_TRUSTED_PROXY_COUNT = 0
    assert client.get(API + CODE, HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 200
    # A spoofed header does not buy a fresh bucket.
    assert client.get(API + CODE, HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 429

    cache.clear()
    settings.CQS_TRUSTED_PROXY_COUNT = 1
    headers = {"REMOTE_ADDR": "10.0.0.2"}  # the reverse proxy
    assert client.get(API + CODE, HTTP_X_FORWARDED_FOR="1.1.1.1", **headers).status_code == 200
    assert client.get(API + CODE, HTTP_X_FORWARDED_FOR="2.2.2.2", **headers).status_code == 200
    # The client cannot choose its address by prepending one: the proxy's entry is the last.
    assert (
        client.get(API + CODE, HTTP_X_FORWARDED_FOR="9.9.9.9, 1.1.1.1", **headers).status_code
        == 429
    )


def test_window_resets(rf, settings):
    settings.CQS_PUBLIC_LOOKUP_PER_MINUTE = 1
    request = rf.get("/", REMOTE_ADDR="203.0.113.8")
    start = 1_800_000_000.0  # a window boundary (divisible by 60)
    assert public.check_rate(request, now=start).allowed
    refused = public.check_rate(request, now=start + 15)
    assert not refused.allowed and refused.retry_after == 45
    assert public.check_rate(request, now=start + 60).allowed


def test_rate_limit_can_be_switched_off(rf, settings):
    settings.CQS_PUBLIC_LOOKUP_PER_MINUTE = 0
    request = rf.get("/", REMOTE_ADDR="203.0.113.9")
    assert all(public.check_rate(request).allowed for _ in range(100))


# --- the pages ---------------------------------------------------------------------------------


def test_search_page_renders_for_an_anonymous_visitor(client, db):
    response = client.get(reverse("public:lookup"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tra cứu tình trạng hồ sơ" in html
    assert 'name="ma"' in html
    assert 'name="viewport"' in html  # phone-sized


def test_search_redirects_to_the_dossier_page(client, dossier):
    response = client.get(reverse("public:lookup"), {"ma": " " + CODE.lower()})
    assert response.status_code == 302
    assert response["Location"] == f"/tra-cuu/{CODE}/"


def test_dossier_page_shows_the_public_status(client, dossier):
    response = client.get(f"/tra-cuu/{CODE}/")
    assert response.status_code == 200
    html = response.content.decode()
    for expected in (
        CODE,
        "Đăng ký khai sinh",
        "1.001193",
        "UBND xã Đơn Dương",
        "Đang xử lý",
        "Trong hạn",
        "Thẩm định hồ sơ",
        "Nguyễn V** A*",
        "02/03/2026 08:30",
        "03/03/2099 08:30",
    ):
        assert expected in html, expected
    for secret in ("068190001234", "0912345678", "an.nguyen@example.vn", "Lạc Xuân"):
        assert secret not in html, secret


def test_dossier_page_for_unknown_code_is_404_in_vietnamese(client, db):
    response = client.get("/tra-cuu/000.01.39.H39-260302-9999/")
    assert response.status_code == 404
    assert public.NOT_FOUND_MESSAGE in response.content.decode()
    response = client.get(reverse("public:lookup"), {"ma": "<script>"})
    assert response.status_code == 404
    assert "<script>" not in response.content.decode()


def test_pages_share_the_rate_limit(client, dossier, settings):
    settings.CQS_PUBLIC_LOOKUP_PER_MINUTE = 1
    assert client.get(f"/tra-cuu/{CODE}/").status_code == 200
    response = client.get(f"/tra-cuu/{CODE}/")
    assert response.status_code == 429
    assert "Vui lòng thử lại sau" in response.content.decode()
    assert response["Retry-After"]
    assert client.get(API + CODE).status_code == 429


def test_dossier_page_times_are_vietnam_time(client, dossier, settings):
    settings.TIME_ZONE = "UTC"
    dossier.due_at = dossier.original_due_at = vn(2099, 3, 3, 8, 30) + timedelta(minutes=15)
    dossier.save(update_fields=["due_at", "original_due_at"])
    html = client.get(f"/tra-cuu/{CODE}/").content.decode()
    assert "03/03/2099 08:45" in html
