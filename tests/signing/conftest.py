"""Fixtures of the signing tests: the demo PKI (generated once per session) served by a local
`pki_services` (CRL, OCSP, TSA) on 127.0.0.1, the revocation data of the demo CAs, and sample
PDFs."""

from __future__ import annotations

import contextlib

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from chinhquyenso.signing import pki_services, services
from chinhquyenso.signing.keys import Pkcs12Key
from chinhquyenso.signing.models import TrustKind
from tests.signing import pki as pki_module
from tests.signing.pki import P12_PASSWORD
from tests.signing.samples import make_pdf


class LocalPkiServer:
    """The session's PKI services on 127.0.0.1 (ephemeral port, fixed for the session so the
    URLs in the certificates stay right). `offline()` stops it for a while: the CA unreachable."""

    def __init__(self):
        self.app = None
        self.running = pki_services.start_in_thread(self._dispatch)
        self.port = self.running.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _dispatch(self, environ, start_response):
        return self.app(environ, start_response)

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
            self.running = None

    @contextlib.contextmanager
    def offline(self):
        self.stop()
        try:
            yield
        finally:
            self.running = pki_services.start_in_thread(self._dispatch, port=self.port)


@pytest.fixture(scope="session")
def pki_server():
    server = LocalPkiServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pki(tmp_path_factory, pki_server):
    built = pki_module.build(tmp_path_factory.mktemp("pki"), base_url=pki_server.url)
    pki_server.app = built.services
    return built


def asn1_cert(identity) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(identity.cert_der)


@pytest.fixture(scope="session")
def timestamper(pki):
    """The local TSA over HTTP (RFC 3161), as production uses settings.SIGNING_TSA_URL."""
    return HTTPTimeStamper(f"{pki.base_url}/tsa")


@pytest.fixture(scope="session")
def dummy_timestamper(pki):
    """The same TSA key in process, where no HTTP is wanted."""
    tsa = pki["tsa"]
    key_der = tsa.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return DummyTimeStamper(
        tsa_cert=asn1_cert(tsa),
        tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
        certs_to_embed=[asn1_cert(pki["issuing"]), asn1_cert(pki["root"])],
    )


@pytest.fixture(scope="session")
def revocation(pki):
    return services.RevocationData(crls=(pki.crls["root"], pki.crls["issuing"]))


@pytest.fixture
def sign_options(timestamper, revocation):
    return services.SignOptions(timestamper=timestamper, revocation=revocation)


@pytest.fixture
def demo_trusted(db, pki):
    """The demo root CA in the trust store (as `make demo` will put it)."""
    return services.add_trusted_certificate(
        actor=None, data=pki["root"].cert_path.read_bytes(), kind=TrustKind.ANCHOR, note="DEMO"
    )


@pytest.fixture
def leader_key(pki):
    return Pkcs12Key(pki["leader"].p12_bytes, P12_PASSWORD)


@pytest.fixture
def organisation_key(pki):
    return Pkcs12Key(pki["organisation"].p12_bytes, P12_PASSWORD)


@pytest.fixture(scope="session")
def one_page_pdf():
    return make_pdf(1)


def register_for(user, cert_der: bytes, *, organisation=None):
    """Register `cert_der` as `user`'s personal certificate (or, with `organisation` and no
    user, as that organisation's seal), as the system does: a person signs only with a
    certificate registered to them (`certificates.require_signer_holds`)."""
    from chinhquyenso.signing import certificates
    from chinhquyenso.signing.models import CertificatePurpose

    if user is None:
        return certificates.register_certificate(
            actor=None,
            data=cert_der,
            purpose=CertificatePurpose.ORGANISATION,
            organisation=organisation,
        )
    return certificates.register_certificate(actor=None, data=cert_der, holder_user=user)
