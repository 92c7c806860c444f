"""Benchmark: the public status lookup under load, on the 1-million-dossier database (issue #3).

Run: .venv/bin/python bench/dossiers_generate.py            # once: creates cqs_bench
     .venv/bin/python bench/dossiers_lookup.py [--db cqs_bench] [--duration 40] [--rounds 10]
                       [--concurrency 16] [--workers 2..4] [--worker-class gthread|sync]
                       [--threads N]
                       [--loadgen auto|wrk|python] [--codes 20000]

In one run, on loopback only:

1. checks that `--db` holds dossiers (made by `dossiers_generate.py`), draws `--codes` random
   existing codes, counts the SQL queries of one lookup (Django test client in this process)
   and prints EXPLAIN ANALYZE of the lookup's query;
2. gunicorn serving `chinhquyenso.wsgi` on that database as `cqs serve` runs it (gthread workers
   with `--threads` 4, heartbeat in /dev/shm; DEBUG=false,
   CQS_PUBLIC_LOOKUP_PER_MINUTE=0 so the rate limit never answers 429, per-process cache);
3. checks that a code answers 200 with its own code and an unknown one 404;
4. the same load generator, same time and concurrency, after a 2 s warm-up of each, against
   - the baseline  GET /api/v1/ping                     (no database), and
   - the measured  GET /api/v1/public/dossiers/{code}   a random existing code per request;
   wrk (with a Lua script picking the code) when installed, else Python keep-alive threads;
5. prints req/s, p50/p95/p99 of both and the ratio; the targets of issue #3 are a throughput
   ratio >= 0.70 and p99 < 50 ms for the lookup at that rate.

Reuses the helpers of `http_api.py` (gunicorn start/stop, readiness) and the environment of
`dossiers_generate.py`. The load generator shares the CPUs with gunicorn and PostgreSQL: compare
the two endpoints of one run, not runs on different machines.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import dossiers_generate as gen  # noqa: E402
import http_api  # noqa: E402

from chinhquyenso.cli import SERVE_THREADS  # noqa: E402

HOST = http_api.HOST
PING = http_api.PING
LOOKUP = "/api/v1/public/dossiers/"

WRK_SCRIPT = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) %% 100000)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "CQS_RESULT requests=%%d duration_us=%%d errors=%%d non2xx=%%d\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status))
  -- The whole latency histogram (distinct values in microseconds and their counts), so that
  -- the percentiles of several rounds can be computed over all their requests together.
  -- latency(i) is the i-th smallest latency and how many requests took exactly that long.
  local i = 1
  while i <= summary.requests do
    local value, count = latency(i)
    if value <= 0 or count <= 0 then break end
    io.write(string.format("CQS_HIST %%d %%d\\n", value, count))
    i = i + count
  end
end
"""


@dataclass
class Result:
    requests: int = 0
    seconds: float = 0.0
    errors: int = 0
    non_2xx: int = 0
    # latency in microseconds -> number of requests
    histogram: Counter = field(default_factory=Counter)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        total = sum(self.histogram.values())
        if not total:
            return 0.0
        rank = max(1, round(fraction * total))
        seen = 0
        for value in sorted(self.histogram):
            seen += self.histogram[value]
            if seen >= rank:
                return value / 1000
        return max(self.histogram) / 1000

    def add(self, other: Result) -> None:
        self.requests += other.requests
        self.seconds += other.seconds
        self.errors += other.errors
        self.non_2xx += other.non_2xx
        self.histogram.update(other.histogram)


def run_wrk(wrk, port, paths_file, concurrency, duration, script_dir) -> Result:
    script = Path(script_dir) / f"lookup-{Path(paths_file).stem}.lua"
    script.write_text(WRK_SCRIPT % {"paths": paths_file}, encoding="utf-8")
    command = [
        wrk,
        f"--threads={min(concurrency, max(1, os.cpu_count() or 1))}",
        f"--connections={concurrency}",
        f"--duration={max(1, int(round(duration)))}s",
        "--timeout=10s",
        f"--script={script}",
        f"http://{HOST}:{port}/",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("CQS_RESULT"))
    v = dict(item.split("=") for item in line.split()[1:])
    histogram: Counter = Counter()
    for x in output.splitlines():
        if x.startswith("CQS_HIST "):
            _, value, count = x.split()
            histogram[int(value)] += int(count)
    return Result(
        requests=int(v["requests"]),
        seconds=int(v["duration_us"]) / 1e6,
        errors=int(v["errors"]),
        non_2xx=int(v["non2xx"]),
        histogram=histogram,
    )


