"""Demo signatures for `make demo` (issue #4): a demo PKI, a SoftHSM2 token and a signed decision.

`load_demo_signatures(var_dir=...)` is idempotent. It creates, once, under `var_dir/pki/`:
a demo root CA and issuing CA ("DEMO — không có giá trị pháp lý" in their subjects), a demo
time-stamp authority, and certificates for the demo leaders, clerk and organisations, as
PKCS#12 files protected by `DEMO_PASSWORD` (the CA keys as encrypted PEM with the same
password). The certificates name the CRL and OCSP URLs of the demo's PKI services
(`DEMO_PKI_URL`, served by `cqs pki_services`, which `cqs demo` starts; `services()` builds that
application from this directory). Every run refreshes the demo CRLs, puts the demo root
in the trust store (note "DEMO"), registers the demo certificates to their holders (the
accounts, the organisations' seals: `register_demo_certificates`), initialises a SoftHSM2
token holding the chairman's key under `var_dir/softhsm/` when `softhsm2-util` is installed,
and makes a Quyết định signed by the chairman (through the token, or his PKCS#12 file when
SoftHSM2 is missing — logged) and then by the clerk with the
province's seal, stored through `core.services.files.store_file`. The service may not be
running while the demo loads, so that document is signed offline: the same TSA and OCSP
responder code runs in process and its answers are embedded (B-LT).

Nothing here is legally meaningful: the CAs are made up and say so in every certificate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from django.db import transaction

from chinhquyenso.core.private_files import write_private
from chinhquyenso.signing import pki_services, services, stamps
from chinhquyenso.signing.demo_documents import (
    ORG_TINH,
    decision_pdf,
    seal_png,
    signature_png,
)
from chinhquyenso.signing.demo_softhsm import (
    SOFTHSM_TOKEN,
    SofthsmKey,
    ensure_softhsm_token,
)
from chinhquyenso.signing.keys import Pkcs12Key
from chinhquyenso.signing.models import TrustedCertificate, TrustKind

log = logging.getLogger(__name__)

# The published demo credential (the same as the demo users' password, demo/generator.py).
DEMO_PASSWORD = "ChinhQuyenSo@2026"  # noqa: S105 - published demo credential
DEMO_MARK = "DEMO — không có giá trị pháp lý"
# Where `cqs demo` runs `cqs pki_services` (cli.PKI_BIND): baked into the demo certificates.
DEMO_PKI_URL = "http://127.0.0.1:8001"
CRL_BASE = f"{DEMO_PKI_URL}/crl"
OCSP_URL = f"{DEMO_PKI_URL}/ocsp"
TSA_URL = f"{DEMO_PKI_URL}/tsa"
# Bumped when the certificates' content changes: an older demo PKI is then made again.
PKI_VERSION = 4  # 3: holders named as their demo accounts; 4: signature block below the text
DECISION_FILE = "quyet-dinh-15-QD-UBND-demo.pdf"

ORG_DONDUONG = "UBND xã Đơn Dương"


@dataclass(frozen=True)
class DemoIdentity:
    """One certificate holder of the demo. `username`: the demo user it belongs to, if any."""

    key: str
    common_name: str
    organisation: str
    title: str = ""
    username: str = ""


IDENTITIES = (
    # Holders' names are those of the demo accounts (`_holder_name`); these are fallbacks.
    DemoIdentity("chutich.tinh", "Nguyễn Thanh Hà", ORG_TINH, "Chủ tịch UBND tỉnh", "chutich.tinh"),
    DemoIdentity(
        "chutich.donduong",
        "Đinh Khánh Nhi",
        ORG_DONDUONG,
        "Chủ tịch UBND xã",
        "chutich.donduong",
    ),
    DemoIdentity("vanthu.tinh", "Vũ Hoàng Khánh", ORG_TINH, "Văn thư", "vanthu.tinh"),
    DemoIdentity("org.tinh", ORG_TINH, ORG_TINH),
    DemoIdentity("org.donduong", ORG_DONDUONG, ORG_DONDUONG),
)


@dataclass
class DemoPki:
    directory: Path
    certs: dict[str, x509.Certificate] = field(default_factory=dict)
    crls: dict[str, bytes] = field(default_factory=dict)

    def p12(self, key: str) -> bytes:
        return (self.directory / f"{key}.p12").read_bytes()

    def key_pem(self, key: str) -> bytes:
        return (self.directory / f"{key}.key.pem").read_bytes()

    def der(self, key: str) -> bytes:
        return self.certs[key].public_bytes(serialization.Encoding.DER)

    def private_key(self, key: str):
        return serialization.load_pem_private_key(
            self.key_pem(key), password=DEMO_PASSWORD.encode()
        )

    @property
    def revocation(self) -> services.RevocationData:
        """The CRLs and, from the demo OCSP responder run in process, an OCSP response for
        every certificate the demo CAs issued: everything a B-LT signature embeds."""
        app = self.services()
        requests = [("issuing", "root")] + [(name, "issuing") for name in self._issued_here()]
        ocsps = []
        for name, issuer in requests:
            request = (
                ocsp.OCSPRequestBuilder()
                .add_certificate(self.certs[name], self.certs[issuer], hashes.SHA1())  # noqa: S303 (RFC 6960 CertID)
                .build()
            )
            ocsps.append(app.ocsp_response(request.public_bytes(serialization.Encoding.DER)))
        return services.RevocationData(
            crls=(self.crls["root"], self.crls["issuing"]), ocsps=tuple(ocsps)
        )

    def _issued_here(self) -> list[str]:
        return ["tsa", *(i.key for i in IDENTITIES)]

    def timestamper(self) -> pki_services.TimeStampAuthority:
        """The demo TSA, in process (the same code `cqs pki_services` serves at TSA_URL)."""
        return pki_services.make_timestamp_authority(
            self.certs["tsa"],
            self.private_key("tsa"),
            chain=(self.certs["issuing"], self.certs["root"]),
        )

    def services(self) -> pki_services.PkiServices:
        """The WSGI application of the demo CAs: CRLs, OCSP (signed by each CA) and the TSA."""
        root = pki_services.Authority(
            slug="root",
            cert=self.certs["root"],
            key=self.private_key("root"),
            issued={self.certs["issuing"].serial_number},
            crl_validity=dt.timedelta(days=30),
        )
        issuing = pki_services.Authority(
            slug="issuing",
            cert=self.certs["issuing"],
            key=self.private_key("issuing"),
            issued={self.certs[name].serial_number for name in self._issued_here()},
            crl_validity=dt.timedelta(days=30),
            ocsp_validity=dt.timedelta(days=7),
        )
        return pki_services.PkiServices([root, issuing], tsa=self.timestamper())


@dataclass
class DemoSignatures:
    """What `load_demo_signatures` made (paths, the token if any, the stored documents)."""

    pki_dir: Path
    password: str
    softhsm_token: str | None
    chairman_key_kind: str
    signed_pdf: Path
    stored_files: list = field(default_factory=list)
    created_pki: bool = False


# --- PKI ----------------------------------------------------------------------------------


def _name(cn: str, org: str, *, ou: str = "", uid: str = "") -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou or DEMO_MARK),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ]
    if uid:
        attrs.append(x509.NameAttribute(NameOID.USER_ID, uid))
    return x509.Name(attrs)


def _ku(**flags) -> x509.KeyUsage:
    names = (
        "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
        "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
    )  # fmt: skip
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


def _cert(
    subject, key, issuer_cert, issuer_key, *, ca, days, ku, eku=None, crl=None, ocsp_url=None
):
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=0 if ca and issuer_cert else None),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key((issuer_key or key).public_key()),
            critical=False,
        )
        .add_extension(ku, critical=True)
        .add_extension(
            x509.CertificatePolicies(
                [
                    x509.PolicyInformation(
                        x509.ObjectIdentifier("2.999.84.1"),  # example arc: demo only
                        [x509.UserNotice(None, f"Chứng thư số thử nghiệm ({DEMO_MARK})")],
                    )
                ]
            ),
            critical=False,
        )
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    if crl:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(crl)], None, None, None)]
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
    return builder.sign(issuer_key or key, hashes.SHA256())


def _crl(cert, key) -> bytes:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(cert.subject)
        .last_update(now - dt.timedelta(hours=1))
        .next_update(now + dt.timedelta(days=30))
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )


def _save(directory: Path, key_name: str, cert, key, chain=()) -> None:
    enc = serialization.BestAvailableEncryption(DEMO_PASSWORD.encode())
    (directory / f"{key_name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_private(
        directory / f"{key_name}.key.pem",
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc),
    )
    if chain:
        write_private(
            directory / f"{key_name}.p12",
            pkcs12.serialize_key_and_certificates(key_name.encode(), key, cert, list(chain), enc),
        )


def _new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _holder_name(ident: DemoIdentity) -> str:
    """The name on a demo certificate: the demo account's full name (the deterministic plan of
    `demo/plan.py`), so that a validation report names the person who signed in."""
    if not ident.username:
        return ident.common_name
    from chinhquyenso.demo import plan

    names = {o.username: o.full_name for o in plan.build_plan().officials}
    return names.get(ident.username, ident.common_name)


def _build_pki(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    org = f"Hệ thống Chính quyền số ({DEMO_MARK})"
    root_key = _new_key()
    root = _cert(
        _name(f"CQS Demo Root CA — {DEMO_MARK}", org),
        root_key,
        None,
        None,
        ca=True,
        days=10 * 365,
        ku=_ku(key_cert_sign=True, crl_sign=True),
    )
    _save(directory, "root", root, root_key)
    ca_key = _new_key()
    ca = _cert(
        _name(f"CQS Demo Issuing CA — {DEMO_MARK}", org),
        ca_key,
        root,
        root_key,
        ca=True,
        days=8 * 365,
        ku=_ku(key_cert_sign=True, crl_sign=True),
        crl=f"{CRL_BASE}/root.crl",
        ocsp_url=OCSP_URL,
    )
    _save(directory, "issuing", ca, ca_key)
    chain = (ca, root)
    tsa_key = _new_key()
    tsa = _cert(
        _name(f"CQS Demo TSA — {DEMO_MARK}", org),
        tsa_key,
        ca,
        ca_key,
        ca=False,
        days=5 * 365,
        ku=_ku(digital_signature=True),
        eku=[ExtendedKeyUsageOID.TIME_STAMPING],
        crl=f"{CRL_BASE}/issuing.crl",
        ocsp_url=OCSP_URL,
    )
    _save(directory, "tsa", tsa, tsa_key, chain)
    for ident in IDENTITIES:
        key = _new_key()
        cert = _cert(
            _name(_holder_name(ident), ident.organisation, ou=ident.title, uid=ident.username),
            key,
            ca,
            ca_key,
            ca=False,
            days=3 * 365,
            ku=_ku(digital_signature=True, content_commitment=True),
            crl=f"{CRL_BASE}/issuing.crl",
            ocsp_url=OCSP_URL,
        )
        _save(directory, ident.key, cert, key, chain)
    (directory / "README.txt").write_text(
        f"PKI thử nghiệm của Chính quyền số — {DEMO_MARK}.\n"
        "Các tệp .p12 và .key.pem được bảo vệ bằng mật khẩu demo ghi trong README của dự án.\n",
        encoding="utf-8",
    )
    (directory / "manifest.json").write_text(
        json.dumps(
            {
                "version": PKI_VERSION,
                "pki_url": DEMO_PKI_URL,
                "identities": [i.key for i in IDENTITIES],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )


def _load_pki(directory: Path) -> DemoPki:
    pki = DemoPki(directory)
    for name in ("root", "issuing", "tsa", *(i.key for i in IDENTITIES)):
        pki.certs[name] = x509.load_pem_x509_certificate((directory / f"{name}.crt").read_bytes())
    # CRLs are refreshed on every run so that a demo started weeks later still validates.
    for name in ("root", "issuing"):
        key = serialization.load_pem_private_key(
            (directory / f"{name}.key.pem").read_bytes(), password=DEMO_PASSWORD.encode()
        )
        pki.crls[name] = _crl(pki.certs[name], key)
        (directory / f"{name}.crl").write_bytes(pki.crls[name])
    return pki


def ensure_pki(var_dir: Path) -> tuple[DemoPki, bool]:
    """The demo PKI under `var_dir/pki`, created on the first call. Returns (pki, created)."""
    directory = Path(var_dir) / "pki"
    created = False
    manifest = directory / "manifest.json"
    if manifest.exists() and _manifest_version(manifest) != PKI_VERSION:
        # An older demo PKI (certificates without the local OCSP/CRL URLs): make it again, and
        # forget what was made with it (the token's key, the signed decision).
        log.info("demo PKI: %s is from an older version, creating it again", directory)
        manifest.unlink()
        shutil.rmtree(Path(var_dir) / "softhsm", ignore_errors=True)
        for stale in (Path(var_dir) / "signed").glob(f"{DECISION_FILE}*"):
            stale.unlink()
    if not manifest.exists():
        log.info("demo PKI: creating under %s", directory)
        _build_pki(directory)
        created = True
    return _load_pki(directory), created


def _manifest_version(path: Path) -> int:
    try:
        return int(json.loads(path.read_text(encoding="utf-8")).get("version", 1))
    except (ValueError, AttributeError):
        return 0


def ensure_trusted(pki: DemoPki) -> None:
    """The demo root in the trust store, once (marked DEMO in its note)."""
    der = pki.der("root")
    if TrustedCertificate.objects.filter(
        sha256=hashlib.sha256(der).hexdigest(), is_active=True
    ).exists():
        return
    services.add_trusted_certificate(
        actor=None, data=der, kind=TrustKind.ANCHOR, note=f"CA gốc thử nghiệm — {DEMO_MARK}"
    )


def register_demo_certificates(pki: DemoPki) -> int:
    """The demo certificates registered to their holders (issue #4: a person signs only with a
    certificate registered to them, `certificates.require_signer_holds`): the personal ones to
    their demo accounts, the seals to their organisations, by the system (actor None). Creates
    only what is missing (a row switched off by someone stays off); returns how many rows it
    created. A holder missing from the database is skipped (logged)."""
    from chinhquyenso.core.models import Organisation, User
    from chinhquyenso.signing import certificates
    from chinhquyenso.signing.models import Certificate, CertificatePurpose, KeyStorage

    created = 0
    for ident in IDENTITIES:
        der = pki.der(ident.key)
        sha256 = hashlib.sha256(der).hexdigest()
        if ident.username:
            holder = User.objects.filter(username=ident.username, is_active=True).first()
            if holder is None:
                log.info("demo: user %s not found; certificate not registered", ident.username)
                continue
            exists = Certificate.objects.filter(
                purpose=CertificatePurpose.PERSONAL, user=holder, sha256=sha256
            ).exists()
            kwargs = {
                "purpose": CertificatePurpose.PERSONAL,
                "holder_user": holder,
                "key_storage": KeyStorage.PKCS12_HOLDER,
            }
        else:
            org = Organisation.objects.filter(
                org_code__isnull=False, name=ident.organisation
            ).first()
            if org is None:
                log.info("demo: %s not found; seal certificate not registered", ident.organisation)
                continue
            exists = Certificate.objects.filter(
                purpose=CertificatePurpose.ORGANISATION, organisation=org, sha256=sha256
            ).exists()
            kwargs = {"purpose": CertificatePurpose.ORGANISATION, "organisation": org}
        if not exists:
            certificates.register_certificate(actor=None, data=der, **kwargs)
            created += 1
    return created


def _user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=username, is_active=True).first()


def _organisation_of(user):
    from chinhquyenso.core import permissions

    positions = permissions.active_positions(user) if user is not None else []
    return positions[0].organisation if positions else None


def sign_demo_decision(
    *, pki: DemoPki, softhsm_conf: Path | None, chairman=None, clerk=None
) -> tuple[bytes, str]:
    """The demo Quyết định signed by the chairman (token, else PKCS#12) then by the clerk with
    the province's seal, both B-LT. Returns (pdf, the chairman's key kind)."""
    options = services.SignOptions(
        timestamper=pki.timestamper(),
        revocation=pki.revocation,
        location="Lâm Đồng",
        fetch_revocation=False,  # the demo's PKI service may not be running yet: all given
    )
    chairman_spec = stamps.StampSpec(
        kind=stamps.SIGNER,
        document_type="quyet_dinh",
        position="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
        signer_name=pki.certs["chutich.tinh"]
        .subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]
        .value,
        signature_image=signature_png("chutich.tinh"),
    )
    seal_spec = stamps.StampSpec(
        kind=stamps.ORGANISATION,
        document_type="quyet_dinh",
        organisation_name=ORG_TINH,
        seal_image=seal_png("Ủy ban nhân dân tỉnh Lâm Đồng"),
    )
    pdf = decision_pdf()

    def sign(key, spec, field_name, actor):
        return services.sign_pdf(
            actor=actor,
            pdf_bytes=pdf,
            key=key,
            field_name=field_name,
            level="B-LT",
            stamp=spec,
            options=options,
            organisation=_organisation_of(actor),
        )

    if softhsm_conf is not None:
        with SofthsmKey(softhsm_conf, pki) as key:
            pdf = sign(key, chairman_spec, "ChuTich", chairman)
        kind = "pkcs11"
    else:
        log.warning(
            "demo: SoftHSM2 is not installed; the chairman signs with his PKCS#12 file instead"
        )
        pdf = sign(
            Pkcs12Key(pki.p12("chutich.tinh"), DEMO_PASSWORD), chairman_spec, "ChuTich", chairman
        )
        kind = "pkcs12"
    org_key = Pkcs12Key(pki.p12("org.tinh"), DEMO_PASSWORD)
    pdf = sign(org_key, seal_spec, "CoQuan", clerk)
    return pdf, kind


def load_demo_signatures(*, var_dir, use_softhsm: bool = True) -> DemoSignatures:
    """Create (once) and load the demo signatures; see the module docstring. Safe to re-run:
    the PKI, the token and the signed decision are reused, the trust entry is not duplicated
    and storing the same PDF again returns the same file."""
    var_dir = Path(var_dir)
    pki, created = ensure_pki(var_dir)
    with transaction.atomic():
        ensure_trusted(pki)
        register_demo_certificates(pki)
    conf = ensure_softhsm_token(var_dir, pki, DEMO_PASSWORD) if use_softhsm else None

    docs = var_dir / "signed"
    docs.mkdir(parents=True, exist_ok=True)
    target = docs / DECISION_FILE
    chairman, clerk = _user("chutich.tinh"), _user("vanthu.tinh")
    kind_file = docs / (DECISION_FILE + ".key-kind")
    if target.exists() and kind_file.exists():
        pdf, kind = target.read_bytes(), kind_file.read_text().strip()
    else:
        pdf, kind = sign_demo_decision(pki=pki, softhsm_conf=conf, chairman=chairman, clerk=clerk)
        target.write_bytes(pdf)
        kind_file.write_text(kind)

    result = DemoSignatures(
        pki_dir=pki.directory,
        password=DEMO_PASSWORD,
        softhsm_token=SOFTHSM_TOKEN if conf else None,
        chairman_key_kind=kind,
        signed_pdf=target,
        created_pki=created,
    )
    if clerk is not None:
        from chinhquyenso.core.services.files import store_file

        result.stored_files.append(
            store_file(
                actor=clerk,
                uploaded=pdf,
                name=DECISION_FILE,
                purpose="attachment",
                organisation=_organisation_of(clerk),
            )
        )
    else:
        log.warning("demo: user vanthu.tinh not found; the signed decision is only in %s", target)
    return result
