"""Satisfaction rating (issue #3): once per dossier, only with a result, the rated official
and unit, the audit entry, and the counts per official, unit and procedure."""

from __future__ import annotations

import pytest

from chinhquyenso.core.errors import Conflict, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry
from chinhquyenso.dossiers import rating_queries, services
from chinhquyenso.dossiers.models import Rating, SatisfactionLevel, Status


def resolve(d, desk_officer, responsible, unit_head, leader):
    services.forward(actor=desk_officer, dossier=d)
    services.claim(actor=responsible, dossier=d)
    services.forward(actor=responsible, dossier=d)
    services.forward(actor=unit_head, dossier=d)
    services.approve(actor=leader, dossier=d)
    d.refresh_from_db()
    return d


@pytest.fixture
def returned(received, desk_officer, responsible, unit_head, commune_leader):
    d = resolve(received, desk_officer, responsible, unit_head, commune_leader)
    services.return_result(
        actor=desk_officer, dossier=d, method="desk", recipient_signature_name="Đặng Thị Hoa"
    )
    d.refresh_from_db()
    assert d.status == Status.RETURNED
    return d


def test_rating_records_official_unit_and_audit(returned, desk_officer, desk_unit_a):
    rating = services.rate_dossier(
        dossier=returned,
        level=SatisfactionLevel.VERY_SATISFIED,
        criteria={"attitude": 3, "time": "2", "convenience": ""},
        comment="  Nhanh gọn ",
        actor=desk_officer,
    )
    assert rating.official == desk_officer
    assert rating.unit == desk_unit_a
    assert rating.criteria == {"attitude": 3, "time": 2}
    assert rating.comment == "Nhanh gọn"
    entry = AuditEntry.objects.filter(action="dossier.rated").get()
    assert entry.data["level"] == 3
    assert returned.events.filter(action="rated").exists()


def test_only_once(returned):
    services.rate_dossier(dossier=returned, level=2, criteria={})
    with pytest.raises(Conflict) as exc:
        services.rate_dossier(dossier=returned, level=3, criteria={})
    assert exc.value.code == "already_rated"
    assert Rating.objects.get().level == 2


def test_not_before_the_result(received):
    with pytest.raises(ValidationFailed) as exc:
        services.rate_dossier(dossier=received, level=3, criteria={})
    assert exc.value.code == "not_ratable"
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    ("level", "criteria"),
    [(5, {}), ("x", {}), (3, {"attitude": 4}), (3, {"price": 2}), (3, ["attitude"])],
)
def test_bad_levels_and_criteria(returned, level, criteria):
    with pytest.raises(ValidationFailed):
        services.rate_dossier(dossier=returned, level=level, criteria=criteria)
    assert not Rating.objects.exists()


def test_other_commune_desk_may_not_record(returned, desk_officer_b):
    with pytest.raises(PermissionDenied):
        services.rate_dossier(dossier=returned, level=3, criteria={}, actor=desk_officer_b)


def test_summary_counts_per_official_unit_and_procedure(
    returned, commune_leader, commune_a, desk_officer, django_assert_max_num_queries
):
    services.rate_dossier(dossier=returned, level=1, criteria={})
    with django_assert_max_num_queries(6):
        summary = rating_queries.rating_summary(commune_leader, commune_a)
    assert summary.total["count"] == 1 and summary.total["dissatisfied"] == 1
    assert summary.by_official[0]["name"] == desk_officer.full_name
    assert summary.by_official[0]["dissatisfied"] == 1
    assert summary.by_unit[0]["count"] == 1
    assert summary.by_procedure[0]["code"] == "1.001193"


def test_summary_needs_supervision(returned, responsible, commune_a):
    with pytest.raises(PermissionDenied):
        rating_queries.rating_summary(responsible, commune_a)
