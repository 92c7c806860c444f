"""Public status lookup by dossier code, without signing in (issue #3; TT 01/2018 Art. 19).

Anyone holding a receipt (Form 01, whose QR code opens `/tra-cuu/<code>/`) can see where the
dossier is. What is shown is deliberately little: the procedure, the receiving organisation,
the status (national code 1–10 and its Vietnamese name), the received / due / returned instants,
the on-time state, the current step's name and the applicant's name masked ("Nguyễn Thị Hằng" →
"Nguyễn T** H***"). Nothing else personal: no identification number, phone, e-mail or address.

An unknown code and a malformed one get the same answer (`dossier_not_found`), so the answer
says nothing about which codes exist. Every lookup, found or not, counts against a per-client
rate limit (`settings.CQS_PUBLIC_LOOKUP_PER_MINUTE`, default 30; 0 turns it off) kept in
Django's cache, so it holds across processes when the cache is shared (Redis in production).

The client address is REMOTE_ADDR, or — only when `settings.CQS_TRUSTED_PROXY_COUNT` is N > 0
(the app runs behind N reverse proxies that append to X-Forwarded-For) — the N-th address from
the right of X-Forwarded-For, the one the nearest trusted proxy saw. Taking the left-most
address would let any client pick its own bucket.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import unicodedata
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import translation

from chinhquyenso.core.errors import NotFound
from chinhquyenso.core.models import Organisation
from chinhquyenso.dossiers import timeliness
from chinhquyenso.dossiers.models import FINAL_STATUSES, Dossier, Status
from chinhquyenso.procedures.models import Procedure, ProcedureVersion, Process, ProcessStep

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# `<org code>-YYMMDD-XXXX` (TT 01/2018 Art. 19) and the reported 2025 variant
# `G09.20-20260609-0092637`: letters, digits, dots and dashes only.
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{4,39}$")

NOT_FOUND_MESSAGE = "Không tìm thấy hồ sơ. Vui lòng kiểm tra lại mã hồ sơ trên giấy tiếp nhận."
RATE_LIMITED_MESSAGE = (
    "Bạn tra cứu quá nhiều lần trong thời gian ngắn. Vui lòng thử lại sau {seconds} giây."
)

WINDOW_SECONDS = 60
_clock = time.time  # replaced in tests, so a window boundary never splits a test


class DossierNotFound(NotFound):
    code = "dossier_not_found"


def mask_name(name: str) -> str:
    """Keep the family name (first word) whole and the first letter of every other word, the
    rest as asterisks: "Nguyễn Văn An" → "Nguyễn V** A*"."""
    words = unicodedata.normalize("NFC", name or "").split()
    if not words:
        return ""
    masked = [words[0]]
    for word in words[1:]:
        masked.append(word[0] + "*" * (len(word) - 1))
    return " ".join(masked)


def normalise_code(code: str) -> str | None:
    """The canonical form of a typed code (upper case, no surrounding blanks), or None when it
    cannot be a dossier code."""
    code = (code or "").strip().upper()
    return code if CODE_RE.match(code) else None


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in +07:00, to the second."""
    if value is None:
        return None
    return value.astimezone(VN_TZ).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class PublicStatus:
    code: str
    procedure_code: str
    procedure_name: str
    organisation_name: str
    status: int
    status_name: str
    received_at: datetime | None
    due_at: datetime | None
    returned_at: datetime | None
    # timeliness.evaluate's state: early | on_time | late (finished) or in_time | overdue
    # (running); "" before the dossier is received.
    timeliness: str
    timeliness_name: str
    timeliness_final: bool
    current_step: str | None
    applicant_name_masked: str

    def as_json(self) -> dict[str, Any]:
        """The API body; its keys are the whole public contract (tests pin them)."""
        return {
            "code": self.code,
            "procedure": {"code": self.procedure_code, "name": self.procedure_name},
            "receiving_organisation": {"name": self.organisation_name},
            "status": {"code": self.status, "name": self.status_name},
            "received_at": iso(self.received_at),
            "due_at": iso(self.due_at),
            "returned_at": iso(self.returned_at),
            "timeliness": (
                {
                    "code": self.timeliness,
                    "name": self.timeliness_name,
                    "final": self.timeliness_final,
                }
                if self.timeliness
                else None
            ),
            "current_step": self.current_step,
            "applicant_name_masked": self.applicant_name_masked,
        }


