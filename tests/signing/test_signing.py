"""sign_pdf: key holders (PKCS#12, PKCS#11 on SoftHSM2), audit, and every refusal."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from chinhquyenso.core.errors import DomainError, ValidationFailed
from chinhquyenso.core.models import AuditEntry
from chinhquyenso.signing import services, validation
from chinhquyenso.signing.keys import Pkcs11Key, Pkcs12Key
from tests.signing.pki import P12_PASSWORD

SOFTHSM_LIB = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "246810"


def _sign(pdf, key, options, field="ChuKy", level="B-T", actor=None):
    return services.sign_pdf(
        actor=actor, pdf_bytes=pdf, key=key, field_name=field, level=level, options=options
    )


def _code(callable_, *args, **kwargs) -> str:
    with pytest.raises(DomainError) as err:
        callable_(*args, **kwargs)
    return err.value.code


def test_signature_is_audited_without_secrets(
    demo_trusted, leader_key, one_page_pdf, sign_options, responsible
):
    signed = _sign(one_page_pdf, leader_key, sign_options, actor=responsible)
    entry = AuditEntry.objects.filter(action="signature.applied").latest("id")
    assert entry.actor == responsible
    assert entry.data["certificate_serial"] == format(leader_key.certificate.serial_number, "x")
    assert entry.data["output_sha256"] == entry.object_id
    assert signed.startswith(one_page_pdf)  # an incremental update
    assert P12_PASSWORD not in str(entry.data)


def test_citizen_may_not_sign(demo_trusted, leader_key, one_page_pdf, sign_options, citizen):
    assert _code(_sign, one_page_pdf, leader_key, sign_options, actor=citizen) == (
        "permission_denied"
    )


def test_wrong_password(pki):
    with pytest.raises(ValidationFailed) as err:
        Pkcs12Key(pki["leader"].p12_bytes, "sai-mat-khau")
    assert err.value.code == "wrong_password"
    assert "sai-mat-khau" not in err.value.message


@pytest.mark.parametrize(
    ("name", "level", "code"),
    [
        ("expired", "B-T", "certificate_expired"),
        ("revoked", "B-LT", "certificate_revoked"),
        ("no_usage", "B-T", "certificate_key_usage"),
    ],
)
def test_bad_certificates_sign_nothing(
    demo_trusted, pki, one_page_pdf, sign_options, name, level, code
):
    key = Pkcs12Key(pki[name].p12_bytes, P12_PASSWORD)
    assert _code(_sign, one_page_pdf, key, sign_options, level=level) == code
    assert not AuditEntry.objects.filter(action="signature.applied").exists()


def test_untrusted_chain(db, leader_key, one_page_pdf, sign_options):
    assert _code(_sign, one_page_pdf, leader_key, sign_options) == "certificate_untrusted"


def test_field_already_signed(demo_trusted, leader_key, one_page_pdf, sign_options):
    signed = _sign(one_page_pdf, leader_key, sign_options, level="B-B")
    assert _code(_sign, signed, leader_key, sign_options) == "field_already_signed"


def test_corrupted_pdf(demo_trusted, leader_key, sign_options):
    assert _code(_sign, b"%PDF-1.7 hong", leader_key, sign_options) == "pdf_corrupted"


def test_b_t_needs_a_tsa(demo_trusted, leader_key, one_page_pdf):
    options = services.SignOptions()
    assert _code(_sign, one_page_pdf, leader_key, options) == "tsa_not_configured"


# --- PKCS#11 (SoftHSM2) ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def softhsm_token(pki, tmp_path_factory):
    if not (shutil.which("softhsm2-util") and shutil.which("pkcs11-tool")):
        # `make test` installs them: their absence is a broken machine, not a reason to pass.
        pytest.fail("softhsm2 / opensc not installed (apt-get install softhsm2 opensc)")
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, timeout=60)  # noqa: E731
    run(
        "softhsm2-util",
        "--init-token",
        "--free",
        "--label",
        "cqs",
        "--pin",
        PIN,
        "--so-pin",
        "135790",
    )
    leader = pki["leader"]
    run(
        "softhsm2-util",
        "--import",
        str(leader.key_path),
        "--token",
        "cqs",
        "--label",
        "leader",
        "--id",
        "01",
        "--pin",
        PIN,
    )
    der = base / "leader.der"
    der.write_bytes(leader.cert_der)
    run(
        "pkcs11-tool",
        "--module",
        SOFTHSM_LIB,
        "--token-label",
        "cqs",
        "--login",
        "--pin",
        PIN,
        "--write-object",
        str(der),
        "--type",
        "cert",
        "--label",
        "leader",
        "--id",
        "01",
    )
    yield "cqs"
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def test_sign_with_softhsm_token(demo_trusted, pki, softhsm_token, one_page_pdf, sign_options):
    chain = (pki["issuing"].cert_der,)
    with Pkcs11Key(
        lib=SOFTHSM_LIB, token_label=softhsm_token, pin=PIN, key_label="leader", chain=chain
    ) as key:
        signed = _sign(one_page_pdf, key, sign_options, level="B-LT")
    report = validation.validate_pdf(signed)
    assert report["signatures"][0]["verdict"]["indication"] == "passed"
    assert report["signatures"][0]["signer"]["name"] == "Võ Minh Giang"


def test_wrong_pin(softhsm_token):
    with pytest.raises(ValidationFailed) as err:
        Pkcs11Key(lib=SOFTHSM_LIB, token_label=softhsm_token, pin="000000", key_label="leader")
    assert err.value.code == "wrong_pin"
    assert "000000" not in err.value.message
