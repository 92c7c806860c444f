"""The organisation's seal (chữ ký số của cơ quan, tổ chức) applied by the server to the forms it
issues (issue #4; Decree 30/2020/NĐ-CP Annex I, DOMAIN.md §6.5).

Forms 01–05 of the one-stop shop are issued by the organisation, not signed by a person at the
desk, so the server signs them with the organisation's own certificate. Where that key lives is
configuration, never data (docs/cau-hinh.md, "Dấu cơ quan"):

- a directory `SIGNING_SEAL_DIR` (default `var/pki/seals/`) holding, per organisation, named by
  its organisation code (mã định danh, e.g. `000.01.39.H39`): `<code>.p12` (the seal's PKCS#12
  file), `<code>.password` (its password, one line) and optionally `<code>.png` (the seal image,
  unused by the small mark but kept for stamps that need it);
- or a PKCS#11 token (HSM): `SIGNING_SEAL_PKCS11_LIB`, `SIGNING_SEAL_TOKEN` and the PIN in the
  file `SIGNING_SEAL_PIN_FILE`; the key and certificate labels are the organisation code.

A unit, a room or a service centre without a seal of its own uses the seal of the organisation it
belongs to (the nearest ancestor that is not a unit or a centre, e.g. the UBND xã of its Trung tâm
Phục vụ hành chính công); a committee or a department never borrows its parent's seal.

The level follows what is configured: PAdES B-LT when a time-stamp authority and revocation data
(CRL files in `<SIGNING_SEAL_DIR>/revocation/`, cached from the CA) are available, B-T with a TSA
alone, otherwise B-B. The TSA is `SIGNING_TSA_URL`, or, without it, for demonstrations and tests
only, a local one from `<SIGNING_SEAL_DIR>/tsa.p12` + `tsa.password` (no legal value: time-stamps
must come from a licensed TSA).

`seal_pdf(organisation=..., pdf_bytes=..., purpose=...)` returns the sealed PDF, or None (the
reason logged) when no seal is configured or it cannot be used: forms are then issued unsigned
and say so ("Chưa ký số").
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.signing import services, stamps
from chinhquyenso.signing.keys import Pkcs11Key, Pkcs12Key, SigningKey

log = logging.getLogger(__name__)

# Units and centres use the seal of the organisation they belong to (see the module docstring).
_BORROWING_KINDS = frozenset({"unit", "service_centre"})

SEAL_FIELD = "DauCoQuan"


def seal_dir() -> Path:
    configured = getattr(settings, "SIGNING_SEAL_DIR", "") or ""
    if configured:
        return Path(configured)
    return Path(settings.VAR_DIR) / "pki" / "seals"


def _read_secret(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


# --- Where a seal is configured ------------------------------------------------------------


@dataclass(frozen=True)
class SealSource:
    """The configured seal of one organisation (`organisation`: the one whose seal it is)."""

    organisation: object
    code: str
    kind: str  # "pkcs12" or "pkcs11"
    path: Path | None = None

    def open(self) -> SigningKey:
        """The key, ready to sign (close it after use). Raises SigningKeyError."""
        if self.kind == "pkcs12":
            password = _read_secret(self.path.with_suffix(".password"))
            if password is None:
                raise ValidationFailed(
                    f"Thiếu tệp mật khẩu của dấu cơ quan {self.code}.", code="seal_password_missing"
                )
            return _pkcs12(str(self.path), _stamp(self.path), password)
        pin = _read_secret(Path(settings.SIGNING_SEAL_PIN_FILE))
        if pin is None:
            raise ValidationFailed(
                "Không đọc được tệp mã PIN của thiết bị ký dấu cơ quan.", code="seal_pin_missing"
            )
        return Pkcs11Key(
            lib=settings.SIGNING_SEAL_PKCS11_LIB,
            token_label=settings.SIGNING_SEAL_TOKEN,
            pin=pin,
            key_label=self.code,
        )


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=32)
def _pkcs12(path: str, stamp: tuple[int, int], password: str) -> Pkcs12Key:
    """The opened seal file, kept per process (unlocking a PKCS#12 file costs ~0.1 s of key
    derivation per form otherwise); a replaced file (`stamp`: mtime and size) or a changed
    password is a new key. Only successful opens are cached."""
    return Pkcs12Key(Path(path).read_bytes(), password)


def _pkcs11_configured() -> bool:
    return bool(
        getattr(settings, "SIGNING_SEAL_PKCS11_LIB", "")
        and getattr(settings, "SIGNING_SEAL_TOKEN", "")
        and getattr(settings, "SIGNING_SEAL_PIN_FILE", "")
    )


def _candidates(organisation):
    """The organisation, then (for units and centres) its ancestors up to the first one that
    is neither."""
    org = organisation
    while org is not None:
        yield org
        if org.kind not in _BORROWING_KINDS:
            return
        org = org.parent


def seal_owners(organisation) -> list:
    """The organisations whose seal may seal for `organisation`: itself, then (for units and
    centres) the ancestors it borrows the seal from (see the module docstring)."""
    return list(_candidates(organisation)) if organisation is not None else []


def seal_source(organisation) -> SealSource | None:
    """Where the seal used for `organisation`'s forms is configured, or None."""
    if organisation is None:
        return None
    directory = seal_dir()
    for org in _candidates(organisation):
        code = org.org_code
        if not code:
            continue
        p12 = directory / f"{code}.p12"
        if p12.is_file():
            return SealSource(org, code, "pkcs12", p12)
        if _pkcs11_configured():
            # Whether the token holds the key is only known when it is opened (seal_pdf).
            return SealSource(org, code, "pkcs11")
    return None


