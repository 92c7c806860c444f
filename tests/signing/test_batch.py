"""Bulk signing: one PIN entry for a batch (SoftHSM2 token), per-document results, audit."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from pyhanko.sign import pkcs11 as pyhanko_pkcs11

from chinhquyenso.core.errors import DomainError, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry, Role
from chinhquyenso.signing import batch, certificates, validation
from tests.conftest import make_official
from tests.signing.conftest import register_for
from tests.signing.conftest_remote import *  # noqa: F403 (fixtures)
from tests.signing.conftest_remote import REMOTE_USER, holder_answers
from tests.signing.pki import P12_PASSWORD
from tests.signing.samples import make_pdf

SOFTHSM_LIB = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN = "cqs-batch"
PIN = "135246"


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


def _reset_pkcs11() -> None:
    """SoftHSM2 reads SOFTHSM2_CONF once, at C_Initialize: finalize so the next open re-reads."""
    import pkcs11

    lib = pkcs11._loaded.get(SOFTHSM_LIB)  # noqa: SLF001 (python-pkcs11 keeps no other handle)
    if lib is not None and lib.initialized:
        lib.finalize()


@pytest.fixture(scope="session")
def batch_token_conf(pki, tmp_path_factory):
    """A SoftHSM2 token of our own (its own token directory) holding the leader's key."""
    if not (shutil.which("softhsm2-util") and shutil.which("pkcs11-tool")):
        pytest.fail("softhsm2 / opensc not installed (apt-get install softhsm2 opensc)")
    base = tmp_path_factory.mktemp("softhsm-batch")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}

    def run(*args):
        subprocess.run(args, check=True, capture_output=True, timeout=60, env=env)  # noqa: S603

    run("softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN,
        "--so-pin", "975310")  # fmt: skip
    leader = pki["leader"]
    run("softhsm2-util", "--import", str(leader.key_path), "--token", TOKEN, "--label", "leader",
        "--id", "01", "--pin", PIN)  # fmt: skip
    der = base / "leader.der"
    der.write_bytes(leader.cert_der)
    run("pkcs11-tool", "--module", SOFTHSM_LIB, "--token-label", TOKEN, "--login",
        "--pin", PIN, "--write-object", str(der), "--type", "cert", "--label", "leader",
        "--id", "01")  # fmt: skip
    return conf