# What `lookup` reads of a dossier: one narrow row by the unique code, no joins. Every field
# `timeliness.evaluate` / `is_past_due` read is here too: the row is a plain named tuple, so a
# field missing from this list fails loudly (AttributeError, which the tests catch) rather than
# silently taking the model default.
LOOKUP_FIELDS = (
    "id",
    "code",
    "procedure_id",
    "procedure_version_id",
    "receiving_organisation_id",
    "handling_organisation_id",
    "current_step_id",
    "status",
    "applicant_name",
    "received_at",
    "clock_started_at",
    "due_at",
    "original_due_at",
    "finished_at",
    "returned_at",
    "clock_paused_at",
    "paused_minutes",
    "counted_late",
    "supplement_count",
    "timeliness",
)

# Names by id, per process: procedure versions and process steps are never edited, and a
# procedure's national code does not change. Cleared when any of them is saved or deleted (and
# when a process is saved: its steps are bulk-created, without signals), so a test database
# that reuses ids cannot serve a stale name.
_names: dict[tuple[str, int], str] = {}
# An organisation can be renamed: its name is kept for ORGANISATION_NAME_TTL seconds only, per
# process too (a shared cache would cost a network round trip on every lookup; a rename is rare
# and shows everywhere within the minute, at once in the process that saved it).
ORGANISATION_NAME_TTL = 60
_organisation_names: dict[int, tuple[float, str]] = {}


def _version_names(version_id: int, procedure_id: int) -> tuple[str, str]:
    """(procedure national code, version name)."""
    code = _names.get(("procedure", procedure_id))
    name = _names.get(("version", version_id))
    if code is None or name is None:
        name, code = ProcedureVersion.objects.filter(pk=version_id).values_list(
            "name", "procedure__national_code"
        )[0]
        _names[("procedure", procedure_id)] = code
        _names[("version", version_id)] = name
    return code, name


def _step_name(step_id: int) -> str:
    name = _names.get(("step", step_id))
    if name is None:
        name = ProcessStep.objects.filter(pk=step_id).values_list("name", flat=True)[0]
        _names[("step", step_id)] = name
    return name


def _organisation_name(pk: int) -> str:
    now = time.monotonic()
    cached = _organisation_names.get(pk)
    if cached is not None and now - cached[0] < ORGANISATION_NAME_TTL:
        return cached[1]
    name = Organisation.objects.filter(pk=pk).values_list("name", flat=True)[0]
    _organisation_names[pk] = (now, name)
    return name


@receiver([post_save, post_delete], sender=ProcedureVersion)
@receiver([post_save, post_delete], sender=Procedure)
@receiver([post_save, post_delete], sender=ProcessStep)
@receiver([post_save, post_delete], sender=Process)
def _forget_names(sender, **kwargs) -> None:
    _names.clear()


@receiver([post_save, post_delete], sender=Organisation)
def _forget_organisation_name(sender, instance, **kwargs) -> None:
    _organisation_names.pop(instance.pk, None)


# The lookup query, as the ORM writes it for this database (`lookup_queryset`), is compiled
# once per database connection: building and compiling a queryset, then making a model instance
# of ~60 fields, costs several times the CPU of the indexed read itself (issue #3: the lookup
# must stay close to a request that does nothing). The ORM's converters still apply (aware
# datetimes on SQLite too); the row becomes a `LookupRow` with exactly LOOKUP_FIELDS.
#
# On PostgreSQL the statement is also prepared on the server, once per connection, under its
# own name (`_Statement`): PostgreSQL then skips parsing and planning, which for this one-row
# index read cost more than executing it (EXPLAIN ANALYZE: planning ~0.17 ms, execution
# ~0.07 ms). Django and psycopg leave preparing off (`prepare_threshold=None`) for the sake of
# poolers; a site behind PgBouncer older than 1.21 in transaction mode, which cannot keep
# prepared statements, sets DATABASE_PREPARED_STATEMENTS=false (settings.CQS_PREPARED_STATEMENTS).
#
# Nor does the lookup pay Django's connection health check ("SELECT 1" before the first query
# of every request, DATABASE_CONN_HEALTH_CHECKS): the read is idempotent, so when the kept
# connection turns out dead (the database restarted) it reconnects and reads again once,
# outside a transaction. Same outcome for the citizen, one round trip fewer per lookup.
LookupRow = namedtuple("LookupRow", LOOKUP_FIELDS)
_PLACEHOLDER = "CODE"
_compiled = threading.local()


def lookup_queryset(code: str):
    """The query `lookup` runs (the benchmark EXPLAINs it): the row by its unique code."""
    return Dossier.objects.filter(code=code).values_list(*LOOKUP_FIELDS)[:1]


