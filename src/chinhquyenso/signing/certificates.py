"""Registered signing certificates (issue #4, "Certificates and trust").

An official registers their own signing certificate; an administrator registers the seal
certificate of an organisation in their subtree and the certificates of officials working there.
A certificate arrives as PEM, DER or PKCS#12. The PKCS#12 password is used once, in memory, to
read the certificate: it is never stored, logged or put in an audit entry, and the private key
read with it is dropped at once. Only the certificate (DER) and a descriptor of where the key
lives (PKCS#11 token and key labels, "PKCS#12 held by the person") are kept.

Rules (Nghị định 23/2025/NĐ-CP on electronic signatures and trust services, Điều 6 and Điều 30:
a digital signature is valid only while its certificate is valid; Luật Giao dịch điện tử
20/2023/QH15, Điều 22-23): an expired certificate cannot be registered; a certificate whose
key usage does not allow signing (digitalSignature or nonRepudiation) neither. Holders are told
30, 7 and 1 days before expiry (`signing.expiry`), once per threshold. Switching trust-store
rows on and off is in `signing.services`, beside adding and removing them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import pem, x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import ApiKey, Organisation, Position, User
from chinhquyenso.core.services import audit
from chinhquyenso.signing.models import (
    Certificate,
    CertificateFormat,
    CertificatePurpose,
    KeyStorage,
)

REGISTER_OWN = "certificate.register_own"
MANAGE = "certificate.manage"
TRUST_MANAGE = "trust.manage"

REGISTERED = "certificate.registered"
DEACTIVATED = "certificate.deactivated"

MAX_CERTIFICATE_BYTES = 1024 * 1024
# Days before expiry at which the holder is told, largest first; each is sent once.

# RFC 5280 §4.2.1.3 key usage names (asn1crypto's), in the standard's order, with the text shown.
KEY_USAGE_LABELS = {
    "digital_signature": "Ký số",
    "non_repudiation": "Chống chối bỏ",
    "key_encipherment": "Mã hóa khóa",
    "data_encipherment": "Mã hóa dữ liệu",
    "key_agreement": "Thỏa thuận khóa",
    "key_cert_sign": "Ký chứng thư",
    "crl_sign": "Ký danh sách thu hồi",
    "encipher_only": "Chỉ mã hóa",
    "decipher_only": "Chỉ giải mã",
}
SIGNING_USAGES = frozenset({"digital_signature", "non_repudiation"})

# Distinguished name attributes (asn1crypto's names) as shown in Vietnamese; others by their name.
NAME_LABELS = {
    "common_name": "Tên",
    "organization_name": "Tổ chức",
    "organizational_unit_name": "Đơn vị",
    "title": "Chức danh",
    "locality_name": "Địa phương",
    "state_or_province_name": "Tỉnh, thành phố",
    "country_name": "Quốc gia",
    "email_address": "Thư điện tử",
    "serial_number": "Số sê-ri",
    "user_id": "Mã định danh (UID)",
}


@dataclass(frozen=True)
class NameView:
    common_name: str
    parts: tuple[tuple[str, str], ...]  # (label, value), most specific first


def describe_name(name: x509.Name) -> NameView:
    """A distinguished name for people: its common name and labelled parts (CN first)."""
    parts = []
    for key, value in reversed(list(name.native.items())):
        values = value if isinstance(value, list) else [value]
        label = NAME_LABELS.get(key, key)
        parts.extend((label, str(v)) for v in values)
    common = name.native.get("common_name") or name.human_friendly
    if isinstance(common, list):
        common = common[0]
    return NameView(str(common), tuple(parts))


# --- Reading a certificate file ----------------------------------------------------------------


@dataclass(frozen=True)
class ParsedCertificate:
    cert: x509.Certificate
    source_format: str
    extra: tuple[x509.Certificate, ...] = ()  # the rest of a chain in the same file

    @property
    def der(self) -> bytes:
        return self.cert.dump()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    @property
    def key_usage(self) -> list[str] | None:
        """The key usage names, or None when the extension is absent (any usage, RFC 5280)."""
        value = self.cert.key_usage_value
        if value is None:
            return None
        names = set(value.native)
        return [name for name in KEY_USAGE_LABELS if name in names]


def _unreadable(exc: Exception | None = None) -> ValidationFailed:
    error = ValidationFailed(
        "Tệp không phải chứng thư số (PEM, DER hoặc PKCS#12).", code="certificate_unreadable"
    )
    if exc is not None:
        error.__cause__ = exc
    return error


def _loaded(der: bytes) -> x509.Certificate:
    cert = x509.Certificate.load(der)
    cert.native  # noqa: B018 (asn1crypto parses lazily; force it so errors surface here)
    return cert


def _end_entity_first(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """The signer's certificate first: files often carry the chain after it (or before)."""
    leaves = [c for c in certs if not c.ca]
    return leaves[:1] + [c for c in certs if c is not (leaves[0] if leaves else None)]


