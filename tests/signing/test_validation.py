"""Validation reports: our own signatures, tampering, trust, revocation, foreign PDFs, bad input."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.signing import services, trust, validation
from chinhquyenso.signing.models import TrustedCertificate, TrustKind
from tests.signing.samples import make_pdf


def _sign(pdf, key, field, options, level="B-LT"):
    return services.sign_pdf(
        actor=None, pdf_bytes=pdf, key=key, field_name=field, level=level, options=options
    )


@pytest.fixture
def blt_pdf(demo_trusted, leader_key, one_page_pdf, sign_options):
    return _sign(one_page_pdf, leader_key, "ChuKyLanhDao", sign_options)


def test_government_ca_is_seeded_and_parses():
    rows = {r.sha256: r for r in TrustedCertificate.objects.all()}
    root = rows["f04ba4b459a7c9a1b971ad9b1cb833e695a80c79aea63b174b66a70edfe2fdb8"]
    issuing = rows["d8cab7a4aef92e6bb2509d7c61cee7b44f3731b2d21074963530277b366fae4b"]
    assert root.kind == TrustKind.ANCHOR and root.is_active
    assert issuing.kind == TrustKind.INTERMEDIATE
    assert "RootCA chuyên dùng Chính phủ G2" in root.subject
    for name in trust.GOVERNMENT_CA_FILES:
        assert trust.load_certificates((trust.DATA_DIR / name).read_bytes())


def test_der_certificate_named_crt_is_accepted(pki):
    certs = trust.load_certificates(pki["root"].cert_der)
    assert certs[0].subject.native["common_name"] == "CQS Demo Root CA (DEMO)"


def test_own_blt_signature_passes(blt_pdf):
    report = validation.validate_pdf(blt_pdf)
    (sig,) = report["signatures"]
    assert sig["verdict"]["indication"] == "passed"
    assert sig["verdict"]["label"] == "hợp lệ"
    assert sig["signer"]["name"] == "Võ Minh Giang"
    assert sig["signer"]["organisation"] == "UBND tỉnh Lâm Đồng"
    assert sig["pades_level"] == "B-LT"
    assert sig["revocation"] == {"status": "good", "label": "chưa bị thu hồi", "source": "embedded"}
    assert sig["timestamp"]["trusted"] is True
    assert sig["signing_time"].endswith("+07:00")
    assert sig["coverage"]["later_revisions"] == [
        {"revision": 3, "adds": "dữ liệu kiểm tra dài hạn (DSS)"}
    ]
    assert validation.exit_code(report) == 0


def test_byte_modified_copy_fails(blt_pdf):
    tampered = blt_pdf.replace(b"trang 1)", b"trang 7)", 1)
    assert tampered != blt_pdf
    report = validation.validate_pdf(tampered)
    verdict = report["signatures"][0]["verdict"]
    assert verdict["indication"] == "failed"
    assert verdict["subindication"] == "HASH_FAILURE"
    assert verdict["label"] == "không hợp lệ"
    assert validation.exit_code(report) == 1


def test_each_signature_is_judged_on_its_own_revision(blt_pdf, organisation_key, sign_options):
    twice = _sign(blt_pdf, organisation_key, "ChuKyCoQuan", sign_options)
    report = validation.validate_pdf(twice)
    first, second = report["signatures"]
    assert [s["verdict"]["indication"] for s in (first, second)] == ["passed", "passed"]
    assert second["signer"]["name"] == "UBND tỉnh Lâm Đồng"
    assert {"revision": 4, "adds": "chữ ký 'ChuKyCoQuan'"} in first["coverage"]["later_revisions"]
    assert first["coverage"]["modification"] in ("form_filling", "lta_updates")
    assert second["coverage"]["signed_revision"] == 4


def test_content_changed_in_a_later_revision_is_indeterminate_not_broken(blt_pdf):
    writer = IncrementalPdfFileWriter(__import__("io").BytesIO(blt_pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    from pyhanko.pdf_utils import generic

    stream = generic.StreamObject(stream_data=b"BT /F1 30 Tf 72 400 Td (DA SUA) Tj ET")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    out = __import__("io").BytesIO()
    writer.write(out)
    report = validation.validate_pdf(out.getvalue())
    sig = report["signatures"][0]
    assert sig["integrity"]["intact"] is True
    assert sig["coverage"]["modification"] == "other"
    assert sig["verdict"]["indication"] == "indeterminate"


def test_untrusted_chain_is_indeterminate(blt_pdf, pki):
    services.remove_trusted_certificate(
        actor=None, sha256=trust.fingerprint(trust.load_certificates(pki["root"].cert_der)[0])
    )
    verdict = validation.validate_pdf(blt_pdf)["signatures"][0]["verdict"]
    assert verdict["indication"] == "indeterminate"
    assert verdict["subindication"] == "NO_CERTIFICATE_CHAIN_FOUND"


def test_missing_revocation_data_is_indeterminate_offline(
    demo_trusted, leader_key, one_page_pdf, sign_options
):
    signed = _sign(one_page_pdf, leader_key, "ChuKy", sign_options, level="B-T")
    report = validation.validate_pdf(signed)
    sig = report["signatures"][0]
    assert sig["pades_level"] == "B-T"
    assert sig["revocation"]["status"] == "unknown"
    assert sig["verdict"]["indication"] == "indeterminate"
    assert sig["verdict"]["subindication"] == "TRY_LATER"
    assert validation.exit_code(report) == 2
    strict = validation.validate_pdf(signed, policy=validation.Policy(hard_fail_revocation=True))
    assert strict["signatures"][0]["verdict"]["indication"] != "passed"


def test_pdf_signed_by_pyhanko_cli_with_another_ca(db, pki, tmp_path):
    exe = shutil.which("pyhanko") or str(Path(__import__("sys").executable).parent / "pyhanko")
    source = tmp_path / "in.pdf"
    target = tmp_path / "out.pdf"
    source.write_bytes(make_pdf(1))
    other = pki["other_signer"]
    subprocess.run(
        [
            exe,
            "sign",
            "addsig",
            "--field",
            "Sig1",
            "pemder",
            "--key",
            str(other.key_path),
            "--cert",
            str(other.cert_path),
            "--chain",
            str(pki["other_root"].cert_path),
            "--no-pass",
            str(source),
            str(target),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    signed = target.read_bytes()
    before = validation.validate_pdf(signed)["signatures"][0]
    assert before["verdict"]["indication"] in ("indeterminate", "failed")
    assert before["signer"]["organisation"] == "Công ty Phần mềm Khác"
    services.add_trusted_certificate(actor=None, data=pki["other_root"].cert_path.read_bytes())
    after = validation.validate_pdf(signed)["signatures"][0]
    assert after["verdict"]["indication"] == "passed", after["verdict"]


def test_unsigned_pdf_has_no_signatures(one_page_pdf):
    report = validation.validate_pdf(one_page_pdf)
    assert report["signatures"] == []
    assert validation.exit_code(report) == 2


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"not a pdf at all", "pdf_not_pdf"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage", "pdf_corrupted"),
    ],
)
def test_bad_input_is_a_clear_error(data, code):
    with pytest.raises(ValidationFailed) as err:
        validation.validate_pdf(data)
    assert err.value.code == code


def test_encrypted_pdf_is_refused():
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    writer = copy_into_new_writer(PdfFileReader(BytesIO(make_pdf(1))))
    writer.encrypt("owner-secret", "user-secret")
    out = BytesIO()
    writer.write(out)
    with pytest.raises(ValidationFailed) as err:
        validation.validate_pdf(out.getvalue())
    assert err.value.code == "pdf_encrypted"
