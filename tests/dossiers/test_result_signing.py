"""The leader who approves signs the dossier's result with their own key (issue #4): the signed
PDF becomes the result file, the unsigned one stays in the history, the desk sees "Đã ký số"
and the applicant downloads the signed result. Real PDFs, real certificates (tests/signing/pki)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from chinhquyenso.core.errors import PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry, Role
from chinhquyenso.core.services import files as file_service
from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.models import Dossier, Status
from chinhquyenso.signing import certificates
from chinhquyenso.signing import services as signing_services
from chinhquyenso.signing.keys import Pkcs12Key, SigningKeyError
from chinhquyenso.signing.models import TrustKind
from chinhquyenso.signing.validation import validate_pdf
from tests.conftest import make_official, sign_in
from tests.dossiers.test_signed_forms import write_seal
from tests.signing import pki as pki_module
from tests.signing.conftest import register_for
from tests.signing.pki import P12_PASSWORD
from tests.signing.samples import make_pdf


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return pki_module.build(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def signing_setup(db, settings, tmp_path, pki):
    """The test root trusted; a local TSA and the CRLs, so signatures are B-LT."""
    signing_services.add_trusted_certificate(
        actor=None, data=pki["root"].cert_path.read_bytes(), kind=TrustKind.ANCHOR, note="TEST"
    )
    directory = tmp_path / "seals"
    write_seal(
        directory,
        "none",
        pki["organisation"],
        tsa=pki["tsa"],
        crls=(pki.crls["root"], pki.crls["issuing"]),
    )
    settings.SIGNING_SEAL_DIR = str(directory)


@pytest.fixture
def holds_key(resolved, commune_leader, pki):
    """The chairman's certificate (the test PKI's "leader") registered to him: a person signs
    only with a certificate registered to them. After `resolved`, which sets the clock."""
    return register_for(commune_leader, pki["leader"].cert_der)


@pytest.fixture
def other_commune_leader(commune_b):
    return make_official(
        "chutich.b", commune_b, Role.LEADER, "Chủ tịch UBND xã", full_name="Vương Văn Bình"
    )


@pytest.fixture
def resolved(received, desk_officer, responsible, unit_head, commune_leader):
    """Approved by the chairman, who sends the (unsigned) result PDF back to the desk."""
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.forward(actor=responsible, dossier=d)
    d = services.forward(actor=unit_head, dossier=d)
    result = file_service.store_file(
        actor=commune_leader,
        uploaded=make_pdf(1, title="Trich luc khai sinh"),
        purpose="scan",
        name="trich-luc-khai-sinh.pdf",
    )
    d = services.return_to_desk(actor=commune_leader, dossier=d, result_file=result)
    assert d.status == Status.RESOLVED and d.result_file == result
    return d


def result_bytes(d, actor) -> bytes:
    d.refresh_from_db()
    return file_service.read_verified(actor=actor, stored_file=d.result_file)


def signed_entries(d):
    return AuditEntry.objects.filter(
        action="dossier.result_signed", object_type="dossiers.dossier", object_id=str(d.pk)
    )


@pytest.mark.django_db
def test_the_approving_leader_signs_the_result(
    signing_setup, holds_key, pki, resolved, commune_leader
):
    unsigned = resolved.result_file
    with Pkcs12Key(pki["leader"].p12_bytes, P12_PASSWORD) as key:
        d = services.sign_result(
            actor=commune_leader, dossier=resolved, key=key, expected_revision=resolved.revision
        )
    assert d.result_file != unsigned
    report = validate_pdf(result_bytes(d, commune_leader))
    assert report["signature_count"] == 1
    signature = report["signatures"][0]
    assert signature["verdict"]["indication"] == "passed", signature["verdict"]
    assert signature["signer"]["name"] == "Võ Minh Giang"  # the leader's certificate
    assert signature["field"] == "KetQua"
    # The unsigned result stays in the history; the audit row says who, what hash, which cert.
    event = d.events.get(action="result_signed")
    assert event.actor == commune_leader
    assert event.data["previous_file"] == unsigned.pk
    entry = signed_entries(d).get()
    assert entry.actor == commune_leader
    assert entry.data["sha256"] == d.result_file.sha256
    assert entry.data["certificate_serial"] == format(pki["leader"].cert.serial_number, "x")
    assert entry.data["level"] == "B-LT"
    assert d.status == Status.RESOLVED  # signing changes the file, not the state


@pytest.mark.django_db
def test_a_leader_of_another_commune_may_not_sign(
    signing_setup, holds_key, pki, resolved, other_commune_leader
):
    with (
        Pkcs12Key(pki["leader"].p12_bytes, P12_PASSWORD) as key,
        pytest.raises(PermissionDenied),
    ):
        services.sign_result(actor=other_commune_leader, dossier=resolved, key=key)
    assert not signed_entries(resolved).exists()


def sign_form(pki, revision, password=P12_PASSWORD):
    return {
        "sign_result-expected_revision": revision,
        "sign_result-source": "pkcs12",
        "sign_result-p12": SimpleUploadedFile(
            "lanh-dao.p12", pki["leader"].p12_bytes, "application/x-pkcs12"
        ),
        "sign_result-password": password,
    }


def act_url(d):
    return reverse("dossiers:act", args=[d.code, "sign_result"])


@pytest.mark.django_db
def test_the_leader_signs_from_the_dossier_page_and_the_desk_sees_it(
    client, signing_setup, holds_key, pki, resolved, commune_leader, desk_officer
):
    sign_in(client, commune_leader)
    page = client.get(reverse("dossiers:detail", args=[resolved.code])).content.decode()
    assert "Ký số kết quả" in page
    response = client.post(act_url(resolved), sign_form(pki, resolved.revision))
    assert response.status_code == 302
    client.logout()
    sign_in(client, desk_officer)
    page = client.get(reverse("dossiers:detail", args=[resolved.code])).content.decode()
    assert "Đã ký số" in page
    assert "bởi Bùi Văn Phúc" in page
    # The desk holds the result step, so it may sign too (e.g. a result signed by another
    # leader who is absent from the system); it sees the form.
    assert 'id="thao-tac-sign_result"' in page


@pytest.mark.django_db
def test_a_wrong_password_changes_nothing(client, signing_setup, pki, resolved, commune_leader):
    sign_in(client, commune_leader)
    before = Dossier.objects.get(pk=resolved.pk)
    response = client.post(act_url(resolved), sign_form(pki, resolved.revision, password="sai"))
    assert response.status_code == 400
    assert "sai mật khẩu" in response.content.decode()
    after = Dossier.objects.get(pk=resolved.pk)
    assert (after.result_file_id, after.revision) == (before.result_file_id, before.revision)
    assert not signed_entries(resolved).exists()
    assert not AuditEntry.objects.filter(action="signature.applied").exists()
    with pytest.raises(SigningKeyError):
        Pkcs12Key(pki["leader"].p12_bytes, "sai")


@pytest.mark.django_db
def test_officials_who_may_not_sign_are_refused(
    client, signing_setup, pki, resolved, responsible, other_commune_leader
):
    # The specialist sees the dossier (he handled it) but neither holds the step nor approves.
    sign_in(client, responsible)
    page = client.get(reverse("dossiers:detail", args=[resolved.code])).content.decode()
    assert 'id="thao-tac-sign_result"' not in page
    assert client.post(act_url(resolved), sign_form(pki, resolved.revision)).status_code == 403
    client.logout()
    # Another commune's leader does not even see the dossier.
    sign_in(client, other_commune_leader)
    assert client.post(act_url(resolved), sign_form(pki, resolved.revision)).status_code == 404
    assert Dossier.objects.get(pk=resolved.pk).result_file_id == resolved.result_file_id


@pytest.mark.django_db
def test_the_applicant_downloads_the_signed_result_once_returned_online(
    client, signing_setup, holds_key, pki, resolved, commune_leader, desk_officer, citizen
):
    with Pkcs12Key(pki["leader"].p12_bytes, P12_PASSWORD) as key:
        d = services.sign_result(actor=commune_leader, dossier=resolved, key=key)
    url = reverse("core:file_download", args=[d.result_file_id])
    sign_in(client, citizen)
    assert client.get(url).status_code == 404  # not handed over yet
    services.return_result(
        actor=desk_officer, dossier=d, method="online", recipient_signature_name="Đặng Thị Hoa"
    )
    response = client.get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert validate_pdf(body)["signatures"][0]["verdict"]["indication"] == "passed"


@pytest.mark.django_db
def test_anonymous_and_citizens_cannot_reach_the_signing_action(
    client, signing_setup, pki, resolved, citizen
):
    response = client.post(act_url(resolved), sign_form(pki, resolved.revision))
    assert response.status_code == 302 and "/dang-nhap/" in response["Location"]
    sign_in(client, citizen)
    assert client.post(act_url(resolved), sign_form(pki, resolved.revision)).status_code in (
        403,
        404,
    )
    assert not signed_entries(resolved).exists()


# --- The signer's own certificate only (signing.certificates.require_signer_holds) --------------


def assert_unchanged(before):
    after = Dossier.objects.get(pk=before.pk)
    assert (after.result_file_id, after.revision) == (before.result_file_id, before.revision)
    assert not signed_entries(before).exists()
    assert not AuditEntry.objects.filter(action="signature.applied").exists()


@pytest.mark.django_db
def test_a_colleagues_pkcs12_file_changes_nothing(
    client, signing_setup, pki, resolved, commune_leader, unit_head
):
    """The chairman uploads the PKCS#12 file registered to the head of unit."""
    register_for(unit_head, pki["leader"].cert_der)
    before = Dossier.objects.get(pk=resolved.pk)
    with (
        Pkcs12Key(pki["leader"].p12_bytes, P12_PASSWORD) as key,
        pytest.raises(PermissionDenied) as err,
    ):
        services.sign_result(actor=commune_leader, dossier=resolved, key=key)
    assert err.value.code == "certificate_of_another_person"
    assert_unchanged(before)
    # The same from the dossier page: refused, said so, nothing changed.
    sign_in(client, commune_leader)
    response = client.post(act_url(resolved), sign_form(pki, resolved.revision))
    assert response.status_code == 403
    assert "đã được đăng ký cho người khác" in response.content.decode()
    assert_unchanged(before)


@pytest.mark.django_db
def test_an_unregistered_certificate_is_refused_on_the_page(
    client, signing_setup, pki, resolved, commune_leader
):
    before = Dossier.objects.get(pk=resolved.pk)
    sign_in(client, commune_leader)
    response = client.post(act_url(resolved), sign_form(pki, resolved.revision))
    assert response.status_code == 400
    assert (
        "Chứng thư số này chưa được đăng ký cho tài khoản của bạn. "
        "Hãy đăng ký tại mục Chứng thư số." in response.content.decode()
    )
    assert_unchanged(before)


@pytest.mark.django_db
def test_a_deactivated_certificate_is_refused(
    signing_setup, pki, resolved, commune_leader, holds_key
):
    certificates.deactivate_certificate(actor=commune_leader, certificate_id=holds_key.pk)
    before = Dossier.objects.get(pk=resolved.pk)
    with (
        Pkcs12Key(pki["leader"].p12_bytes, P12_PASSWORD) as key,
        pytest.raises(ValidationFailed) as err,
    ):
        services.sign_result(actor=commune_leader, dossier=resolved, key=key)
    assert err.value.code == "certificate_deactivated"
    assert_unchanged(before)
