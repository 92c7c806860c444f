"""Benchmark data: a PostgreSQL database with N dossiers (default 1,000,000) for issue #3.

Run: .venv/bin/python bench/dossiers_generate.py [--db cqs_bench] [--count 1000000]
                                                 [--seed 20250701] [--pg postgres://...]

1. drops and creates the database `--db` on the PostgreSQL server of `--pg` (default
   postgres://postgres@127.0.0.1:5432, trust auth), runs the migrations;
2. loads the demo (`chinhquyenso.demo.generator.load`), the 62 procedures of
   `shared/data/procedures-national-portal-sample.json` through the administrators' import
   (`procedures.services.import_catalogue(system=True)`), and the default internal process of
   every commune-level procedure in every demo commune (`procedures.services.ensure_process`);
3. bulk-loads `--count` dossiers with COPY, in one transaction, fills the supervision summary
   (`FinishedHandler`: one row per finished dossier and official who handled one of its steps,
   by the backfill migration's INSERT ... SELECT DISTINCT), then builds the indexes and runs
   VACUUM ANALYZE, and prints rows per second of each stage.

THIS BYPASSES THE SERVICES on purpose (a million `receive_dossier` calls would take hours): no
audit entries, no notifications, no documents, fees left empty. What it writes is what the
services would have written, so the real queries, the public lookup and the queues accept it:

* codes `<commune org_code>-YYMMDD-XXXX`, sequential per commune and local receipt day in the
  order of receipt, unique; one `DossierCounter` row per (commune, day) whose `last` is the
  day's count, so a later real intake continues the sequence without a duplicate;
* organisations: the demo communes (weighted: the urban wards busier), receiving = handling =
  the commune; procedures: the commune-level ones (Zipf-weighted: birth registration and
  certification dominate), the current version and the commune's process;
* received on working days (Mon–Fri, 07:30–17:00 local) over the 2 years up to now; the clock
  starts at receipt, or the next working day's 07:30 after the 15:00 cut-off; due dates
  from the legal processing time in working days (weekends skipped; holidays ignored);
* statuses by age: finished long ago for almost all old dossiers (returned / resolved /
  refused / withdrawn / stopped, early / on time / late with `counted_late`), a small stuck
  residue; the recent ones received / processing (at a step of the process, handled by an
  official of the step's role and unit or waiting unassigned) / awaiting supplement or payment
  (the clock paused) / submitted online (no clock yet);
* a "received" history row and step runs (Form 05) for every dossier still running and for
  the ones received in the last 120 days, plus 5 % of the older ones.

Foreign-key triggers are disabled during COPY (session_replication_role = replica; the rows are
generated consistent) and the secondary indexes of the bulk tables are dropped before and
rebuilt after, as any bulk load does. The database is left for `dossiers_lookup.py` and
`dossiers_queries.py`.
"""

from __future__ import annotations

import argparse
import bisect
import importlib
import io
import itertools
import json
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT.parent / "shared" / "data" / "procedures-national-portal-sample.json"
if not CATALOGUE.exists():
    CATALOGUE = Path("/work/shared/data/procedures-national-portal-sample.json")
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY_MINUTES = 8 * 60  # a working day for the due-date arithmetic of the generator

# Status codes (dossiers.models.Status), repeated here so that rows can be built without Django.
SUBMITTED, RECEIVED, REFUSED, PROCESSING, SUPPLEMENT, PAYMENT = 1, 2, 3, 4, 5, 6
WITHDRAWN, STOPPED, RESOLVED, RETURNED = 7, 8, 9, 10
FINAL = {REFUSED, WITHDRAWN, STOPPED, RESOLVED, RETURNED}


# --- Environment shared by the dossier benchmarks -------------------------------------------


def database_url(pg: str, db: str) -> str:
    return f"{pg.rstrip('/')}/{db}"


def environment(var_dir: str, pg: str, db: str, **extra: str) -> dict[str, str]:
    """The environment of a Django process (this one or gunicorn) on database `db`."""
    env = dict(os.environ)
    for name in ("CACHE_URL", "SECRET_KEY", "SECRET_KEY_FILE"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=database_url(pg, db),
        CQS_VAR_DIR=var_dir,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SETTINGS_MODULE="chinhquyenso.settings",
        LOG_LEVEL="ERROR",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])),
        **extra,
    )
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(env)
    if str(ROOT / "src") not in sys.path:
        sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def admin_connect(pg: str):
    import psycopg

    return psycopg.connect(database_url(pg, "postgres"), autocommit=True)


