"""Dossier codes: `<receiving organisation code>-YYMMDD-XXXX` (TT 01/2018/TT-VPCP Art. 19).

`XXXX` is the sequence of the dossier among those the organisation received that (local) day.
One `DossierCounter` row per organisation and day, locked with `select_for_update` in the
transaction that inserts the dossier: concurrent intakes queue on the row, a rolled-back intake
gives its number back, so there are no gaps and no duplicates.
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


def _locked_counter(owner: Organisation, day: date) -> DossierCounter:
    """The counter row of (owner, day) under a row lock, created race-safely."""
    for _attempt in range(5):
        try:
            with transaction.atomic():
                counter, _ = DossierCounter.objects.select_for_update().get_or_create(
                    organisation=owner, day=day
                )
            return counter
        except IntegrityError:
            continue  # a concurrent intake created it first: lock theirs
    raise RuntimeError("could not lock the dossier counter")


def next_code(organisation: Organisation, at: datetime) -> str:
    """The next dossier code of `organisation` for the receipt day of `at` (local date).

    Must run inside the transaction that inserts the dossier: the counter row stays locked
    until it commits, and a rollback gives the number back (no gaps, no duplicates).
    """
    owner = code_owner(organisation)
    day = at.astimezone(deadlines.TZ).date()
    counter = _locked_counter(owner, day)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{owner.org_code}-{day:%y%m%d}-{counter.last:04d}"
