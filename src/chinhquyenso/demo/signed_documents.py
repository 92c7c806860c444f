"""Signed documents of the one-stop demo (issue #4): the demo PKI's seal configuration for the
signing commune, a printed result document to sign, and receipts sealed right away, so that the
validation page has real signed receipts and results to show. Used by `demo.one_stop.load`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from chinhquyenso.core.models import Organisation, User
from chinhquyenso.core.private_files import write_private
from chinhquyenso.dossiers.forms_pdf import VnTime
from chinhquyenso.dossiers.models import Dossier

SIGNING_COMMUNE = "donduong"  # its chairman and its seal are in the demo PKI (signing/demo.py)
SIGNED_RESULTS = 12
SIGNED_RECEIPTS = 12


@dataclass
class SigningDemo:
    chairman: User
    chairman_p12: bytes
    password: str
    signed: int = 0
    dossiers: list = field(default_factory=list)


def result_pdf(d: Dossier) -> bytes:
    """A one-page A4 result document for the demo, marked DEMO, drawn directly with embedded
    Liberation Serif (`signing.demo_documents`: no HTML layout, a few milliseconds)."""
    from pyhanko.pdf_utils.writer import PdfFileWriter

    from chinhquyenso.signing import stamps
    from chinhquyenso.signing.demo_documents import a4_page

    writer = PdfFileWriter()
    regular = stamps.TextPainter(writer, stamps.font_path(stamps.FONT_REGULAR), 13, "F1")
    bold = stamps.TextPainter(writer, stamps.font_path(stamps.FONT_BOLD), 13, "F2")
    org = d.handling_organisation.name
    finished = VnTime(d.finished_at or timezone.now())
    ops = [b"0 0 0 rg"]
    ops.append(regular.line(org.upper(), 30, 790, align="center", width=240))
    ops.append(bold.line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 270, 790, align="center", width=300))
    ops.append(bold.line("Độc lập - Tự do - Hạnh phúc", 270, 772, align="center", width=300))
    place = org.split(" ", 2)[-1]
    ops.append(
        regular.line(
            f"{place}, {finished.long_date}",  # Decree 30/2020 Annex I, as the forms write it
            270,
            745,
            align="center",
            width=300,
        )
    )
    ops.append(
        bold.line("KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH", 0, 700, align="center", width=595)
    )
    y = 660
    for text in (
        f"Hồ sơ: {d.code}",
        f"Thủ tục: {d.procedure_version.name}",
        f"Người yêu cầu: {d.applicant_name}",
        f"{org} đã giải quyết xong hồ sơ nêu trên theo quy định.",
        "(Văn bản mẫu — DEMO, không có giá trị pháp lý.)",
    ):
        for wrapped in regular.wrap(text, 480):
            ops.append(regular.line(wrapped, 60, y))
            y -= 18
    return a4_page(writer, (regular, bold), ops)


def _ensure_intermediate(der: bytes) -> None:
    """The demo issuing CA as an intermediate of the trust store, once: a key on a token holds
    only its own certificate, and the chain is built from the store ("Ký số kết quả" with the
    demo SoftHSM2 token)."""
    import hashlib

    from chinhquyenso.signing import services as signing_services
    from chinhquyenso.signing.models import TrustedCertificate, TrustKind

    if TrustedCertificate.objects.filter(sha256=hashlib.sha256(der).hexdigest()).exists():
        return
    signing_services.add_trusted_certificate(
        actor=None, data=der, kind=TrustKind.INTERMEDIATE, note="CA trung gian thử nghiệm — DEMO"
    )


def prepare_signing(var_dir) -> tuple:
    """The demo PKI (`signing.demo`, created once), its root in the trust store, its
    certificates registered to their holders (`register_demo_certificates`), and the seal
    configuration the forms use (`signing.seal`): the signing commune's seal, the demo CRLs and
    the demo's local TSA, written into the seal directory on every run (the CRLs are refreshed).
    Returns (pki, the commune's organisation code)."""
    from chinhquyenso.signing import demo as signing_demo
    from chinhquyenso.signing import seal

    pki, _created = signing_demo.ensure_pki(Path(var_dir))
    with transaction.atomic():
        signing_demo.ensure_trusted(pki)
        _ensure_intermediate(pki.der("issuing"))
        # The chairman signs results with his own, registered certificate (issue #4).
        signing_demo.register_demo_certificates(pki)
    code = (
        Organisation.objects.filter(org_code__isnull=False, name=signing_demo.ORG_DONDUONG)
        .values_list("org_code", flat=True)
        .first()
    )
    directory = seal.seal_dir()
    (directory / "revocation").mkdir(parents=True, exist_ok=True)
    password = signing_demo.DEMO_PASSWORD
    files = {
        "tsa.p12": pki.p12("tsa"),
        "tsa.password": password.encode(),
        "revocation/root.crl": pki.crls["root"],
        "revocation/issuing.crl": pki.crls["issuing"],
    }
    if code:
        files |= {
            f"{code}.p12": pki.p12("org.donduong"),
            f"{code}.password": password.encode(),
            f"{code}.png": signing_demo.seal_png("Ủy ban nhân dân xã Đơn Dương"),
        }
    for name, data in files.items():
        path = directory / name
        if name.endswith((".p12", ".password")):
            write_private(path, data)
        else:
            path.write_bytes(data)
    return pki, code


def seal_receipts(dossier_ids, *, limit: int = SIGNED_RECEIPTS) -> int:
    """Render (sealed) the receipts of up to `limit` of these dossiers now, rather than in the
    worker, so the demo has signed receipts right away. Idempotent (`store_receipt`)."""
    from chinhquyenso.dossiers import tasks

    done = 0
    for pk in list(dossier_ids)[:limit]:
        if tasks.store_receipt(dossier_id=pk) == "rendered":
            done += 1
    return done
