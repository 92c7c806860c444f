"""A local remote-signing service (ký số từ xa) for development, demos and tests.

A real HTTP service (a WSGI application) that plays a provider: it holds the holders' keys and
speaks the part of the Cloud Signature Consortium API v2 that `signing.remote` uses, plus the
providers' asynchronous confirmation ("sign request" → the holder approves on a phone). The
phone is played by the page `GET /confirm` (pending requests with approve/refuse buttons,
`POST /confirm/<id>`), or by `auto_confirm`.

Keys: a directory with, per holder user id, `<user_id>.p12` (the key, encrypted with the
holder's PIN) and `<user_id>.pem` (the certificate chain, signer first, readable without the
PIN). The PIN is never stored: `credentials/authorize` decrypts the key with it (wrong → 400
`invalid_pin`); the decrypted key lives in memory only until the activation data (SAD) is used
up, refused or expired. Signing happens only after confirmation.

Every `/csc/v2/` call needs `Authorization: Bearer <token>` (the token issued to the calling
system). The `/confirm` pages have no authentication and no CSRF protection: bind the
simulator to 127.0.0.1 only. It is not a production service.
"""

from __future__ import annotations

import base64
import hmac
import html
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from asn1crypto import algos
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils
from cryptography.hazmat.primitives.serialization import pkcs12

log = logging.getLogger(__name__)

SHA256_RSA = algos.SignedDigestAlgorithmId("sha256_rsa").dotted
RSA = algos.SignedDigestAlgorithmId("rsassa_pkcs1v15").dotted
SHA256 = algos.DigestAlgorithmId("sha256").dotted
MAX_BATCH = 100


@dataclass
class Holder:
    user_id: str
    p12_path: Path
    chain: list[x509.Certificate]

    @property
    def credential_id(self) -> str:
        return f"{self.user_id}/ky-so"


@dataclass
class Request:
    """An authorisation waiting for the holder's confirmation."""

    id: str
    holder: Holder
    num_signatures: int
    description: str
    key: object  # the decrypted private key, dropped when the request ends
    created: float
    status: str = "pending"  # pending → approved | refused | expired | cancelled
    sad: str = ""


@dataclass
class Grant:
    holder: Holder
    key: object
    remaining: int
    expires: float


