"""A small local PKI: CRL, OCSP responder (RFC 6960) and time-stamp authority (RFC 3161).

Issue #4 asks for a real PKI run locally for the demo and the tests: certificates name these
URLs (CRL distribution points, AIA OCSP) and signing time-stamps through the TSA URL, so the
code paths are the ones a real Government CA (VGCA) exercises. This is one WSGI application,
given the key material of its certificate authorities:

    GET  /crl/<ca>.crl      the CA's current CRL (DER, application/pkix-crl), RFC 5280 §5
    POST /ocsp              application/ocsp-request → application/ocsp-response, RFC 6960
    GET  /ocsp/<base64>     the same, request in the URL (RFC 6960 Appendix A.1)
    POST /tsa               application/timestamp-query → application/timestamp-reply, RFC 3161

OCSP answers good / revoked / unknown from the CA's revocation list and the serials it issued,
signed by the CA itself or by a delegated responder (EKU id-kp-OCSPSigning, RFC 6960 §4.2.2.2).
A request for a CA this service does not hold is answered `unauthorized` (RFC 6960 §2.3).

Nothing here is for production: it is the CA side of the demo and of the tests. Run it with
`cqs pki_services --bind 127.0.0.1:8001` (the demo PKI under var/pki), or in a thread
(`start_in_thread`) from tests.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from urllib.parse import unquote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

log = logging.getLogger(__name__)

# An example arc (RFC 7229 style "2.999"): the demo TSA's policy, meaningless outside the demo.
DEMO_TSA_POLICY = "2.999.84.2"
_DIGEST_LENGTHS = {"sha256": 32, "sha384": 48, "sha512": 64}
MAX_BODY = 64 * 1024


@dataclass
class Revocation:
    revoked_at: dt.datetime
    reason: x509.ReasonFlags | None = None


@dataclass
class Authority:
    """A CA this service speaks for. `slug` names its CRL (`/crl/<slug>.crl`); `issued`: the
    serials it issued (others are `unknown` to OCSP; None: every non-revoked serial is good);
    `responder`: a delegated OCSP responder (cert, key), else the CA signs its responses."""

    slug: str
    cert: x509.Certificate
    key: object
    issued: set[int] | None = None
    revoked: dict[int, Revocation] = field(default_factory=dict)
    responder: tuple[x509.Certificate, object] | None = None
    crl_validity: dt.timedelta = dt.timedelta(days=7)
    ocsp_validity: dt.timedelta = dt.timedelta(days=1)
    _crl_number: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self):
        asn1 = asn1_x509.Certificate.load(self.cert.public_bytes(serialization.Encoding.DER))
        # CertID hashes (RFC 6960 §4.1.1): of the issuer's DN and of its public key bits.
        self.cert_ids = {
            (algo, getattr(asn1.subject, algo), getattr(asn1.public_key, algo))
            for algo in ("sha1", "sha256")
        }

    def revoke(self, serial: int, *, at: dt.datetime | None = None, reason=None) -> None:
        with self._lock:
            self.revoked[serial] = Revocation(at or dt.datetime.now(dt.UTC), reason)

    def crl(self, now: dt.datetime | None = None) -> bytes:
        now = now or dt.datetime.now(dt.UTC)
        with self._lock:
            self._crl_number += 1
            number = int(now.timestamp()) * 1000 + self._crl_number % 1000
            revoked = dict(self.revoked)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now - dt.timedelta(minutes=1))
            .next_update(now + self.crl_validity)
            .add_extension(x509.CRLNumber(number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        for serial, entry in revoked.items():
            item = x509.RevokedCertificateBuilder().serial_number(serial)
            item = item.revocation_date(entry.revoked_at)
            if entry.reason is not None:
                item = item.add_extension(x509.CRLReason(entry.reason), critical=False)
            builder = builder.add_revoked_certificate(item.build())
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def status(self, serial: int):
        with self._lock:
            entry = self.revoked.get(serial)
        if entry is not None:
            return ocsp.OCSPCertStatus.REVOKED, entry
        if self.issued is not None and serial not in self.issued:
            return ocsp.OCSPCertStatus.UNKNOWN, None
        return ocsp.OCSPCertStatus.GOOD, None


class TimeStampAuthority(DummyTimeStamper):
    """pyHanko's RFC 3161 token builder (RSA key), with our policy OID and request checks."""

    def _build_tst_info(self, message_imprint, dt_, req):
        info = super()._build_tst_info(message_imprint, dt_, req)
        info["policy"] = tsp.ObjectIdentifier(DEMO_TSA_POLICY)
        return info

    def respond(self, body: bytes) -> bytes:
        try:
            req = tsp.TimeStampReq.load(body)
            algo = req["message_imprint"]["hash_algorithm"]["algorithm"].native
            digest = req["message_imprint"]["hashed_message"].native
        except (ValueError, TypeError, KeyError):
            return _tsa_rejection("bad_data_format")
        if algo not in _DIGEST_LENGTHS:
            return _tsa_rejection("bad_alg")
        if len(digest) != _DIGEST_LENGTHS[algo]:
            return _tsa_rejection("bad_data_format")
        return self.request_tsa_response(req).dump()


def _tsa_rejection(reason: str) -> bytes:
    status = tsp.PKIStatusInfo({"status": "rejection", "fail_info": tsp.PKIFailureInfo({reason})})
    return _RejectedResp({"status": status}).dump()


