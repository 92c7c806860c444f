"""Strict environment parsing: a malformed value stops start-up naming the variable."""

import os
import subprocess
import sys

import pytest


def run_check(**env):
    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("CQS_DOSSIER_CUTOFF", "3pm"),
        ("DATABASE_URL", "nosuchdb://x"),
        ("SQLITE_BUSY_TIMEOUT", "ten"),
        ("TASKS_BACKEND", "celery"),
        ("AXES_FAILURE_LIMIT", "0"),
    ],
)
def test_malformed_environment_stops_start_up(name, value, tmp_path):
    result = run_check(**{name: value, "CQS_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert name in result.stderr
    assert "Traceback" not in result.stdout


def test_secret_key_file_is_read(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("a-very-long-secret-value-for-tests-only-0123456789")
    result = run_check(SECRET_KEY_FILE=str(secret), CQS_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_sqlite_file_database_runs_in_wal_mode_with_busy_timeout(tmp_path):
    """The embedded default: a file database opened in WAL mode (readers never block the
    writer) with a busy timeout. Checked on a real file, whatever database the suite uses."""
    code = (
        "import django; django.setup();"
        "from django.db import connection;"
        "cur = connection.cursor();"
        "cur.execute('PRAGMA journal_mode'); print(cur.fetchone()[0]);"
        "cur.execute('PRAGMA busy_timeout'); print(cur.fetchone()[0])"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chinhquyenso.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SQLITE_BUSY_TIMEOUT": "7",
        "CQS_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "7000"]


def test_pages_are_vietnamese_even_for_an_english_browser(client, db):
    response = client.get("/dang-nhap/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="vi">' in response.content.decode()
    assert "Đăng nhập" in response.content.decode()


def test_chosen_language_is_kept(client, db):
    client.post("/i18n/setlang/", {"language": "en", "next": "/dang-nhap/"})
    response = client.get("/dang-nhap/")
    assert '<html lang="en">' in response.content.decode()
