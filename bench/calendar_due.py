"""Benchmark: calls per second of `core.services.calendar.due()` against a naive baseline.

Run: .venv/bin/python bench/calendar_due.py [--seconds 0.5] [--starts 1000]

Sets up Django on a throwaway SQLite database in a temporary directory (CQS_VAR_DIR), runs the
migrations (which create the default office sessions), then for working_days in 1, 5, 10, 20,
30, 60 measures, on the same varied start instants:

* due()            warm per-process calendar, revision checked every CQS_CALENDAR_CACHE_SECONDS;
* due() rev/call   the same with CQS_CALENDAR_CACHE_SECONDS=0 (a cache.get on every call);
* naive loop       day by day over `holidays.VN` with a weekday check, dates only (no office
                   hours, no overrides): what one would write without the calendar service.

It also checks that both give the same due date for starts inside office hours (where the two
rules coincide) and prints plain text.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAYS = (1, 5, 10, 20, 30, 60)


def setup_django(var_dir: str) -> None:
    os.environ["CQS_VAR_DIR"] = var_dir
    # A throwaway SQLite database and a per-process cache, whatever the shell exports.
    for name in ("DATABASE_URL", "CACHE_URL"):
        os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "chinhquyenso.settings"
    sys.path.insert(0, str(ROOT / "src"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def rate(func, args_list, min_seconds: float, repeats: int = 5) -> float:
    """Calls per second of func(*args) over args_list: the best of `repeats` rounds, each of at
    least min_seconds / repeats (the best round is the one least disturbed by other load)."""
    best = 0.0
    for _ in range(repeats):
        calls, started = 0, time.perf_counter()
        while True:
            for args in args_list:
                func(*args)
            calls += len(args_list)
            elapsed = time.perf_counter() - started
            if elapsed >= min_seconds / repeats:
                break
        best = max(best, calls / elapsed)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    parser.add_argument("--starts", type=int, default=1000, help="distinct start instants")
    options, _ = parser.parse_known_args()

    var_dir = tempfile.mkdtemp(prefix="cqs-bench-calendar-")
    try:
        t0 = time.perf_counter()
        setup_django(var_dir)
        setup_seconds = time.perf_counter() - t0
        return run(options, setup_seconds)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def run(options, setup_seconds: float) -> int:
    import holidays
    from django.conf import settings
    from django.test import override_settings

    from chinhquyenso.core.services import calendar

    tz = calendar.TZ
    rng = random.Random(20260213)
    first = date(2026, 1, 1).toordinal()
    starts = [
        datetime.fromordinal(first + rng.randrange(730)).replace(tzinfo=tz)
        + timedelta(minutes=rng.randrange(24 * 60), seconds=rng.randrange(60))
        for _ in range(options.starts)
    ]

    vn = holidays.VN(years=range(2025, 2030))
    workdays = vn.weekend_workdays

    def naive_due(start: datetime, n: int) -> date:
        day, counted = start.astimezone(tz).date(), 0
        while counted < n:
            day += timedelta(days=1)
            if (day.weekday() < 5 or day in workdays) and day not in vn:
                counted += 1
        return day

    calendar.invalidate_cache()
    t0 = time.perf_counter()
    calendar.due(starts[0], working_days=1)
    cold_ms = (time.perf_counter() - t0) * 1000

    # Agreement: starts inside office hours (07:30 < t < 17:00) on any day.
    office = [s for s in starts if (7, 30) < (s.hour, s.minute) < (17, 0)]
    agree = total = 0
    for n in DAYS:
        for s in office[:300]:
            total += 1
            agree += calendar.due(s, working_days=n).date() == naive_due(s, n)

    rows = []
    for n in DAYS:
        args = [(s, n) for s in starts]

        def service(s, k):
            return calendar.due(s, working_days=k)

        for s, k in args[:50]:  # warm
            service(s, k)
        fast = rate(service, args, options.seconds)
        with override_settings(CQS_CALENDAR_CACHE_SECONDS=0):
            checked = rate(service, args, options.seconds)
        naive = rate(naive_due, args, options.seconds)
        rows.append((n, fast, checked, naive))

    print("calendar.due(): calls per second, warm cache, one process (plain Python)")
    print(f"python {sys.version.split()[0]}, holidays {holidays.__version__}, ", end="")
    print(f"{len(starts)} start instants in 2026-2027 at any time of day")
    print(f"setup (temp SQLite + migrations): {setup_seconds:.1f} s; first call (cold): ", end="")
    print(f"{cold_ms:.1f} ms")
    print()
    header = f"{'working_days':>12} {'due()':>12} {'due() rev/call':>15} {'naive loop':>12} "
    header += f"{'due()/naive':>12}"
    print(header)
    print("-" * len(header))
    for n, fast, checked, naive in rows:
        print(f"{n:>12} {fast:>12,.0f} {checked:>15,.0f} {naive:>12,.0f} {fast / naive:>11.1f}x")
    print()
    print(
        "due():          revision token checked at most every "
        f"{settings.CQS_CALENDAR_CACHE_SECONDS} s (CQS_CALENDAR_CACHE_SECONDS)"
    )
    print("due() rev/call: CQS_CALENDAR_CACHE_SECONDS=0, a Django cache get (locmem) per call")
    print("naive loop:     day by day over holidays.VN + weekday check, dates only")
    print("figures: best of 5 rounds per cell; os.getloadavg() at the end: ", end="")
    print(", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"same due date for starts inside office hours: {agree}/{total}")
    return 0 if agree == total else 1


if __name__ == "__main__":
    sys.exit(main())
