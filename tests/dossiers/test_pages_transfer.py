"""Inter-agency transfer (liên thông) and assignment through the dossier page (issue #3): the
commune's specialist sends the dossier to Sở Tư pháp with the transfer form, the department's
officials see and resolve the child, both sides show each other's progress, and the parent
continues at its next step. Assignment by the unit head to an eligible official."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chinhquyenso.core.models import Role
from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.models import Dossier, Status
from tests.conftest import make_official, sign_in
from tests.dossiers.conftest import receive
from tests.dossiers.test_pages_dossier import detail, post


@pytest.fixture
def at_appraisal(clock, transfer_world, desk_officer, desk_unit_a, responsible):
    """The liên thông dossier at Xã A's appraisal step, claimed by the specialist."""
    d = receive(desk_officer, desk_unit_a, transfer_world.procedure)
    services.forward(actor=desk_officer, dossier=d)
    services.claim(actor=responsible, dossier=d)
    d.refresh_from_db()
    return d


def actions(client, d) -> set[str]:
    return {a["name"] for a in client.get(detail(d)).context["actions"]}


def test_the_specialist_is_offered_the_transfer_to_the_department(
    client, at_appraisal, responsible, department
):
    sign_in(client, responsible)
    response = client.get(detail(at_appraisal))
    names = {a["name"] for a in response.context["actions"]}
    assert "transfer" in names
    form = next(a["form"] for a in response.context["actions"] if a["name"] == "transfer")
    assert [label for _, label in form.fields["to_organisation"].choices] == ["Sở Tư pháp"]
    # The transfer step is entered through the transfer form, not the forward list.
    assert "forward" not in names


def test_transfer_and_back_through_the_pages(
    client,
    clock,
    at_appraisal,
    responsible,
    department,
    department_desk,
    department_specialist,
    other_commune_official,
):
    parent = at_appraisal
    sign_in(client, responsible)
    response = post(client, parent, "transfer", to_organisation=department.pk, comment="Xin ý kiến")
    assert response.status_code == 302
    parent.refresh_from_db()
    child = Dossier.objects.get(parent=parent)
    assert parent.current_step.name == "Chuyển Sở Tư pháp"
    assert child.handling_organisation == department

    # The parent's page shows the child's code, status and current step with a link.
    html = client.get(detail(parent)).content.decode()
    assert f'href="{detail(child)}"' in html
    assert "Tiếp nhận hồ sơ liên thông" in html and "Sở Tư pháp" in html
    assert actions(client, parent) - {"issue_apology", "stop"} == set()  # waits for the child

    # The department's desk receives the child and hands it to the appraisal.
    sign_in(client, department_desk)
    html = client.get(detail(child)).content.decode()
    assert f'href="{detail(parent)}"' in html  # the child shows its parent
    assert client.get(detail(parent)).status_code == 200  # both sides see the progress
    assert "forward" in actions(client, child)
    assert post(client, child, "forward", to_step=2).status_code == 302

    sign_in(client, department_specialist)
    assert client.get(reverse("dossiers:queue")).status_code == 200
    assert client.get(detail(child)).status_code == 200
    assert post(client, child, "claim").status_code == 302
    assert post(client, child, "return_to_desk", comment="Đồng ý").status_code == 302

    # The child is handed back; the parent continues at its next step.
    child.refresh_from_db()
    parent.refresh_from_db()
    assert child.status == Status.RETURNED
    assert parent.status == Status.PROCESSING
    assert parent.current_step.name == "Hoàn thiện kết quả"
    sign_in(client, responsible)
    html = client.get(detail(parent)).content.decode()
    assert "10. Đã trả kết quả" in html
    assert "claim" in actions(client, parent)

    # Another commune's official sees neither side.
    sign_in(client, other_commune_official)
    assert client.get(detail(parent)).status_code == 404
    assert client.get(detail(child)).status_code == 404


def test_an_unknown_organisation_is_refused(client, at_appraisal, responsible, commune_b):
    sign_in(client, responsible)
    response = post(client, at_appraisal, "transfer", to_organisation=commune_b.pk)
    assert response.status_code == 400
    assert not Dossier.objects.filter(parent=at_appraisal).exists()


# --- Assign -------------------------------------------------------------------------------


@pytest.fixture
def at_review(received, desk_officer):
    services.forward(actor=desk_officer, dossier=received)
    received.refresh_from_db()
    return received


def test_the_unit_head_assigns_the_step_to_a_named_official(
    client, at_review, unit_head, responsible, colleague, desk_officer
):
    sign_in(client, unit_head)
    response = client.get(detail(at_review))
    form = next(a["form"] for a in response.context["actions"] if a["name"] == "assign")
    names = {label for _, label in form.fields["handler"].choices}
    assert names == {"Nguyễn Văn An", "Trần Thị Bình"}  # specialists of the step's unit only
    assert post(client, at_review, "assign", handler=colleague.pk, comment="Giao chị Bình")
    at_review.refresh_from_db()
    assert at_review.current_handler == colleague

    # Somebody not eligible (the desk officer) is not a choice.
    response = post(client, at_review, "assign", handler=desk_officer.pk)
    assert response.status_code == 400
    at_review.refresh_from_db()
    assert at_review.current_handler == colleague


def test_a_specialist_may_not_assign(client, at_review, responsible, colleague):
    sign_in(client, responsible)
    assert "assign" not in actions(client, at_review)
    response = post(client, at_review, "assign", handler=colleague.pk)
    assert response.status_code == 403
    at_review.refresh_from_db()
    assert at_review.current_handler is None


def test_the_other_communes_head_sees_nothing(client, at_review, commune_b, colleague):
    head_b = make_official("truongphong.b", commune_b, Role.UNIT_HEAD, full_name="Đinh Văn Hải")
    sign_in(client, head_b)
    assert client.get(detail(at_review)).status_code == 404
    assert post(client, at_review, "assign", handler=colleague.pk).status_code == 404
