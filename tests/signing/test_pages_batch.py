"""The bulk-signing page /chu-ky-so/ky-hang-loat/: leaders sign; others may not."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from chinhquyenso.core.models import AuditEntry, Role
from chinhquyenso.signing import certificates, validation
from tests.conftest import make_official, sign_in
from tests.signing.conftest import register_for
from tests.signing.conftest_remote import *  # noqa: F403 (fixtures)
from tests.signing.conftest_remote import REMOTE_USER, holder_answers
from tests.signing.pki import P12_PASSWORD
from tests.signing.samples import make_pdf

URL = "/chu-ky-so/ky-hang-loat/"


@pytest.fixture
def leader(leader, pki):
    """The chairman, his certificate (the test PKI's "leader") registered to him."""
    register_for(leader, pki["leader"].cert_der)
    return leader


@pytest.fixture
def deputy(province):
    return make_official(
        "phochutich", province, Role.LEADER, "Phó Chủ tịch", full_name="Lý Thị Kim"
    )


def _post(client, pki, files, password=P12_PASSWORD):
    return client.post(
        URL,
        {
            "files": [SimpleUploadedFile(n, d, "application/pdf") for n, d in files],
            "level": "B-B",
            "reason": "Phê duyệt",
            "key_kind": "pkcs12",
            "p12_file": SimpleUploadedFile("chutich.p12", pki["leader"].p12_bytes),
            "password": password,
        },
    )


def test_url_name():
    assert reverse("signing:batch") == URL


def test_leader_signs_a_batch_and_downloads_a_zip(client, leader, demo_trusted, pki):
    sign_in(client, leader)
    assert client.get(URL).status_code == 200
    files = [
        ("to-trinh.pdf", make_pdf(1, "To trinh")),
        ("hong.pdf", b"%PDF-1.7\nkhong phai pdf"),
        ("quyet-dinh.pdf", make_pdf(2, "Quyet dinh")),
    ]
    response = _post(client, pki, files)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = sorted(archive.namelist())
    assert names == ["KET-QUA.txt", "quyet-dinh-da-ky.pdf", "to-trinh-da-ky.pdf"]
    summary = archive.read("KET-QUA.txt").decode()
    assert "Đã ký: 2/3 tài liệu" in summary
    assert "hong.pdf" in summary and "pdf_corrupted" in summary
    report = validation.validate_pdf(archive.read("to-trinh-da-ky.pdf"))
    assert report["signatures"][0]["signer"]["name"] == "Võ Minh Giang"
    assert AuditEntry.objects.filter(action="signature.applied", actor=leader).count() == 2
    assert P12_PASSWORD not in str(list(AuditEntry.objects.values_list("data", flat=True)))


def test_wrong_password_signs_nothing(client, leader, demo_trusted, pki):
    sign_in(client, leader)
    response = _post(client, pki, [("a.pdf", make_pdf(1))], password="sai-mat-khau")
    assert response.status_code == 400
    text = response.content.decode()
    assert "sai mật khẩu" in text
    assert "sai-mat-khau" not in text
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


@pytest.mark.parametrize("persona", ["citizen", "responsible", "other_commune_official"])
def test_others_are_forbidden(client, request, persona, demo_trusted, pki):
    sign_in(client, request.getfixturevalue(persona))
    assert client.get(URL).status_code == 403
    assert _post(client, pki, [("a.pdf", make_pdf(1))]).status_code == 403
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


def test_a_colleagues_pkcs12_file_is_refused(client, leader, deputy, demo_trusted, pki):
    """The deputy uploads the chairman's PKCS#12 file (registered to the chairman)."""
    sign_in(client, deputy)
    response = _post(client, pki, [("a.pdf", make_pdf(1)), ("b.pdf", make_pdf(1))])
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "đã được đăng ký cho người khác" in response.content.decode()
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


def test_an_unregistered_certificate_is_refused_with_a_hint(client, deputy, demo_trusted, pki):
    sign_in(client, deputy)
    response = _post(client, pki, [("a.pdf", make_pdf(1))])
    assert response.status_code == 400
    assert (
        "Chứng thư số này chưa được đăng ký cho tài khoản của bạn. "
        "Hãy đăng ký tại mục Chứng thư số." in response.content.decode()
    )
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


def test_a_deactivated_certificate_is_refused(client, deputy, demo_trusted, pki):
    row = register_for(deputy, pki["leader"].cert_der)
    certificates.deactivate_certificate(actor=deputy, certificate_id=row.pk)
    sign_in(client, deputy)
    response = _post(client, pki, [("a.pdf", make_pdf(1))])
    assert response.status_code == 400
    assert "đã ngừng dùng" in response.content.decode()
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert "next=" in response["Location"]


# --- API: POST /api/v1/signatures/batch --------------------------------------------------------

API = "/api/v1/signatures/batch"


def _api_body(pki, files, password=P12_PASSWORD):
    return {
        "files": [SimpleUploadedFile(n, d, "application/pdf") for n, d in files],
        "key_kind": "pkcs12",
        "level": "B-B",
        "p12_file": SimpleUploadedFile("chutich.p12", pki["leader"].p12_bytes),
        "password": password,
    }


def test_api_leader_signs_a_batch(client, leader, demo_trusted, pki):
    import base64

    sign_in(client, leader)
    files = [("a.pdf", make_pdf(1)), ("b.pdf", b"%PDF-1.7 hong")]
    response = client.post(API, _api_body(pki, files))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["signed"], body["failed"]) == (1, 1)
    first, second = body["documents"]
    signed = base64.b64decode(first["pdf_base64"])
    assert validation.validate_pdf(signed)["signatures"][0]["signer"]["name"] == "Võ Minh Giang"
    assert second["code"] == "pdf_corrupted" and not second["pdf_base64"]


