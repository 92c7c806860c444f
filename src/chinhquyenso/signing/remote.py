"""Remote signing (ký số từ xa) through the Cloud Signature Consortium API v2.

Vietnamese remote-signing providers keep the holder's key in their HSM; the holder confirms
each signing request on a phone app. Their APIs resemble the CSC API (an open standard), so the
adapter speaks CSC v2 with pyHanko's CSC signer (`pyhanko.sign.signers.csc_signer`):

1. `credentials/list` (by `userID`: the service authenticates *our system* with a Bearer token
   and is told which holder signs) and `credentials/info` (certificate chain, batch size);
2. `credentials/authorize` with the holder's PIN (or OTP) and `numSignatures`: one authorisation
   covers a whole batch (SCAL 1: the activation data is not pinned to hashes, because the hashes
   of a batch are only known while signing). When the holder must confirm, the service answers
   202 with a `requestID`; we poll `credentials/authorizeCheck` until it is approved, refused or
   the wait runs out, and cancel with `credentials/authorizeCancel` when we give up (these two
   are the providers' asynchronous "sign request" shape, not part of CSC v2);
3. `signatures/signHash` for every signature (pyHanko computes the CMS; the service signs the
   hash with RSA PKCS#1 v1.5 / SHA-256).

The PIN travels once, in the authorise request, and is not kept. Error messages carry codes
(`remote_unavailable`, `remote_not_confirmed`, `remote_refused`, `wrong_pin`, ...) and never the
PIN, the token or the activation data. Use HTTPS in production: the PIN is in a request body.

Preconditions: call from synchronous code (each call runs its own event loop, like pyHanko's
synchronous signing API).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import aiohttp
from django.conf import settings
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationInfo,
    CSCAuthorizationManager,
    CSCCredentialInfo,
    CSCServiceSessionInfo,
    CSCSigner,
    fetch_certs_in_csc_credential,
)

from chinhquyenso.signing.keys import SigningKey, SigningKeyError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteService:
    """Where the provider is and how our system authenticates to it.

    `url`: the part before `/csc/v2/...`; `token`: the Bearer token the provider issued to this
    system (a secret: from settings / `*_FILE`, never logged); `timeout`: seconds per request."""

    url: str
    token: str
    timeout: float = 15.0

    def __repr__(self) -> str:  # the token must not reach logs or tracebacks
        return f"RemoteService(url={self.url!r})"


def configured_service() -> RemoteService | None:
    """The provider configured in settings (SIGNING_REMOTE_URL, SIGNING_REMOTE_TOKEN), if any."""
    url = getattr(settings, "SIGNING_REMOTE_URL", "")
    token = getattr(settings, "SIGNING_REMOTE_TOKEN", "")
    if not url or not token:
        return None
    return RemoteService(url=url.rstrip("/"), token=token)


def _unavailable() -> SigningKeyError:
    return SigningKeyError(
        "Không kết nối được dịch vụ ký số từ xa. Vui lòng thử lại sau.", code="remote_unavailable"
    )


def _from_response(status: int, body: dict) -> SigningKeyError:
    """Map a provider error (CSC `error` field, or the HTTP status) to one of our codes."""
    error = str(body.get("error", "")) if isinstance(body, dict) else ""
    if error in ("invalid_pin", "invalid_otp") or (
        error == "invalid_request" and "pin" in str(body.get("error_description", "")).lower()
    ):
        return SigningKeyError("Sai mã PIN/OTP của tài khoản ký số từ xa.", code="wrong_pin")
    if error == "access_denied":
        return SigningKeyError(
            "Người ký đã từ chối yêu cầu ký trên ứng dụng xác nhận.", code="remote_refused"
        )
    if error in ("expired", "expired_request"):
        return _not_confirmed()
    if status == 401 or error == "invalid_token":
        return SigningKeyError(
            "Hệ thống chưa được dịch vụ ký số từ xa cấp quyền (mã truy cập không hợp lệ).",
            code="remote_unauthorized",
        )
    if error == "invalid_credential" or status == 404:
        return SigningKeyError(
            "Không tìm thấy chứng thư số của tài khoản này trên dịch vụ ký số từ xa.",
            code="remote_no_credential",
        )
    if status >= 500:
        return _unavailable()
    return SigningKeyError("Dịch vụ ký số từ xa từ chối yêu cầu.", code="remote_error")


def _not_confirmed() -> SigningKeyError:
    return SigningKeyError(
        "Người ký chưa xác nhận yêu cầu ký trên ứng dụng trong thời gian cho phép.",
        code="remote_not_confirmed",
    )


async def _post(http: aiohttp.ClientSession, service: RemoteService, endpoint: str, body: dict):
    """POST a CSC endpoint; return (status, json). Connection problems → remote_unavailable."""
    url = f"{service.url}/csc/v2/{endpoint}"
    try:
        async with http.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {service.token}"},
            timeout=aiohttp.ClientTimeout(total=service.timeout),
        ) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError:
                data = {}
            return response.status, data if isinstance(data, dict) else {}
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("remote signing: %s unreachable (%s)", endpoint, type(exc).__name__)
        raise _unavailable() from exc


class _BatchAuthorization(CSCAuthorizationManager):
    """Hands pyHanko the activation data obtained once for `remaining` signatures."""

    def __init__(self, session_info, credential_info, auth: CSCAuthorizationInfo, remaining: int):
        super().__init__(session_info, credential_info)
        self._auth: CSCAuthorizationInfo | None = auth
        self.remaining = remaining

    async def authorize_signature(self, hash_b64s: list[str]) -> CSCAuthorizationInfo:
        if self._auth is None or self.remaining < len(hash_b64s):
            raise SigningError("remote authorisation used up")
        self.remaining -= len(hash_b64s)
        return self._auth

    def forget(self) -> None:
        self._auth = None
        self.remaining = 0


class _RemoteSigner(CSCSigner):
    """pyHanko's CSC signer with one HTTP session per signature: pyHanko's synchronous API runs
    each signature in its own event loop, and an aiohttp session belongs to one loop."""

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run=False) -> bytes:
        if dry_run:
            return await super().async_sign_raw(data, digest_algorithm, dry_run=True)
        async with aiohttp.ClientSession() as http:
            self.session = http
            try:
                return await super().async_sign_raw(data, digest_algorithm)
            finally:
                self.session = None


class RemoteKey(SigningKey):
    """A key held by a remote-signing service. Opening it asks the holder to authorise
    `num_signatures` signatures (one PIN entry and one confirmation for a batch) and waits up to
    `confirm_timeout` seconds for the confirmation."""

    kind = "remote"

    def __init__(
        self,
        *,
        service: RemoteService,
        user_id: str,
        pin: str,
        credential_id: str | None = None,
        num_signatures: int = 1,
        confirm_timeout: float = 120.0,
        poll_interval: float = 0.5,
        description: str = "",
    ):
        if num_signatures < 1:
            raise SigningKeyError("Số chữ ký cần cấp quyền không hợp lệ.", code="invalid_count")
        self.service = service
        session_info, credential_info, auth = asyncio.run(
            self._open(
                user_id=user_id,
                pin=pin,
                credential_id=credential_id,
                num_signatures=num_signatures,
                confirm_timeout=confirm_timeout,
                poll_interval=poll_interval,
                description=description,
            )
        )
        self.credential_id = session_info.credential_id
        self._authorization = _BatchAuthorization(
            session_info, credential_info, auth, num_signatures
        )
        self._signer = _RemoteSigner(
            session=None,  # set per signature, see _RemoteSigner
            auth_manager=self._authorization,
            sign_timeout=int(max(service.timeout, 1)),
        )

    @property
    def signer(self) -> signers.Signer:
        return self._signer

    @property
    def remaining(self) -> int:
        """Signatures still covered by the authorisation."""
        return self._authorization.remaining

    def close(self) -> None:
        self._authorization.forget()

    async def _open(
        self,
        *,
        user_id,
        pin,
        credential_id,
        num_signatures,
        confirm_timeout,
        poll_interval,
        description,
    ) -> tuple[CSCServiceSessionInfo, CSCCredentialInfo, CSCAuthorizationInfo]:
        service = self.service
        async with aiohttp.ClientSession() as http:
            if credential_id is None:
                status, body = await _post(http, service, "credentials/list", {"userID": user_id})
                if status != 200:
                    raise _from_response(status, body)
                ids = body.get("credentialIDs") or []
                if not ids:
                    raise SigningKeyError(
                        "Tài khoản này chưa có chứng thư số trên dịch vụ ký số từ xa.",
                        code="remote_no_credential",
                    )
                credential_id = str(ids[0])
            session_info = CSCServiceSessionInfo(
                service_url=service.url,
                credential_id=credential_id,
                oauth_token=service.token,
                api_ver="v2",
            )
            try:
                credential_info = await fetch_certs_in_csc_credential(
                    http, session_info, timeout=int(max(service.timeout, 1))
                )
            except SigningError as exc:
                cause = exc.__cause__
                if isinstance(cause, aiohttp.ClientResponseError):
                    raise _from_response(cause.status, {}) from exc
                if isinstance(cause, aiohttp.ClientError | TimeoutError):
                    raise _unavailable() from exc
                raise SigningKeyError(
                    "Dịch vụ ký số từ xa trả về chứng thư không đọc được.", code="remote_error"
                ) from exc
            if num_signatures > credential_info.max_batch_size:
                raise SigningKeyError(
                    f"Dịch vụ ký số từ xa chỉ cho phép ký tối đa "
                    f"{credential_info.max_batch_size} tài liệu mỗi lần xác nhận.",
                    code="remote_batch_too_large",
                )
            manager = _BatchAuthorization(session_info, credential_info, None, 0)
            request = manager.format_csc_auth_request(
                num_signatures=num_signatures, pin=pin, description=description or None
            )
            status, body = await _post(http, service, "credentials/authorize", request)
            del request  # holds the PIN
            if status == 200 and "SAD" in body:
                return session_info, credential_info, manager.parse_csc_auth_response(body)
            if status != 202 or "requestID" not in body:
                raise _from_response(status, body)
            request_id = str(body["requestID"])
            deadline = time.monotonic() + confirm_timeout
            while time.monotonic() < deadline:
                await asyncio.sleep(min(poll_interval, max(deadline - time.monotonic(), 0)))
                status, body = await _post(
                    http, service, "credentials/authorizeCheck", {"requestID": request_id}
                )
                if status == 200 and "SAD" in body:
                    return session_info, credential_info, manager.parse_csc_auth_response(body)
                if status == 200 and body.get("status") == "pending":
                    continue
                raise _from_response(status, body)
            # Withdraw the request so a late confirmation on the phone signs nothing.
            with contextlib.suppress(SigningKeyError):
                await _post(http, service, "credentials/authorizeCancel", {"requestID": request_id})
            raise _not_confirmed()
