"""load_demo_signatures: the demo PKI, the SoftHSM2 token and the signed demo decision."""

from __future__ import annotations

import shutil
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp

from chinhquyenso.core.models import Role, StoredFile
from chinhquyenso.demo import plan
from chinhquyenso.signing import demo, pki_services, validation
from chinhquyenso.signing.keys import Pkcs12Key
from chinhquyenso.signing.models import TrustedCertificate
from tests.conftest import make_official


@pytest.fixture
def demo_users(province):
    return (
        make_official("chutich.tinh", province, Role.LEADER, "Chủ tịch UBND tỉnh"),
        make_official("vanthu.tinh", province, Role.CLERK, "Văn thư"),
    )


def test_demo_signatures_are_created_once_and_validate(demo_users, tmp_path):
    result = demo.load_demo_signatures(var_dir=tmp_path)

    pki = tmp_path / "pki"
    assert result.created_pki and result.pki_dir == pki
    for name in ("root", "issuing", "tsa", "chutich.tinh", "chutich.donduong", "vanthu.tinh"):
        assert (pki / f"{name}.crt").exists()
    # Private keys and PKCS#12 files are readable by their owner only.
    private = list(pki.glob("*.key.pem")) + list(pki.glob("*.p12"))
    assert private and {p.stat().st_mode & 0o777 for p in private} == {0o600}
    root_pem = (pki / "root.crt").read_text()
    assert "BEGIN CERTIFICATE" in root_pem
    # The PKCS#12 files open with the published demo password, and only with it.
    Pkcs12Key((pki / "org.donduong.p12").read_bytes(), demo.DEMO_PASSWORD)
    with pytest.raises(Exception):  # noqa: B017, PT011
        Pkcs12Key((pki / "org.donduong.p12").read_bytes(), "sai")

    trusted = TrustedCertificate.objects.get(subject__contains="CQS Demo Root CA")
    assert "DEMO — không có giá trị pháp lý" in trusted.subject
    assert "DEMO" in trusted.note

    expected_kind = (
        "pkcs11" if shutil.which("softhsm2-util") and shutil.which("pkcs11-tool") else "pkcs12"
    )
    assert result.chairman_key_kind == expected_kind
    if expected_kind == "pkcs11":
        assert (tmp_path / "softhsm" / "softhsm2.conf").exists()
        assert not (tmp_path / "softhsm" / "import.key.pem").exists()

    report = validation.validate_pdf(result.signed_pdf.read_bytes())
    assert [s["field"] for s in report["signatures"]] == ["ChuTich", "CoQuan"]
    assert [s["verdict"]["indication"] for s in report["signatures"]] == ["passed", "passed"]
    chairman = {o.username: o.full_name for o in plan.build_plan().officials}["chutich.tinh"]
    assert report["signatures"][0]["signer"]["name"] == chairman
    assert report["signatures"][1]["signer"]["name"] == "UBND tỉnh Lâm Đồng"
    assert report["signatures"][0]["pades_level"] == "B-LT"

    (stored,) = result.stored_files
    assert StoredFile.objects.filter(pk=stored.pk).exists()

    # Idempotent: same PKI, same document, no second trust entry, no new stored file.
    again = demo.load_demo_signatures(var_dir=tmp_path)
    assert not again.created_pki
    assert (pki / "root.crt").read_text() == root_pem
    assert TrustedCertificate.objects.filter(subject__contains="CQS Demo").count() == 1
    assert again.stored_files[0].pk == stored.pk
    assert StoredFile.objects.count() == 1


def test_without_softhsm_the_chairman_signs_with_pkcs12(db, tmp_path, caplog):
    result = demo.load_demo_signatures(var_dir=tmp_path, use_softhsm=False)
    assert result.chairman_key_kind == "pkcs12" and result.softhsm_token is None
    assert "PKCS#12" in caplog.text
    assert result.stored_files == []  # no demo clerk in this database: file kept on disk only
    report = validation.validate_pdf(result.signed_pdf.read_bytes())
    assert report["indication"] == "passed"


def test_demo_pki_services_answer_for_the_demo_certificates(tmp_path):
    pki, _created = demo.ensure_pki(tmp_path)
    chairman, issuing = pki.certs["chutich.tinh"], pki.certs["issuing"]
    aia = chairman.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == [demo.OCSP_URL]
    (point,) = chairman.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert point.full_name[0].value == f"{demo.CRL_BASE}/issuing.crl"

    running = pki_services.start_in_thread(pki.services())
    try:
        with urllib.request.urlopen(f"{running.url}/crl/issuing.crl", timeout=10) as resp:  # noqa: S310
            assert resp.headers["Content-Type"] == "application/pkix-crl"
            crl = x509.load_der_x509_crl(resp.read())
        assert crl.issuer == issuing.subject and crl.is_signature_valid(issuing.public_key())
        request = ocsp.OCSPRequestBuilder().add_certificate(chairman, issuing, hashes.SHA1())  # noqa: S303
        post = urllib.request.Request(  # noqa: S310
            f"{running.url}/ocsp",
            data=request.build().public_bytes(serialization.Encoding.DER),
            headers={"Content-Type": "application/ocsp-request"},
        )
        with urllib.request.urlopen(post, timeout=10) as resp:  # noqa: S310
            answer = ocsp.load_der_ocsp_response(resp.read())
    finally:
        running.stop()
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == chairman.serial_number
    issuing.public_key().verify(
        answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(), hashes.SHA256()
    )


def test_an_older_demo_pki_is_made_again(db, tmp_path):
    first = demo.load_demo_signatures(var_dir=tmp_path, use_softhsm=False).signed_pdf.read_bytes()
    manifest = tmp_path / "pki" / "manifest.json"
    manifest.write_text('{"identities": []}', encoding="utf-8")  # as written before version 2
    old_root = (tmp_path / "pki" / "root.crt").read_bytes()
    again = demo.load_demo_signatures(var_dir=tmp_path, use_softhsm=False)
    assert again.created_pki
    assert (tmp_path / "pki" / "root.crt").read_bytes() != old_root
    assert again.signed_pdf.read_bytes() != first  # signed again, with the new PKI
    assert validation.validate_pdf(again.signed_pdf.read_bytes())["indication"] == "passed"
