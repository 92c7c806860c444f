"""Digitisation on the intake page (issue #3): when the applicant's id number matches earlier
dossiers the desk may see, their scans of the same documents are offered (htmx) for reuse; the
new dossier records the reused components and its page marks them. Also: the scans and results
on the dossier page link to the file download, which follows the core file rule."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chinhquyenso.core.services import files as file_service
from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.models import Dossier
from tests.conftest import sign_in
from tests.dossiers.conftest import CITIZEN_ID, pdf_bytes, receive
from tests.dossiers.test_pages_intake import form_data, intake_url

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def earlier(clock, birth, desk_officer, desk_unit_a, scan):
    """The applicant's earlier birth registration with a scanned Giấy chứng sinh."""
    return receive(
        desk_officer,
        desk_unit_a,
        birth.procedure,
        documents=[{"index": 0, "provided": True}, {"index": 1, "file_id": scan.pk}],
    )


def earlier_scan(d: Dossier):
    return d.documents.get(name="Giấy chứng sinh")


def candidates(client, procedure, id_number):
    data = {"id_number": id_number, "tim_giay_to_tai_su_dung": "1"}
    return client.post(intake_url(procedure), data, **HX)


def test_typing_the_id_number_offers_the_earlier_scans(client, earlier, birth, desk_officer):
    sign_in(client, desk_officer)
    html = client.get(intake_url(birth.procedure)).content.decode()
    assert 'hx-target="#tai-su-dung"' in html  # the id number field asks for candidates
    # … by POST: the applicant's number never goes into a URL (access and proxy logs).
    assert 'hx-post="' in html and "hx-get" not in html
    response = candidates(client, birth.procedure, CITIZEN_ID)
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<html" not in fragment
    assert f'name="reuse_1" value="{earlier_scan(earlier).pk}"' in fragment
    assert earlier.code in fragment and "Giấy chứng sinh" in fragment
    assert "reuse_0" not in fragment  # no scan of the declaration to reuse
    stranger = candidates(client, birth.procedure, "001090009999").content.decode()
    assert 'name="reuse_' not in stranger


def test_the_desk_of_another_commune_is_offered_nothing(
    client, earlier, birth, birth_b, commune_b, desk_officer_b
):
    birth.procedure.organisations.add(commune_b)
    sign_in(client, desk_officer_b)
    response = candidates(client, birth.procedure, CITIZEN_ID)
    assert response.status_code == 200
    assert 'name="reuse_' not in response.content.decode()


def test_a_reused_scan_is_recorded_and_marked_on_the_dossier_page(
    client, earlier, birth, desk_officer
):
    sign_in(client, desk_officer)
    reused = earlier_scan(earlier)
    data = form_data(reuse_1=str(reused.pk))
    del data["doc_1"]
    response = client.post(intake_url(birth.procedure), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    dossier = Dossier.objects.exclude(pk=earlier.pk).get()
    doc = dossier.documents.get(name="Giấy chứng sinh")
    assert doc.reused_from == reused and doc.file_id == reused.file_id and doc.provided
    html = client.get(response["Location"]).content.decode()
    assert f"Tái sử dụng từ hồ sơ {earlier.code}" in html
    assert reverse("core:file_download", args=[reused.file_id]) in html


def test_a_scan_not_offered_cannot_be_reused(client, earlier, birth, desk_officer, desk_unit_a):
    other = receive(
        desk_officer,
        desk_unit_a,
        birth.procedure,
        applicant={"kind": "citizen", "name": "Phan Văn Khải", "id_number": "068090005678"},
        documents=[
            {"index": 0, "provided": True},
            {"index": 1, "file_id": earlier_scan(earlier).file_id},
        ],
    )
    sign_in(client, desk_officer)
    data = form_data(reuse_1=str(earlier_scan(other).pk))
    response = client.post(intake_url(birth.procedure), data)
    assert response.status_code == 400
    assert Dossier.objects.count() == 2


# --- File links ---------------------------------------------------------------------------


def download(client, stored):
    return client.get(reverse("core:file_download", args=[stored.pk]))


def test_the_receiving_desk_downloads_the_scan_and_another_commune_does_not(
    client, earlier, scan, desk_officer, commune_leader, other_commune_official
):
    sign_in(client, desk_officer)
    html = client.get(reverse("dossiers:detail", args=[earlier.code])).content.decode()
    assert f'href="{reverse("core:file_download", args=[scan.pk])}"' in html
    assert download(client, scan).status_code == 200
    sign_in(client, commune_leader)
    assert download(client, scan).status_code == 200
    sign_in(client, other_commune_official)
    assert download(client, scan).status_code == 404


def test_the_result_file_is_linked(client, received, desk_officer, responsible):
    result = file_service.store_file(
        actor=responsible, uploaded=pdf_bytes("kết quả"), purpose="scan", name="trich-luc.pdf"
    )
    d = received
    services.forward(actor=desk_officer, dossier=d)
    services.claim(actor=responsible, dossier=d)
    services.forward(actor=responsible, dossier=d)
    d.refresh_from_db()
    sign_in(client, desk_officer)
    html = client.get(reverse("dossiers:detail", args=[d.code])).content.decode()
    assert "tep-ket-qua" not in html
    d.result_file = result  # test-only shortcut: the page only reads the field
    Dossier.objects.filter(pk=d.pk).update(result_file=result)
    html = client.get(reverse("dossiers:detail", args=[d.code])).content.decode()
    assert f'href="{reverse("core:file_download", args=[result.pk])}"' in html


def test_the_specialist_handling_the_dossier_downloads_its_scan(
    client, earlier, scan, desk_officer, responsible
):
    services.forward(actor=desk_officer, dossier=earlier)
    services.claim(actor=responsible, dossier=earlier)
    sign_in(client, responsible)
    assert download(client, scan).status_code == 200


def test_an_official_of_another_commune_still_cannot_download_the_scan(
    client, earlier, scan, other_commune_official
):
    sign_in(client, other_commune_official)
    assert download(client, scan).status_code == 404
