"""Where a private key lives, behind one contract (STYLE.md habit 14).

A `SigningKey` gives pyHanko a `Signer` and the certificate chain; it never exposes the key.
- `Pkcs12Key`: a PKCS#12 file unlocked with a password that is used once and never stored.
- `Pkcs11Key`: a PKCS#11 token (USB token, HSM; SoftHSM2 in tests). The key never leaves
  the token; the PIN opens a session that `close()` ends.
- `signing.remote.RemoteKey`: a remote-signing (ký số từ xa) service, CSC API v2.

Errors carry stable codes and never include the password or PIN.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from asn1crypto import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from pyhanko.sign import signers
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from chinhquyenso.core.errors import ValidationFailed


class SigningKeyError(ValidationFailed):
    code = "signing_key_error"


class SigningKey(ABC):
    """One signing key and its certificate. Use as a context manager or call `close()`."""

    kind: str = ""

    @property
    @abstractmethod
    def signer(self) -> signers.Signer: ...

    @property
    def certificate(self) -> x509.Certificate:
        return self.signer.signing_cert

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release what the key holds open (a token session)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _LoadedKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner re-parses the private key for every signature, and `cryptography`
    checks an RSA key's consistency on each load (~0.2 s for RSA-2048, bench/signing.py). Parse
    it once; other mechanisms than RSA PKCS#1 v1.5 go through pyHanko unchanged."""

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algorithm = mechanism.signature_algo
        except ValueError:
            algorithm = mechanism["algorithm"].native
        if algorithm != "rsassa_pkcs1v15":
            return super().sign_raw(data, digest_algorithm)
        key = getattr(self, "_loaded_key", None)
        if key is None:
            key = self._loaded_key = serialization.load_der_private_key(
                self.signing_key.dump(), password=None
            )
        return key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))


class Pkcs12Key(SigningKey):
    kind = "pkcs12"

    def __init__(self, data: bytes, password: str):
        try:
            signer = signers.SimpleSigner.load_pkcs12_data(
                data, other_certs=(), passphrase=password.encode("utf-8")
            )
        except Exception:
            signer = None
        if signer is not None:
            signer = _LoadedKeySigner(
                signing_cert=signer.signing_cert,
                signing_key=signer.signing_key,
                cert_registry=signer.cert_registry,
            )
        if signer is None:
            # Wrong password and a damaged file look the same from outside; say both.
            raise SigningKeyError(
                "Không mở được tệp khóa PKCS#12: sai mật khẩu hoặc tệp bị hỏng.",
                code="wrong_password",
            )
        self._signer = signer

    @property
    def signer(self) -> signers.Signer:
        return self._signer


class Pkcs11Key(SigningKey):
    """A key on a PKCS#11 token. `lib` is the module path (e.g. /usr/lib/softhsm/libsofthsm2.so)."""

    kind = "pkcs11"

    def __init__(
        self,
        *,
        lib: str,
        token_label: str,
        pin: str,
        key_label: str,
        cert_label: str | None = None,
        chain: tuple[bytes, ...] = (),
    ):
        """`chain`: DER certificates of the issuing CAs when the token holds only the signer's
        (the trust store's intermediates are used as well)."""
        from pkcs11 import exceptions as p11_exc
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign import pkcs11 as p11

        try:
            self._session = p11.open_pkcs11_session(
                lib, token_criteria=TokenCriteria(label=token_label), user_pin=pin
            )
        except (p11_exc.PinIncorrect, p11_exc.PinLenRange) as exc:
            raise SigningKeyError("Sai mã PIN của thiết bị ký.", code="wrong_pin") from exc
        except p11_exc.PinLocked as exc:
            raise SigningKeyError("Thiết bị ký đã bị khóa PIN.", code="pin_locked") from exc
        except Exception as exc:
            raise SigningKeyError(
                "Không kết nối được thiết bị ký (token).", code="token_unavailable"
            ) from exc
        try:
            self._signer = p11.PKCS11Signer(
                self._session,
                key_label=key_label,
                cert_label=cert_label or key_label,
                ca_chain=[x509.Certificate.load(c) for c in chain] or None,
            )
            self._signer.signing_cert  # noqa: B018 (loads the certificate now)
        except Exception as exc:
            self._session.close()
            raise SigningKeyError(
                "Không tìm thấy khóa hoặc chứng thư trên thiết bị ký.", code="key_not_found"
            ) from exc

    @property
    def signer(self) -> signers.Signer:
        return self._signer

    def close(self) -> None:
        self._session.close()
