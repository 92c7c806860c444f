"""Satisfaction rating (đánh giá mức độ hài lòng) of one dossier by its applicant.

Per-dossier evaluation with the levels Rất hài lòng / Hài lòng / Không hài lòng (NĐ 61/2018,
TT 01/2018; DOMAIN.md §3.7), usually given at the desk on a kiosk when the result is handed
over. One rating per dossier, only once it is resolved (status 9) or returned (status 10). The
rated official is the desk officer who returned the result (or, before that, who received the
dossier); the rated unit is the receiving organisation.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction

from chinhquyenso.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.dossiers.models import DossierEvent, Rating, SatisfactionLevel, Status
from chinhquyenso.dossiers.permissions import RECEIVE, RETURN
from chinhquyenso.dossiers.services import _common as c

RATABLE = frozenset({Status.RESOLVED, Status.RETURNED})
# Criteria scored 1 (not satisfied) .. 3 (very satisfied), after the provincial survey forms.
CRITERIA = {
    "attitude": "Thái độ, tác phong của công chức",
    "time": "Thời gian giải quyết",
    "convenience": "Sự thuận tiện khi thực hiện thủ tục",
}


def _clean_criteria(criteria) -> dict[str, int]:
    if criteria is None:
        return {}
    if not isinstance(criteria, dict):
        raise ValidationFailed("Tiêu chí đánh giá không hợp lệ.", code="invalid_criteria")
    out: dict[str, int] = {}
    for key, value in criteria.items():
        if key not in CRITERIA:
            raise ValidationFailed(
                f"Tiêu chí đánh giá không hợp lệ: {key}.", code="invalid_criteria"
            )
        if value in (None, ""):
            continue
        try:
            score = int(value)
        except (TypeError, ValueError):
            score = 0
        if not 1 <= score <= 3:
            raise ValidationFailed(
                f"Điểm tiêu chí “{CRITERIA[key]}” phải từ 1 đến 3.", code="invalid_criteria"
            )
        out[key] = score
    return out


def _rated_official(dossier):
    """The desk officer who returned the result, else the one who received the dossier."""
    returned = (
        DossierEvent.objects.filter(dossier=dossier, action="result_returned", actor__isnull=False)
        .order_by("-at", "-id")
        .select_related("actor")
        .first()
    )
    return returned.actor if returned is not None else dossier.received_by


# --- Rating links: the applicant rates on a tablet or their own phone, not signed in ----------
#
# The desk officer's kiosk page runs in the officer's session; a rating link does not. The desk
# makes a link (shown as a QR code) for one dossier; whoever opens it may rate that dossier and
# nothing else, once, until the link expires. The link is signed with SECRET_KEY (it cannot be
# forged or pointed at another dossier) and names no person.

LINK_SALT = "chinhquyenso.dossiers.rating-link"
LINK_NOT_VALID = "Đường dẫn đánh giá không hợp lệ hoặc đã hết hạn. Vui lòng đề nghị cán bộ tạo lại."


def link_lifetime_seconds() -> int:
    return int(getattr(settings, "CQS_RATING_LINK_SECONDS", 2 * 60 * 60))


def rating_link_token(*, actor, dossier) -> str:
    """A link token for rating `dossier`: by a desk officer of its receiving organisation,
    for a dossier that can be rated and has not been. PermissionDenied / ValidationFailed
    `not_ratable` / Conflict `already_rated` otherwise. Changes nothing."""
    c.require_any(
        actor,
        dossier,
        [(RECEIVE, dossier.receiving_organisation), (RETURN, dossier.receiving_organisation)],
    )
    if dossier.status not in RATABLE:
        raise ValidationFailed(
            "Chỉ đánh giá được hồ sơ đã có kết quả hoặc đã trả kết quả.", code="not_ratable"
        )
    if Rating.objects.filter(dossier=dossier).exists():
        raise Conflict("Hồ sơ này đã được đánh giá.", code="already_rated")
    return signing.dumps({"d": dossier.pk, "by": actor.pk}, salt=LINK_SALT)


def dossier_id_for_link(token: str) -> tuple[int, int | None]:
    """(dossier id, id of the official who made the link) of a valid, unexpired link token;
    NotFound `rating_link_invalid` otherwise."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=link_lifetime_seconds())
        return int(data["d"]), data.get("by")
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound(LINK_NOT_VALID, code="rating_link_invalid") from None


