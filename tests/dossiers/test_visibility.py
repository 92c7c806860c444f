"""Who may open an inter-agency (liên thông) dossier: whoever sees one of its parts sees the
parent's progress too (read only), and nobody outside either side sees anything (issue #3)."""

from __future__ import annotations

import pytest

from chinhquyenso.core.errors import NotFound
from chinhquyenso.core.models import Role
from chinhquyenso.core.models.organisations import OrganisationKind
from chinhquyenso.core.permissions import forget_positions
from chinhquyenso.dossiers import queries, services
from chinhquyenso.dossiers.models import Dossier, Status
from tests.conftest import make_official, make_org, sign_in
from tests.dossiers.conftest import receive
from tests.dossiers.test_pages_dossier import detail

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_department(clock, transfer_world, desk_officer, desk_unit_a, responsible, department_desk):
    """The commune's dossier transferred to Sở Tư pháp; the part waits at the department's
    appraisal unit (Phòng Hành chính tư pháp), not yet claimed."""
    parent = receive(desk_officer, desk_unit_a, transfer_world.procedure)
    parent = services.forward(actor=desk_officer, dossier=parent)
    parent = services.forward(actor=responsible, dossier=parent)
    child = Dossier.objects.get(parent=parent)
    child = services.forward(actor=department_desk, dossier=child)
    return parent, child


@pytest.fixture
def other_department_specialist(department):
    """A specialist of another unit of the same department, who never touched the part."""
    unit = make_org("Phòng Bổ trợ tư pháp", OrganisationKind.UNIT, department)
    return make_official("chuyenvien.bttp", unit, Role.SPECIALIST, "Chuyên viên")


def sees(user, d) -> bool:
    forget_positions(user)
    try:
        queries.get_dossier_for(user, d.code)
    except NotFound:
        return False
    return True


def test_the_department_specialist_opens_the_parent_read_only(
    client, at_department, department_specialist
):
    parent, child = at_department
    sign_in(client, department_specialist)
    response = client.get(detail(parent))
    assert response.status_code == 200
    assert child.code in response.content.decode()
    # Read only: nothing on the commune's dossier is offered to the department's specialist.
    assert response.context["actions"] == []
    assert client.get(detail(child)).status_code == 200


def test_the_specialist_still_sees_the_parent_after_handing_the_part_back(
    at_department, department_specialist
):
    parent, child = at_department
    child = services.claim(actor=department_specialist, dossier=child)
    child = services.return_to_desk(actor=department_specialist, dossier=child, comment="Đồng ý")
    child.refresh_from_db()
    assert child.status == Status.RETURNED
    assert sees(department_specialist, child) and sees(department_specialist, parent)


@pytest.mark.parametrize(
    "persona", ["other_commune_official", "desk_officer_b", "other_department_specialist"]
)
def test_outsiders_see_neither_side(client, request, at_department, persona):
    parent, child = at_department
    user = request.getfixturevalue(persona)
    assert not sees(user, parent) and not sees(user, child)
    sign_in(client, user)
    assert client.get(detail(parent)).status_code == 404
    assert client.get(detail(child)).status_code == 404


def test_the_parent_in_the_department_specialists_lists(at_department, department_specialist):
    parent, child = at_department
    forget_positions(department_specialist)
    codes = set(queries.dossiers_visible_to(department_specialist).values_list("code", flat=True))
    assert codes == {parent.code, child.code}