def recreate_database(pg: str, db: str) -> None:
    with admin_connect(pg) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')


def drop_database(pg: str, db: str) -> None:
    with admin_connect(pg) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def database_exists(pg: str, db: str) -> bool:
    with admin_connect(pg) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone()
            is not None
        )


# --- Stage 1: the reference data through the real services ----------------------------------


def load_reference_data() -> dict:
    """Migrate, demo, catalogue import, default processes. Returns timings and counts."""
    from django.core.management import call_command

    from chinhquyenso.core.models import Organisation
    from chinhquyenso.demo import generator
    from chinhquyenso.procedures import services as procedure_services
    from chinhquyenso.procedures.models import Procedure

    timings = {}
    t = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    timings["migrate"] = time.perf_counter() - t

    t = time.perf_counter()
    generator.load()
    timings["demo"] = time.perf_counter() - t

    t = time.perf_counter()
    records = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    report = procedure_services.import_catalogue(
        actor=None, system=True, records=records, source="bench: national portal sample"
    )
    timings["catalogue"] = time.perf_counter() - t
    if report.errors:
        print(f"  catalogue import: {len(report.errors)} records refused", file=sys.stderr)

    t = time.perf_counter()
    communes = list(communes_queryset(Organisation))
    procedures = list(
        Procedure.objects.filter(level="commune", is_active=True, current_version__isnull=False)
        .select_related("current_version", "field")
        .order_by("national_code")
    )
    processes = 0
    for commune in communes:
        for procedure in procedures:
            procedure_services.ensure_process(
                actor=None, procedure=procedure, organisation=commune, system=True
            )
            processes += 1
    timings["processes"] = time.perf_counter() - t
    return {
        "timings": timings,
        "communes": len(communes),
        "procedures": len(procedures),
        "processes": processes,
        "catalogue": len(records),
    }


def communes_queryset(Organisation):
    from chinhquyenso.core.models.organisations import OrganisationKind

    return (
        Organisation.objects.filter(kind=OrganisationKind.COMMUNE_COMMITTEE, is_active=True)
        .exclude(org_code__isnull=True)
        .exclude(org_code="")
        .order_by("path")
    )


# --- Stage 2: the dossiers, bulk ------------------------------------------------------------


class Calendar:
    """Working days (Mon–Fri) from `first` on, for the generator's approximate due dates."""

    def __init__(self, first: date, last: date):
        self.days: list[date] = []
        d = first
        while d <= last:
            if d.weekday() < 5:
                self.days.append(d)
            d += timedelta(days=1)
        self.index = {d: i for i, d in enumerate(self.days)}
        self._ordinals = [d.toordinal() for d in self.days]

    def next_index(self, day: date) -> int:
        """Index of `day`, or of the next working day."""
        return bisect.bisect_left(self._ordinals, day.toordinal())

    def add_days(self, at: datetime, days: int) -> datetime:
        i = self.next_index(at.date()) + days
        i = min(i, len(self.days) - 1)
        return at.replace(year=self.days[i].year, month=self.days[i].month, day=self.days[i].day)

    def add_minutes(self, at: datetime, minutes: int) -> datetime:
        whole, rest = divmod(int(minutes), DAY_MINUTES)
        return self.add_days(at, whole) + timedelta(minutes=rest)

    def clock_start(self, received: datetime) -> datetime:
        """Receipt, or the next working day's 07:30 after the 15:00 cut-off."""
        if received.hour < 15:
            return received
        i = self.next_index(received.date() + timedelta(days=1))
        d = self.days[min(i, len(self.days) - 1)]
        return datetime(d.year, d.month, d.day, 7, 30, tzinfo=TZ)


