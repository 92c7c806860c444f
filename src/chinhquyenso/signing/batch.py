"""Bulk signing: a leader signs a batch of documents with one PIN entry (issue #4).

The key is opened once by the caller (`open_key`: one PKCS#12 password, one token login with
the PIN, or one remote authorisation for `numSignatures` = the batch size) and every document
goes through `services.sign_pdf`, so each one is checked and audited on its own. A document that
fails (corrupted, already signed in that field, ...) gets its error code and is left untouched;
the others are still signed. The password/PIN is passed to the key holder once and not kept:
after the batch the caller closes the key (`with open_key(...) as key:`), which logs out of the
token or drops the remote authorisation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import DomainError, ValidationFailed
from chinhquyenso.core.services import audit
from chinhquyenso.signing import certificates, services
from chinhquyenso.signing.keys import Pkcs11Key, Pkcs12Key, SigningKey, SigningKeyError

MAX_BATCH = 50
KEY_KINDS = ("pkcs12", "pkcs11", "remote")


@dataclass(frozen=True)
class BatchItem:
    name: str
    pdf_bytes: bytes
    field_name: str = "ChuKy"


@dataclass(frozen=True)
class BatchResult:
    name: str
    signed: bytes | None = None
    code: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.signed is not None


def check_batch(*, actor, count: int, organisation=None) -> None:
    """What can be refused before the key is opened (so nobody types a PIN for nothing)."""
    if actor is not None:
        permissions.require(actor, "signature.sign_batch", organisation)
    if count < 1:
        raise ValidationFailed("Chưa chọn tài liệu nào để ký.", code="empty_batch")
    if count > MAX_BATCH:
        raise ValidationFailed(f"Mỗi lần ký tối đa {MAX_BATCH} tài liệu.", code="batch_too_large")


def open_key(
    *,
    kind: str,
    count: int,
    p12_data: bytes | None = None,
    password: str = "",
    token_label: str = "",
    key_label: str = "",
    pin: str = "",
    remote_user: str = "",
    description: str = "",
) -> SigningKey:
    """Open the chosen key once for a batch of `count` documents. Raises SigningKeyError with a
    code (wrong_password, wrong_pin, remote_not_confirmed, ...); the secret is not kept."""
    if kind == "pkcs12":
        if not p12_data:
            raise SigningKeyError("Chưa chọn tệp khóa PKCS#12.", code="key_missing")
        return Pkcs12Key(p12_data, password)
    if kind == "pkcs11":
        lib = getattr(settings, "SIGNING_PKCS11_LIB", "")
        if not lib or not token_label:
            raise SigningKeyError(
                "Chưa cấu hình thiết bị ký (PKCS#11) hoặc chưa nhập nhãn thiết bị.",
                code="token_unavailable",
            )
        return Pkcs11Key(
            lib=lib, token_label=token_label, pin=pin, key_label=key_label or token_label
        )
    if kind == "remote":
        from chinhquyenso.signing import remote

        service = remote.configured_service()
        if service is None:
            raise SigningKeyError(
                "Chưa cấu hình dịch vụ ký số từ xa.", code="remote_not_configured"
            )
        if not remote_user:
            raise SigningKeyError("Chưa nhập tài khoản ký số từ xa.", code="remote_no_credential")
        return remote.RemoteKey(
            service=service,
            user_id=remote_user,
            pin=pin,
            num_signatures=count,
            confirm_timeout=float(getattr(settings, "SIGNING_REMOTE_CONFIRM_SECONDS", 120)),
            description=description,
        )
    raise SigningKeyError("Loại khóa ký không hợp lệ.", code="invalid_key_kind")


def sign_batch(
    *,
    actor,
    items: Sequence[BatchItem],
    key: SigningKey,
    level: str = "B-T",
    stamp_for: Callable[[BatchItem], object] | None = None,
    options: services.SignOptions | None = None,
    organisation=None,
) -> list[BatchResult]:
    """Sign every item with the already opened `key`; one result per item, in order.
    `stamp_for(item)` gives the item's `stamps.StampSpec` (None: an invisible signature).

    A person signs only with a certificate registered to them (`certificates.
    require_signer_holds`): refused before any document is signed. `actor` None is the system
    (benchmarks), which holds no personal certificate."""
    check_batch(actor=actor, count=len(items), organisation=organisation)
    if actor is not None:
        certificates.require_signer_holds(actor, key.certificate)
    results = []
    for item in items:
        try:
            signed = services.sign_pdf(
                actor=actor,
                pdf_bytes=item.pdf_bytes,
                key=key,
                field_name=item.field_name,
                level=level,
                stamp=stamp_for(item) if stamp_for else None,
                options=options,
                organisation=organisation,
            )
        except DomainError as exc:
            results.append(BatchResult(item.name, code=exc.code, message=exc.message))
        else:
            results.append(BatchResult(item.name, signed=signed))
    cert = key.certificate
    with transaction.atomic():
        audit.record(
            action="signature.batch_signed",
            actor=actor,
            object_type="signing.batch",
            object_id=hashlib.sha256(
                b"".join(hashlib.sha256(i.pdf_bytes).digest() for i in items)
            ).hexdigest(),
            organisation=organisation,
            data={
                "documents": len(items),
                "signed": sum(r.ok for r in results),
                "failed": [
                    {
                        "name": r.name[:200],
                        "sha256": hashlib.sha256(i.pdf_bytes).hexdigest(),
                        "code": r.code,
                    }
                    for r, i in zip(results, items, strict=True)
                    if not r.ok
                ],
                "level": level,
                "key_kind": key.kind,
                "certificate_serial": format(cert.serial_number, "x"),
            },
        )
    return results
