"""Benchmark: an official's queues and the supervision figures on 1 million dossiers (issue #3).

Run: .venv/bin/python bench/dossiers_generate.py           # once: creates cqs_bench
     .venv/bin/python bench/dossiers_queries.py [--db cqs_bench] [--repeats 10] [--explain]

In this process (no HTTP), on the database made by `dossiers_generate.py`:

* baselines: a `SELECT 1` round trip and `Organisation.objects.count()`;
* `queries.queue_for(user, kind)` for every kind, for the busiest specialist (the official
  holding the most running dossiers) and for the busiest commune's desk officer, evaluated the
  way the API does it: `count()` and the first page of 20 rows;
* `queries.supervision_counts(user, organisation)` (this month) for the province chairman on
  the province (every dossier in scope) and for a commune chairman on the busiest commune;

each `--repeats` times after one warm-up call: median and p95 in ms, the number of SQL queries
(the issue asks for a bounded number, whatever the data) and the target (< 300 ms). For every
measurement over the target the slowest SQL statement is run again under EXPLAIN (ANALYZE,
BUFFERS) and its plan printed (`--explain`: for every measurement).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dossiers_generate as gen  # noqa: E402

TARGET_MS = 300.0
PAGE = 20


def measure(func, repeats: int):
    """(median ms, p95 ms, queries per call, [(seconds, sql)] of the last call)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    func()  # warm-up: calendar cache, permissions, plan cache
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        func()
        times.append((time.perf_counter() - t) * 1000)
    with CaptureQueriesContext(connection) as ctx:
        func()
    statements = [(float(q["time"]), q["sql"]) for q in ctx.captured_queries]
    times.sort()
    p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
    return statistics.median(times), p95, len(statements), statements


def explain(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return [row[0] for row in cur.fetchall()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="cqs_bench")
    parser.add_argument("--pg", default=gen.DEFAULT_PG)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--explain", action="store_true", help="plans of every measurement")
    args, _ignored = parser.parse_known_args()
    if not gen.database_exists(args.pg, args.db):
        print(f"No database {args.db}: run bench/dossiers_generate.py --db {args.db} first.")
        return 2

    var_dir = tempfile.mkdtemp(prefix="cqs-bench-queries-")
    try:
        gen.setup_django(gen.environment(var_dir, args.pg, args.db))
        return run(args)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def run(args) -> int:
    from django.db import connection
    from django.db.models import Count

    from chinhquyenso.core.models import Organisation, Position, Role, User
    from chinhquyenso.dossiers import queries
    from chinhquyenso.dossiers.models import Dossier

    total = Dossier.objects.count()
    if not total:
        print(f"{args.db} has no dossiers: run bench/dossiers_generate.py first.")
        return 2
    running = Dossier.objects.filter(status__in=queries.IN_PROGRESS).count()

    def busiest(role: str):
        holders = Position.objects.active().filter(role=role, is_primary=True).values("user_id")
        row = (
            Dossier.objects.filter(status__in=queries.IN_PROGRESS, current_handler__in=holders)
            .values("current_handler")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        return User.objects.get(pk=row["current_handler"]), row["n"]

    specialist, specialist_load = busiest(Role.SPECIALIST)
    desk, desk_load = busiest(Role.DESK_OFFICER)
    province = (
        Organisation.objects.get(depth=0)
        if Organisation.objects.filter(depth=0).count() == 1
        else Organisation.objects.order_by("depth", "pk").first()
    )
    province_leader = (
        User.objects.get(
            positions__organisation=province, positions__role=Role.LEADER, username="chutich.tinh"
        )
        if User.objects.filter(username="chutich.tinh").exists()
        else (
            Position.objects.active().filter(organisation=province, role=Role.LEADER).first().user
        )
    )
    commune_row = (
        Dossier.objects.values("receiving_organisation")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    commune = Organisation.objects.get(pk=commune_row["receiving_organisation"])
    commune_leader = (
        Position.objects.active()
        .filter(organisation=commune, role=Role.LEADER)
        .order_by("id")
        .first()
        .user
    )

    def page(qs):
        return lambda: (qs().count(), list(qs()[:PAGE]))

    cases = [
        ("baseline  SELECT 1", lambda: _select_one(connection)),
        ("baseline  Organisation.objects.count()", lambda: Organisation.objects.count()),
    ]
    for who, user in (
        (f"specialist {specialist.username}", specialist),
        (f"desk {desk.username}", desk),
    ):
        for kind in queries.QUEUE_KINDS:
            cases.append(
                (
                    f"queue_for({kind}) {who}",
                    page(lambda user=user, kind=kind: queries.queue_for(user, kind)),
                )
            )
    cases.append(
        (
            f"supervision_counts province ({province_leader.username})",
            lambda: queries.supervision_counts(province_leader, province),
        )
    )
    cases.append(
        (
            f"supervision_counts commune ({commune_leader.username})",
            lambda: queries.supervision_counts(commune_leader, commune),
        )
    )

    results = []
    for name, func in cases:
        median, p95, n_queries, statements = measure(func, args.repeats)
        results.append((name, median, p95, n_queries, statements))
        print(f"  measured {name}: median {median:.1f} ms", flush=True)

    print()
    print(
        f"database {args.db}: {total:,} dossiers, {running:,} in progress (statuses 2, 4, 6); "
        f"PostgreSQL {connection.pg_version // 10000}"
    )
    print(
        f"busiest specialist {specialist.username} holds {specialist_load:,} running dossiers; "
        f"desk officer {desk.username} {desk_load:,}; commune {commune.name} received "
        f"{commune_row['n']:,}"
    )
    print(
        f"queues: count() + first page of {PAGE} (as the API); supervision: this month; "
        f"{args.repeats} repeats after one warm-up"
    )
    print()
    width = max(len(r[0]) for r in results)
    print(f"{'measurement':<{width}}  {'median ms':>9}  {'p95 ms':>8}  {'queries':>7}  target")
    over = []
    for name, median, p95, n_queries, statements in results:
        baseline = name.startswith("baseline")
        ok = "" if baseline else ("ok" if p95 < TARGET_MS else "OVER")
        print(f"{name:<{width}}  {median:>9.1f}  {p95:>8.1f}  {n_queries:>7}  {ok}")
        if not baseline and (p95 >= TARGET_MS or args.explain):
            over.append((name, statements))
    for name, statements in over:
        seconds, sql = max(statements, key=lambda s: s[0])
        print()
        print(f"--- {name}: slowest of {len(statements)} statements ({seconds * 1000:.0f} ms)")
        print(sql if len(sql) < 3000 else sql[:3000] + " …")
        print("EXPLAIN (ANALYZE, BUFFERS):")
        for line in explain(sql):
            print("   ", line)
    failed = [r[0] for r in results if not r[0].startswith("baseline") and r[2] >= TARGET_MS]
    print()
    print(
        f"issue #3 target (< {TARGET_MS:.0f} ms): "
        + ("MET for every measurement" if not failed else f"NOT MET for {len(failed)}: ")
        + ", ".join(failed)
    )
    return 0


def _select_one(connection):
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        return cur.fetchone()


if __name__ == "__main__":
    sys.exit(main())