def _looks_like_pkcs12(data: bytes) -> bool:
    from asn1crypto import pkcs12 as asn1_pkcs12

    try:
        pfx = asn1_pkcs12.Pfx.load(data)
        return pfx["version"].native == "v3" and pfx["auth_safe"]["content_type"].native in (
            "data",
            "signed_data",
        )
    except (ValueError, TypeError, KeyError):
        return False


def read_certificate(data: bytes, password: str | None = None) -> ParsedCertificate:
    """The signing certificate in `data`: PEM (first end-entity certificate), DER or PKCS#12.

    `password` opens a PKCS#12 file; it is only passed to the parser. Raises ValidationFailed
    `certificate_unreadable` or `wrong_password`."""
    if not data:
        raise _unreadable()
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise ValidationFailed("Tệp chứng thư quá lớn (tối đa 1 MB).", code="file_too_large")
    if pem.detect(data):
        try:
            certs = [
                _loaded(der)
                for kind, _headers, der in pem.unarmor(data, multiple=True)
                if kind in ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE")
            ]
        except (ValueError, TypeError) as exc:
            raise _unreadable(exc) from exc
        if not certs:
            raise _unreadable()
        ordered = _end_entity_first(certs)
        return ParsedCertificate(ordered[0], CertificateFormat.PEM, tuple(ordered[1:]))
    if _looks_like_pkcs12(data):
        secret = password.encode("utf-8") if password else None
        try:
            _key, cert, more = pkcs12.load_key_and_certificates(data, secret)
        except ValueError as exc:
            # Wrong (or missing) password: cryptography cannot tell it from a damaged file
            # once the outer structure parsed, and a damaged PKCS#12 is rare.
            raise ValidationFailed(
                "Mật khẩu tệp PKCS#12 không đúng.", code="wrong_password"
            ) from exc
        finally:
            secret = None  # noqa: F841 (drop our reference to the password bytes)
        del _key  # the private key is never kept
        if cert is None:
            raise _unreadable()
        chain = tuple(_loaded(c.public_bytes(serialization.Encoding.DER)) for c in more or ())
        return ParsedCertificate(
            _loaded(cert.public_bytes(serialization.Encoding.DER)), CertificateFormat.PKCS12, chain
        )
    try:
        return ParsedCertificate(_loaded(data), CertificateFormat.DER)
    except (ValueError, TypeError) as exc:
        raise _unreadable(exc) from exc


def check_usable_for_signing(parsed: ParsedCertificate, *, now: datetime | None = None) -> None:
    """Refuse an expired certificate and one whose key usage does not allow signatures."""
    now = now or datetime.now(UTC)
    if parsed.cert.not_valid_after <= now:
        raise ValidationFailed(
            "Chứng thư số đã hết hạn, không đăng ký được.", code="certificate_expired"
        )
    usages = parsed.key_usage
    if parsed.cert.ca or (usages is not None and not SIGNING_USAGES & set(usages)):
        raise ValidationFailed(
            "Chứng thư số không được phép dùng để ký (mục đích sử dụng khóa không có "
            "“Ký số” hoặc “Chống chối bỏ”).",
            code="certificate_key_usage",
        )


# --- Who may see and manage which certificate ---------------------------------------------------


def _is_person(actor) -> bool:
    return getattr(actor, "is_authenticated", False) and isinstance(actor, User)


def certificates_visible_to(user) -> QuerySet[Certificate]:
    """Own certificates, plus those of organisations where the user manages certificates."""
    qs = Certificate.objects.select_related("user", "organisation")
    if not _is_person(user) or not user.is_active:
        return qs.none()
    if user.is_superuser:
        return qs
    return qs.filter(Q(user=user) | permissions.scope_q(user, MANAGE, "organisation"))