@transaction.atomic
def rate_with_link(*, token: str, level, criteria: dict | None = None, comment: str = ""):
    """The applicant's rating through a rating link (no account): as `rate_dossier`, the audit
    entry saying it came through the link the official made."""
    pk, made_by = dossier_id_for_link(token)
    return rate_dossier(
        dossier=pk,
        level=level,
        criteria=criteria,
        comment=comment,
        via={"via": "rating_link", "link_made_by": made_by},
    )


@transaction.atomic
def rate_dossier(
    *,
    dossier,
    level,
    criteria: dict | None = None,
    comment: str = "",
    actor=None,
    via: dict | None = None,
):
    """Record the applicant's rating of `dossier` (once).

    `actor`: the desk officer whose kiosk page the applicant used (a desk officer of the
    receiving organisation), the applicant's own account, or None for a trusted caller (the
    portal). Raises ValidationFailed `not_ratable` / `invalid_level` / `invalid_criteria`,
    Conflict `already_rated`, PermissionDenied; changes nothing then.
    """
    d = c.lock(dossier)
    if actor is not None and not _is_applicant(actor, d):
        c.require_any(
            actor, d, [(RECEIVE, d.receiving_organisation), (RETURN, d.receiving_organisation)]
        )
    if d.status not in RATABLE:
        raise ValidationFailed(
            "Chỉ đánh giá được hồ sơ đã có kết quả hoặc đã trả kết quả.", code="not_ratable"
        )
    try:
        level = SatisfactionLevel(int(level))
    except (TypeError, ValueError):
        raise ValidationFailed("Mức độ hài lòng không hợp lệ.", code="invalid_level") from None
    scores = _clean_criteria(criteria)
    if Rating.objects.filter(dossier=d).exists():
        raise Conflict("Hồ sơ này đã được đánh giá.", code="already_rated")
    at = c.now()
    rating = Rating(
        dossier=d,
        level=level,
        criteria=scores,
        comment=(comment or "").strip()[:2000],
        official=_rated_official(d),
        unit=d.receiving_organisation,
        at=at,
    )
    rating.full_clean(exclude=["dossier", "official", "unit"])
    try:
        with transaction.atomic():
            rating.save(force_insert=True)
    except IntegrityError:
        raise Conflict("Hồ sơ này đã được đánh giá.", code="already_rated") from None
    c.save(
        d,
        actor=actor,
        action="rated",
        fields=[],
        at=at,
        from_status=d.status,
        data={
            "level": int(level),
            "criteria": scores,
            "official": rating.official_id,
            "unit": rating.unit_id,
            **(via or {}),
        },
    )
    return rating


def _is_applicant(actor, d) -> bool:
    if not c.is_person(actor) or not getattr(actor, "is_applicant", False):
        return False
    if d.applicant_id is not None:
        return d.applicant_id == actor.pk
    own = actor.personal_id if actor.kind == "citizen" else actor.tax_code
    return bool(own) and own == d.applicant_id_number


def can_rate(actor, dossier) -> bool:
    """Whether `actor` may open the kiosk for `dossier` now (no rating yet, ratable status)."""
    if dossier.status not in RATABLE:
        return False
    try:
        c.require_any(
            actor,
            dossier,
            [(RECEIVE, dossier.receiving_organisation), (RETURN, dossier.receiving_organisation)],
        )
    except PermissionDenied:
        return False
    return not Rating.objects.filter(dossier=dossier).exists()


__all__ = ["CRITERIA", "can_rate", "rate_dossier"]
