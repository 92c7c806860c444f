"""The trust store: which certificates validation trusts, read from `TrustedCertificate`.

Certificates are accepted as PEM or DER whatever the file is called (a `.crt` file may hold
either). The two Government CA certificates (Ban Cơ yếu Chính phủ) shipped in `data/` are seeded
by a data migration and may be switched off by an administrator.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import pem, x509

from chinhquyenso.core.errors import ValidationFailed

DATA_DIR = Path(__file__).resolve().parent / "data"
GOVERNMENT_CA_FILES = ("vgca-root-g2.crt", "vgca-ca-co-quan-nha-nuoc-g2.pem")


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in `data` (PEM, possibly several, or one DER)."""
    try:
        if pem.detect(data):
            return [x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
        cert = x509.Certificate.load(data)
        cert.native  # noqa: B018 (parses lazily; force it so errors surface here)
        return [cert]
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(
            "Tệp không phải chứng thư số X.509 (PEM hoặc DER).", code="certificate_unreadable"
        ) from exc


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.dump()).hexdigest()


def subject_text(name: x509.Name) -> str:
    return name.human_friendly


@functools.cache
def government_fingerprints() -> frozenset[str]:
    """SHA-256 of the Government CA certificates shipped in `data/` (Ban Cơ yếu Chính phủ)."""
    found = set()
    for name in GOVERNMENT_CA_FILES:
        for cert in load_certificates((DATA_DIR / name).read_bytes()):
            found.add(fingerprint(cert))
    return frozenset(found)


@dataclass(frozen=True)
class TrustSet:
    anchors: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]


def current(extra_anchors=(), extra_intermediates=()) -> TrustSet:
    """The active trust store, plus certificates a caller adds for one validation."""
    from chinhquyenso.signing.models import TrustedCertificate, TrustKind

    anchors, intermediates = list(extra_anchors), list(extra_intermediates)
    # Which rows are active is read on every call (a certificate switched off stops being
    # trusted at once, on every server); only the parsing of certificates already seen by this
    # process is kept, by fingerprint (a row's certificate never changes).
    rows = list(TrustedCertificate.objects.filter(is_active=True).values_list("sha256", "kind"))
    missing = [sha for sha, _kind in rows if sha not in _PARSED]
    if missing:
        for sha, der in TrustedCertificate.objects.filter(sha256__in=missing).values_list(
            "sha256", "der"
        ):
            _PARSED[sha] = x509.Certificate.load(bytes(der))
    for sha, kind in rows:
        cert = _PARSED.get(sha)
        if cert is not None:
            (anchors if kind == TrustKind.ANCHOR else intermediates).append(cert)
    return TrustSet(tuple(anchors), tuple(intermediates))


# Parsed certificates of the trust store by SHA-256 (per process; see `current`).
_PARSED: dict[str, x509.Certificate] = {}