def get_certificate_for(user, pk: int) -> Certificate:
    row = certificates_visible_to(user).filter(pk=pk).first()
    if row is None:
        raise NotFound("Không tìm thấy chứng thư số.", code="certificate_not_found")
    return row


def can_deactivate(user, cert: Certificate) -> bool:
    if not _is_person(user):
        return False
    if cert.user_id is not None and cert.user_id == user.pk:
        return True
    return permissions.can(user, MANAGE, cert.organisation)


def holder_organisations(user: User) -> list[Organisation]:
    """The organisations of the official's current positions, primary first."""
    return [
        p.organisation
        for p in Position.objects.active()
        .filter(user=user, organisation__is_active=True)
        .select_related("organisation")
        .order_by("-is_primary", "pk")
    ]


def officials_manageable_by(user) -> QuerySet[User]:
    """Officials with a current position where `user` manages certificates."""
    if not _is_person(user):
        return User.objects.none()
    positions = Position.objects.active().filter(permissions.scope_q(user, MANAGE, "organisation"))
    return (
        User.objects.filter(is_active=True, pk__in=positions.values("user_id"))
        .order_by("full_name", "username")
        .distinct()
    )


def _require_organisation(actor, organisation: Organisation) -> None:
    """`actor` manages certificates of `organisation`: a person's role or an API key's scope."""
    if actor is None:
        return  # the system itself (commands, demo data)
    if isinstance(actor, ApiKey):
        if not organisation.path.startswith(actor.organisation.path):
            raise PermissionDenied("Đối tượng nằm ngoài phạm vi cơ quan của khóa API.")
        return
    permissions.require(actor, MANAGE, organisation)


def _resolve_holder(
    *, actor, purpose: str, holder_user: User | None, organisation: Organisation | None
) -> tuple[User | None, Organisation]:
    if purpose == CertificatePurpose.ORGANISATION:
        if organisation is None:
            message = "Chọn cơ quan, tổ chức sở hữu chứng thư."
            raise ValidationFailed(
                message, code="organisation_required", details={"organisation": [message]}
            )
        _require_organisation(actor, organisation)
        return None, organisation
    if purpose != CertificatePurpose.PERSONAL:
        raise ValidationFailed("Mục đích chứng thư không hợp lệ.", code="invalid_purpose")
    holder = holder_user if holder_user is not None else actor
    if _is_person(actor) and actor.pk == getattr(holder, "pk", None):
        permissions.require(actor, REGISTER_OWN)  # officials with a current position only
    if not isinstance(holder, User) or not holder.is_official or not holder.is_active:
        raise ValidationFailed(
            "Chứng thư cá nhân chỉ đăng ký cho cán bộ, công chức.", code="holder_not_official"
        )
    places = holder_organisations(holder)
    if organisation is not None:
        places = [o for o in places if o.pk == organisation.pk]
    if _is_person(actor) and actor.pk == holder.pk:
        if not places:
            raise PermissionDenied("Bạn không có vị trí công tác tại cơ quan đã chọn.")
        return holder, places[0]
    if actor is None:
        if not places:
            raise ValidationFailed(
                "Cán bộ không có vị trí công tác hiện tại.", code="holder_without_position"
            )
        return holder, places[0]
    for place in places:  # the first of the holder's organisations the actor manages
        try:
            _require_organisation(actor, place)
        except PermissionDenied:
            continue
        return holder, place
    raise PermissionDenied("Bạn không có quyền đăng ký chứng thư cho cán bộ này.")


# --- Services -----------------------------------------------------------------------------------


