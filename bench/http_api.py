"""Benchmark: HTTP throughput and latency of the API under gunicorn, against a trivial baseline.

Run: .venv/bin/python bench/http_api.py [--duration 10] [--concurrency 16] [--workers N]
                                        [--worker-class gthread|sync] [--loadgen auto|wrk|python]

In one run, on loopback only:

1. a throwaway SQLite database in a temporary directory (CQS_VAR_DIR), DEBUG=false,
   ALLOWED_HOSTS=127.0.0.1; migrations; the demo data (`chinhquyenso.demo.generator`);
   an API key of UBND tỉnh Lâm Đồng with the scope "organisations:read";
2. gunicorn serving `chinhquyenso.wsgi` on 127.0.0.1 (2–4 workers, gthread by default so that
   connections are kept alive);
3. checks that GET /api/v1/organisations answers 200 with the key and 401 without it;
4. the same load generator, for the same time and concurrency, against
   - the baseline  GET /api/v1/ping                      (public, no database), and
   - the measured  GET /api/v1/organisations?limit=20    (API-key auth, scoped query, count,
                                                          20 rows serialised);
   wrk when it is installed, otherwise a Python thread pool of keep-alive http.client
   connections (slower: it measures less of the server's ceiling, but both endpoints alike);
5. prints requests/second, p50/p95 latency of each and the ratio measured/baseline, then stops
   gunicorn and removes the directory.

The load generator runs on the same machine as the server and shares its CPUs: the figures are
for comparing the two endpoints (and runs of this script over time), not absolute capacity.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PING = "/api/v1/ping"
ORGANISATIONS = "/api/v1/organisations?limit=20"

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "CQS_RESULT requests=%d duration_us=%d p50_us=%d p95_us=%d errors=%d non2xx=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    errors: int
    non_2xx: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def environment(var_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    # A throwaway SQLite database and per-process cache, whatever the shell exports.
    for name in ("DATABASE_URL", "CACHE_URL", "SECRET_KEY", "SECRET_KEY_FILE"):
        env.pop(name, None)
    env.update(
        CQS_VAR_DIR=var_dir,
        DEBUG="false",
        ALLOWED_HOSTS=HOST,
        DJANGO_SETTINGS_MODULE="chinhquyenso.settings",
        LOG_LEVEL="ERROR",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])),
    )
    return env


def prepare_database(env: dict[str, str]) -> tuple[str, float]:
    """Migrate, load the demo, create the API key; returns the key and the demo load time."""
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "src"))
    import django
    from django.core.management import call_command

    django.setup()
    from django.db import connections

    from chinhquyenso.core.models import Organisation, User
    from chinhquyenso.core.services.apikeys import create_api_key
    from chinhquyenso.demo import generator
    from chinhquyenso.demo.plan import PROVINCE_CODE

    call_command("migrate", verbosity=0, interactive=False)
    report = generator.load()
    _, key = create_api_key(
        actor=User.objects.get(username=generator.SUPERUSER),
        organisation=Organisation.objects.get(org_code=PROVINCE_CODE),
        name="Đo hiệu năng HTTP",
        scopes=["organisations:read"],
    )
    connections.close_all()
    return key, report.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_gunicorn(
    env, port: int, workers: int, worker_class: str, concurrency: int, threads: int | None = None
):
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "chinhquyenso.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--log-level",
        "warning",
        "--keep-alive",
        "30",
    ]
    if os.path.isdir("/dev/shm"):  # as `cqs serve` does (chinhquyenso.cli._gunicorn_cmd)
        command += ["--worker-tmp-dir", "/dev/shm"]
    if worker_class == "gthread":
        # By default enough threads that every connection of the load generator is served at once.
        command += ["--threads", str(threads or max(1, -(-concurrency // workers)))]
    # The server's own log (e.g. the 401s of the check) goes to a file, shown if something fails.
    with open(Path(env["CQS_VAR_DIR"]) / "gunicorn.log", "wb") as log:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log
        )


def request(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until_ready(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped (exit code {server.returncode})")
        try:
            if request(port, PING)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /api/v1/ping in time")


def check_auth(port: int, key: str) -> int:
    """The measured endpoint must answer 200 with the key, 401 without or with a wrong key."""
    status, body = request(port, ORGANISATIONS, {"X-API-Key": key})
    if status != 200:
        raise RuntimeError(f"with the key: HTTP {status} {body[:200]!r}")
    page = json.loads(body)
    if not page["items"] or page["count"] < len(page["items"]):
        raise RuntimeError(f"unexpected page: {page!r:.200}")
    for headers in ({}, {"X-API-Key": "cqs_000000000000_wrong"}):
        status, body = request(port, ORGANISATIONS, headers)
        if status != 401:
            raise RuntimeError(f"without a valid key: HTTP {status} (expected 401)")
    return page["count"]


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def run_python(port: int, path: str, headers, concurrency: int, duration: float) -> Result:
    """`concurrency` threads, each looping on one keep-alive connection until the deadline."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures = [[0, 0] for _ in range(concurrency)]  # [errors, non-2xx]
    start = threading.Barrier(concurrency + 1)
    deadline = 0.0

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        mine, failed = latencies[index], failures[index]
        start.wait()
        while True:
            began = time.perf_counter()
            if began >= deadline:
                break
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                failed[0] += 1
                conn.close()
                continue
            mine.append(time.perf_counter() - began)
            if not 200 <= response.status < 300:
                failed[1] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline = began + duration
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    values = sorted(v for per_thread in latencies for v in per_thread)
    return Result(
        requests=len(values),
        seconds=elapsed,
        p50_ms=percentile(values, 0.50) * 1000,
        p95_ms=percentile(values, 0.95) * 1000,
        errors=sum(f[0] for f in failures),
        non_2xx=sum(f[1] for f in failures),
    )


