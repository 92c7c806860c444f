"""A demo PKI generated at test time with `cryptography` (no fixed files), served locally.

Demo root CA → demo issuing CA → leader, organisation, revoked, expired and no-key-usage
end-entity certificates; a time-stamp authority and a delegated OCSP responder under the issuing
CA; CRLs of the root (for the issuing CA) and of the issuing CA (listing the revoked
certificate); and a second, unrelated CA with its own signer (for PDFs "signed elsewhere").
Everything is written once per test session to a temporary directory: PEM/DER certificates,
unencrypted PEM keys and PKCS#12 files.

The certificates name the CRL (`<base>/crl/<ca>.crl`) and OCSP (`<base>/ocsp`) URLs of the
`pki_services` application returned in `TestPKI.services`, which conftest serves on 127.0.0.1
(the base URL is known before the certificates are made). The CA's revocation list lives in
that application: `pki.services.authority("issuing").revoke(serial)` revokes for real.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from chinhquyenso.signing import pki_services

P12_PASSWORD = "Mat-khau-P12-thu-nghiem"


@dataclass
class Identity:
    name: str
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    cert_path: Path
    key_path: Path
    p12_path: Path | None = None

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def p12_bytes(self) -> bytes:
        assert self.p12_path is not None
        return self.p12_path.read_bytes()


@dataclass
class TestPKI:
    directory: Path
    ids: dict[str, Identity] = field(default_factory=dict)
    crls: dict[str, bytes] = field(default_factory=dict)  # DER
    base_url: str = ""
    services: pki_services.PkiServices | None = None
    tsa: pki_services.TimeStampAuthority | None = None

    def __getitem__(self, name: str) -> Identity:
        return self.ids[name]


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _ku(**flags) -> x509.KeyUsage:
    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ]
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


def _issue(
    *,
    subject: x509.Name,
    key,
    issuer_cert: x509.Certificate | None,
    issuer_key,
    ca: bool,
    not_before: dt.datetime,
    not_after: dt.datetime,
    key_usage: x509.KeyUsage | None,
    eku: list | None = None,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    extra: tuple = (),
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=1 if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key((issuer_key or key).public_key()),
            critical=False,
        )
    )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(crl_url)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(ocsp_url),
                    )
                ]
            ),
            critical=False,
        )
    for extension in extra:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _save(directory: Path, name: str, cert, key, chain=(), p12=True) -> Identity:
    cert_path = directory / f"{name}.crt"
    key_path = directory / f"{name}.key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    p12_path = None
    if p12:
        p12_path = directory / f"{name}.p12"
        p12_path.write_bytes(
            pkcs12.serialize_key_and_certificates(
                name.encode(),
                key,
                cert,
                list(chain) or None,
                serialization.BestAvailableEncryption(P12_PASSWORD.encode()),
            )
        )
    return Identity(name, cert, key, cert_path, key_path, p12_path)


def build(directory: Path, base_url: str = "http://127.0.0.1:9") -> TestPKI:
    """The PKI, its certificates naming `base_url` (where conftest serves `pki.services`)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    long_ago = now - dt.timedelta(days=365)
    later = now + dt.timedelta(days=3 * 365)
    pki = TestPKI(directory, base_url=base_url)
    crl_base, ocsp_url = f"{base_url}/crl", f"{base_url}/ocsp"
    demo = "Hệ thống Chính quyền số (DEMO)"

    root_key = _key()
    root_cert = _issue(
        subject=_name("CQS Demo Root CA (DEMO)", demo),
        key=root_key,
        issuer_cert=None,
        issuer_key=None,
        ca=True,
        not_before=long_ago,
        not_after=later + dt.timedelta(days=365),
        key_usage=_ku(key_cert_sign=True, crl_sign=True),
    )
    root = pki.ids["root"] = _save(directory, "root", root_cert, root_key, p12=False)

    ca_key = _key()
    ca_cert = _issue(
        subject=_name("CQS Demo Issuing CA (DEMO)", demo),
        key=ca_key,
        issuer_cert=root_cert,
        issuer_key=root_key,
        ca=True,
        not_before=long_ago,
        not_after=later,
        key_usage=_ku(key_cert_sign=True, crl_sign=True),
        crl_url=f"{crl_base}/root.crl",
        ocsp_url=ocsp_url,
    )
    ca = pki.ids["issuing"] = _save(directory, "issuing", ca_cert, ca_key, p12=False)

    def end_entity(name, cn, org, *, ku=None, eku=None, nb=None, na=None, extra=(), ocsp=True):
        key = _key()
        cert = _issue(
            subject=_name(cn, org),
            key=key,
            issuer_cert=ca_cert,
            issuer_key=ca_key,
            ca=False,
            not_before=nb or long_ago,
            not_after=na or later,
            key_usage=ku
            if ku is not None
            else _ku(digital_signature=True, content_commitment=True),
            eku=eku,
            crl_url=f"{crl_base}/issuing.crl",
            ocsp_url=ocsp_url if ocsp else None,
            extra=extra,
        )
        pki.ids[name] = _save(directory, name, cert, key, chain=[ca_cert, root_cert])
        return pki.ids[name]

    org = "UBND tỉnh Lâm Đồng"
    end_entity("leader", "Võ Minh Giang", org)
    end_entity("organisation", org, org)
    revoked = end_entity("revoked", "Người Bị Thu Hồi", org)
    end_entity("expired", "Người Hết Hạn", org, nb=long_ago, na=now - dt.timedelta(days=2))
    end_entity("no_usage", "Không Có Quyền Ký", org, ku=_ku(key_encipherment=True))
    end_entity(
        "tsa",
        "CQS Demo TSA (DEMO)",
        demo,
        ku=_ku(digital_signature=True),
        eku=[ExtendedKeyUsageOID.TIME_STAMPING],
    )

    # RFC 6960 §4.2.2.2: a delegated responder, certified by the CA for OCSP signing only.
    responder = end_entity(
        "ocsp_responder",
        "CQS Demo OCSP Responder (DEMO)",
        demo,
        ku=_ku(digital_signature=True),
        eku=[ExtendedKeyUsageOID.OCSP_SIGNING],
        extra=(pki_services.ocsp_nocheck_extension(),),
        ocsp=False,
    )

    root_ca = pki_services.Authority(
        slug="root", cert=root.cert, key=root.key, issued={ca.cert.serial_number}
    )
    issuing_ca = pki_services.Authority(
        slug="issuing",
        cert=ca.cert,
        key=ca.key,
        issued={i.cert.serial_number for n, i in pki.ids.items() if n not in ("root", "issuing")},
        responder=(responder.cert, responder.key),
    )
    issuing_ca.revoke(revoked.cert.serial_number, at=now - dt.timedelta(days=1))
    pki.tsa = pki_services.make_timestamp_authority(
        pki["tsa"].cert, pki["tsa"].key, chain=(ca.cert, root.cert)
    )
    pki.services = pki_services.PkiServices([root_ca, issuing_ca], tsa=pki.tsa)
    pki.crls["root"] = root_ca.crl(now)
    pki.crls["issuing"] = issuing_ca.crl(now)
    for name, der in pki.crls.items():
        (directory / f"{name}.crl").write_bytes(der)

    # A second, unrelated CA and its signer: "another software, another CA".
    other_key = _key()
    other_cert = _issue(
        subject=_name("Other Test CA", "Other Vendor"),
        key=other_key,
        issuer_cert=None,
        issuer_key=None,
        ca=True,
        not_before=long_ago,
        not_after=later,
        key_usage=_ku(key_cert_sign=True, crl_sign=True),
    )
    other = pki.ids["other_root"] = _save(directory, "other_root", other_cert, other_key, p12=False)
    signer_key = _key()
    signer_cert = _issue(
        subject=_name("Trần Văn Khác", "Công ty Phần mềm Khác"),
        key=signer_key,
        issuer_cert=other_cert,
        issuer_key=other_key,
        ca=False,
        not_before=long_ago,
        not_after=later,
        key_usage=_ku(digital_signature=True, content_commitment=True),
    )
    pki.ids["other_signer"] = _save(
        directory, "other_signer", signer_cert, signer_key, chain=[other.cert]
    )
    return pki


def issue_signer(pki: TestPKI, name: str, cn: str, *, ocsp: bool = True) -> Identity:
    """A new signer under the issuing CA, known to its OCSP responder (tests that revoke a
    certificate use their own, so the session's PKI stays as it is for the others)."""
    now = dt.datetime.now(dt.UTC)
    ca = pki["issuing"]
    key = _key()
    cert = _issue(
        subject=_name(cn, "UBND tỉnh Lâm Đồng"),
        key=key,
        issuer_cert=ca.cert,
        issuer_key=ca.key,
        ca=False,
        not_before=now - dt.timedelta(days=30),
        not_after=now + dt.timedelta(days=365),
        key_usage=_ku(digital_signature=True, content_commitment=True),
        crl_url=f"{pki.base_url}/crl/issuing.crl",
        ocsp_url=f"{pki.base_url}/ocsp" if ocsp else None,
    )
    pki.services.authority("issuing").issued.add(cert.serial_number)
    identity = _save(pki.directory, name, cert, key, chain=[ca.cert, pki["root"].cert])
    pki.ids[name] = identity
    return identity
