"""Read side of satisfaction ratings: counts per official, unit and procedure (issue #3).

Five queries whatever the number of ratings (the subtree's ids, the totals, three grouped);
scoped to an organisation's subtree (the rated unit, or the dossier's handling organisation,
inside it) and to people who may supervise that organisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q

from chinhquyenso.core import permissions
from chinhquyenso.core.models import Organisation
from chinhquyenso.dossiers import queries
from chinhquyenso.dossiers.models import Rating, SatisfactionLevel
from chinhquyenso.dossiers.permissions import SUPERVISE

LEVEL_KEYS = {
    SatisfactionLevel.VERY_SATISFIED: "very_satisfied",
    SatisfactionLevel.SATISFIED: "satisfied",
    SatisfactionLevel.DISSATISFIED: "dissatisfied",
}


@dataclass
class RatingSummary:
    organisation: Organisation
    total: dict = field(default_factory=dict)  # very_satisfied, satisfied, dissatisfied, count
    by_official: list[dict] = field(default_factory=list)
    by_unit: list[dict] = field(default_factory=list)
    by_procedure: list[dict] = field(default_factory=list)


def _counts() -> dict:
    out = {key: Count("id", filter=Q(level=level)) for level, key in LEVEL_KEYS.items()}
    out["count"] = Count("id")
    return out


def _row(row: dict, **names) -> dict:
    entry = {key: row[key] for key in (*LEVEL_KEYS.values(), "count")}
    entry["satisfied_share"] = (
        round(100 * (row["very_satisfied"] + row["satisfied"]) / row["count"])
        if row["count"]
        else 0
    )
    entry.update(names)
    return entry


def ratings_in(organisation: Organisation):
    """Ratings of the organisation's subtree (its ids read in one query; no filter when that is
    every organisation), tested on the rating's and the dossier's columns, not on joined paths."""
    ids, everything = queries.subtree_or_everything(organisation)
    if everything:
        return Rating.objects.all()
    return Rating.objects.filter(Q(unit__in=ids) | Q(dossier__handling_organisation__in=ids))


def rating_summary(user, organisation: Organisation) -> RatingSummary:
    """Ratings of `organisation`'s subtree: totals, and per official, unit and procedure.
    Requires "dossier.supervise" on the organisation."""
    permissions.require(user, SUPERVISE, organisation)
    base = ratings_in(organisation)
    summary = RatingSummary(organisation=organisation)
    total = base.aggregate(**_counts())
    summary.total = _row(total)
    summary.by_official = [
        _row(r, user_id=r["official_id"], name=r["official__full_name"] or r["official__username"])
        for r in base.filter(official__isnull=False)
        .values("official_id", "official__full_name", "official__username")
        .annotate(**_counts())
        .order_by("official__full_name", "official_id")
    ]
    summary.by_unit = [
        _row(r, unit_id=r["unit_id"], name=r["unit__name"])
        for r in base.filter(unit__isnull=False)
        .values("unit_id", "unit__name")
        .annotate(**_counts())
        .order_by("unit__name", "unit_id")
    ]
    summary.by_procedure = [
        _row(
            r,
            procedure_id=r["dossier__procedure_id"],
            code=r["dossier__procedure__national_code"],
            name=r["dossier__procedure_version__name"],
        )
        for r in base.values(
            "dossier__procedure_id",
            "dossier__procedure__national_code",
            "dossier__procedure_version__name",
        )
        .annotate(**_counts())
        .order_by("dossier__procedure__national_code", "dossier__procedure_version__name")
    ]
    return summary


@dataclass(frozen=True)
class RatingLinkTarget:
    """What the rating link's page shows: the code and the desk, nothing personal."""

    code: str
    organisation_name: str
    rated: bool
    ratable: bool


def rating_link_target(token: str) -> RatingLinkTarget:
    """The dossier a rating link names (NotFound `rating_link_invalid` for a bad, expired or
    orphaned link)."""
    from chinhquyenso.core.errors import NotFound
    from chinhquyenso.dossiers.models import Dossier
    from chinhquyenso.dossiers.services import rating as rating_service

    pk, _made_by = rating_service.dossier_id_for_link(token)
    d = Dossier.objects.select_related("receiving_organisation").filter(pk=pk).first()
    if d is None:
        raise NotFound(rating_service.LINK_NOT_VALID, code="rating_link_invalid")
    return RatingLinkTarget(
        code=d.code,
        organisation_name=d.receiving_organisation.name,
        rated=Rating.objects.filter(dossier_id=pk).exists(),
        ratable=d.status in rating_service.RATABLE,
    )
