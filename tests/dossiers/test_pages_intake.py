"""The desk intake page (issue #3): personas, the procedure search, a received dossier, and
the service's refusals shown next to the form with nothing saved."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from chinhquyenso.core.models import StoredFile
from chinhquyenso.core.services import files as file_service
from chinhquyenso.dossiers.models import Dossier, DossierDocument
from tests.conftest import sign_in
from tests.core.test_files import make_png
from tests.dossiers.conftest import CITIZEN_ID, pdf_bytes

URL = reverse("dossiers:intake")


def form_data(**overrides):
    data = {
        "kind": "citizen",
        "id_number": CITIZEN_ID,
        "name": "Đặng Thị Hoa",
        "phone": "0912345678",
        "email": "hoa@example.vn",
        "address": "Thôn Lạc Thạnh, xã Đơn Dương",
        "channel": "1",
        "result_delivery": "post",
        "doc_0": "on",
        "doc_1": "on",
    }
    data.update(overrides)
    return data


def intake_url(procedure):
    return f"{URL}?thu_tuc={procedure.national_code}"


def test_anonymous_goes_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/dang-nhap/" in response["Location"]


@pytest.mark.parametrize("persona", ["citizen", "responsible", "other_commune_official"])
def test_people_who_do_not_receive_are_refused(client, request, persona):
    sign_in(client, request.getfixturevalue(persona))
    assert client.get(URL).status_code == 403


def test_desk_officer_searches_the_procedures_of_her_commune(client, clock, birth, desk_officer):
    sign_in(client, desk_officer)
    page = client.get(URL)
    assert page.status_code == 200
    assert "1.001193" in page.content.decode()
    fragment = client.get(reverse("dossiers:procedure_search"), {"q": "khai sinh"})
    assert fragment.status_code == 200
    assert "Thủ tục đăng ký khai sinh" in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    assert (
        "1.001193"
        not in client.get(reverse("dossiers:procedure_search"), {"q": "đất đai"}).content.decode()
    )


def test_the_form_shows_checklist_state_data_and_fees(client, clock, birth, desk_officer):
    sign_in(client, desk_officer)
    html = client.get(intake_url(birth.procedure)).content.decode()
    assert "Tờ khai đăng ký khai sinh" in html
    assert "Không yêu cầu nộp — đã có dữ liệu" in html
    assert 'name="doc_2"' not in html  # the state holds it: not asked
    assert "Lệ phí đăng ký khai sinh" in html and "Miễn phí" in html


def test_desk_officer_receives_a_dossier_with_a_scan(client, clock, birth, desk_officer):
    sign_in(client, desk_officer)
    data = form_data(scan_1=SimpleUploadedFile("chung-sinh.pdf", pdf_bytes(), "application/pdf"))
    response = client.post(intake_url(birth.procedure), data)
    dossier = Dossier.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dossiers:detail", args=[dossier.code])
    assert dossier.applicant_id_number == CITIZEN_ID
    assert dossier.result_delivery == "post"
    scanned = DossierDocument.objects.get(dossier=dossier, name="Giấy chứng sinh")
    assert scanned.file is not None
    page = client.get(response["Location"]).content.decode()
    assert "In giấy tiếp nhận (Mẫu 01)" in page
    assert f"Đã tiếp nhận hồ sơ {dossier.code}" in page
    due = timezone.localtime(dossier.due_at).strftime("%d/%m/%Y %H:%M")  # as the pages write it
    assert f"Hẹn trả kết quả: {due}." in page


def test_invalid_personal_id_is_shown_and_nothing_is_saved(client, clock, birth, desk_officer):
    sign_in(client, desk_officer)
    data = form_data(
        id_number="12345",
        scan_1=SimpleUploadedFile("chung-sinh.pdf", pdf_bytes(), "application/pdf"),
    )
    response = client.post(intake_url(birth.procedure), data)
    assert response.status_code == 400
    assert "Số định danh cá nhân phải gồm đúng 12 chữ số." in response.content.decode()
    assert not Dossier.objects.exists()
    assert not StoredFile.objects.exists()


def test_missing_required_document_is_named(client, clock, birth, desk_officer):
    sign_in(client, desk_officer)
    data = form_data()
    del data["doc_1"]
    response = client.post(intake_url(birth.procedure), data)
    assert response.status_code == 400
    assert "Thiếu thành phần hồ sơ bắt buộc: “Giấy chứng sinh”." in response.content.decode()
    assert not Dossier.objects.exists()


def test_unknown_procedure_is_a_vietnamese_404(client, clock, birth, desk_officer):
    sign_in(client, desk_officer)
    response = client.get(f"{URL}?thu_tuc=9.999999")
    assert response.status_code == 404
    assert "Không tìm thấy thủ tục" in response.content.decode()


# --- What a refusal leaves in storage (nothing), and a file named for another type -----------


def stored_paths(tmp_path) -> list:
    """The bytes in the file storage (tmp_path/files in these tests, `_fast_and_isolated`)."""
    location = tmp_path / "files"
    return sorted(p for p in location.rglob("*") if p.is_file()) if location.exists() else []


def test_a_refused_intake_leaves_no_scan_in_storage(client, clock, birth, desk_officer, tmp_path):
    """The service refuses after the page stored the scan: the applicant's scan goes too."""
    sign_in(client, desk_officer)
    data = form_data(
        id_number="12345",
        scan_1=SimpleUploadedFile("chung-sinh.pdf", pdf_bytes("bị từ chối"), "application/pdf"),
    )
    assert client.post(intake_url(birth.procedure), data).status_code == 400
    assert not StoredFile.objects.exists()
    assert stored_paths(tmp_path) == []


