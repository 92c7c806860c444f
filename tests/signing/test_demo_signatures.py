"""load_demo_signatures: the demo PKI, the SoftHSM2 token and the signed demo decision."""

from __future__ import annotations

import shutil

import pytest

from chinhquyenso.core.models import Role, StoredFile
from chinhquyenso.signing import demo, validation
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
    assert report["signatures"][0]["signer"]["name"] == "Nguyễn Văn Minh"
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