@transaction.atomic
def register_certificate(
    *,
    actor,
    data: bytes,
    password: str | None = None,
    purpose: str = CertificatePurpose.PERSONAL,
    holder_user: User | None = None,
    organisation: Organisation | None = None,
    key_storage: str = "",
    token_label: str = "",
    key_label: str = "",
) -> Certificate:
    """Register a signing certificate for an official (`purpose` personal; the actor by default)
    or an organisation's seal (`purpose` organisation). `actor`: a User, an ApiKey (already
    checked for its scope by the API) or None (the system).

    Registering again a certificate the holder switched off switches it on again."""
    holder, org = _resolve_holder(
        actor=actor, purpose=purpose, holder_user=holder_user, organisation=organisation
    )
    parsed = read_certificate(data, password)
    password = None  # never kept past reading
    check_usable_for_signing(parsed)
    if key_storage and key_storage not in KeyStorage.values:
        raise ValidationFailed("Nơi giữ khóa không hợp lệ.", code="invalid_key_storage")
    if not key_storage:
        key_storage = (
            KeyStorage.PKCS12_HOLDER
            if parsed.source_format == CertificateFormat.PKCS12
            else KeyStorage.UNKNOWN
        )
    if key_storage != KeyStorage.PKCS11:
        token_label = key_label = ""
    cert = parsed.cert
    existing = Certificate.objects.select_for_update().filter(purpose=purpose, sha256=parsed.sha256)
    existing = existing.filter(user=holder) if holder else existing.filter(organisation=org)
    row = existing.first()
    if row is not None and row.is_active:
        raise ValidationFailed(
            "Chứng thư số này đã được đăng ký.", code="certificate_already_registered"
        )
    person = actor if _is_person(actor) else None
    if row is None:
        row = Certificate(purpose=purpose, user=holder, organisation=org, sha256=parsed.sha256)
    row.organisation = org
    row.subject = cert.subject.human_friendly[:500]
    row.issuer = cert.issuer.human_friendly[:500]
    row.serial = format(cert.serial_number, "x")
    row.not_before = cert.not_valid_before
    row.not_after = cert.not_valid_after
    row.key_usage = parsed.key_usage or []
    row.der = parsed.der
    row.source_format = parsed.source_format
    row.key_storage = key_storage
    row.token_label = token_label.strip()[:100]
    row.key_label = key_label.strip()[:100]
    row.is_active = True
    row.registered_by = person
    row.deactivated_by = None
    row.deactivated_at = None
    row.deactivation_reason = ""
    row.expiry_warned_days = None
    row.expiry_warned_at = None
    reactivated = row.pk is not None
    row.full_clean(exclude=["registered_by", "deactivated_by", "key_usage"])
    try:
        with transaction.atomic():  # a concurrent registration of the same file loses here
            row.save()
    except IntegrityError as exc:
        raise ValidationFailed(
            "Chứng thư số này đã được đăng ký.", code="certificate_already_registered"
        ) from exc
    audit.record(
        action=REGISTERED,
        actor=actor,
        obj=row,
        organisation=org,
        data={
            "purpose": purpose,
            "holder_id": holder.pk if holder else None,
            "sha256": row.sha256,
            "serial": row.serial,
            "subject": row.subject,
            "issuer": row.issuer,
            "not_after": row.not_after.isoformat(),
            "source_format": row.source_format,
            "key_storage": row.key_storage,
            "reactivated": reactivated,
        },
    )
    return row


@transaction.atomic
def deactivate_certificate(*, actor, certificate_id: int, reason: str = "") -> Certificate:
    """Stop using a registered certificate (the holder, or an administrator of its scope)."""
    row = (
        Certificate.objects.select_for_update()
        .select_related("organisation")
        .filter(pk=certificate_id)
        .first()
    )
    if row is None:
        raise NotFound("Không tìm thấy chứng thư số.", code="certificate_not_found")
    if actor is not None and not (
        (_is_person(actor) and row.user_id == actor.pk)
        or (isinstance(actor, ApiKey) and row.organisation.path.startswith(actor.organisation.path))
        or (_is_person(actor) and permissions.can(actor, MANAGE, row.organisation))
    ):
        raise PermissionDenied("Bạn không có quyền ngừng dùng chứng thư này.")
    if not row.is_active:
        raise ValidationFailed("Chứng thư số đã ngừng dùng.", code="certificate_inactive")
    row.is_active = False
    row.deactivated_by = actor if _is_person(actor) else None
    row.deactivated_at = timezone.now()
    row.deactivation_reason = reason.strip()[:255]
    row.save(update_fields=["is_active", "deactivated_by", "deactivated_at", "deactivation_reason"])
    audit.record(
        action=DEACTIVATED,
        actor=actor,
        obj=row,
        organisation=row.organisation,
        data={"sha256": row.sha256, "serial": row.serial, "reason": row.deactivation_reason},
    )
    return row


# --- Who may sign with which certificate (no data change) ----------------------------------------

NOT_REGISTERED_MESSAGE = (
    "Chứng thư số này chưa được đăng ký cho tài khoản của bạn. Hãy đăng ký tại mục Chứng thư số."
)


