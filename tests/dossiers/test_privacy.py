"""The applicant's personal data (number, phone, e-mail, address, scans, result, the printed
forms) only for those whose task needs it, the same on the page, the lists, the API, the files
and the forms (dossiers/privacy.py). The colleague persona (a specialist of the same unit while
the dossier is assigned to the responsible official) may see the dossier, not the person."""

from __future__ import annotations

import pytest

from chinhquyenso.core.models import AuditEntry
from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.public import mask_name
from tests.conftest import sign_in
from tests.dossiers.conftest import CITIZEN_ID, applicant, receive

pytestmark = pytest.mark.django_db

NAME = applicant()["name"]
PERSONAL = ("applicant_id_number", "applicant_phone", "applicant_email", "applicant_address")


@pytest.fixture
def assigned(clock, birth, desk_officer, desk_unit_a, responsible, scan):
    """A birth registration with a scanned birth certificate, at step 2, assigned to the
    responsible official."""
    d = receive(
        desk_officer,
        desk_unit_a,
        birth.procedure,
        documents=[{"index": 0, "provided": True}, {"index": 1, "file_id": scan.pk}],
    )
    d = services.forward(actor=desk_officer, dossier=d)
    return services.claim(actor=responsible, dossier=d)


def api_detail(client, user, code):
    sign_in(client, user)
    response = client.get(f"/api/v1/dossiers/{code}")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_api_masks_the_applicant_for_a_colleague(client, assigned, colleague):
    data = api_detail(client, colleague, assigned.code)
    assert data["personal_data"] is False
    assert data["applicant_name"] == mask_name(NAME) != NAME
    assert {k: data[k] for k in PERSONAL} == dict.fromkeys(PERSONAL)

    listed = client.get("/api/v1/dossiers").json()["items"]
    assert [(i["code"], i["applicant_name"], i["applicant_id_number"]) for i in listed] == [
        (assigned.code, mask_name(NAME), None)
    ]


@pytest.mark.parametrize("who", ["responsible", "desk_officer", "commune_leader", "unit_head"])
def test_the_api_shows_the_applicant_to_those_who_need_it(client, assigned, who, request):
    data = api_detail(client, request.getfixturevalue(who), assigned.code)
    assert data["personal_data"] is True
    assert (data["applicant_name"], data["applicant_id_number"]) == (NAME, CITIZEN_ID)
    assert data["applicant_phone"] == "0912345678"


def test_an_official_who_handled_a_step_still_sees_the_applicant(
    client, assigned, responsible, unit_head
):
    services.forward(actor=responsible, dossier=assigned)  # on to the unit head's step
    data = api_detail(client, responsible, assigned.code)
    assert data["personal_data"] is True and data["applicant_id_number"] == CITIZEN_ID


def test_the_list_page_masks_the_name_for_a_colleague(client, assigned, colleague, responsible):
    sign_in(client, colleague)
    html = client.get("/ho-so/danh-sach/").content.decode()
    assert assigned.code in html
    assert mask_name(NAME) in html and NAME not in html

    sign_in(client, responsible)
    html = client.get("/ho-so/").content.decode()  # the queue: waiting for them
    assert assigned.code in html and NAME in html


def test_scans_and_forms_only_with_the_personal_data(client, assigned, colleague, scan):
    sign_in(client, colleague)
    page = client.get(f"/ho-so/{assigned.code}/").content.decode()
    assert f"/tep/{scan.pk}/" not in page and "/mau/receipt.pdf" not in page
    assert client.get(f"/tep/{scan.pk}/").status_code == 404
    assert client.get(f"/ho-so/{assigned.code}/mau/receipt.pdf").status_code == 403


def test_those_who_need_them_open_the_scans_and_print_the_forms(
    client, assigned, responsible, scan
):
    sign_in(client, responsible)
    page = client.get(f"/ho-so/{assigned.code}/").content.decode()
    assert f"/tep/{scan.pk}/" in page and "/mau/receipt.pdf" in page
    assert client.get(f"/tep/{scan.pk}/").status_code == 200
    response = client.get(f"/ho-so/{assigned.code}/mau/receipt.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


@pytest.mark.parametrize("purpose", ["refusal", "stop", "apology"])
def test_a_form_that_does_not_apply_now_is_not_issued(client, assigned, desk_officer, purpose):
    """A refusal notice for a dossier still being processed would tell the citizen something
    false; issuing it would also seal it and write an audit entry."""
    sign_in(client, desk_officer)
    entries = AuditEntry.objects.count()
    response = client.get(f"/ho-so/{assigned.code}/mau/{purpose}.pdf")
    assert response.status_code == 400
    assert "không áp dụng cho hồ sơ ở tình trạng hiện nay" in response.content.decode()
    assert AuditEntry.objects.count() == entries
