"""Seed the trust store with the Government CA (Ban Cơ yếu Chính phủ) certificates in data/.

The root is a trust anchor; "CA phục vụ các cơ quan Nhà nước G2" is its issuing CA, kept as an
intermediate because many signed PDFs do not embed it. Reversing removes exactly these rows.
"""

import hashlib
from datetime import UTC
from pathlib import Path

from asn1crypto import pem, x509
from django.db import migrations

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FILES = (("vgca-root-g2.crt", "anchor"), ("vgca-ca-co-quan-nha-nuoc-g2.pem", "intermediate"))
NOTE = "Ban Cơ yếu Chính phủ (cài sẵn)"


def _load(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return x509.Certificate.load(data)


def seed(apps, schema_editor):
    TrustedCertificate = apps.get_model("signing", "TrustedCertificate")
    for name, kind in FILES:
        cert = _load(DATA_DIR / name)
        der = cert.dump()
        TrustedCertificate.objects.get_or_create(
            sha256=hashlib.sha256(der).hexdigest(),
            defaults={
                "kind": kind,
                "subject": cert.subject.human_friendly,
                "issuer": cert.issuer.human_friendly,
                "serial": format(cert.serial_number, "x"),
                "not_before": cert.not_valid_before.astimezone(UTC),
                "not_after": cert.not_valid_after.astimezone(UTC),
                "der": der,
                "note": NOTE,
            },
        )


def unseed(apps, schema_editor):
    TrustedCertificate = apps.get_model("signing", "TrustedCertificate")
    hashes = [hashlib.sha256(_load(DATA_DIR / name).dump()).hexdigest() for name, _ in FILES]
    TrustedCertificate.objects.filter(sha256__in=hashes).delete()


class Migration(migrations.Migration):
    dependencies = [("signing", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
