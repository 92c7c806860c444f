"""Retrying background tasks through the real database backend and worker; the tasks page."""

from __future__ import annotations

import signal
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from chinhquyenso.core.tasks import PermanentFailure, RetryPolicy, retrying

# --- Helpers (imported by the other core test files) ----------------------------------------


def login_verified(client, user) -> None:
    """Sign in a leader/administrator/superuser who has passed the second factor."""
    device = TOTPDevice.objects.create(user=user, name="Thử nghiệm", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def run_worker() -> None:
    """Run `manage.py db_worker` in-process until no task is ready, then return."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    # A real worker owns its connection; in-process it shares the test's, which sits inside the
    # test's transaction. Django's close_old_connections() drops a connection that is not in
    # autocommit mode (on PostgreSQL; SQLite's in-memory test database ignores close()), which
    # would end the test's transaction. Everything else in the worker runs as in production.
    try:
        with mock.patch(
            "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
        ):
            call_command(
                "db_worker",
                "--batch",
                "--no-startup-delay",
                "--interval=0",
                "--queue-name=*",
                "--no-reload",
                verbosity=0,
            )
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def drain_queue(max_rounds: int = 20) -> list[timedelta]:
    """Run the worker; whenever only retries waiting for their backoff remain, let that time
    pass (move their run_after to now) and run again. Returns the waits that were skipped."""
    waits = []
    for _ in range(max_rounds):
        run_worker()
        waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
        if not waiting.exists():
            return waits
        now = timezone.now()
        waits += [row.run_after - row.enqueued_at for row in waiting]
        waiting.update(run_after=now)
    raise AssertionError("the queue did not drain")


# --- Tasks used by the tests (module level, as the worker imports them by path) -------------

CALLS: list[tuple[str, int]] = []
GIVEN_UP: list[str] = []


def _given_up(exc, key):
    GIVEN_UP.append(f"{key}: {exc}")


@task()
@retrying(max_attempts=5, backoff_seconds=10, jitter=0)
def flaky_job(key: str, fail_times: int) -> str:
    CALLS.append((key, len(CALLS) + 1))
    if len([c for c in CALLS if c[0] == key]) <= fail_times:
        raise ConnectionError(f"Máy chủ đối tác không phản hồi (lần {len(CALLS)})")
    return f"xong {key}"


@task()
@retrying(max_attempts=3, backoff_seconds=5, jitter=0, on_give_up=_given_up)
def always_failing_job(key: str) -> None:
    CALLS.append((key, len(CALLS) + 1))
    raise RuntimeError("Lỗi cố định")


@task()
@retrying(max_attempts=5, on_give_up=_given_up)
def permanent_failure_job(key: str) -> None:
    CALLS.append((key, len(CALLS) + 1))
    raise PermanentFailure("Dữ liệu sai, thử lại vô ích")


@pytest.fixture(autouse=True)
def _reset(settings):
    CALLS.clear()
    GIVEN_UP.clear()
    # Persona fixtures hash passwords; Argon2 makes every test take a second or more.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Pages render {% static %}; without collectstatic the manifest storage cannot hash names.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# --- Retry ----------------------------------------------------------------------------------


def test_fails_twice_then_succeeds_through_the_db_worker(db):
    flaky_job.enqueue("a", fail_times=2)
    waits = drain_queue()
    rows = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert [r.status for r in rows] == ["FAILED", "FAILED", "SUCCESSFUL"]
    assert [r.args_kwargs["kwargs"].get("retry_attempt", 1) for r in rows] == [1, 2, 3]
    assert rows[-1].return_value == "xong a"
    assert "ConnectionError: Máy chủ đối tác không phản hồi (lần 1)" in rows[0].traceback
    # Exponential backoff: 10 s after the first failure, 20 s after the second.
    assert [round(w.total_seconds()) for w in waits] == [10, 20]
    assert len(CALLS) == 3


def test_gives_up_after_max_attempts(db):
    always_failing_job.enqueue("b")
    drain_queue()
    rows = DBTaskResult.objects.all()
    assert rows.count() == 3
    assert set(rows.values_list("status", flat=True)) == {"FAILED"}
    assert GIVEN_UP == ["b: Lỗi cố định"]


def test_permanent_failure_is_not_retried(db):
    permanent_failure_job.enqueue("c")
    drain_queue()
    assert DBTaskResult.objects.get().status == "FAILED"
    assert len(CALLS) == 1
    assert GIVEN_UP == ["c: Dữ liệu sai, thử lại vô ích"]


def test_backoff_is_capped_and_jittered():
    policy = RetryPolicy(max_attempts=10, backoff_seconds=30, max_backoff_seconds=600, jitter=0.1)
    assert 27 <= policy.delay(1) <= 33
    assert 54 <= policy.delay(2) <= 66
    assert 540 <= policy.delay(9) <= 660


@retrying(max_attempts=2)
def not_a_task() -> None:
    raise RuntimeError("lỗi gốc")


def test_retrying_needs_an_attempt_and_keeps_the_original_error():
    with pytest.raises(ValueError):
        retrying(max_attempts=0)
    # Misused without @task(): the retry cannot be enqueued, the task's own error still shows.
    with pytest.raises(RuntimeError, match="lỗi gốc"):
        not_a_task()


# --- Page -----------------------------------------------------------------------------------


@pytest.fixture
def failed_then_succeeded(db):
    flaky_job.enqueue("trang", fail_times=2)
    drain_queue()


def test_admin_sees_failed_attempts_with_their_errors(
    client, commune_admin, failed_then_succeeded, django_assert_max_num_queries
):
    login_verified(client, commune_admin)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("core:tasks"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Tác vụ nền" in text
    assert text.count("flaky_job") >= 3
    assert "ConnectionError: Máy chủ đối tác không phản hồi (lần 1)" in text
    assert "ConnectionError: Máy chủ đối tác không phản hồi (lần 2)" in text
    assert "Xem toàn bộ vết lỗi" in text  # the traceback is behind <details>
    assert "3/5" in text and "Thành công" in text and "Lỗi" in text
    local = timezone.localtime(DBTaskResult.objects.earliest("enqueued_at").enqueued_at)
    assert local.strftime("%d/%m/%Y %H:%M") in text


def test_filter_by_status(client, province_admin, failed_then_succeeded):
    login_verified(client, province_admin)
    response = client.get(reverse("core:tasks"), {"trang-thai": "SUCCESSFUL"})
    assert response.status_code == 200
    assert len(response.context["rows"]) == 1
    assert response.context["rows"][0]["status_label"] == "Thành công"
    response = client.get(reverse("core:tasks"), {"trang-thai": "FAILED"})
    assert len(response.context["rows"]) == 2


def test_pagination(client, superuser, db):
    for i in range(55):
        flaky_job.enqueue(f"k{i}", fail_times=0)
    login_verified(client, superuser)
    first = client.get(reverse("core:tasks"))
    assert len(first.context["rows"]) == 50
    assert "Trang 1/2" in first.content.decode()
    second = client.get(reverse("core:tasks"), {"trang": 2})
    assert len(second.context["rows"]) == 5


def test_specialist_is_forbidden(client, responsible, failed_then_succeeded):
    client.force_login(responsible)
    response = client.get(reverse("core:tasks"))
    assert response.status_code == 403
    assert "ConnectionError" not in response.content.decode()


def test_anonymous_is_sent_to_login(client, failed_then_succeeded):
    response = client.get(reverse("core:tasks"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:login"))


def test_task_count_has_thousands_separators(client, superuser, db):
    flaky_job.enqueue("k", fail_times=0)
    first = DBTaskResult.objects.get()
    DBTaskResult.objects.bulk_create(
        DBTaskResult(**{**model_to_fields(first), "id": uuid.uuid4()}) for _ in range(1233)
    )
    login_verified(client, superuser)
    assert "1.234 tác vụ" in client.get(reverse("core:tasks")).content.decode()


def model_to_fields(row) -> dict:
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
