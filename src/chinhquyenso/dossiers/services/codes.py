"""Dossier codes: `<receiving organisation code>-YYMMDD-XXXX` (TT 01/2018/TT-VPCP Art. 19).

`XXXX` is the sequence of the dossier among those the organisation received that (local) day.
One `DossierCounter` row per organisation and day, taken with one upsert (INSERT ... ON CONFLICT
DO UPDATE SET last = last + 1 RETURNING last) in the transaction that inserts the dossier: the
row stays locked until that transaction ends, so concurrent intakes queue on it, and a
rolled-back intake gives its number back: no gaps and no duplicates.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import IntegrityError, transaction

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.core.models import Organisation
from chinhquyenso.dossiers.models import DossierCounter
from chinhquyenso.dossiers.services import deadlines


def ancestor_ids(organisation: Organisation) -> list[int]:
    return [int(x) for x in organisation.path.strip("/").split("/") if x]


def code_owner(organisation: Organisation) -> Organisation:
    """The organisation whose identifier opens the code: itself or its nearest ancestor with
    one (a desk unit without its own code numbers under its agency)."""
    if organisation.org_code:
        return organisation
    ids = ancestor_ids(organisation)
    coded = {
        o.pk: o
        for o in Organisation.objects.filter(pk__in=ids, org_code__isnull=False).exclude(
            org_code=""
        )
    }
    for oid in reversed(ids):
        if oid in coded:
            return coded[oid]
    raise ValidationFailed(
        f"{organisation.name} chưa có mã định danh điện tử nên không cấp được mã hồ sơ.",
        code="organisation_code_missing",
    )


# PostgreSQL and SQLite (3.35+) alike; the names are those of `DossierCounter`.
_UPSERT = (
    'INSERT INTO "dossiers_dossiercounter" ("organisation_id", "day", "last") VALUES (%s, %s, 1) '
    'ON CONFLICT ("organisation_id", "day") DO UPDATE '
    'SET "last" = "dossiers_dossiercounter"."last" + 1 RETURNING "last"'
)


def _take_number(owner: Organisation, day: date) -> int:
    """Add one to the counter of (owner, day), creating it at 1, and return the new value, in
    one statement (an upsert) that also locks the row until the caller's transaction ends."""
    connection = transaction.get_connection()
    if connection.vendor in ("postgresql", "sqlite"):
        with connection.cursor() as cursor:
            cursor.execute(_UPSERT, [owner.pk, connection.ops.adapt_datefield_value(day)])
            return cursor.fetchone()[0]
    # Other databases: lock the row (created race-safely), then add one.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                counter, _ = DossierCounter.objects.select_for_update().get_or_create(
                    organisation=owner, day=day
                )
            break
        except IntegrityError:
            continue  # a concurrent intake created it first: lock theirs
    else:
        raise RuntimeError("could not lock the dossier counter")
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def next_code(organisation: Organisation, at: datetime) -> str:
    """The next dossier code of `organisation` for the receipt day of `at` (local date).

    Must run inside the transaction that inserts the dossier: the counter row stays locked
    until it commits (concurrent intakes of the organisation wait on it in turn), and a
    rollback gives the number back (no gaps, no duplicates).
    """
    owner = code_owner(organisation)
    day = at.astimezone(deadlines.TZ).date()
    return f"{owner.org_code}-{day:%y%m%d}-{_take_number(owner, day):04d}"