def test_api_wrong_password_is_a_coded_error(client, leader, demo_trusted, pki):
    sign_in(client, leader)
    response = client.post(API, _api_body(pki, [("a.pdf", make_pdf(1))], password="sai"))
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_password"
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


def test_api_refuses_a_colleagues_certificate(client, leader, deputy, demo_trusted, pki):
    sign_in(client, deputy)
    response = client.post(API, _api_body(pki, [("a.pdf", make_pdf(1))]))
    assert response.status_code == 403
    assert response.json()["code"] == "certificate_of_another_person"
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


def test_api_refuses_an_unregistered_certificate(client, deputy, demo_trusted, pki):
    sign_in(client, deputy)
    response = client.post(API, _api_body(pki, [("a.pdf", make_pdf(1))]))
    assert response.status_code == 400
    assert response.json()["code"] == "certificate_not_registered"
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


def test_api_refuses_citizens_specialists_and_api_keys(
    client, citizen, responsible, commune_a, commune_admin, demo_trusted, pki
):
    from chinhquyenso.core.services import apikeys

    for person in (citizen, responsible):
        sign_in(client, person)
        response = client.post(API, _api_body(pki, [("a.pdf", make_pdf(1))]))
        assert response.status_code == 403
        client.logout()
    _, key = apikeys.create_api_key(
        actor=commune_admin, organisation=commune_a, name="hệ thống", scopes=["files:read"]
    )
    response = client.post(API, _api_body(pki, [("a.pdf", make_pdf(1))]), HTTP_X_API_KEY=key)
    assert response.status_code == 403
    assert response.json()["code"] == "person_required"
    assert client.post(API, _api_body(pki, [("a.pdf", make_pdf(1))])).status_code == 401
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


def test_leader_signs_with_a_remote_key_confirmed_once(
    client, leader, demo_trusted, settings, remote_simulator, remote_service
):
    settings.SIGNING_REMOTE_URL = remote_service.url
    settings.SIGNING_REMOTE_TOKEN = remote_service.token
    sign_in(client, leader)
    phone = holder_answers(remote_simulator, approve=True)
    response = client.post(
        URL,
        {
            "files": [
                SimpleUploadedFile(f"cv-{i}.pdf", make_pdf(1, f"Cong van {i}"), "application/pdf")
                for i in range(3)
            ],
            "level": "B-B",
            "key_kind": "remote",
            "remote_user": REMOTE_USER,
            "pin": P12_PASSWORD,
        },
    )
    phone.join()
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert len([n for n in names if n.endswith("-da-ky.pdf")]) == 3
    assert len(remote_simulator.requests) == 1  # one confirmation for the whole batch
    assert remote_simulator.signed_count == 3


def test_remote_refused_signs_nothing(
    client, leader, demo_trusted, settings, remote_simulator, remote_service
):
    settings.SIGNING_REMOTE_URL = remote_service.url
    settings.SIGNING_REMOTE_TOKEN = remote_service.token
    sign_in(client, leader)
    phone = holder_answers(remote_simulator, approve=False)
    response = client.post(
        URL,
        {
            "files": [SimpleUploadedFile("a.pdf", make_pdf(1), "application/pdf")],
            "level": "B-B",
            "key_kind": "remote",
            "remote_user": REMOTE_USER,
            "pin": P12_PASSWORD,
        },
    )
    phone.join()
    assert response.status_code == 400
    assert "từ chối" in response.content.decode()
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()
