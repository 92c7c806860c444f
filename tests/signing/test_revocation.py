"""Revocation against the local PKI services (issue #4): OCSP and CRL fetched from the CA over
HTTP, the cache, offline operation, B-LT with embedded OCSP responses, B-T with the TSA over
HTTP. The CA (tests/signing/pki.py) is served on 127.0.0.1 by `pki_services`; its request
counters show what went over the network."""

from __future__ import annotations

import base64
import io
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import core as asn1_core
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import tsp
from django.core.management import call_command
from pyhanko_certvalidator.authority import CertTrustAnchor
from pyhanko_certvalidator.fetchers.common_utils import format_ocsp_request

from chinhquyenso.core.errors import DomainError
from chinhquyenso.core.models import AuditEntry
from chinhquyenso.signing import services, validation
from chinhquyenso.signing.keys import Pkcs12Key
from chinhquyenso.signing.models import RevocationCacheEntry, RevocationKind
from tests.signing.conftest import asn1_cert
from tests.signing.pki import P12_PASSWORD, issue_signer

FETCH = validation.Policy(allow_fetching=True)
HARD = validation.Policy(allow_fetching=True, hard_fail_revocation=True)


def _sign(pdf, key, *, level="B-T", options):
    return services.sign_pdf(
        actor=None, pdf_bytes=pdf, key=key, field_name="ChuKy", level=level, options=options
    )


def _key(identity) -> Pkcs12Key:
    return Pkcs12Key(identity.p12_bytes, P12_PASSWORD)


def _requests(pki) -> dict:
    return dict(pki.services.requests)


def _delta(before: dict, after: dict) -> dict:
    return {k: after.get(k, 0) - before.get(k, 0) for k in ("crl", "ocsp", "tsa")}


@pytest.fixture
def bt_options(timestamper, revocation):
    # Signing itself stays offline here (the CRLs given in memory): only validation fetches.
    return services.SignOptions(timestamper=timestamper, revocation=revocation)


def test_certificate_revoked_at_the_ca_is_revoked_by_ocsp(
    demo_trusted, pki, one_page_pdf, bt_options, request
):
    signer = issue_signer(pki, f"ocsp-{request.node.name}", "Người Bị Thu Hồi Qua OCSP")
    signed = _sign(one_page_pdf, _key(signer), options=bt_options)
    before_report = validation.validate_pdf(signed, policy=FETCH)["signatures"][0]
    assert before_report["revocation"]["status"] == "good"
    assert before_report["revocation"]["source"] == "fetched"
    assert before_report["verdict"]["indication"] == "passed"

    pki.services.authority("issuing").revoke(signer.cert.serial_number)
    RevocationCacheEntry.objects.all().delete()  # the CA's news must be fetched, not remembered
    before = _requests(pki)
    sig = validation.validate_pdf(signed, policy=FETCH)["signatures"][0]
    assert sig["revocation"]["status"] == "revoked"
    assert sig["verdict"]["indication"] == "failed"
    assert sig["verdict"]["label"] == "không hợp lệ"
    delta = _delta(before, _requests(pki))
    assert delta["ocsp"] >= 1 and delta["crl"] == 0  # the OCSP answer decided


def test_certificate_revoked_at_the_ca_is_revoked_by_crl(
    demo_trusted, pki, one_page_pdf, bt_options, request
):
    signer = issue_signer(pki, f"crl-{request.node.name}", "Người Bị Thu Hồi Qua CRL", ocsp=False)
    signed = _sign(one_page_pdf, _key(signer), options=bt_options)
    pki.services.authority("issuing").revoke(signer.cert.serial_number)
    before = _requests(pki)
    sig = validation.validate_pdf(signed, policy=FETCH)["signatures"][0]
    assert sig["revocation"]["status"] == "revoked"
    assert sig["verdict"]["subindication"] == "REVOKED"
    assert _delta(before, _requests(pki))["crl"] >= 1
    assert RevocationCacheEntry.objects.filter(kind=RevocationKind.CRL).exists()


