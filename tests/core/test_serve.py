"""The production web server as `cqs serve` starts it: gunicorn's command line and the WSGI
module it loads in every worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from chinhquyenso import cli


def _environment(tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chinhquyenso.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CQS_VAR_DIR": str(tmp_path),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
    }


def test_gunicorn_accepts_the_command_line_of_cqs_serve_and_loads_the_application(tmp_path):
    command = cli._gunicorn_cmd("127.0.0.1:0", 2)
    if os.path.isdir("/dev/shm"):
        assert command[command.index("--worker-tmp-dir") + 1] == "/dev/shm"
    result = subprocess.run(
        [*command, "--check-config"],
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_a_worker_freezes_what_loading_made_and_still_answers(tmp_path):
    """wsgi.py loads the URL configuration and freezes everything made so far, so the garbage
    collector's full collections no longer walk it (issue #3: they stopped a worker ~100 ms);
    a request after that is answered as before."""
    code = (
        "import gc, io, sys, json\n"
        "import chinhquyenso.wsgi as w\n"
        "assert 'chinhquyenso.urls' in sys.modules\n"
        "environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/api/v1/ping', 'QUERY_STRING': '',\n"
        "  'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '8000', 'HTTP_HOST': '127.0.0.1',\n"
        "  'SERVER_PROTOCOL': 'HTTP/1.1', 'wsgi.input': io.BytesIO(), 'wsgi.url_scheme': 'http',\n"
        "  'REMOTE_ADDR': '127.0.0.1'}\n"
        "status = []\n"
        "body = b''.join(w.application(environ, lambda s, h, e=None: status.append(s)))\n"
        "print(json.dumps({'frozen': gc.get_freeze_count(), 'status': status[0],\n"
        "  'body': json.loads(body)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    # Django, the apps and the API's schemas: well over 50,000 objects (about 180,000 measured).
    assert outcome["frozen"] > 50_000
    assert outcome["status"] == "200 OK"
    assert outcome["body"] == {"status": "ok"}