@dataclass
class Simulator:
    keys_dir: Path
    token: str
    auto_confirm: bool = False
    confirm_timeout: float = 120.0
    sad_lifetime: float = 600.0
    holders: dict[str, Holder] = field(default_factory=dict)
    requests: dict[str, Request] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    signed_count: int = 0  # hashes signed since start (tests and demos read it)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.reload()

    def reload(self) -> None:
        holders = {}
        for p12 in sorted(Path(self.keys_dir).glob("*.p12")):
            pem = p12.with_suffix(".pem")
            if not pem.exists():
                log.warning("remote simulator: %s has no %s, skipped", p12.name, pem.name)
                continue
            chain = x509.load_pem_x509_certificates(pem.read_bytes())
            holders[p12.stem] = Holder(p12.stem, p12, chain)
        self.holders = holders

    # --- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        try:
            if path == "/confirm" and method == "GET":
                return self._html(start_response, self._confirm_page())
            if path.startswith("/confirm/") and method == "POST":
                return self._confirm(environ, start_response, path.removeprefix("/confirm/"))
            if path.startswith("/csc/v2/") and method == "POST":
                if path == "/csc/v2/info":
                    return self._json(start_response, 200, self._info())
                if not self._authorized(environ):
                    return self._json(
                        start_response,
                        401,
                        {"error": "invalid_token", "error_description": "Bad bearer token"},
                    )
                body = self._body(environ)
                handler = self.ENDPOINTS.get(path.removeprefix("/csc/v2/"))
                if handler is not None:
                    status, data = handler(self, body)
                    return self._json(start_response, status, data)
            return self._json(start_response, 404, {"error": "not_found"})
        except ValueError:
            return self._json(start_response, 400, {"error": "invalid_request"})

    def _authorized(self, environ) -> bool:
        header = environ.get("HTTP_AUTHORIZATION", "")
        given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    @staticmethod
    def _body(environ) -> dict:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        data = json.loads(raw or b"{}")
        if not isinstance(data, dict):
            raise ValueError("body")
        return data

    @staticmethod
    def _json(start_response, status: int, data: dict):
        reasons = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized"}
        reasons |= {403: "Forbidden", 404: "Not Found"}
        payload = json.dumps(data).encode()
        start_response(
            f"{status} {reasons.get(status, 'Error')}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    @staticmethod
    def _html(start_response, text: str, status: str = "200 OK"):
        payload = text.encode()
        start_response(
            status,
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    # --- CSC v2 endpoints ----------------------------------------------------------------------

    def _info(self) -> dict:
        return {
            "specs": "2.0.0.2",
            "name": "Mô phỏng dịch vụ ký số từ xa (Chính quyền số)",
            "lang": "vi-VN",
            "authType": ["external"],
            "methods": [
                "credentials/list",
                "credentials/info",
                "credentials/authorize",
                "signatures/signHash",
            ],
        }

    def _holder(self, credential_id) -> Holder | None:
        for holder in self.holders.values():
            if holder.credential_id == credential_id:
                return holder
        return None

    def credentials_list(self, body):
        holder = self.holders.get(str(body.get("userID", "")))
        return 200, {"credentialIDs": [holder.credential_id] if holder else []}

    def credentials_info(self, body):
        holder = self._holder(body.get("credentialID"))
        if holder is None:
            return 400, {"error": "invalid_credential"}
        cert = holder.chain[0]
        return 200, {
            "key": {"status": "enabled", "algo": [SHA256_RSA, RSA], "len": 2048},
            "cert": {
                "status": "valid",
                "certificates": [
                    base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
                    for c in holder.chain
                ],
                "serialNumber": format(cert.serial_number, "x"),
                "subjectDN": cert.subject.rfc4514_string(),
                "issuerDN": cert.issuer.rfc4514_string(),
            },
            "authMode": "explicit",
            "SCAL": "1",
            "multisign": MAX_BATCH,
        }

    def credentials_authorize(self, body):
        holder = self._holder(body.get("credentialID"))
        if holder is None:
            return 400, {"error": "invalid_credential"}
        try:
            num = int(body.get("numSignatures", 1))
        except (TypeError, ValueError):
            return 400, {"error": "invalid_request"}
        if not 1 <= num <= MAX_BATCH:
            return 400, {"error": "invalid_request", "error_description": "numSignatures"}
        pin = str(body.get("PIN", ""))
        try:
            key, _cert, _more = pkcs12.load_key_and_certificates(
                holder.p12_path.read_bytes(), pin.encode()
            )
        except ValueError:
            return 400, {"error": "invalid_pin", "error_description": "The PIN is invalid"}
        finally:
            del pin
        request = Request(
            id=secrets.token_urlsafe(12),
            holder=holder,
            num_signatures=num,
            description=str(body.get("description") or "")[:200],
            key=key,
            created=time.monotonic(),
        )
        with self.lock:
            self._expire()
            self.requests[request.id] = request
            if self.auto_confirm:
                self._decide(request, approve=True)
                return 200, {"SAD": request.sad, "expiresIn": int(self.sad_lifetime)}
        return 202, {
            "requestID": request.id,
            "status": "pending",
            "expiresIn": int(self.confirm_timeout),
        }

    def credentials_authorize_check(self, body):
        with self.lock:
            self._expire()
            request = self.requests.get(str(body.get("requestID", "")))
            if request is None:
                return 400, {"error": "invalid_request"}
            if request.status == "pending":
                return 200, {"status": "pending"}
            if request.status == "approved":
                return 200, {"SAD": request.sad, "expiresIn": int(self.sad_lifetime)}
            if request.status == "refused":
                return 403, {"error": "access_denied", "error_description": "Refused by holder"}
            return 400, {"error": "expired"}

    def credentials_authorize_cancel(self, body):
        with self.lock:
            request = self.requests.get(str(body.get("requestID", "")))
            if request is not None and request.status in ("pending", "approved"):
                request.status = "cancelled"
                request.key = None
                if request.sad:
                    self.grants.pop(request.sad, None)
        return 200, {}

    def signatures_sign_hash(self, body):
        hashes_b64 = body.get("hash")
        if not isinstance(hashes_b64, list) or not hashes_b64:
            return 400, {"error": "invalid_request"}
        if body.get("hashAlgo", SHA256) != SHA256 or body.get("signAlgo") not in (
            SHA256_RSA,
            RSA,
        ):
            return 400, {"error": "invalid_request", "error_description": "algorithm"}
        with self.lock:
            self._expire()
            grant = self.grants.get(str(body.get("SAD", "")))
            if grant is None or grant.holder.credential_id != body.get("credentialID"):
                return 400, {"error": "invalid_request", "error_description": "Invalid SAD"}
            if grant.remaining < len(hashes_b64):
                return 400, {"error": "invalid_request", "error_description": "SAD used up"}
            grant.remaining -= len(hashes_b64)
            key = grant.key
            if grant.remaining == 0:
                self.grants.pop(str(body["SAD"]), None)
        signatures = []
        for value in hashes_b64:
            digest = base64.b64decode(value)
            if len(digest) != 32:
                return 400, {"error": "invalid_request", "error_description": "hash"}
            signature = key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
            signatures.append(base64.b64encode(signature).decode())
        with self.lock:
            self.signed_count += len(signatures)
        return 200, {"signatures": signatures}

    ENDPOINTS = {
        "credentials/list": credentials_list,
        "credentials/info": credentials_info,
        "credentials/authorize": credentials_authorize,
        "credentials/authorizeCheck": credentials_authorize_check,
        "credentials/authorizeCancel": credentials_authorize_cancel,
        "signatures/signHash": signatures_sign_hash,
    }

    # --- The holder's "phone" -----------------------------------------------------------------

    def pending(self) -> list[Request]:
        with self.lock:
            self._expire()
            return [r for r in self.requests.values() if r.status == "pending"]

    def decide(self, request_id: str, *, approve: bool) -> bool:
        """Approve or refuse a pending request (what the phone app does). False if unknown."""
        with self.lock:
            self._expire()
            request = self.requests.get(request_id)
            if request is None or request.status != "pending":
                return False
            self._decide(request, approve=approve)
            return True

    def _decide(self, request: Request, *, approve: bool) -> None:
        if approve:
            request.status = "approved"
            request.sad = secrets.token_urlsafe(24)
            self.grants[request.sad] = Grant(
                request.holder,
                request.key,
                request.num_signatures,
                time.monotonic() + self.sad_lifetime,
            )
        else:
            request.status = "refused"
        request.key = None

    def _expire(self) -> None:
        now = time.monotonic()
        for request in self.requests.values():
            if request.status == "pending" and now - request.created > self.confirm_timeout:
                request.status, request.key = "expired", None
        for sad in [s for s, g in self.grants.items() if g.expires < now]:
            del self.grants[sad]
        # Forget finished requests after a while so the table stays small.
        old = now - 2 * max(self.confirm_timeout, self.sad_lifetime)
        for rid in [r.id for r in self.requests.values() if r.created < old]:
            del self.requests[rid]

    def _confirm(self, environ, start_response, request_id: str):
        form = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode()
        approve = "action=approve" in form.split("&")
        if not self.decide(request_id, approve=approve):
            return self._html(
                start_response, _page("<p>Yêu cầu không còn chờ xác nhận.</p>"), "404 Not Found"
            )
        start_response("303 See Other", [("Location", "/confirm"), ("Content-Length", "0")])
        return [b""]

    def _confirm_page(self) -> str:
        rows = []
        for r in self.pending():
            subject = r.holder.chain[0].subject.rfc4514_string()
            rows.append(
                "<li><p><strong>"
                + html.escape(r.holder.user_id)
                + "</strong> — "
                + html.escape(subject)
                + f"<br>Số tài liệu cần ký: {r.num_signatures}"
                + (f"<br>Nội dung: {html.escape(r.description)}" if r.description else "")
                + f'</p><form method="post" action="/confirm/{html.escape(r.id)}">'
                '<button name="action" value="approve">Đồng ý ký</button> '
                '<button name="action" value="refuse">Từ chối</button></form></li>'
            )
        body = "<ul>" + "".join(rows) + "</ul>" if rows else "<p>Không có yêu cầu nào chờ.</p>"
        return _page(body)


def _page(body: str) -> str:
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="5">'
        "<title>Xác nhận ký số từ xa (mô phỏng)</title></head><body>"
        "<h1>Xác nhận yêu cầu ký số từ xa</h1>"
        "<p>Trang này đóng vai ứng dụng xác nhận trên điện thoại của người ký.</p>"
        f"{body}</body></html>"
    )


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # request lines only, at DEBUG (no bodies anyway)
        log.debug("remote simulator: " + format, *args)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def make_simulator_server(app: Simulator, host: str = "127.0.0.1", port: int = 0):
    """A threaded HTTP server for `app` (polls and the confirmation page run side by side)."""
    return make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