class _Statement:
    """The lookup prepared under its own name on one psycopg connection and executed through
    libpq (`PGconn.exec_prepared`, which lets go of the GIL while it waits), the binary row
    loaded by psycopg's C transformer. psycopg's cursor does the same with ~25 µs more CPU per
    call (its prepared-statement bookkeeping, query conversion, generators; 77 against 53 µs
    measured in process), about a tenth of what the lookup adds to a request that does
    nothing."""

    NAME = b"cqs_public_lookup"

    def __init__(self, raw, sql: str):
        from psycopg import errors, pq
        from psycopg.adapt import Transformer

        self.raw = raw
        self.pgconn = raw.pgconn
        self.encoding = raw.info.encoding
        self.errors = errors
        self.ok = pq.ExecStatus.TUPLES_OK
        self.command_ok = pq.ExecStatus.COMMAND_OK
        self.binary = pq.Format.BINARY
        self.sqlstate = pq.DiagnosticField.SQLSTATE
        self.connection_ok = pq.ConnStatus.OK
        self.idle = pq.TransactionStatus.IDLE
        self.transformer = Transformer(raw)
        self.sql = sql
        self._prepare()

    def _check(self, result, expected) -> None:
        if result.status == expected:
            return
        if self.pgconn.status != self.connection_ok:  # the session is gone: a retry may work
            message = self.pgconn.get_error_message(self.encoding)
            raise self.errors.OperationalError(f"the connection is lost: {message}")
        raise self.errors.error_from_result(result, encoding=self.encoding)

    def _prepare(self) -> None:
        result = self.pgconn.prepare(self.NAME, self.sql.encode(self.encoding))
        if result.error_field(self.sqlstate) == b"42P05":  # duplicate_prepared_statement
            self.pgconn.exec_(b"DEALLOCATE " + self.NAME)
            result = self.pgconn.prepare(self.NAME, self.sql.encode(self.encoding))
        self._check(result, self.command_ok)

    def rows(self, code: str) -> list[tuple]:
        result = self.pgconn.exec_prepared(
            self.NAME, [code.encode(self.encoding)], None, self.binary
        )
        if (
            result.error_field(self.sqlstate) == b"26000"  # invalid_sql_statement_name
            and self.pgconn.transaction_status == self.idle
        ):
            # DISCARD ALL / DEALLOCATE ALL ran on this session: prepare again and read once
            # more (not inside a transaction: the failed read has aborted it).
            self._prepare()
            result = self.pgconn.exec_prepared(
                self.NAME, [code.encode(self.encoding)], None, self.binary
            )
        self._check(result, self.ok)
        self.transformer.set_pgresult(result)
        return self.transformer.load_rows(0, result.ntuples, tuple)


class _Compiled:
    """The lookup statement for one connection wrapper (one per thread)."""

    def __init__(self, connection):
        compiler = lookup_queryset(_PLACEHOLDER).query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        if tuple(params) != (_PLACEHOLDER,):  # the code must be the only parameter
            raise RuntimeError(f"unexpected lookup parameters: {params!r}")
        columns = [expression for expression, _sql, _alias in compiler.select]
        self.connection = connection
        self.compiler = compiler
        self.sql = sql
        self.converters = compiler.get_converters(columns)
        self.prepared = connection.vendor == "postgresql" and getattr(
            settings, "CQS_PREPARED_STATEMENTS", True
        )
        # The server-side form of the statement ($1 for the one parameter).
        self.server_sql = sql.replace("%s", "$1").replace("%%", "%")
        if self.prepared and sql.count("%s") != 1:
            raise RuntimeError(f"unexpected lookup statement: {sql!r}")
        # Kept while the database connection it was prepared on lives (a reconnect prepares
        # again on the new session).
        self.statement = None
        self.statement_of = None

    def read(self, code: str):
        """The row(s) for `code`. Through a Django cursor, unprepared, on other databases or
        when something watches the queries (execute wrappers, query logging: tests and the
        benchmark's query count); else the prepared statement straight on the psycopg
        connection, Django's error wrapping kept, without the per-request health check (see
        above)."""
        connection = self.connection
        if not self.prepared or connection.queries_logged or connection.execute_wrappers:
            connection.health_check_done = True  # see above: a dead connection is retried
            with connection.cursor() as cursor:
                cursor.execute(self.sql, [code])
                return cursor.fetchmany(1)
        if connection.connection is None:
            connection.ensure_connection()
        connection.validate_thread_sharing()
        with connection.wrap_database_errors:
            if self.statement_of is not connection.connection:
                self.statement = _Statement(connection.connection, self.server_sql)
                self.statement_of = connection.connection
            return self.statement.rows(code)