def test_second_validation_uses_the_cache_until_next_update(
    demo_trusted, pki, leader_key, one_page_pdf, bt_options
):
    signed = _sign(one_page_pdf, leader_key, options=bt_options)
    first = validation.validate_pdf(signed, policy=FETCH)
    assert first["indication"] == "passed"
    entries = list(RevocationCacheEntry.objects.all())
    assert {e.kind for e in entries} == {RevocationKind.OCSP}  # OCSP answered: no CRL needed
    leader_entry = next(
        e for e in entries if e.serial == format(leader_key.certificate.serial_number, "x")
    )
    assert leader_entry.next_update > datetime.now(UTC)
    assert leader_entry.this_update <= datetime.now(UTC)

    before = _requests(pki)
    second = validation.validate_pdf(signed, policy=FETCH)
    assert second["indication"] == "passed"
    assert _delta(before, _requests(pki)) == {"crl": 0, "ocsp": 0, "tsa": 0}

    # An entry past its nextUpdate is fetched again (and replaced).
    RevocationCacheEntry.objects.update(next_update=datetime.now(UTC) - timedelta(minutes=1))
    before = _requests(pki)
    third = validation.validate_pdf(signed, policy=FETCH)
    assert third["indication"] == "passed"
    assert _delta(before, _requests(pki))["ocsp"] >= 1
    leader_entry.refresh_from_db()
    assert leader_entry.next_update > datetime.now(UTC)


def test_responder_offline_and_nothing_embedded_is_indeterminate(
    demo_trusted, pki_server, leader_key, one_page_pdf, bt_options
):
    signed = _sign(one_page_pdf, leader_key, options=bt_options)
    with pki_server.offline():
        report = validation.validate_pdf(signed, policy=FETCH)
        sig = report["signatures"][0]
        assert sig["revocation"]["status"] == "unknown"
        assert "không tải được" in sig["revocation"]["label"]
        assert sig["verdict"]["indication"] == "indeterminate"
        assert sig["verdict"]["label"] == "không xác định được"
        assert sig["verdict"]["subindication"] == "TRY_LATER"
        assert validation.exit_code(report) == 2

        strict = validation.validate_pdf(signed, policy=HARD)["signatures"][0]
        assert strict["verdict"]["indication"] == "failed", strict["verdict"]
    assert not RevocationCacheEntry.objects.exists()


def test_blt_embeds_ocsp_from_the_responder_and_verifies_offline(
    demo_trusted, pki, pki_server, leader_key, one_page_pdf, timestamper, settings, tmp_path
):
    settings.SIGNING_FETCH_REVOCATION = True
    before = _requests(pki)
    signed = _sign(
        one_page_pdf,
        leader_key,
        level="B-LT",
        options=services.SignOptions(timestamper=timestamper),  # nothing given: fetched
    )
    delta = _delta(before, _requests(pki))
    assert delta["ocsp"] >= 1 and delta["tsa"] == 1

    _certs, _crls, ocsps = validation._dss_material(validation.open_pdf(signed))
    serials = {
        single["cert_id"]["serial_number"].native
        for response in ocsps
        for single in response["response_bytes"]["response"].parsed["tbs_response_data"][
            "responses"
        ]
    }
    assert leader_key.certificate.serial_number in serials
    assert pki["tsa"].cert.serial_number in serials  # the time-stamp's chain too

    path = tmp_path / "blt.pdf"
    path.write_bytes(signed)
    out = io.StringIO()
    with pki_server.offline(), pytest.raises(SystemExit) as exit_:
        call_command("verify-pdf", str(path), stdout=out)
    assert exit_.value.code == 0
    text = out.getvalue()
    assert "ChuKy: HỢP LỆ" in text
    assert "Mức PAdES: B-LT" in text


def test_revoked_at_the_ca_cannot_sign_when_fetching(
    demo_trusted, pki, one_page_pdf, timestamper, settings, request
):
    settings.SIGNING_FETCH_REVOCATION = True
    signer = issue_signer(pki, f"sign-{request.node.name}", "Người Vừa Bị Thu Hồi")
    pki.services.authority("issuing").revoke(signer.cert.serial_number)
    with pytest.raises(DomainError) as err:
        _sign(
            one_page_pdf,
            _key(signer),
            level="B-LT",
            options=services.SignOptions(timestamper=timestamper),
        )
    assert err.value.code == "certificate_revoked"
    assert not AuditEntry.objects.filter(action="signature.applied").exists()