def legal_days(version) -> int:
    """Working days of a procedure version (calendar days converted; unknown: 5)."""
    value = version.processing_time
    if value is None or value <= 0:
        return 5
    if version.processing_unit == "calendar_days":
        return max(1, -(-int(value) * 5 // 7))
    if version.processing_unit == "working_hours":
        return 1
    return max(1, int(-(-value // 1)))


def ts(value: datetime | None) -> str:
    return "\\N" if value is None else value.isoformat(sep=" ")


def nullable(value) -> str:
    return "\\N" if value is None else str(value)


DOSSIER_COLUMNS = [
    "id",
    "code",
    "status",
    "channel",
    "applicant_kind",
    "applicant_name",
    "applicant_id_number",
    "applicant_phone",
    "applicant_email",
    "applicant_address",
    "submitted_at",
    "received_at",
    "clock_started_at",
    "due_at",
    "original_due_at",
    "finished_at",
    "returned_at",
    "step_due_at",
    "supplement_count",
    "apology_count",
    "timeliness",
    "fees",
    "fees_paid",
    "result_delivery",
    "postal_tracking",
    "revision",
    "updated_at",
    "applicant_id",
    "current_handler_id",
    "current_step_id",
    "current_unit_id",
    "handling_organisation_id",
    "parent_id",
    "procedure_id",
    "procedure_version_id",
    "process_id",
    "received_by_id",
    "receiving_organisation_id",
    "result_file_id",
    "clock_paused_at",
    "counted_late",
    "paused_minutes",
    "returned_to_name",
    "returned_via",
]
STEPRUN_COLUMNS = [
    "id",
    "started_at",
    "due_at",
    "finished_at",
    "timeliness",
    "comment",
    "dossier_id",
    "handed_over_by_id",
    "handler_id",
    "step_id",
    "unit_id",
]
EVENT_COLUMNS = [
    "id",
    "at",
    "action",
    "from_status",
    "to_status",
    "comment",
    "data",
    "actor_id",
    "dossier_id",
    "from_step_id",
    "to_step_id",
]
BULK_TABLES = ("dossiers_dossier", "dossiers_steprun", "dossiers_dossierevent")
# The supervision summary (one row per finished dossier and official who handled a step),
# filled from the copied rows by the backfill migration's statement.
SUMMARY_TABLE = "dossiers_finishedhandler"


class World:
    """What the rows refer to, read once from the database after stage 1."""

    def __init__(self):
        from chinhquyenso.core.models import Organisation, Position
        from chinhquyenso.procedures.models import Procedure, Process

        self.communes = list(communes_queryset(Organisation))
        procedures = {
            p.pk: p
            for p in Procedure.objects.filter(level="commune", is_active=True)
            .exclude(current_version=None)
            .select_related("current_version")
        }
        # (commune id, procedure id) -> (process id, [(step id, order, kind, role, unit, minutes)])
        self.processes: dict[tuple[int, int], tuple[int, list[tuple]]] = {}
        for process in Process.objects.filter(
            is_current=True, organisation__in=self.communes, procedure_id__in=procedures
        ).prefetch_related("steps"):
            steps = [
                (s.pk, s.order, s.kind, s.role, s.unit_id, s.allotment_minutes)
                for s in sorted(process.steps.all(), key=lambda s: s.order)
            ]
            self.processes[(process.organisation_id, process.procedure_id)] = (process.pk, steps)
        self.procedures = [
            (p.pk, p.current_version_id, legal_days(p.current_version))
            for p in sorted(procedures.values(), key=lambda p: p.national_code)
        ]
        # (unit id, role) -> [user ids]
        self.holders: dict[tuple[int, str], list[int]] = {}
        for unit_id, role, user_id in (
            Position.objects.active()
            .values_list("organisation_id", "role", "user_id")
            .order_by("id")
        ):
            self.holders.setdefault((unit_id, role), []).append(user_id)
        self.desk_officers: dict[int, list[int]] = {}
        for commune in self.communes:
            desk = [
                uid
                for (unit_id, role), uids in self.holders.items()
                if role == "desk_officer"
                for uid in uids
                if unit_id in self.subtree(commune)
            ]
            self.desk_officers[commune.pk] = desk or [None]

    def subtree(self, commune) -> set[int]:
        if not hasattr(self, "_subtrees"):
            from chinhquyenso.core.models import Organisation

            self._subtrees = {
                c.pk: set(
                    Organisation.objects.filter(path__startswith=c.path).values_list(
                        "pk", flat=True
                    )
                )
                for c in self.communes
            }
        return self._subtrees[commune.pk]


def _names(rng: random.Random, n: int = 4000) -> list[str]:
    from chinhquyenso.demo.names import person_name

    return [person_name(rng, rng.choice(("male", "female"))) for _ in range(n)]


class Generator:
    """Builds the COPY text of the dossiers, their step runs and history rows."""

    def __init__(self, world: World, count: int, seed: int, now: datetime):
        self.w = world
        self.count = count
        self.rng = random.Random(seed)
        self.now = now.astimezone(TZ)
        first = (self.now - timedelta(days=730)).date()
        self.cal = Calendar(first, (self.now + timedelta(days=800)).date())
        self.names = _names(self.rng)
        # Busier wards, quieter highland communes.
        self.commune_weights = [
            3.0 if c.name.startswith("UBND phường") else 1.0 for c in world.communes
        ]
        # Zipf over procedures: a few (birth, certification, residence) dominate.
        self.procedure_weights = [1 / (i + 1) ** 0.9 for i in range(len(world.procedures))]
        self.proc_cum = list(itertools.accumulate(self.procedure_weights))
        self.steprun_id = 0
        self.event_id = 0
        self.counters: list[tuple[int, date, int]] = []
        self.stats = {"dossiers": 0, "step_runs": 0, "events": 0, "running": 0}

    # -- the calendar of receipts: (commune, day) cells with sequential numbers ---------------
    def cells(self):
        """Yield (commune, day, k): k dossiers of `commune` received on working day `day`,
        `count` in all; volume grows 30 % over the two years."""
        today = self.now.date()
        days = [d for d in self.cal.days if d <= today]
        weights = []
        for i, _d in enumerate(days):
            growth = 1.0 + 0.3 * i / max(1, len(days) - 1)
            for cw in self.commune_weights:
                weights.append(growth * cw)
        total = sum(weights)
        scale = self.count / total
        issued = 0
        cells = []
        for i, d in enumerate(days):
            for j, commune in enumerate(self.w.communes):
                expected = weights[i * len(self.w.communes) + j] * scale
                k = int(expected)
                if self.rng.random() < expected - k:
                    k += 1
                cells.append([commune, d, k])
                issued += k
        # Exactly `count`: adjust the most recent cells.
        index = len(cells) - 1
        while issued != self.count:
            step = 1 if issued < self.count else -1
            if step == 1 or cells[index][2] > 0:
                cells[index][2] += step
                issued += step
            index = index - 1 if index > 0 else len(cells) - 1
        for commune, d, k in cells:
            if k:
                yield commune, d, k

    # -- one dossier -------------------------------------------------------------------------
    def rows(self):
        """Yield (dossier line, [step run lines], [event lines])."""
        rng = self.rng
        now = self.now
        dossier_id = 0
        horizon = now - timedelta(days=120)
        for commune, day, k in self.cells():
            self.counters.append((commune.pk, day, k))
            # k receipt instants between 07:30 and 17:00, in order.
            minutes = sorted(rng.randrange(450, 1020) for _ in range(k))
            prefix = f"{commune.org_code}-{day:%y%m%d}-"
            for seq, minute in enumerate(minutes, start=1):
                at = datetime(
                    day.year,
                    day.month,
                    day.day,
                    minute // 60,
                    minute % 60,
                    rng.randrange(60),
                    tzinfo=TZ,
                )
                if at > now:
                    at = now - timedelta(seconds=k - seq + 1)
                dossier_id += 1
                yield self.dossier(dossier_id, f"{prefix}{seq:04d}", commune, at, horizon)

    def dossier(self, pk: int, code: str, commune, at: datetime, horizon: datetime):
        rng, cal, now, w = self.rng, self.cal, self.now, self.w
        i = bisect.bisect_left(self.proc_cum, rng.random() * self.proc_cum[-1])
        procedure_id, version_id, days = w.procedures[i]
        process_id, steps = w.processes[(commune.pk, procedure_id)]
        channel = rng.choices((1, 2, 3), (60, 35, 5))[0]
        delivery = rng.choices(("desk", "online", "post"), (80, 15, 5))[0]
        citizen = rng.random() < 0.92
        if citizen:
            kind = 1
            id_number = f"068{rng.randrange(4)}{rng.randrange(100):02d}{rng.randrange(10**6):06d}"
            name = rng.choice(self.names)
        else:
            kind = 2
            id_number = f"58{rng.randrange(10**8):08d}"
            name = "Công ty TNHH " + rng.choice(self.names).split()[-1] + f" {pk % 997}"
        phone = f"09{rng.randrange(10**8):08d}" if rng.random() < 0.8 else ""
        desk_officer = rng.choice(w.desk_officers[commune.pk])

        start = cal.clock_start(at)
        due = cal.add_days(start, days)
        span = (due - start).total_seconds()
        roll = rng.random()
        if roll < 0.55:
            frac = rng.uniform(0.15, 0.8)
        elif roll < 0.93:
            frac = rng.uniform(0.8, 1.0)
        else:
            frac = rng.uniform(1.0, 1.8)
        finish = start + timedelta(seconds=span * frac + rng.randrange(3600))
        stuck = rng.random() < 0.003  # old dossiers nobody closed: the long overdue tail

        status = RECEIVED
        received_at, clock_started, due_at, original_due = at, start, due, due
        finished_at = returned_at = step_due = paused_at = None
        current_step = current_unit = handler = None
        timeliness = returned_via = returned_to = ""
        counted_late = False
        supplement_count = 0
        revision = 1
        updated = at
        last_step = len(steps)  # step runs up to this order (inclusive)
        finished_runs = True

        if finish <= now and not stuck:
            status = rng.choices(
                (RETURNED, RESOLVED, REFUSED, WITHDRAWN, STOPPED), (86, 6, 5, 2, 1)
            )[0]
            # Result ready, not yet collected: common in the last days, rare later on.
            recent = (now - finish).days < 5
            if status == RESOLVED and not recent and rng.random() < 0.95:
                status = RETURNED
            elif status == RETURNED and recent and rng.random() < 0.5:
                status = RESOLVED
            finished_at = finish
            late = finish > due
            if late:
                timeliness, counted_late = "late", True
            elif cal.add_days(finish, 1) <= due:
                timeliness = "early"
            else:
                timeliness = "on_time"
            if status in (REFUSED, WITHDRAWN, STOPPED):
                last_step = min(len(steps), rng.randrange(1, 3))
            step = steps[last_step - 1]
            current_step, current_unit = step[0], step[4]
            if status == RETURNED:
                returned_at = min(now, finish + timedelta(hours=rng.randrange(1, 72)))
                returned_via = delivery
                returned_to = name
            revision = last_step + 2
            updated = returned_at or finished_at
        else:
            self.stats["running"] += 1
            finished_runs = False
            roll = rng.random()
            if (now - at).days <= 3 and channel == 2 and roll < 0.3:
                status = SUBMITTED
            elif roll < 0.12:
                status = RECEIVED
            elif roll < 0.80:
                status = PROCESSING
            elif roll < 0.95:
                status = SUPPLEMENT
            else:
                status = PAYMENT
            if status == SUBMITTED:
                received_at = clock_started = due_at = original_due = None
                process_id = None
                desk_officer = None
                last_step = 0
                channel = 2
            else:
                if status == RECEIVED:
                    last_step = 1
                elif status == PROCESSING:
                    # Mostly at the appraisal step, else an approval or the return desk.
                    last_step = rng.choices(range(2, len(steps) + 1), [6] + [2] * (len(steps) - 2))[
                        0
                    ]
                else:
                    last_step = 2
                step = steps[last_step - 1]
                current_step, current_unit = step[0], step[4]
                holders = w.holders.get((step[4], step[3]), [])
                if holders and (status != RECEIVED and rng.random() < 0.8 or status == RECEIVED):
                    handler = rng.choice(holders)
                if status in (SUPPLEMENT, PAYMENT):
                    paused_at = at + (min(now, due) - at) * rng.uniform(0.1, 0.9)
                    supplement_count = 1 if status == SUPPLEMENT else 0
                    if status == SUPPLEMENT and rng.random() < 0.05:
                        supplement_count = 2
                elapsed = (now - at) / max(1, last_step)
                step_started = now - elapsed * rng.uniform(0.2, 1.0)
                step_due = cal.add_minutes(step_started, step[5])
                counted_late = supplement_count > 1 or (now > due and rng.random() < 0.7)
                revision = last_step + (1 if status in (SUPPLEMENT, PAYMENT) else 0)
                updated = paused_at or step_started

        line = "\t".join(
            (
                str(pk),
                code,
                str(status),
                str(channel),
                str(kind),
                name,
                id_number,
                phone,
                "",
                "",
                ts(at),
                ts(received_at),
                ts(clock_started),
                ts(due_at),
                ts(original_due),
                ts(finished_at),
                ts(returned_at),
                ts(step_due),
                str(supplement_count),
                "0",
                timeliness,
                "[]",
                "t" if status in FINAL and rng.random() < 0.5 else "f",
                delivery,
                "",
                str(revision),
                ts(updated),
                "\\N",
                nullable(handler),
                nullable(current_step),
                nullable(current_unit),
                str(commune.pk),
                "\\N",
                str(procedure_id),
                str(version_id),
                nullable(process_id),
                nullable(desk_officer),
                str(commune.pk),
                "\\N",
                ts(paused_at),
                "t" if counted_late else "f",
                "0",
                returned_to,
                returned_via,
            )
        )
        runs: list[str] = []
        events: list[str] = []
        with_history = (
            not finished_runs or at >= horizon or rng.random() < 0.05
        ) and received_at is not None
        if with_history:
            self.history(
                pk,
                steps,
                last_step,
                finished_runs,
                at,
                finished_at or now,
                handler,
                desk_officer,
                status,
                runs,
                events,
            )
        self.stats["dossiers"] += 1
        return line, runs, events

    def history(self, pk, steps, last, finished, start, end, handler, desk, status, runs, events):
        """Step runs 1..last spread between `start` and `end`, a history row per hand-over."""
        rng, cal = self.rng, self.cal
        span = (end - start) / max(1, last)
        previous_user = desk
        at = start
        self.event_id += 1
        events.append(
            f"{self.event_id}\t{ts(start)}\treceived\t\\N\t{RECEIVED}\t\t{{}}\t"
            f"{nullable(desk)}\t{pk}\t\\N\t{steps[0][0]}"
        )
        for order in range(1, last + 1):
            step_id, _order, _kind, role, unit, minutes = steps[order - 1]
            is_open = not finished and order == last
            if is_open:
                user = handler
            elif order == 1:
                user = desk
            else:
                holders = self.w.holders.get((unit, role))
                user = rng.choice(holders) if holders else None
            due = cal.add_minutes(at, minutes)
            done = None if is_open else min(end, at + span * rng.uniform(0.6, 1.2))
            state = ""
            if done is not None:
                if done > due:
                    state = "late"
                elif cal.add_days(done, 1) <= due:
                    state = "early"
                else:
                    state = "on_time"
            self.steprun_id += 1
            runs.append(
                f"{self.steprun_id}\t{ts(at)}\t{ts(due)}\t{ts(done)}\t{state}\t\t{pk}\t"
                f"{nullable(previous_user)}\t{nullable(user)}\t{step_id}\t{unit}"
            )
            if done is not None and order < last:
                self.event_id += 1
                was = PROCESSING if order > 1 else RECEIVED
                events.append(
                    f"{self.event_id}\t{ts(done)}\tforwarded\t{was}\t{PROCESSING}\t\t{{}}\t"
                    f"{nullable(user)}\t{pk}\t{step_id}\t{steps[order][0]}"
                )
                at = done
            previous_user = user
        if finished:
            self.event_id += 1
            action = {
                RETURNED: "result_returned",
                RESOLVED: "resolved",
                REFUSED: "refused",
                WITHDRAWN: "withdrawn",
                STOPPED: "stopped",
            }[status]
            events.append(
                f"{self.event_id}\t{ts(end)}\t{action}\t{PROCESSING}\t{status}\t\t{{}}\t"
                f"{nullable(previous_user)}\t{pk}\t{steps[last - 1][0]}\t\\N"
            )
        self.stats["step_runs"] += len(runs)
        self.stats["events"] += len(events)


def bulk_load(pg: str, db: str, generator: Generator, chunk: int = 20000) -> dict:
    """COPY everything in one transaction: secondary indexes dropped before, rebuilt after."""
    import psycopg

    timings = {}
    with psycopg.connect(database_url(pg, db)) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK triggers during COPY
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET synchronous_commit = off")
        conn.execute(
            "TRUNCATE dossiers_dossier, dossiers_steprun, dossiers_dossierevent, "
            f"dossiers_dossiercounter, {SUMMARY_TABLE} CASCADE"
        )
        rebuilt = []
        for table in (*BULK_TABLES, SUMMARY_TABLE):
            for name, definition in conn.execute(
                """SELECT i.indexname, i.indexdef FROM pg_indexes i
                   WHERE i.tablename = %s AND i.schemaname = 'public'
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                   WHERE c.conname = i.indexname)""",
                [table],
            ).fetchall():
                conn.execute(f'DROP INDEX "{name}"')
                rebuilt.append(definition)
        t = time.perf_counter()
        cur = conn.cursor()
        buffers = {table: io.StringIO() for table in BULK_TABLES}
        columns = dict(
            zip(BULK_TABLES, (DOSSIER_COLUMNS, STEPRUN_COLUMNS, EVENT_COLUMNS), strict=True)
        )

        def flush():
            for table, buf in buffers.items():
                if buf.tell():
                    with cur.copy(
                        f"COPY {table} ({', '.join(columns[table])}) FROM STDIN FREEZE"
                    ) as copy:
                        copy.write(buf.getvalue())
                    buf.seek(0)
                    buf.truncate()

        pending = 0
        last_report = time.perf_counter()
        for line, runs, events in generator.rows():
            buffers["dossiers_dossier"].write(line + "\n")
            for r in runs:
                buffers["dossiers_steprun"].write(r + "\n")
            for e in events:
                buffers["dossiers_dossierevent"].write(e + "\n")
            pending += 1
            if pending >= chunk:
                flush()
                pending = 0
                if time.perf_counter() - last_report > 15:
                    last_report = time.perf_counter()
                    done = generator.stats["dossiers"]
                    print(
                        f"  … {done:,} dossiers, {done / (last_report - t):,.0f}/s",
                        flush=True,
                    )
        flush()
        with cur.copy(
            "COPY dossiers_dossiercounter (organisation_id, day, last) FROM STDIN"
        ) as copy:
            for org_id, day, last in generator.counters:
                copy.write_row((org_id, day, last))
        timings["copy"] = time.perf_counter() - t

        # What the services write when a dossier finishes (`FinishedHandler`), from the copied
        # dossiers and step runs: the statement of the backfill migration.
        t = time.perf_counter()
        backfill = importlib.import_module(
            "chinhquyenso.dossiers.migrations.0007_backfill_finished_handler"
        )
        timings["summary_rows"] = conn.execute(backfill.backfill_sql()).rowcount
        timings["summary"] = time.perf_counter() - t

        t = time.perf_counter()
        for definition in rebuilt:
            conn.execute(definition)
        for table in (*BULK_TABLES, "dossiers_dossiercounter"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        timings["indexes"] = time.perf_counter() - t
        conn.commit()
    t = time.perf_counter()
    with psycopg.connect(database_url(pg, db), autocommit=True) as conn:
        for table in (*BULK_TABLES, "dossiers_dossiercounter", SUMMARY_TABLE):
            conn.execute(f"VACUUM ANALYZE {table}")
        # Every other table too: the demo's organisations and users were written moments ago
        # and have no statistics yet, and the planner then misjudges every join with them.
        conn.execute("ANALYZE")
    timings["vacuum"] = time.perf_counter() - t
    timings["indexes_rebuilt"] = len(rebuilt)
    return timings


def check(pg: str, db: str, count: int) -> list[str]:
    """Invariants the real code relies on; returns the problems found."""
    import psycopg

    problems = []
    with psycopg.connect(database_url(pg, db)) as conn:
        n, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT code) FROM dossiers_dossier"
        ).fetchone()
        if n != count or distinct != n:
            problems.append(f"{n} dossiers, {distinct} distinct codes (expected {count})")
        bad = conn.execute(
            r"SELECT count(*) FROM dossiers_dossier WHERE code !~ '^[0-9A-Z.]+-\d{6}-\d{4}$'"
        ).fetchone()[0]
        if bad:
            problems.append(f"{bad} codes not in the <org_code>-YYMMDD-XXXX format")
        # Per (organisation, day): the counter's `last` equals both the number of codes of the
        # day and the highest sequence number (so the numbers are 1..last, no gap).
        mismatched = conn.execute(
            """
            WITH issued AS (
                SELECT left(code, length(code) - 5) AS prefix, count(*) AS n,
                       max(right(code, 4)::int) AS top
                FROM dossiers_dossier GROUP BY 1),
            counters AS (
                SELECT o.org_code || '-' || to_char(c.day, 'YYMMDD') AS prefix, c.last
                FROM dossiers_dossiercounter c JOIN core_organisation o
                ON o.id = c.organisation_id)
            SELECT count(*) FROM issued FULL JOIN counters USING (prefix)
            WHERE issued.n IS DISTINCT FROM counters.last
               OR issued.top IS DISTINCT FROM counters.last
            """
        ).fetchone()[0]
        if mismatched:
            problems.append(f"{mismatched} (organisation, day) counters differ from the codes")
        for table, column, target in (
            ("dossiers_dossier", "current_step_id", "procedures_processstep"),
            ("dossiers_dossier", "current_handler_id", "core_user"),
            ("dossiers_dossier", "procedure_version_id", "procedures_procedureversion"),
            ("dossiers_steprun", "dossier_id", "dossiers_dossier"),
            ("dossiers_dossierevent", "dossier_id", "dossiers_dossier"),
        ):
            orphans = conn.execute(
                f"SELECT count(*) FROM {table} x WHERE x.{column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {target} t WHERE t.id = x.{column})"
            ).fetchone()[0]
            if orphans:
                problems.append(f"{orphans} rows of {table}.{column} point nowhere")
        expected, summary = conn.execute(
            f"""SELECT (SELECT count(*) FROM (SELECT DISTINCT r.dossier_id, r.handler_id
                        FROM dossiers_steprun r JOIN dossiers_dossier d ON d.id = r.dossier_id
                        WHERE d.finished_at IS NOT NULL AND r.handler_id IS NOT NULL) x),
                       (SELECT count(*) FROM {SUMMARY_TABLE})"""
        ).fetchone()
        if expected != summary:
            problems.append(f"{summary} summary rows of finished handlers, expected {expected}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="cqs_bench")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20250701)
    parser.add_argument("--pg", default=DEFAULT_PG, help="server URL without the database name")
    args, _ignored = parser.parse_known_args()
    if args.db in ("postgres", "template0", "template1"):
        parser.error("choose another --db")

    var_dir = tempfile.mkdtemp(prefix="cqs-bench-generate-")
    try:
        started = time.perf_counter()
        print(f"Creating database {args.db} (dropped first if it exists)…", flush=True)
        recreate_database(args.pg, args.db)
        setup_django(environment(var_dir, args.pg, args.db))
        print(
            "Stage 1: migrate, demo, catalogue import, default processes (real services)…",
            flush=True,
        )
        ref = load_reference_data()
        world = World()
        now = datetime.now(UTC)
        generator = Generator(world, args.count, args.seed, now)
        print(f"Stage 2: {args.count:,} dossiers by COPY…", flush=True)
        bulk = bulk_load(args.pg, args.db, generator)
        problems = check(args.pg, args.db, args.count)
        total = time.perf_counter() - started
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    s = generator.stats
    rows = s["dossiers"] + s["step_runs"] + s["events"] + len(generator.counters)
    t = ref["timings"]
    print()
    print(
        f"database {args.db}: {s['dossiers']:,} dossiers ({s['running']:,} still running), "
        f"{s['step_runs']:,} step runs, {s['events']:,} history rows, "
        f"{len(generator.counters):,} day counters"
    )
    print(
        f"  {ref['communes']} communes × {ref['procedures']} commune-level procedures = "
        f"{ref['processes']} processes; {ref['catalogue']} catalogue records imported"
    )
    print(
        f"stage 1 (services): migrate {t['migrate']:.1f} s, demo {t['demo']:.1f} s, "
        f"catalogue {t['catalogue']:.1f} s, processes {t['processes']:.1f} s"
    )
    print(
        f"stage 2 (bulk):     generate+COPY {bulk['copy']:.1f} s "
        f"({s['dossiers'] / bulk['copy']:,.0f} dossiers/s, {rows / bulk['copy']:,.0f} rows/s), "
        f"{bulk['summary_rows']:,} finished-handler rows {bulk['summary']:.1f} s, "
        f"{bulk['indexes_rebuilt']} indexes rebuilt {bulk['indexes']:.1f} s, "
        f"VACUUM ANALYZE {bulk['vacuum']:.1f} s"
    )
    load = bulk["copy"] + bulk["summary"] + bulk["indexes"] + bulk["vacuum"]
    print(
        f"  bulk stage end to end: {load:.1f} s = {s['dossiers'] / load:,.0f} dossiers/s; "
        f"whole script {total:.1f} s"
    )
    if problems:
        print("FAILED checks:", *problems, sep="\n  ")
        return 1
    print(
        "checks: codes unique and well-formed, counters match, no dangling references, "
        "finished-handler summary complete"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