def _dossier(code: str) -> LookupRow | None:
    connection = connections[DEFAULT_DB_ALIAS]  # this thread's connection wrapper
    compiled = getattr(_compiled, "state", None)
    if compiled is None or compiled.connection is not connection:
        compiled = _compiled.state = _Compiled(connection)
    try:
        rows = compiled.read(code)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:  # inside a transaction nothing can be retried
            raise
        connection.close()  # the kept connection is dead: reconnect, read again once
        rows = compiled.read(code)
    if not rows:
        return None
    if compiled.converters:
        rows = compiled.compiler.apply_converters(rows, compiled.converters)
    return LookupRow._make(next(iter(rows)))


# Vietnamese names of the statuses and on-time states, made once per process: the public
# answer is in Vietnamese whatever the request's language, and switching the active language
# for every lookup cost more than the rest of the Python work.
_vietnamese: dict[str, str] = {}


def _vietnamese_name(kind: str, value) -> str:
    key = f"{kind}:{value}"
    name = _vietnamese.get(key)
    if name is None:
        label = Status(value).label if kind == "status" else timeliness.LABELS[value]
        with translation.override("vi"):
            name = str(label)
        _vietnamese[key] = name
    return name


def lookup(code: str, *, now: datetime | None = None) -> PublicStatus:
    """The public view of dossier `code`; DossierNotFound when there is none (or the code is
    malformed: same error, no hint). One query (the dossier row) once the names it shows are
    cached; up to three more small ones by primary key before that."""
    normalised = normalise_code(code)
    if normalised is None:
        raise DossierNotFound(NOT_FOUND_MESSAGE)
    dossier = _dossier(normalised)
    if dossier is None:
        raise DossierNotFound(NOT_FOUND_MESSAGE)
    finished = dossier.status in FINAL_STATUSES
    if dossier.received_at is None:  # submitted online, not received: no clock yet
        state, state_name, state_final = "", "", False
    else:
        state = timeliness.state_of(dossier, now=now)
        state_name = _vietnamese_name("timeliness", state)
        state_final = state in timeliness.FINISHED_STATES
    show_step = dossier.current_step_id is not None and not finished
    procedure_code, procedure_name = _version_names(
        dossier.procedure_version_id, dossier.procedure_id
    )
    return PublicStatus(
        code=dossier.code,
        procedure_code=procedure_code,
        procedure_name=procedure_name,
        organisation_name=_organisation_name(dossier.receiving_organisation_id),
        status=dossier.status,
        status_name=_vietnamese_name("status", dossier.status),
        received_at=dossier.received_at,
        due_at=dossier.due_at,
        returned_at=dossier.returned_at,
        timeliness=state,
        timeliness_name=state_name,
        timeliness_final=state_final,
        current_step=_step_name(dossier.current_step_id) if show_step else None,
        applicant_name_masked=mask_name(dossier.applicant_name),
    )


def client_ip(request) -> str:
    trusted = int(getattr(settings, "CQS_TRUSTED_PROXY_COUNT", 0) or 0)
    if trusted > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= trusted:
            return forwarded[-trusted]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after: int  # seconds; 0 when allowed

    @property
    def message(self) -> str:
        return RATE_LIMITED_MESSAGE.format(seconds=self.retry_after)


def check_rate(request, *, now: float | None = None) -> RateDecision:
    """Count one lookup for the client; refuse when over the per-minute limit.

    A fixed one-minute window per client address in Django's cache: `add` then `incr`, both
    atomic in the shared cache backends, so concurrent requests cannot both slip under.
    """
    limit = int(getattr(settings, "CQS_PUBLIC_LOOKUP_PER_MINUTE", 30))
    if limit <= 0:
        return RateDecision(True, 0)
    now = _clock() if now is None else now
    window = int(now // WINDOW_SECONDS)
    digest = hashlib.sha256(client_ip(request).encode()).hexdigest()[:24]
    key = f"cqs:public-lookup:{digest}:{window}"
    if cache.add(key, 1, timeout=WINDOW_SECONDS + 5):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
            count = 1
    if count > limit:
        retry_after = max(1, WINDOW_SECONDS - int(now % WINDOW_SECONDS))
        return RateDecision(False, retry_after)
    return RateDecision(True, 0)