def _fingerprint(certificate) -> str:
    """SHA-256 of a certificate given as DER bytes, an asn1crypto or a `cryptography` object."""
    if isinstance(certificate, bytes | bytearray | memoryview):
        der = bytes(certificate)
    elif hasattr(certificate, "dump"):  # asn1crypto (what SigningKey.certificate gives)
        der = certificate.dump()
    else:
        der = certificate.public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def require_signer_holds(actor, certificate) -> Certificate:
    """Refuse a signature by `actor` made with a certificate that is not theirs: the certificate
    (the one of the opened key) must be registered, and active, as `actor`'s personal
    certificate. Returns the row. Changes nothing.

    A digital signature belongs to the person who holds the certificate's key (Luật Giao dịch
    điện tử 20/2023/QH15, Điều 22-23; Nghị định 23/2025/NĐ-CP, Điều 6: the signer controls the
    key when signing): a leader signing with a colleague's PKCS#12 file would sign in the
    colleague's name. Codes: `certificate_not_registered` (nobody registered it),
    `certificate_of_another_person` (another official or an organisation's seal),
    `certificate_deactivated` (the actor's own row, switched off)."""
    if not _is_person(actor):
        raise PermissionDenied(
            "Chỉ người ký đã đăng nhập mới ký được bằng chứng thư số cá nhân.",
            code="person_required",
        )
    sha256 = _fingerprint(certificate)
    rows = list(Certificate.objects.filter(sha256=sha256).order_by("-is_active", "-pk"))
    own = [r for r in rows if r.purpose == CertificatePurpose.PERSONAL and r.user_id == actor.pk]
    for row in own:
        if row.is_active:
            return row
    if own:
        raise ValidationFailed(
            "Chứng thư số này đã ngừng dùng trên hệ thống nên không dùng để ký được. "
            "Hãy đăng ký chứng thư số đang dùng tại mục Chứng thư số.",
            code="certificate_deactivated",
        )
    if any(r.purpose == CertificatePurpose.ORGANISATION for r in rows):
        raise PermissionDenied(
            "Chứng thư số này là chứng thư của cơ quan, tổ chức (con dấu), không dùng để ký "
            "với tư cách cá nhân.",
            code="certificate_of_another_person",
        )
    if rows:
        raise PermissionDenied(
            "Chứng thư số này đã được đăng ký cho người khác. Mỗi người chỉ được ký bằng "
            "chứng thư số của chính mình.",
            code="certificate_of_another_person",
        )
    raise ValidationFailed(NOT_REGISTERED_MESSAGE, code="certificate_not_registered")


def require_seal_of(organisation: Organisation, certificate) -> Certificate:
    """Refuse a seal (chữ ký số của cơ quan, tổ chức) applied for `organisation` with a
    certificate not registered, active, as the seal of `organisation` or of the ancestor whose
    seal it uses (a unit or a centre uses the seal of the organisation it belongs to,
    `signing.seal.seal_owners`). Returns the row. Changes nothing. Same codes as
    `require_signer_holds`; a seal certificate belongs to the agency, not to the clerk who
    applies it (Nghị định 30/2020/NĐ-CP, Điều 14.3).

    Not yet called by `signing.seal.seal` (the server's seal on forms): the seal key there is
    configuration held by the server, and `has_seal` (what the pages announce) cannot tell a
    registered seal without opening its key."""
    from chinhquyenso.signing.seal import seal_owners

    owners = {org.pk for org in seal_owners(organisation)}
    sha256 = _fingerprint(certificate)
    rows = list(Certificate.objects.filter(sha256=sha256).order_by("-is_active", "-pk"))
    ours = [
        r
        for r in rows
        if r.purpose == CertificatePurpose.ORGANISATION and r.organisation_id in owners
    ]
    for row in ours:
        if row.is_active:
            return row
    if ours:
        raise ValidationFailed(
            "Chứng thư số của con dấu này đã ngừng dùng trên hệ thống.",
            code="certificate_deactivated",
        )
    if rows:
        raise PermissionDenied(
            "Chứng thư số này đã được đăng ký cho cơ quan, tổ chức hoặc người khác.",
            code="certificate_of_another_person",
        )
    raise ValidationFailed(
        "Chứng thư số của con dấu chưa được đăng ký cho cơ quan, tổ chức này. "
        "Hãy đăng ký tại mục Chứng thư số.",
        code="certificate_not_registered",
    )
