"""The bytes of stored files in the storage, for the file service (`files.py`).

Names are content addresses (`ab/cd/<sha256>`). The bytes are written before the row commits,
never after: a crash between a commit and a later write would leave a row without its bytes.
So when the transaction rolls back instead, bytes remain that nothing references (an
applicant's scan, with the row and its audit entry gone). They are removed again if, under the
content's lock, no row uses them: at once inside `discard_on_failure()` (which `store_file`
itself uses, and pages wrap around "store, then let the service decide"), anywhere else by
`cqs files_prune` (`prune_unreferenced`).

Why this never removes bytes in use: every decision "are these bytes there / are they used"
is taken under `_lock_content(sha256)`. `store_file` takes it before it looks at the storage
and holds it until its transaction ends (commit or rollback); the removal takes it, then looks
for a row. A transaction storing the same content either finished first (its row is committed
and seen: the bytes stay) or waits for the removal and then finds no bytes, and writes them.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from chinhquyenso.core.models import StoredFile

log = logging.getLogger("chinhquyenso.core.services.files")


def storage_name_for(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


_LOCK_NAMESPACE = zlib.crc32(b"core.storedfile.content") - 2**31  # a signed int4 for PostgreSQL
_HEX2 = re.compile(r"[0-9a-f]{2}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# What the innermost `discard_on_failure` block wrote: (storage name, sha256), in order.
_written: ContextVar[list[tuple[str, str]] | None] = ContextVar("cqs_files_written", default=None)


def _lock_content(sha256: str) -> None:
    """Serialise, until the current transaction ends, every decision about the bytes of
    `sha256` (write, reuse, remove). Precondition: inside `transaction.atomic()`."""
    if connection.vendor == "postgresql":
        objid = int(sha256[:8], 16) - 2**31  # equal contents, equal keys; collisions only wait
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s::integer, %s::integer)", [_LOCK_NAMESPACE, objid]
            )
    elif connection.vendor == "sqlite":
        # One writer at a time: any write statement, even one matching no row, takes the
        # database's write lock until the transaction ends (with our BEGIN IMMEDIATE it is
        # already held; this also takes it under a DEFERRED configuration).
        table = connection.ops.quote_name(StoredFile._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET id = id WHERE 0")  # noqa: S608 (our table name)
    else:  # the platform runs on PostgreSQL or SQLite (ARCHITECTURE.md)
        raise ImproperlyConfigured(f"Không hỗ trợ cơ sở dữ liệu {connection.vendor}.")


def _note_written(name: str, sha256: str) -> None:
    written = _written.get()
    if written is not None:
        written.append((name, sha256))


def _note_all(written: list[tuple[str, str]]) -> None:
    for name, sha256 in written:
        _note_written(name, sha256)


def discard_if_unreferenced(name: str, sha256: str) -> bool:
    """Remove the bytes at `name` (content `sha256`) unless a stored file uses them; True when
    removed. Safe at any time: see the comment above `_lock_content`."""
    with transaction.atomic():
        _lock_content(sha256)
        if StoredFile.objects.filter(Q(sha256=sha256) | Q(storage_name=name)).exists():
            return False
        default_storage.delete(name)
    log.info("Removed unreferenced stored bytes %s", name)
    return True


def _discard_all(written: list[tuple[str, str]]) -> None:
    for name, sha256 in dict.fromkeys(written):
        try:
            discard_if_unreferenced(name, sha256)
        except Exception:  # never hide the error that rolled back; `files_prune` retries
            log.exception("Could not remove the unreferenced stored bytes %s", name)


@contextmanager
def discard_on_failure():
    """`transaction.atomic()` that also removes the bytes stored inside it when it fails.

    For code that stores files and then lets a service decide, in one transaction (a page
    storing the scans, then receiving the dossier): when the service refuses, the rows roll
    back and the bytes no stored file uses are removed. Bytes another stored file uses, or
    that a concurrent transaction is storing, stay. Nested blocks hand what they stored to
    the enclosing one, whose failure removes it too; a rollback of an enclosing plain
    `atomic()` is left to `cqs files_prune`.
    """
    written: list[tuple[str, str]] = []
    token = _written.set(written)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        _written.reset(token)
        if transaction.get_connection().needs_rollback:
            _note_all(written)  # the enclosing block fails too and cannot query: it removes
        else:
            _discard_all(written)
        raise
    _written.reset(token)
    _note_all(written)


def _content_batches() -> Iterator[list[tuple[str, str]]]:
    """The content-addressed names in the storage, one `ab/cd/` directory at a time, as
    (name, sha256). Anything else in the storage is not ours and is never listed."""
    try:
        tops, _ = default_storage.listdir("")
    except FileNotFoundError:
        return
    for top in sorted(d for d in tops if _HEX2.fullmatch(d)):
        subs, _ = default_storage.listdir(top)
        for sub in sorted(d for d in subs if _HEX2.fullmatch(d)):
            _, leaves = default_storage.listdir(f"{top}/{sub}")
            batch = [
                (storage_name_for(sha256), sha256)
                for sha256 in sorted(leaves)
                if _SHA256.fullmatch(sha256) and sha256.startswith(top + sub)
            ]
            if batch:
                yield batch


@dataclass(frozen=True)
class PruneResult:
    checked: int  # content-addressed names found in the storage
    removed: list[str]  # removed (or, on a dry run, that would be)


def prune_unreferenced(*, older_than: timedelta, dry_run: bool = False) -> PruneResult:
    """Remove the bytes no stored file uses, written more than `older_than` ago (for
    `cqs files_prune`): what transactions that rolled back outside `discard_on_failure`, or
    processes that died, left behind. Each removal is decided under the content's lock, like
    `discard_if_unreferenced`; the age only spares the work of uploads still in progress."""
    cutoff = timezone.now() - older_than
    checked = 0
    removed: list[str] = []
    for batch in _content_batches():
        checked += len(batch)
        used = set(
            StoredFile.objects.filter(sha256__in=[sha for _, sha in batch]).values_list(
                "sha256", flat=True
            )
        )
        for name, sha256 in batch:
            if sha256 in used:
                continue
            try:
                if default_storage.get_modified_time(name) > cutoff:
                    continue
            except (NotImplementedError, OSError):
                continue  # no age known: leave it
            if dry_run:
                if not StoredFile.objects.filter(storage_name=name).exists():
                    removed.append(name)
            elif discard_if_unreferenced(name, sha256):
                removed.append(name)
    return PruneResult(checked, removed)