def has_seal(organisation) -> bool:
    return seal_source(organisation) is not None


# --- Level and options shared by the server's signatures ---------------------------------------


def _revocation() -> services.RevocationData:
    folder = seal_dir() / "revocation"
    if not folder.is_dir():
        return services.RevocationData()
    crls = tuple(p.read_bytes() for p in sorted(folder.glob("*.crl")))
    return services.RevocationData(crls=crls)


def _local_timestamper():
    """The local TSA of demonstrations and tests (`tsa.p12` in the seal directory)."""
    path = seal_dir() / "tsa.p12"
    password = _read_secret(seal_dir() / "tsa.password")
    if not path.is_file() or password is None:
        return None
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    try:
        key = _pkcs12(str(path), _stamp(path), password)
    except ValidationFailed:
        log.warning("seal: the local TSA in %s cannot be opened; signing without it", path)
        return None
    signer = key.signer
    return DummyTimeStamper(
        tsa_cert=signer.signing_cert,
        tsa_key=signer.signing_key,
        certs_to_embed=list(signer.cert_registry),
    )


def profile(*, location: str = "", reason: str = "") -> tuple[str, services.SignOptions]:
    """(level, options) for a signature made now: B-LT with a TSA and revocation data, B-T
    with a TSA only, B-B without a TSA (see the module docstring)."""
    revocation = _revocation()
    url = bool(getattr(settings, "SIGNING_TSA_URL", ""))
    # The configured TSA first (sign_pdf's default); the local one only without it.
    timestamper = None if url else _local_timestamper()
    has_tsa = url or timestamper is not None
    if not has_tsa:
        level = "B-B"
    elif revocation.crls or revocation.ocsps:
        level = "B-LT"
    else:
        level = "B-T"
    options = services.SignOptions(
        timestamper=timestamper, revocation=revocation, reason=reason, location=location
    )
    return level, options


# --- Sealing ------------------------------------------------------------------------------

# A5 portrait (420 × 595 pt), the forms' page: the mark sits in the bottom margin of page 1,
# left of the page number, where the unsigned forms print "Chưa ký số".
A5_MARK_BOX = (34, 3, 262, 27)


def mark_spec(organisation_name: str, purpose_title: str, *, box=A5_MARK_BOX) -> stamps.StampSpec:
    """The small visible mark of a sealed form: the agency, what was sealed, and the time
    (Annex I: agency's name and signing time in Times New Roman–compatible type)."""
    return stamps.StampSpec(
        kind=stamps.MARK,
        organisation_name=f"Ký số bởi: {organisation_name}",
        lines=(purpose_title,) if purpose_title else (),
        page=0,
        box=box,
        font_size=6.5,
    )


@dataclass(frozen=True)
class Sealed:
    pdf: bytes
    organisation: object
    level: str
    certificate_subject: str
    certificate_serial: str


def seal(
    *, organisation, pdf_bytes: bytes, purpose: str, title: str = "", box=A5_MARK_BOX
) -> Sealed | None:
    """Seal `pdf_bytes` for `organisation` (see `seal_pdf`), with what was used."""
    source = seal_source(organisation)
    if source is None:
        log.info(
            "seal: no seal configured for %s (%s); %s issued unsigned",
            organisation,
            getattr(organisation, "org_code", None),
            purpose,
        )
        return None
    level, options = profile(location=getattr(organisation, "name", ""), reason=title or purpose)
    try:
        key = source.open()
    except ValidationFailed as exc:
        log.warning("seal: the seal of %s cannot be opened (%s)", source.code, exc.code)
        return None
    try:
        signed = services.sign_pdf(
            actor=None,  # the server signs in the organisation's name, no person does
            pdf_bytes=pdf_bytes,
            key=key,
            field_name=SEAL_FIELD,
            level=level,
            stamp=mark_spec(source.organisation.name, title, box=box),
            options=options,
            organisation=source.organisation,
        )
        cert = key.certificate
    except ValidationFailed as exc:
        log.warning("seal: sealing %s for %s failed (%s)", purpose, source.code, exc.code)
        return None
    finally:
        key.close()
    return Sealed(
        pdf=signed,
        organisation=source.organisation,
        level=level,
        certificate_subject=cert.subject.human_friendly,
        certificate_serial=format(cert.serial_number, "x"),
    )


def seal_pdf(*, organisation, pdf_bytes: bytes, purpose: str, title: str = "") -> bytes | None:
    """The PDF sealed with `organisation`'s seal, or None (reason logged) when it has none or
    it cannot be used. Audited by `services.sign_pdf` (signature.applied)."""
    sealed = seal(organisation=organisation, pdf_bytes=pdf_bytes, purpose=purpose, title=title)
    return sealed.pdf if sealed is not None else None
