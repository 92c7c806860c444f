"""Benchmark: desk intake through `POST /api/v1/dossiers`, end to end, with parallel clients.

Run: .venv/bin/python bench/dossiers_intake.py [--count 500] [--clients 8] [--workers 2..4]
                                               [--one-desk] [--db cqs_bench_intake]
                                               [--existing]

1. a throwaway PostgreSQL database `--db` (dropped first and at the end): migrations, demo,
   catalogue import and default processes, exactly stage 1 of `dossiers_generate.py`; with
   `--existing` the intakes go into an existing database instead (e.g. the 1-million `cqs_bench`,
   to see the cost of its indexes) and it is kept;
2. an API key of UBND tỉnh Lâm Đồng with the scope "dossiers:write" (the intake endpoint accepts
   a desk officer's session or a key: `services.receive_dossier` checks the key's scope and
   that the receiving organisation is in its subtree; keys avoid scripting the login form, its
   CSRF token and the leaders' second factor);
3. gunicorn (DEBUG=false, the default database task backend, so the applicant notifications are
   really queued in the task table);
4. `--clients` threads, each on a keep-alive connection, POST `--count` intakes (after 10 warm-up
   ones): a random demo commune (or always Xã Đơn Dương with `--one-desk`: every intake
   queues on one counter row), a random commune-level procedure, a valid 12-digit personal
   identification number, every document of the checklist ticked, phone and e-mail;
5. prints dossiers per second end to end and the p50/p95/p99 latency (target >= 50/s), then
   verifies in the database: every response 201 with its code; the codes unique, sequential per
   organisation and day with no gap (the counter's `last` is the highest number and the count);
   one dossier, one "received" history row, one step run and one `dossier.received` audit entry
   per code, due dates set; one receipt task (Form 01, `dossiers.tasks.render_receipt`) queued
   per dossier and the notification tasks; the audit hash chain intact.

The receipt PDF is queued, not rendered, during intake (no worker runs during the benchmark):
the worker renders it right after, so the desk can print it without waiting for WeasyPrint.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dossiers_generate as gen  # noqa: E402
import http_api  # noqa: E402

HOST = http_api.HOST
INTAKE = "/api/v1/dossiers"
WARM_UP = 10


def prepare(args) -> tuple[str, list[dict], dict]:
    """The API key and the payloads (built in this process, with Django)."""
    from chinhquyenso.core.models import Organisation, User
    from chinhquyenso.core.services.apikeys import create_api_key
    from chinhquyenso.demo import generator
    from chinhquyenso.demo.names import person_name
    from chinhquyenso.demo.plan import PROVINCE_CODE
    from chinhquyenso.procedures.models import Process

    province = Organisation.objects.get(org_code=PROVINCE_CODE)
    _, key = create_api_key(
        actor=User.objects.get(username=generator.SUPERUSER),
        organisation=province,
        name=f"Đo hiệu năng tiếp nhận {time.time():.0f}",
        scopes=["dossiers:write", "dossiers:read"],
    )
    communes = list(gen.communes_queryset(Organisation))
    if args.one_desk:
        communes = communes[:1]
    # (commune, procedure code, number of checklist documents) with a current process.
    choices = []
    for process in Process.objects.filter(
        is_current=True, organisation__in=communes
    ).select_related("procedure__current_version"):
        version = process.procedure.current_version
        choices.append(
            (process.organisation_id, process.procedure.national_code, len(version.documents or []))
        )
    rng = random.Random(11)
    payloads = []
    for i in range(args.count + WARM_UP):
        org_id, code, n_docs = rng.choice(choices)
        century = rng.choice((0, 1, 2))
        year = rng.randrange(100) if century < 2 else rng.randrange(0, 7)
        payloads.append(
            {
                "organisation_id": org_id,
                "procedure": code,
                "applicant": {
                    "kind": "citizen",
                    "name": person_name(rng, rng.choice(("male", "female"))),
                    "id_number": f"068{century}{year:02d}{rng.randrange(10**6):06d}",
                    "phone": f"09{rng.randrange(10**8):08d}",
                    "email": f"nguoinop{i}@example.vn",
                    "address": "Thôn 1",
                },
                "documents": [{"index": d, "provided": True} for d in range(n_docs)],
                "channel": 1,
                "result_delivery": "desk",
            }
        )
    return key, payloads, {"communes": len(communes), "procedures": len(choices)}


# Django's CSRF check passes when the cookie and the header carry the same 32-character secret.
CSRF_PAIR = {"Cookie": "csrftoken=" + "b" * 32, "X-CSRFToken": "b" * 32}


def post_all(port: int, key: str, payloads: list[dict], clients: int, extra: dict | None = None):
    """POST every payload from `clients` threads; returns ([(latency s, status, body)], wall s)."""
    queue = iter(enumerate(payloads))
    lock = threading.Lock()
    results: list = [None] * len(payloads)
    start = threading.Barrier(clients + 1)
    headers = {"X-API-Key": key, "Content-Type": "application/json", **(extra or {})}

    def worker():
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        start.wait()
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                break
            index, payload = item
            body = json.dumps(payload).encode()
            began = time.perf_counter()
            try:
                conn.request("POST", INTAKE, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.will_close:
                    conn.close()
                results[index] = (time.perf_counter() - began, response.status, data)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                results[index] = (time.perf_counter() - began, 0, str(exc).encode())
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    began = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    return results, time.perf_counter() - began


def verify(codes: list[str], fresh: bool) -> tuple[list[str], dict]:
    """Check the rows behind `codes`; returns (problems, figures)."""
    from django_tasks_db.models import DBTaskResult

    from chinhquyenso.core.models import AuditEntry, Organisation
    from chinhquyenso.core.services import audit
    from chinhquyenso.dossiers.models import Dossier, DossierCounter, DossierEvent, StepRun

    problems = []
    if len(set(codes)) != len(codes):
        problems.append(f"{len(codes) - len(set(codes))} duplicate codes in the responses")
    dossiers = list(Dossier.objects.filter(code__in=codes).select_related("procedure_version"))
    ids = [d.pk for d in dossiers]
    if len(dossiers) != len(codes):
        problems.append(f"{len(codes)} codes answered, {len(dossiers)} dossiers found")
    # No due date only for a procedure without a processing time (8 of the sample catalogue).
    bad = [
        d.code
        for d in dossiers
        if d.status != 2
        or not d.current_step_id
        or (d.due_at is None) != (d.procedure_version.processing_time is None)
    ]
    if bad:
        problems.append(f"{len(bad)} dossiers without status 2, due date or step: {bad[:3]}")
    events = DossierEvent.objects.filter(dossier_id__in=ids, action="received").count()
    runs = StepRun.objects.filter(dossier_id__in=ids).count()
    audits = AuditEntry.objects.filter(
        action="dossier.received", object_id__in=[str(i) for i in ids]
    ).count()
    for what, n in (("history rows", events), ("step runs", runs), ("audit entries", audits)):
        if n != len(ids):
            problems.append(f"{n} {what} for {len(ids)} dossiers")
    # Sequential per (organisation code, day): the numbers of the prefix are exactly 1..last.
    by_prefix = defaultdict(list)
    for code in codes:
        prefix, number = code.rsplit("-", 1)
        by_prefix[prefix].append(int(number))
    orgs = {o.org_code: o.pk for o in Organisation.objects.exclude(org_code__isnull=True)}
    for prefix, numbers in by_prefix.items():
        org_code, day = prefix.rsplit("-", 1)
        counter = DossierCounter.objects.filter(
            organisation_id=orgs.get(org_code),
            day=f"20{day[:2]}-{day[2:4]}-{day[4:]}",
        ).first()
        issued = Dossier.objects.filter(code__startswith=prefix + "-").count()
        if counter is None or counter.last != issued or max(numbers) > counter.last:
            problems.append(f"{prefix}: counter {counter and counter.last}, {issued} codes")
        if fresh and sorted(numbers) != list(range(1, len(numbers) + 1)):
            problems.append(f"{prefix}: numbers are not 1..{len(numbers)} (gap or duplicate)")
    tasks = DBTaskResult.objects.count()
    receipts = sorted(
        r["args"][0]
        for r in DBTaskResult.objects.filter(task_path__endswith=".render_receipt").values_list(
            "args_kwargs", flat=True
        )
    )
    if receipts != sorted(ids):
        problems.append(f"{len(receipts)} receipt tasks queued for {len(ids)} dossiers")
    chain = audit.verify()
    if not chain.ok:
        problems.append(f"audit chain broken at entry {chain.broken_entry_id}: {chain.reason}")
    return problems, {
        "prefixes": len(by_prefix),
        "tasks": tasks,
        "receipts": len(receipts),
        "audits": audits,
        "chain_checked": chain.checked,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="cqs_bench_intake")
    parser.add_argument("--pg", default=gen.DEFAULT_PG)
    parser.add_argument("--existing", action="store_true", help="use --db as it is, keep it")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=min(4, max(2, os.cpu_count() or 2)))
    parser.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    parser.add_argument("--one-desk", action="store_true", help="every intake at one commune")
    args, _ignored = parser.parse_known_args()
    if args.existing and not gen.database_exists(args.pg, args.db):
        parser.error(f"no database {args.db}")
    if not args.existing and args.db == "cqs_bench":
        parser.error("cqs_bench is the generated database: add --existing to write into it")

    var_dir = tempfile.mkdtemp(prefix="cqs-bench-intake-")
    server = None
    try:
        env = gen.environment(var_dir, args.pg, args.db)
        if not args.existing:
            print(f"Creating {args.db}: migrate, demo, catalogue, processes…", flush=True)
            gen.recreate_database(args.pg, args.db)
        gen.setup_django(env)
        if not args.existing:
            gen.load_reference_data()
        from django.db import connections

        from chinhquyenso.dossiers.models import Dossier

        before = Dossier.objects.count()
        key, payloads, info = prepare(args)
        connections.close_all()
        port = http_api.free_port()
        server = http_api.start_gunicorn(env, port, args.workers, args.worker_class, args.clients)
        http_api.wait_until_ready(port, server)
        # A system calling with its key sends no CSRF cookie. If the API refuses that (the
        # session authenticator runs first and fails the CSRF check before the key is looked
        # at), say so and go on with a cookie/header pair, to measure the intake itself.
        extra = None
        first, _ = post_all(port, key, payloads[:1], 1)
        csrf_refused = first[0][1] == 403 and b"CSRF" in first[0][2]
        if csrf_refused:
            extra = CSRF_PAIR
            first, _ = post_all(port, key, payloads[:1], 1, extra)
        warm, _ = post_all(port, key, payloads[1:WARM_UP], min(args.clients, WARM_UP), extra)
        warm = first + warm
        if any(status != 201 for _, status, _ in warm):
            status, body = next((s, b) for _, s, b in warm if s != 201)
            raise RuntimeError(f"intake refused: HTTP {status} {body[:300]!r}")
        load_before = os.getloadavg()
        results, wall = post_all(port, key, payloads[WARM_UP:], args.clients, extra)
        load_after = os.getloadavg()
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

    failures = [(s, b) for _, s, b in results if s != 201]
    codes = [json.loads(b)["code"] for _, s, b in itertools.chain(warm, results) if s == 201]
    problems, figures = verify(codes, fresh=not args.existing)
    latencies = sorted(t for t, s, _ in results if s == 201)
    pct = http_api.percentile
    ok = len(latencies)
    rate = ok / wall if wall else 0.0
    threads = (
        f", {-(-args.clients // args.workers)} threads each"
        if args.worker_class == "gthread"
        else ""
    )
    print()
    print(
        f"database {args.db}{' (existing)' if args.existing else ' (fresh)'}: {before:,} dossiers "
        f"before; intakes over {info['communes']} commune(s), {info['procedures']} "
        "(commune, procedure) processes"
    )
    print(
        f"gunicorn {args.workers} {args.worker_class} workers{threads}; {args.clients} clients "
        f"(keep-alive http.client threads, API key); {os.cpu_count()} CPUs shared with "
        "PostgreSQL and the clients"
    )
    print(f"load average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    if csrf_refused:
        print(
            "WARNING: POST with only X-API-Key was refused (403 CSRF check Failed): "
            "apiauth.AUTH tries the session authenticator first and django-ninja's cookie auth "
            "runs the CSRF check before the key is considered. Measured with a CSRF "
            "cookie/header pair added; a real system calling with its key would be refused."
        )
    print()
    print(
        f"{ok} intakes in {wall:.2f} s = {rate:.1f} dossiers/s end to end "
        f"(target >= 50/s); latency p50 {pct(latencies, 0.5) * 1000:.1f} ms, "
        f"p95 {pct(latencies, 0.95) * 1000:.1f} ms, p99 {pct(latencies, 0.99) * 1000:.1f} ms; "
        f"{len(failures)} failed"
    )
    for status, body in failures[:3]:
        print(f"  failed: HTTP {status} {body[:300]!r}")
    print(
        f"verified {len(codes)} codes (with the {WARM_UP} warm-up ones) over {figures['prefixes']} "
        f"(organisation, day) sequences; {figures['audits']} dossier.received audit entries; "
        f"{figures['tasks']} tasks in the queue ({figures['receipts']} receipts, the rest "
        "notifications); audit chain checked "
        f"({figures['chain_checked']} entries)"
    )
    if problems:
        print("FAILED checks:", *problems, sep="\n  ")
    else:
        print(
            "checks: codes unique and gap-free, one dossier, history row, step run, audit "
            "entry and queued receipt per code"
        )
    print(f"issue #3 intake target: {'MET' if rate >= 50 and not failures else 'NOT MET'}")
    if not args.existing:
        from django.db import connections

        connections.close_all()
        gen.drop_database(args.pg, args.db)
    return 1 if problems or failures else 0


if __name__ == "__main__":
    sys.exit(main())