def test_bt_is_time_stamped_by_the_local_tsa_over_http(
    demo_trusted, pki, leader_key, one_page_pdf, bt_options
):
    before = _requests(pki)
    signed = _sign(one_page_pdf, leader_key, options=bt_options)
    assert _delta(before, _requests(pki))["tsa"] == 1
    sig = validation.validate_pdf(signed)["signatures"][0]
    assert sig["pades_level"] == "B-T"
    assert sig["timestamp"]["trusted"] is True
    assert sig["timestamp"]["authority"]["name"] == "CQS Demo TSA (DEMO)"


def test_tsa_down_signs_nothing(demo_trusted, pki_server, leader_key, one_page_pdf, bt_options):
    with pki_server.offline(), pytest.raises(DomainError) as err:
        _sign(one_page_pdf, leader_key, options=bt_options)
    assert err.value.code == "tsa_unavailable"
    assert not AuditEntry.objects.filter(action="signature.applied").exists()


# --- The responder and the TSA as a client sees them ----------------------------------------


def _post(url: str, body: bytes, content_type: str) -> tuple[str, bytes]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})  # noqa: S310
    with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310 (our local server)
        return response.headers["Content-Type"], response.read()


def _ocsp_request(pki, cert, issuer) -> asn1_ocsp.OCSPRequest:
    return format_ocsp_request(
        asn1_cert(cert),
        CertTrustAnchor(asn1_cert(issuer)).authority,
        certid_hash_algo="sha1",
        request_nonces=True,
    )


def _single_status(der: bytes) -> str:
    response = asn1_ocsp.OCSPResponse.load(der)
    assert response["response_status"].native == "successful"
    (single,) = response["response_bytes"]["response"].parsed["tbs_response_data"]["responses"]
    return single["cert_status"].name


def test_ocsp_responder_answers_good_revoked_unknown_and_get(pki):
    url = f"{pki.base_url}/ocsp"
    leader, revoked, issuing = pki["leader"], pki["revoked"], pki["issuing"]
    ctype, body = _post(url, _ocsp_request(pki, leader, issuing).dump(), "application/ocsp-request")
    assert ctype == "application/ocsp-response"
    assert _single_status(body) == "good"
    _, body = _post(url, _ocsp_request(pki, revoked, issuing).dump(), "application/ocsp-request")
    assert _single_status(body) == "revoked"
    # A serial the CA never issued (the other CA's signer, asked about under our CA's name).
    stranger = _ocsp_request(pki, pki["other_signer"], issuing)
    _, body = _post(url, stranger.dump(), "application/ocsp-request")
    assert _single_status(body) == "unknown"
    # RFC 6960 A.1: GET with the request in base64 in the path.
    encoded = base64.b64encode(_ocsp_request(pki, leader, issuing).dump()).decode()
    with urllib.request.urlopen(f"{url}/{urllib.parse.quote(encoded, safe='')}") as response:  # noqa: S310
        assert _single_status(response.read()) == "good"
    # A CA this service does not speak for.
    other = _ocsp_request(pki, pki["other_signer"], pki["other_root"])
    _, body = _post(url, other.dump(), "application/ocsp-request")
    assert asn1_ocsp.OCSPResponse.load(body)["response_status"].native == "unauthorized"


class _TokenlessResp(asn1_core.Sequence):
    _fields = [("status", tsp.PKIStatusInfo)]


def test_tsa_rejects_a_weak_hash(pki):
    req = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "md5"},
                "hashed_message": b"\0" * 16,
            },
            "cert_req": True,
        }
    )
    ctype, body = _post(f"{pki.base_url}/tsa", req.dump(), "application/timestamp-query")
    assert ctype == "application/timestamp-reply"
    status = _TokenlessResp.load(body)["status"]  # RFC 3161 §2.4.2: no token on rejection
    assert status["status"].native == "rejection"
    assert status["fail_info"].native == {"bad_alg"}