def run_python(port: int, paths: list[str], concurrency: int, duration: float) -> Result:
    """`concurrency` threads on keep-alive connections, a random path of `paths` per request."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures = [[0, 0] for _ in range(concurrency)]
    start = threading.Barrier(concurrency + 1)
    deadline = 0.0

    def worker(index: int) -> None:
        rng = random.Random(index)
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        mine, failed = latencies[index], failures[index]
        start.wait()
        while True:
            began = time.perf_counter()
            if began >= deadline:
                break
            try:
                conn.request("GET", rng.choice(paths))
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
    histogram = Counter(round(v * 1e6) for per_thread in latencies for v in per_thread)
    return Result(
        requests=sum(histogram.values()),
        seconds=elapsed,
        errors=sum(f[0] for f in failures),
        non_2xx=sum(f[1] for f in failures),
        histogram=histogram,
    )


def cpu_snapshot(server_pid: int) -> dict | None:
    """CPU ticks (user + system) so far of every process of the web server (gunicorn's process
    group) and of PostgreSQL (every process named postgres: the backends serve this benchmark
    alone), by pid, and this process's finished children (wrk) and own threads (the Python load
    generator) in seconds. None off Linux."""
    if not Path("/proc/self/stat").exists():
        return None
    ticks = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(fields[2]) == server_pid:  # process group: gunicorn runs in its own session
            group = "server"
        elif name == "postgres":
            group = "database"
        else:
            continue
        ticks[int(entry.name)] = (group, int(fields[11]) + int(fields[12]))  # utime + stime
    own = os.times()
    return {
        "ticks": ticks,
        "generator": own.children_user + own.children_system + own.user + own.system,
    }


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    """Seconds of CPU between two snapshots per group (a process that ended in between loses
    its last ticks; one that started counts whole)."""
    hz = os.sysconf("SC_CLK_TCK")
    used = {"server": 0.0, "database": 0.0}
    for pid, (group, ticks) in after["ticks"].items():
        earlier = before["ticks"].get(pid)
        used[group] += (ticks - (earlier[1] if earlier and earlier[0] == group else 0)) / hz
    used["generator"] = after["generator"] - before["generator"]
    return used


def inspect_lookup(codes: list[str]) -> tuple[int, str, float]:
    """In this process: the SQL queries of one lookup over HTTP (test client) once the names it
    shows are cached, the EXPLAIN ANALYZE of the lookup query, and the mean in-process time of
    `public.lookup` (after 2,000 lookups have filled the per-process caches: names, calendar)."""
    from django.db import connection
    from django.test import Client

    from chinhquyenso.dossiers import public

    client = Client(HTTP_HOST=HOST)
    client.get(LOOKUP + codes[1])  # warm: URL resolver, calendar and name caches for this code
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = client.get(LOOKUP + codes[1])
    if response.status_code != 200:
        raise RuntimeError(f"lookup {codes[1]}: HTTP {response.status_code}")
    queries = len(statements)
    # The query `public.lookup` really runs (the dossier row alone; names come from caches).
    plan = public.lookup_queryset(codes[2]).explain(analyze=True, buffers=True)
    for code in codes[503:2503]:
        public.lookup(code)
    sample = codes[3:503]
    t = time.perf_counter()
    for code in sample:
        public.lookup(code)
    per_call = (time.perf_counter() - t) / len(sample)
    return queries, plan, per_call * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="cqs_bench")
    parser.add_argument("--pg", default=gen.DEFAULT_PG)
    parser.add_argument("--duration", type=float, default=40.0, help="seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=min(4, max(2, os.cpu_count() or 2)))
    parser.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    parser.add_argument(
        "--threads",
        type=int,
        default=SERVE_THREADS,
        help=f"gthread threads per worker (default {SERVE_THREADS}, as `cqs serve` runs)",
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--codes", type=int, default=20000, help="distinct codes looked up")
    parser.add_argument(
        "--rounds", type=int, default=10, help="interleaved rounds sharing --duration"
    )
    args, _ignored = parser.parse_known_args()
    if not 2 <= args.workers <= 4:
        parser.error("--workers must be between 2 and 4")
    wrk = shutil.which("wrk") if args.loadgen in ("auto", "wrk") else None
    if args.loadgen == "wrk" and wrk is None:
        parser.error("wrk is not installed (apt-get install wrk), use --loadgen python")
    if not gen.database_exists(args.pg, args.db):
        print(f"No database {args.db}: run bench/dossiers_generate.py --db {args.db} first.")
        return 2

    var_dir = tempfile.mkdtemp(prefix="cqs-bench-lookup-")
    server = None
    try:
        env = gen.environment(var_dir, args.pg, args.db, CQS_PUBLIC_LOOKUP_PER_MINUTE="0")
        gen.setup_django(env)
        from django.db import connection, connections

        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM dossiers_dossier")
            total = cur.fetchone()[0]
            if total == 0:
                print(f"{args.db} has no dossiers: run bench/dossiers_generate.py first.")
                return 2
            # Random rows without sorting the table: ids are 1..N from the generator, plus
            # whatever real intakes added.
            cur.execute("SELECT max(id) FROM dossiers_dossier")
            top = cur.fetchone()[0]
            rng = random.Random(7)
            wanted = sorted({rng.randrange(1, top + 1) for _ in range(args.codes)})
            cur.execute("SELECT code FROM dossiers_dossier WHERE id = ANY(%s)", [wanted])
            codes = [row[0] for row in cur.fetchall()]
        rng.shuffle(codes)
        queries, plan, in_process_ms = inspect_lookup(codes)
        connections.close_all()
        paths_file = Path(var_dir) / "lookup.txt"
        paths_file.write_text("".join(f"{LOOKUP}{c}\n" for c in codes), encoding="utf-8")
        ping_file = Path(var_dir) / "ping.txt"
        ping_file.write_text(PING + "\n", encoding="utf-8")

        port = http_api.free_port()
        server = http_api.start_gunicorn(
            env, port, args.workers, args.worker_class, args.concurrency, args.threads
        )
        http_api.wait_until_ready(port, server)
        status, body = http_api.request(port, LOOKUP + codes[0])
        if status != 200 or json.loads(body)["code"] != codes[0]:
            raise RuntimeError(f"lookup {codes[0]}: HTTP {status} {body[:200]!r}")
        status, _ = http_api.request(port, LOOKUP + "000.00.00.H39-000101-9999")
        if status != 404:
            raise RuntimeError(f"unknown code: HTTP {status} (expected 404)")

        if wrk:
            loadgen = f"wrk ({wrk}), a random code per request (Lua)"

            def drive(kind: str, seconds: float) -> Result:
                f = ping_file if kind == "ping" else paths_file
                return run_wrk(wrk, port, str(f), args.concurrency, seconds, var_dir)
        else:
            loadgen = "Python threads, keep-alive http.client, a random code per request"
            lookup_paths = [f"{LOOKUP}{c}" for c in codes]

            def drive(kind: str, seconds: float) -> Result:
                paths = [PING] if kind == "ping" else lookup_paths
                return run_python(port, paths, args.concurrency, seconds)

        drive("ping", 2)
        drive("lookup", 2)
        # Interleaved rounds (ping, lookup, lookup, ping, ...): the load other processes put on
        # the machine changes from second to second, and both endpoints should see the same.
        base, measured, per_round, p99s = Result(), Result(), [], []
        cpu = {"ping": Counter(), "lookup": Counter()}
        load_before = os.getloadavg()
        for n in range(args.rounds):
            order = ("ping", "lookup") if n % 2 == 0 else ("lookup", "ping")
            got = {}
            for kind in order:
                before = cpu_snapshot(server.pid)
                got[kind] = drive(kind, args.duration / args.rounds)
                after = cpu_snapshot(server.pid)
                if before and after:
                    cpu[kind].update(cpu_used(before, after))
            base.add(got["ping"])
            measured.add(got["lookup"])
            per_round.append(got["lookup"].rps / got["ping"].rps if got["ping"].rps else 0.0)
            p99s.append((got["ping"].percentile_ms(0.99), got["lookup"].percentile_ms(0.99)))
        load_after = os.getloadavg()
        results = [
            ("baseline  GET " + PING, base),
            ("measured  GET " + LOOKUP + "{code}", measured),
        ]
    except BaseException:
        log = Path(var_dir) / "gunicorn.log"
        if log.exists():
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
            print("gunicorn log (last lines):", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        if server is not None:
            http_api.stop(server)
        shutil.rmtree(var_dir, ignore_errors=True)

    threads = f", {args.threads} threads each" if args.worker_class == "gthread" else ""
    print()
    print(
        f"database {args.db}: {total:,} dossiers; {len(codes):,} distinct codes looked up at random"
    )
    print(
        f"one lookup = {queries} SQL quer{'y' if queries == 1 else 'ies'} (test client, names "
        f"cached); public.lookup in process: {in_process_ms:.2f} ms per call (wall, caches warm)"
    )
    print("EXPLAIN ANALYZE of the lookup query:")
    for line in plan.splitlines():
        print("   ", line)
    print(
        f"gunicorn {args.workers} {args.worker_class} workers{threads} on {HOST}; PostgreSQL; "
        f"{os.cpu_count()} CPUs shared with the load generator and the database"
    )
    print(
        f"load generator: {loadgen}; {args.concurrency} connections; "
        f"{args.duration:g} s per endpoint in {args.rounds} interleaved rounds, after a 2 s "
        "warm-up of each; percentiles over all the requests of the rounds"
    )
    print(
        f"load average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f} "
        "(other processes on the machine skew the figures)"
    )
    print()
    width = max(len(name) for name, _ in results)
    print(
        f"{'endpoint':<{width}}  {'req/s':>9}  {'p50 ms':>8}  {'p95 ms':>8}  {'p99 ms':>8}  "
        f"{'errors':>6}"
    )
    for name, r in results:
        print(
            f"{name:<{width}}  {r.rps:>9.1f}  {r.percentile_ms(0.50):>8.2f}  "
            f"{r.percentile_ms(0.95):>8.2f}  {r.percentile_ms(0.99):>8.2f}  "
            f"{r.errors + r.non_2xx:>6}"
        )
    ratio = measured.rps / base.rps if base.rps else 0.0
    p99 = measured.percentile_ms(0.99)
    if cpu["ping"] and cpu["lookup"]:
        # Where the CPU of one request goes: on these shared cores, req/s is about the inverse.
        print()
        print(
            f"{'CPU ms per request':<{width}}  {'server':>9}  {'database':>8}  {'loadgen':>8}  "
            f"{'total':>8}"
        )
        totals = {}
        for kind, r in (("ping", base), ("lookup", measured)):
            per = {k: 1000 * v / r.requests for k, v in cpu[kind].items()} if r.requests else {}
            totals[kind] = sum(per.values())
            print(
                f"{kind:<{width}}  {per.get('server', 0):>9.3f}  {per.get('database', 0):>8.3f}  "
                f"{per.get('generator', 0):>8.3f}  {totals[kind]:>8.3f}"
            )
        if totals["lookup"]:
            print(f"CPU ratio ping/lookup: {totals['ping'] / totals['lookup']:.2f}")
    print()
    print("throughput ratio per round: " + ", ".join(f"{r:.2f}" for r in per_round))
    print("p99 ms per round, ping / lookup: " + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in p99s))
    print(
        f"ratio lookup/ping: throughput {ratio:.2f} (target >= 0.70), "
        f"p99 of the lookup {p99:.1f} ms (target < 50 ms; ping's p99 "
        f"{base.percentile_ms(0.99):.1f} ms in the same rounds)"
    )
    verdict = "MET" if ratio >= 0.70 and p99 < 50 else "NOT MET"
    print(f"issue #3 lookup target: {verdict}")
    failed = any(r.errors or r.non_2xx or not r.requests for _, r in results)
    if failed:
        print("FAILED: some requests failed (see the errors column).")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