class _RejectedResp(asn1_core.Sequence):
    """TimeStampResp without a token (RFC 3161 §2.4.2: timeStampToken is OPTIONAL, while
    asn1crypto's TimeStampResp makes it mandatory)."""

    _fields = [("status", tsp.PKIStatusInfo)]


def make_timestamp_authority(cert: x509.Certificate, key, chain=()) -> TimeStampAuthority:
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return TimeStampAuthority(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(der),
        certs_to_embed=[
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain
        ],
    )


class PkiServices:
    """The WSGI application (see the module docstring). `requests` counts the requests served
    per kind ("crl", "ocsp", "tsa"): the tests use it to prove a cache hit made none."""

    def __init__(self, authorities: list[Authority], tsa: TimeStampAuthority | None = None):
        self.authorities = {a.slug: a for a in authorities}
        self.tsa = tsa
        self.requests: Counter = Counter()
        self._lock = threading.Lock()

    def authority(self, slug: str) -> Authority:
        return self.authorities[slug]

    def _count(self, kind: str) -> None:
        with self._lock:
            self.requests[kind] += 1

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        try:
            if path.startswith("/crl/") and path.endswith(".crl") and method == "GET":
                self._count("crl")
                slug = path[len("/crl/") : -len(".crl")]
                if slug not in self.authorities:
                    return _reply(start_response, "404 Not Found", b"unknown CA", "text/plain")
                body = self.authorities[slug].crl()
                return _reply(start_response, "200 OK", body, "application/pkix-crl")
            if path == "/ocsp" and method == "POST":
                self._count("ocsp")
                if environ.get("CONTENT_TYPE", "").split(";")[0] != "application/ocsp-request":
                    return _reply(start_response, "415 Unsupported Media Type", b"", "text/plain")
                body = self.ocsp_response(_read_body(environ))
                return _reply(start_response, "200 OK", body, "application/ocsp-response")
            if path.startswith("/ocsp/") and method == "GET":
                self._count("ocsp")
                try:
                    der = base64.b64decode(unquote(path[len("/ocsp/") :]), validate=True)
                except (binascii.Error, ValueError):
                    der = b""
                body = self.ocsp_response(der)
                return _reply(start_response, "200 OK", body, "application/ocsp-response")
            if path == "/tsa" and method == "POST" and self.tsa is not None:
                self._count("tsa")
                if environ.get("CONTENT_TYPE", "").split(";")[0] != "application/timestamp-query":
                    return _reply(start_response, "415 Unsupported Media Type", b"", "text/plain")
                body = self.tsa.respond(_read_body(environ))
                return _reply(start_response, "200 OK", body, "application/timestamp-reply")
            if path == "/" and method == "GET":
                lines = [f"/crl/{slug}.crl" for slug in self.authorities] + ["POST /ocsp"]
                if self.tsa is not None:
                    lines.append("POST /tsa")
                return _reply(start_response, "200 OK", "\n".join(lines).encode(), "text/plain")
        except _TooLarge:
            return _reply(start_response, "413 Content Too Large", b"", "text/plain")
        return _reply(start_response, "404 Not Found", b"", "text/plain")

    def ocsp_response(self, der: bytes) -> bytes:
        """The DER OCSP response to request `der` (never raises: errors are OCSP statuses)."""
        try:
            request = ocsp.load_der_ocsp_request(der)
            algo = request.hash_algorithm.name
            cert_id = (algo, request.issuer_name_hash, request.issuer_key_hash)
        except Exception:  # not DER, several requests, an unsupported CertID hash ...
            return _ocsp_error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        authority = next((a for a in self.authorities.values() if cert_id in a.cert_ids), None)
        if authority is None:
            return _ocsp_error(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        status, revocation = authority.status(request.serial_number)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        responder_cert, responder_key = authority.responder or (authority.cert, authority.key)
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number,
            algorithm=request.hash_algorithm,
            cert_status=status,
            this_update=now,
            next_update=now + authority.ocsp_validity,
            revocation_time=revocation.revoked_at.replace(microsecond=0) if revocation else None,
            revocation_reason=revocation.reason if revocation else None,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder_cert)
        if authority.responder is not None:
            builder = builder.certificates([responder_cert])
        with contextlib.suppress(x509.ExtensionNotFound):  # a request without a nonce
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce)
            builder = builder.add_extension(nonce.value, critical=False)
        response = builder.sign(responder_key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)


class _TooLarge(Exception):
    """A request body over the limit (answered 413)."""


def _read_body(environ) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise _TooLarge
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _ocsp_error(status) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )


def _reply(start_response, status: str, body: bytes, content_type: str):
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def ocsp_nocheck_extension() -> x509.UnrecognizedExtension:
    """id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1) for a delegated responder's certificate."""
    return x509.UnrecognizedExtension(
        x509.ObjectIdentifier("1.3.6.1.5.5.7.48.1.5"), asn1_core.Null().dump()
    )


# --- Serving --------------------------------------------------------------------------------


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        log.debug("pki_services: " + format, *args)


@dataclass
class RunningServer:
    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def make_wsgi_server(app, host: str, port: int) -> WSGIServer:
    return make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler)


def start_in_thread(app, *, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve `app` from a daemon thread (port 0: an ephemeral one). Stop it with `.stop()`."""
    server = make_wsgi_server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, name="pki-services", daemon=True)
    thread.start()
    return RunningServer(server, thread)