def run_wrk(wrk, port, path, headers, concurrency, duration, script) -> Result:
    command = [
        wrk,
        f"--threads={min(concurrency, max(1, os.cpu_count() or 1))}",
        f"--connections={concurrency}",
        f"--duration={int(round(duration))}s",
        "--timeout=10s",
        f"--script={script}",
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    command.append(f"http://{HOST}:{port}{path}")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("CQS_RESULT"))
    values = dict(item.split("=") for item in line.split()[1:])
    return Result(
        requests=int(values["requests"]),
        seconds=int(values["duration_us"]) / 1e6,
        p50_ms=int(values["p50_us"]) / 1000,
        p95_ms=int(values["p95_us"]) / 1000,
        errors=int(values["errors"]),
        non_2xx=int(values["non2xx"]),
    )


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=min(4, max(2, os.cpu_count() or 2)))
    parser.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    # bench/run.py passes its arguments to every benchmark: ignore the other scripts' options.
    args, _ignored = parser.parse_known_args()
    if not 2 <= args.workers <= 4:
        parser.error("--workers must be between 2 and 4")

    wrk = shutil.which("wrk") if args.loadgen in ("auto", "wrk") else None
    if args.loadgen == "wrk" and wrk is None:
        parser.error("wrk is not installed (apt-get install wrk), use --loadgen python")

    var_dir = tempfile.mkdtemp(prefix="cqs-bench-http-")
    server = None
    try:
        env = environment(var_dir)
        print("Preparing: migrate, demo data, API key (SQLite in a temporary directory)…")
        key, demo_seconds = prepare_database(env)
        port = free_port()
        server = start_gunicorn(env, port, args.workers, args.worker_class, args.concurrency)
        wait_until_ready(port, server)
        organisations = check_auth(port, key)
        print(
            f"Checked: {ORGANISATIONS} -> 200 with the key ({organisations} organisations in "
            "scope), 401 without a key and with a wrong key."
        )
        if wrk:
            script = Path(var_dir) / "report.lua"
            script.write_text(WRK_SCRIPT, encoding="utf-8")
            loadgen = f"wrk ({wrk})"

            def drive(path, headers):
                return run_wrk(wrk, port, path, headers, args.concurrency, args.duration, script)
        else:
            loadgen = "Python threads, keep-alive http.client"

            def drive(path, headers):
                return run_python(port, path, headers, args.concurrency, args.duration)

        load_before = os.getloadavg()
        results = [
            ("baseline  GET " + PING, drive(PING, {})),
            ("measured  GET " + ORGANISATIONS, drive(ORGANISATIONS, {"X-API-Key": key})),
        ]
        load_after = os.getloadavg()
    except BaseException:
        log = Path(var_dir) / "gunicorn.log"
        if log.exists():
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
            print("gunicorn log (last lines):", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(var_dir, ignore_errors=True)

    threads = (
        f", {-(-args.concurrency // args.workers)} threads each"
        if args.worker_class == "gthread"
        else ""
    )
    print()
    print(
        f"gunicorn {args.workers} {args.worker_class} workers{threads} on {HOST}; SQLite; "
        f"{os.cpu_count()} CPUs shared with the load generator"
    )
    print(
        f"load generator: {loadgen}; {args.concurrency} connections; "
        f"{args.duration:g} s per endpoint, no warm-up"
    )
    print(f"demo data loaded in {demo_seconds:.1f} s")
    print(
        f"load average (1 min) before/after the measurements: {load_before[0]:.2f} / "
        f"{load_after[0]:.2f} (other processes on the machine skew the figures)"
    )
    print()
    width = max(len(name) for name, _ in results)
    print(f"{'endpoint':<{width}}  {'req/s':>9}  {'p50 ms':>8}  {'p95 ms':>8}  {'errors':>6}")
    for name, result in results:
        print(
            f"{name:<{width}}  {result.rps:>9.1f}  {result.p50_ms:>8.2f}  {result.p95_ms:>8.2f}  "
            f"{result.errors + result.non_2xx:>6}"
        )
    (_, base), (_, measured) = results
    print()
    print(
        f"ratio measured/baseline: throughput {measured.rps / base.rps:.2f}, "
        f"p50 latency {measured.p50_ms / base.p50_ms:.2f}x, "
        f"p95 latency {measured.p95_ms / base.p95_ms:.2f}x"
    )
    failed = any(r.errors or r.non_2xx or not r.requests for _, r in results)
    if failed:
        print("FAILED: some requests failed (see the errors column).")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