def test_a_received_scan_stays_in_storage(client, clock, birth, desk_officer, tmp_path):
    sign_in(client, desk_officer)
    data = form_data(scan_1=SimpleUploadedFile("chung-sinh.pdf", pdf_bytes(), "application/pdf"))
    assert client.post(intake_url(birth.procedure), data).status_code == 302
    stored = StoredFile.objects.get()
    assert stored_paths(tmp_path) == [tmp_path / "files" / stored.storage_name]
    assert (tmp_path / "files" / stored.storage_name).read_bytes() == pdf_bytes()


def test_a_refusal_keeps_the_bytes_of_a_scan_stored_before(
    client, clock, birth, desk_officer, scan, tmp_path
):
    """The same scan already belongs to another stored file: a refused intake never removes
    it (content-addressed storage: one copy for both)."""
    sign_in(client, desk_officer)
    data = form_data(
        id_number="12345",
        scan_1=SimpleUploadedFile("chung-sinh.pdf", pdf_bytes(), "application/pdf"),
    )
    assert client.post(intake_url(birth.procedure), data).status_code == 400
    assert list(StoredFile.objects.all()) == [scan]
    assert stored_paths(tmp_path) == [tmp_path / "files" / scan.storage_name]
    assert file_service.read_verified(actor=desk_officer, stored_file=scan) == pdf_bytes()


def test_a_png_named_pdf_is_refused_with_what_it_is(client, clock, birth, desk_officer, tmp_path):
    sign_in(client, desk_officer)
    data = form_data(scan_1=SimpleUploadedFile("chung-sinh.pdf", make_png(), "application/pdf"))
    response = client.post(intake_url(birth.procedure), data)
    assert response.status_code == 400
    assert (
        "Tệp “chung-sinh.pdf” có nội dung là ảnh PNG, không phải PDF. Vui lòng chọn đúng tệp."
        in response.content.decode()
    )
    assert not Dossier.objects.exists()
    assert not StoredFile.objects.exists()
    assert stored_paths(tmp_path) == []


def test_the_form_posted_twice_receives_one_dossier(client, clock, birth, desk_officer):
    """A double click or the browser's "resend": the form's one-time key makes the second post
    open the dossier the first one received."""
    import re

    sign_in(client, desk_officer)
    page = client.get(intake_url(birth.procedure)).content.decode()
    key = re.search(r'name="intake_key" value="([0-9a-f]{32})"', page).group(1)
    data = form_data(intake_key=key, scan_1=SimpleUploadedFile("cs.pdf", pdf_bytes("lần 1")))
    first = client.post(intake_url(birth.procedure), data)
    assert first.status_code == 302
    d = Dossier.objects.get()
    again = client.post(
        intake_url(birth.procedure),
        form_data(intake_key=key, scan_1=SimpleUploadedFile("cs.pdf", pdf_bytes("lần 2"))),
        follow=True,
    )
    assert again.redirect_chain[0][0] == reverse("dossiers:detail", args=[d.code])
    assert f"Hồ sơ này đã được tiếp nhận với mã {d.code}" in again.content.decode()
    assert Dossier.objects.count() == 1
    assert StoredFile.objects.count() == 1  # the second post's scan is not kept
    # A new form (a new key) is a new intake.
    other = client.get(intake_url(birth.procedure)).content.decode()
    assert re.search(r'name="intake_key" value="([0-9a-f]{32})"', other).group(1) != key
