"""Where a private key lives, behind one contract (STYLE.md habit 14).

A `SigningKey` gives pyHanko a `Signer` and the certificate chain; it never exposes the key.
- `Pkcs12Key`: a PKCS#12 file unlocked with a password that is used once and never stored.
- `Pkcs11Key`: a PKCS#11 token (USB token, HSM; SoftHSM2 in tests). The key never leaves
  the token; the PIN opens a session that `close()` ends.
- A remote-signing (ký số từ xa) adapter will implement the same contract.

Errors carry stable codes and never include the password or PIN.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from asn1crypto import x509
from pyhanko.sign import signers

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


class Pkcs12Key(SigningKey):
    kind = "pkcs12"

    def __init__(self, data: bytes, password: str):
        try:
            signer = signers.SimpleSigner.load_pkcs12_data(
                data, other_certs=(), passphrase=password.encode("utf-8")
            )
        except Exception:
            signer = None
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
