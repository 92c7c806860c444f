"""Forms 01–05 carry the organisation's seal when one is configured (issue #4), and say "Chưa ký
số" when not. PDFs are checked with the signing module's own validator and poppler's pdftotext,
with the test PKI (tests/signing/pki.py) and its root trusted."""

from __future__ import annotations

import subprocess

import pytest
from django.urls import reverse

from chinhquyenso.core.models import AuditEntry, StoredFile
from chinhquyenso.core.services import files as file_service
from chinhquyenso.dossiers import tasks
from chinhquyenso.signing import services as signing_services
from chinhquyenso.signing.models import TrustKind
from chinhquyenso.signing.validation import validate_pdf
from tests.conftest import sign_in
from tests.signing import pki as pki_module
from tests.signing.pki import P12_PASSWORD

COMMUNE_A_CODE = "000.01.39.H39"  # tests/conftest.py commune_a
PROVINCE_CODE = "000.00.00.H39"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return pki_module.build(tmp_path_factory.mktemp("pki"))


def write_seal(directory, code, identity, *, tsa=None, crls=()):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{code}.p12").write_bytes(identity.p12_bytes)
    (directory / f"{code}.password").write_text(P12_PASSWORD, encoding="utf-8")
    if tsa is not None:
        (directory / "tsa.p12").write_bytes(tsa.p12_bytes)
        (directory / "tsa.password").write_text(P12_PASSWORD, encoding="utf-8")
    if crls:
        (directory / "revocation").mkdir(exist_ok=True)
        for i, der in enumerate(crls):
            (directory / "revocation" / f"{i}.crl").write_bytes(der)


@pytest.fixture
def trusted(db, pki):
    signing_services.add_trusted_certificate(
        actor=None, data=pki["root"].cert_path.read_bytes(), kind=TrustKind.ANCHOR, note="TEST"
    )


@pytest.fixture
def commune_seal(settings, tmp_path, pki, trusted):
    """Xã A's seal (the test PKI's organisation certificate), a local TSA and the CRLs."""
    directory = tmp_path / "seals"
    write_seal(
        directory,
        COMMUNE_A_CODE,
        pki["organisation"],
        tsa=pki["tsa"],
        crls=(pki.crls["root"], pki.crls["issuing"]),
    )
    settings.SIGNING_SEAL_DIR = str(directory)
    return directory


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(  # noqa: S603
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],  # noqa: S607
        check=True,
        capture_output=True,
    )
    return out.stdout.decode("utf-8")


def stored_receipt(dossier, actor):
    entry = tasks.receipt_entry(dossier)
    stored = StoredFile.objects.get(pk=entry.data["file"])
    return entry, file_service.read_verified(actor=actor, stored_file=stored)


@pytest.mark.django_db
def test_receipt_after_intake_carries_the_organisation_seal(
    commune_seal, pki, received, desk_officer, tmp_path
):
    assert tasks.store_receipt(dossier_id=received.pk) == "rendered"
    entry, pdf = stored_receipt(received, desk_officer)
    assert entry.data["signed"] is True
    assert entry.data["seal_organisation"] == "UBND xã Đơn Dương"  # the centre uses its seal
    assert entry.data["level"] == "B-LT"

    report = validate_pdf(pdf)
    assert report["signature_count"] == 1
    signature = report["signatures"][0]
    assert signature["verdict"]["indication"] == "passed", signature["verdict"]
    assert signature["signer"]["name"] == "UBND tỉnh Lâm Đồng"  # the test certificate's CN
    assert signature["timestamp"] is not None
    # The visible mark names the organisation; no "Chưa ký số" on a sealed form.
    text = pdf_text(pdf, tmp_path)
    assert "Chưa ký số" not in text
    assert "GIẤY TIẾP NHẬN" in text.upper()
    # Audited: which certificate, which hash.
    applied = AuditEntry.objects.filter(action="signature.applied").latest("pk")
    assert applied.data["output_sha256"] == entry.data["sha256"]
    assert applied.data["certificate_serial"] == format(pki["organisation"].cert.serial_number, "x")


@pytest.mark.django_db
def test_receipt_without_a_seal_is_issued_unsigned_and_says_so(
    settings, tmp_path, received, desk_officer
):
    settings.SIGNING_SEAL_DIR = str(tmp_path / "no-seals")
    assert tasks.store_receipt(dossier_id=received.pk) == "rendered"
    entry, pdf = stored_receipt(received, desk_officer)
    assert entry.data["signed"] is False
    assert validate_pdf(pdf)["signature_count"] == 0
    assert "Chưa ký số" in pdf_text(pdf, tmp_path)


@pytest.mark.django_db
def test_a_commune_does_not_borrow_the_province_seal(
    settings, tmp_path, pki, trusted, received, desk_officer
):
    directory = tmp_path / "seals"
    write_seal(directory, PROVINCE_CODE, pki["organisation"])
    settings.SIGNING_SEAL_DIR = str(directory)
    tasks.store_receipt(dossier_id=received.pk)
    entry, pdf = stored_receipt(received, desk_officer)
    assert entry.data["signed"] is False
    assert validate_pdf(pdf)["signature_count"] == 0


@pytest.mark.django_db
def test_a_wrong_seal_password_issues_the_form_unsigned(
    settings, tmp_path, pki, trusted, received, desk_officer
):
    directory = tmp_path / "seals"
    write_seal(directory, COMMUNE_A_CODE, pki["organisation"])
    (directory / f"{COMMUNE_A_CODE}.password").write_text("sai", encoding="utf-8")
    settings.SIGNING_SEAL_DIR = str(directory)
    tasks.store_receipt(dossier_id=received.pk)
    entry, pdf = stored_receipt(received, desk_officer)
    assert entry.data["signed"] is False
    assert "Chưa ký số" in pdf_text(pdf, tmp_path)


@pytest.mark.django_db
def test_forms_printed_from_the_dossier_page_are_sealed(
    client, commune_seal, received, desk_officer
):
    sign_in(client, desk_officer)
    page = client.get(reverse("dossiers:detail", args=[received.code])).content.decode()
    assert "Biểu mẫu được ký số bằng chữ ký số của cơ quan" in page
    response = client.get(reverse("dossiers:form_pdf", args=[received.code, "control_sheet"]))
    assert response.status_code == 200
    report = validate_pdf(response.content)
    assert report["signature_count"] == 1
    assert report["signatures"][0]["verdict"]["indication"] == "passed"


@pytest.mark.django_db
def test_dossier_page_says_forms_are_not_signed_without_a_seal(
    client, settings, tmp_path, received, desk_officer
):
    settings.SIGNING_SEAL_DIR = str(tmp_path / "no-seals")
    sign_in(client, desk_officer)
    page = client.get(reverse("dossiers:detail", args=[received.code])).content.decode()
    assert "Chưa ký số" in page
    response = client.get(reverse("dossiers:form_pdf", args=[received.code, "receipt"]))
    assert response.status_code == 200
    assert validate_pdf(response.content)["signature_count"] == 0


@pytest.mark.django_db
def test_sealed_forms_stay_hidden_from_other_communes(
    client, commune_seal, received, other_commune_official
):
    sign_in(client, other_commune_official)
    url = reverse("dossiers:form_pdf", args=[received.code, "receipt"])
    assert client.get(url).status_code == 404
