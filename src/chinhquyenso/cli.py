"""The `cqs` command.

cqs demo              migrate, load the demo data, serve on 127.0.0.1:8000 with a worker and
                      the demo PKI services (CRL, OCSP, TSA) on 127.0.0.1:8001
cqs serve             the production web server (gunicorn) — --bind, --workers
cqs worker            the background task worker (django-tasks database backend)
cqs audit verify      check the audit trail's hash chain
cqs <django command>  any manage.py command (migrate, createsuperuser, load_demo, ...)
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

DEFAULT_BIND = "127.0.0.1:8000"
PKI_BIND = "127.0.0.1:8001"  # the URLs in the demo certificates (signing.demo.DEMO_PKI_URL)
SERVE_THREADS = 4  # gthread threads per gunicorn worker (bench/dossiers_lookup.py runs the same)


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chinhquyenso.settings")
    import django

    django.setup()


def _manage(*args: str, **options) -> None:
    from django.core.management import call_command

    call_command(*args, **options)


def _gunicorn_cmd(bind: str, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "chinhquyenso.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(SERVE_THREADS),
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "10",
    ] + _worker_tmp_dir()


def _worker_tmp_dir() -> list[str]:
    """gunicorn's heartbeat touches a file per worker on every turn of its loop; on a disk-backed
    /tmp that can block the worker while the journal commits (gunicorn's documentation of
    `worker_tmp_dir` advises a memory-backed directory such as /dev/shm)."""
    # gunicorn makes its file there with mkstemp and unlinks it at once.
    shm = "/dev/shm"  # noqa: S108
    return ["--worker-tmp-dir", shm] if os.path.isdir(shm) else []


def _worker_cmd() -> list[str]:
    return [sys.executable, "-m", "chinhquyenso.cli", "worker"]


def _pki_services_cmd() -> list[str]:
    return [sys.executable, "-m", "chinhquyenso.cli", "pki_services", "--bind", PKI_BIND]


def _run_together(commands: list[list[str]]) -> int:
    """Start every command, stop them all when one ends or on Ctrl-C/SIGTERM."""
    procs = [subprocess.Popen(cmd) for cmd in commands]  # noqa: S603 (our own commands)
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(p.poll() is None for p in procs):
            time.sleep(0.5)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
    codes = [p.returncode for p in procs]
    return 0 if stopping else max(abs(c or 0) for c in codes)


def cmd_demo(args) -> int:
    _django_setup()
    from django.conf import settings

    print("» Chuẩn bị cơ sở dữ liệu:", settings.DATABASES["default"]["NAME"])
    _manage("migrate", "--no-input", verbosity=0)
    print("» Nạp dữ liệu mẫu (chạy lại nhiều lần cho cùng một kết quả)…")
    _manage("load_demo")
    _manage("collectstatic", "--no-input", verbosity=0)
    if args.no_serve:
        return 0
    # The web server and the worker time-stamp through the demo TSA and fetch revocation data
    # from the demo CA (unless the environment says otherwise).
    os.environ.setdefault("SIGNING_TSA_URL", f"http://{PKI_BIND}/tsa")
    os.environ.setdefault("SIGNING_FETCH_REVOCATION", "true")
    print(f"» Máy chủ web: http://{args.bind}/  ·  tác vụ nền: đang chạy  ·  Ctrl-C để dừng")
    print(f"» PKI thử nghiệm (CRL, OCSP, TSA): http://{PKI_BIND}/")
    return _run_together(
        [_gunicorn_cmd(args.bind, args.workers), _worker_cmd(), _pki_services_cmd()]
    )


def cmd_serve(args) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chinhquyenso.settings")
    os.execv(sys.executable, _gunicorn_cmd(args.bind, args.workers))  # noqa: S606
    return 0


def cmd_worker(args) -> int:
    _django_setup()
    _manage("db_worker", *args.extra)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="cqs", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="dữ liệu mẫu + máy chủ + tác vụ nền")
    demo.add_argument("--bind", default=DEFAULT_BIND)
    demo.add_argument("--workers", type=int, default=2)
    demo.add_argument("--no-serve", action="store_true", help="chỉ chuẩn bị dữ liệu")
    serve = sub.add_parser("serve", help="máy chủ web (gunicorn)")
    serve.add_argument("--bind", default=DEFAULT_BIND)
    serve.add_argument("--workers", type=int, default=2)
    worker = sub.add_parser("worker", help="xử lý tác vụ nền")
    worker.add_argument("extra", nargs=argparse.REMAINDER)

    if not argv or argv[0] in {"-h", "--help"}:
        parser.print_help()
        return 0
    if argv[0] not in {"demo", "serve", "worker"}:
        # Everything else is a Django management command.
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chinhquyenso.settings")
        from django.core.management import execute_from_command_line

        execute_from_command_line(["cqs", *argv])
        return 0
    args = parser.parse_args(argv)
    return {"demo": cmd_demo, "serve": cmd_serve, "worker": cmd_worker}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