@pytest.fixture
def batch_token(batch_token_conf, settings, demo_trusted, pki):
    """The token in use for one test; the previous SOFTHSM2_CONF is put back afterwards.
    The issuing CA is in the trust store as an intermediate (the token holds only the leader's
    certificate)."""
    from chinhquyenso.signing import services

    services.add_trusted_certificate(
        actor=None, data=pki["issuing"].cert_path.read_bytes(), kind="intermediate"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(batch_token_conf)
    settings.SIGNING_PKCS11_LIB = SOFTHSM_LIB
    _reset_pkcs11()
    yield TOKEN
    _reset_pkcs11()
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def token_logins(monkeypatch):
    """How many times a PKCS#11 session is opened with the PIN (pyHanko's function, counted)."""
    calls = []
    real = pyhanko_pkcs11.open_pkcs11_session

    def counting(*args, **kwargs):
        calls.append(kwargs.get("token_criteria"))
        return real(*args, **kwargs)

    monkeypatch.setattr(pyhanko_pkcs11, "open_pkcs11_session", counting)
    return calls


def _items(n=5, corrupt: int | None = None):
    items = []
    for i in range(n):
        data = make_pdf(1, title=f"Cong van so {i + 1:02d}/UBND")
        if i == corrupt:
            data = b"%PDF-1.7\n" + b"\x00hong" * 40
        items.append(batch.BatchItem(name=f"cong-van-{i + 1:02d}.pdf", pdf_bytes=data))
    return items


def test_five_documents_with_one_pin_entry(batch_token, token_logins, leader, sign_options):
    items = _items(5)
    with batch.open_key(
        kind="pkcs11", count=len(items), token_label=batch_token, key_label="leader", pin=PIN
    ) as key:
        results = batch.sign_batch(
            actor=leader, items=items, key=key, level="B-LT", options=sign_options
        )
    assert len(token_logins) == 1
    assert [r.ok for r in results] == [True] * 5
    for item, result in zip(items, results, strict=True):
        assert result.signed.startswith(item.pdf_bytes)
        report = validation.validate_pdf(result.signed)
        assert report["signatures"][0]["verdict"]["indication"] == "passed"
    assert AuditEntry.objects.filter(action="signature.applied", actor=leader).count() == 5
    summary = AuditEntry.objects.get(action="signature.batch_signed")
    assert summary.data["signed"] == 5 and summary.data["key_kind"] == "pkcs11"
    assert PIN not in str(summary.data)


def test_one_corrupted_document_fails_alone(batch_token, token_logins, leader, sign_options):
    items = _items(5, corrupt=2)
    with batch.open_key(
        kind="pkcs11", count=5, token_label=batch_token, key_label="leader", pin=PIN
    ) as key:
        results = batch.sign_batch(
            actor=leader, items=items, key=key, level="B-LT", options=sign_options
        )
    assert len(token_logins) == 1
    assert [r.ok for r in results] == [True, True, False, True, True]
    assert results[2].code == "pdf_corrupted" and results[2].signed is None
    for result in results[:2] + results[3:]:
        assert (
            validation.validate_pdf(result.signed)["signatures"][0]["verdict"]["indication"]
            == "passed"
        )
    summary = AuditEntry.objects.get(action="signature.batch_signed")
    assert summary.data["failed"][0]["code"] == "pdf_corrupted"
    assert AuditEntry.objects.filter(action="signature.applied").count() == 4


def test_wrong_pin_signs_nothing(batch_token, token_logins, leader):
    with pytest.raises(DomainError) as err:
        batch.open_key(
            kind="pkcs11", count=5, token_label=batch_token, key_label="leader", pin="000000"
        )
    assert err.value.code == "wrong_pin"
    assert "000000" not in err.value.message
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


def test_pkcs12_batch_and_wrong_password(demo_trusted, pki, leader, sign_options):
    with pytest.raises(DomainError) as err:
        batch.open_key(kind="pkcs12", count=2, p12_data=pki["leader"].p12_bytes, password="x")
    assert err.value.code == "wrong_password"
    with batch.open_key(
        kind="pkcs12", count=2, p12_data=pki["leader"].p12_bytes, password=P12_PASSWORD
    ) as key:
        results = batch.sign_batch(actor=leader, items=_items(2), key=key, options=sign_options)
    assert all(r.ok for r in results)


def test_remote_batch_is_one_confirmation(
    demo_trusted, remote_simulator, remote_service, settings, leader, sign_options
):
    settings.SIGNING_REMOTE_URL = remote_service.url
    settings.SIGNING_REMOTE_TOKEN = remote_service.token
    items = _items(3)
    phone = holder_answers(remote_simulator, approve=True)
    with batch.open_key(kind="remote", count=3, remote_user=REMOTE_USER, pin=P12_PASSWORD) as key:
        phone.join()
        results = batch.sign_batch(actor=leader, items=items, key=key, options=sign_options)
    assert all(r.ok for r in results)
    assert remote_simulator.signed_count == 3
    assert len(remote_simulator.requests) == 1  # one confirmation on the phone for 3 documents


def test_citizen_and_specialist_may_not_sign_batches(
    demo_trusted, leader_key, citizen, responsible
):
    for person in (citizen, responsible):
        with pytest.raises(DomainError) as err:
            batch.sign_batch(actor=person, items=_items(1), key=leader_key)
        assert err.value.code == "permission_denied"
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


# --- The signer's own certificate only (certificates.require_signer_holds) ----------------------


def test_a_colleagues_certificate_signs_nothing(demo_trusted, leader, deputy, leader_key):
    """The deputy opens the chairman's PKCS#12 file (registered to the chairman)."""
    with pytest.raises(PermissionDenied) as err:
        batch.sign_batch(actor=deputy, items=_items(3), key=leader_key)
    assert err.value.code == "certificate_of_another_person"
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


def test_an_unregistered_certificate_signs_nothing(demo_trusted, deputy, leader_key):
    with pytest.raises(ValidationFailed) as err:
        batch.sign_batch(actor=deputy, items=_items(2), key=leader_key)
    assert err.value.code == "certificate_not_registered"
    assert err.value.message == (
        "Chứng thư số này chưa được đăng ký cho tài khoản của bạn. "
        "Hãy đăng ký tại mục Chứng thư số."
    )
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


def test_a_deactivated_certificate_signs_nothing(demo_trusted, deputy, pki, leader_key):
    row = register_for(deputy, pki["leader"].cert_der)
    certificates.deactivate_certificate(actor=deputy, certificate_id=row.pk, reason="Mất token")
    with pytest.raises(ValidationFailed) as err:
        batch.sign_batch(actor=deputy, items=_items(1), key=leader_key)
    assert err.value.code == "certificate_deactivated"
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()


def test_an_organisation_seal_is_not_a_personal_certificate(
    demo_trusted, deputy, province, pki, organisation_key
):
    register_for(None, pki["organisation"].cert_der, organisation=province)
    with pytest.raises(PermissionDenied) as err:
        batch.sign_batch(actor=deputy, items=_items(1), key=organisation_key)
    assert err.value.code == "certificate_of_another_person"
    assert not AuditEntry.objects.filter(action__startswith="signature.").exists()
