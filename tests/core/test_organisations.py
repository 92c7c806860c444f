import datetime as dt

import pytest
from django.utils import timezone

from chinhquyenso.core.errors import PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry, Organisation, Position, Role
from chinhquyenso.core.models.organisations import OrganisationKind
from chinhquyenso.core.services import organisations as svc
from tests.conftest import make_official


def test_admin_creates_a_unit_under_its_commune(commune_admin, commune_a):
    unit = svc.create_organisation(
        actor=commune_admin, parent=commune_a, name="Phòng Kinh tế", kind=OrganisationKind.UNIT
    )
    assert unit.path == f"{commune_a.path}{unit.pk}/"
    assert unit.depth == commune_a.depth + 1
    assert AuditEntry.objects.filter(action="organisation.created", object_id=str(unit.pk)).exists()


def test_admin_of_one_commune_cannot_touch_another(commune_admin, commune_b):
    with pytest.raises(PermissionDenied):
        svc.create_organisation(
            actor=commune_admin, parent=commune_b, name="Phòng X", kind=OrganisationKind.UNIT
        )
    assert not Organisation.objects.filter(name="Phòng X").exists()


def test_bad_org_code_is_refused_and_nothing_saved(province_admin, province):
    with pytest.raises(ValidationFailed) as exc:
        svc.create_organisation(
            actor=province_admin,
            parent=province,
            name="Sở Tư pháp",
            kind=OrganisationKind.DEPARTMENT,
            org_code="H39-SO-TU-PHAP",
        )
    assert "000.00.00.H41" in exc.value.message
    assert not Organisation.objects.filter(name="Sở Tư pháp").exists()
    assert not AuditEntry.objects.filter(action="organisation.created").exists()


def test_specialist_cannot_create(responsible, unit_a):
    with pytest.raises(PermissionDenied):
        svc.create_organisation(actor=responsible, parent=unit_a, name="X", kind="unit")


def test_merge_moves_people_units_and_keeps_history(
    province_admin, province, commune_a, commune_b, unit_a, responsible, other_commune_official
):
    new = svc.create_organisation(
        actor=province_admin,
        parent=province,
        name="UBND xã Đơn Dương (mới)",
        kind=OrganisationKind.COMMUNE_COMMITTEE,
    )
    on = timezone.localdate() + dt.timedelta(days=1)
    summary = svc.merge_organisations(
        actor=province_admin,
        sources=[commune_a, commune_b],
        target=new,
        on_date=on,
        reason="Nghị quyết 1671/NQ-UBTVQH15 sắp xếp đơn vị hành chính cấp xã",
    )
    commune_a.refresh_from_db()
    commune_b.refresh_from_db()
    unit_a.refresh_from_db()
    assert not commune_a.is_active and commune_a.merged_into == new and commune_a.dissolved_on == on
    assert not commune_b.is_active and commune_b.merged_into == new
    # The commune's unit moved under the new commune with its people.
    assert unit_a.parent == new and unit_a.path.startswith(new.path)
    assert responsible.positions.get().organisation == unit_a
    # People directly in commune B got a position in the new commune; the old one ended.
    old = Position.objects.get(user=other_commune_official, organisation=commune_b)
    assert old.end_date == on - dt.timedelta(days=1)
    current = Position.objects.active(on).get(user=other_commune_official)
    assert current.organisation == new and current.role == Role.SPECIALIST
    assert summary["sources"][commune_b.pk]["positions"] == 1
    assert AuditEntry.objects.filter(action="organisation.merged").count() == 2


def test_merge_into_own_subunit_is_refused(province_admin, commune_a, unit_a):
    with pytest.raises(ValidationFailed) as exc:
        svc.merge_organisations(
            actor=province_admin, sources=[commune_a], target=unit_a, reason="thử"
        )
    assert exc.value.code == "merge_into_self"
    commune_a.refresh_from_db()
    assert commune_a.is_active


def test_merge_needs_a_reason_and_permission(commune_admin, province_admin, commune_a, commune_b):
    with pytest.raises(ValidationFailed):
        svc.merge_organisations(
            actor=province_admin, sources=[commune_a], target=commune_b, reason="  "
        )
    with pytest.raises(PermissionDenied):
        svc.merge_organisations(
            actor=commune_admin, sources=[commune_a], target=commune_b, reason="Nghị quyết"
        )


def test_three_level_model_with_districts_is_just_data(province_admin, province):
    district = svc.create_organisation(
        actor=province_admin,
        parent=province,
        name="UBND huyện Đơn Dương",
        kind=OrganisationKind.DISTRICT_COMMITTEE,
    )
    commune = svc.create_organisation(
        actor=province_admin,
        parent=district,
        name="UBND thị trấn Thạnh Mỹ",
        kind=OrganisationKind.COMMUNE_COMMITTEE,
    )
    unit = svc.create_organisation(
        actor=province_admin,
        parent=commune,
        name="Bộ phận một cửa",
        kind=OrganisationKind.UNIT,
    )
    assert unit.depth == 3
    clerk = make_official("vanthu.huyen", district, Role.CLERK)
    assert unit.is_within(district) and not district.is_within(unit)
    assert clerk.positions.get().organisation.depth == 1


def test_move_rewrites_the_subtree(province_admin, province, commune_a, commune_b, unit_a):
    svc.move_organisation(actor=province_admin, organisation=unit_a, new_parent=commune_b)
    unit_a.refresh_from_db()
    assert unit_a.path == f"{commune_b.path}{unit_a.pk}/"
    with pytest.raises(ValidationFailed):
        svc.move_organisation(actor=province_admin, organisation=commune_b, new_parent=unit_a)
