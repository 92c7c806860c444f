"""Registering signing certificates (PEM, DER, PKCS#12), who may do it, deactivation, the audit
trail, and the expiry warnings — with the test PKI's real certificates."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.utils import timezone

from chinhquyenso.core.errors import NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry, Notification, Role
from chinhquyenso.signing import certificates, expiry
from chinhquyenso.signing.models import Certificate, CertificatePurpose, KeyStorage
from tests.conftest import make_official, postgresql_only
from tests.signing import pki as pki_module
from tests.signing.pki import P12_PASSWORD


def issue_near_expiry(pki, tmp_path, days: float, name="Sắp Hết Hạn"):
    """A signing certificate of the demo issuing CA that expires in `days` days (PEM path)."""
    issuing = pki["issuing"]
    now = dt.datetime.now(dt.UTC)
    key = pki_module._key()
    cert = pki_module._issue(
        subject=pki_module._name(name, "UBND xã Đơn Dương"),
        key=key,
        issuer_cert=issuing.cert,
        issuer_key=issuing.key,
        ca=False,
        not_before=now - dt.timedelta(days=300),
        not_after=now + dt.timedelta(days=days),
        key_usage=pki_module._ku(digital_signature=True, content_commitment=True),
    )
    path = tmp_path / f"near-{days}.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def pem(pki, name):
    return pki[name].cert_path.read_bytes()


@pytest.fixture
def other_admin(commune_b):
    return make_official("quantri.b", commune_b, Role.ADMIN, "Quản trị hệ thống")


# --- Reading the three formats -------------------------------------------------------------------


def test_official_registers_own_pem(responsible, unit_a, pki):
    row = certificates.register_certificate(actor=responsible, data=pem(pki, "leader"))
    assert row.user == responsible and row.organisation == unit_a
    assert row.purpose == CertificatePurpose.PERSONAL and row.is_active
    assert "Võ Minh Giang" in row.subject and "CQS Demo Issuing CA" in row.issuer
    assert row.serial == format(pki["leader"].cert.serial_number, "x")
    assert row.key_usage == ["digital_signature", "non_repudiation"]
    assert row.source_format == "pem" and bytes(row.der) == pki["leader"].cert_der
    assert row.not_after == pki["leader"].cert.not_valid_after_utc.replace(microsecond=0)
    entry = AuditEntry.objects.get(action="certificate.registered")
    assert entry.actor == responsible and entry.object_id == str(row.pk)
    assert entry.data["sha256"] == row.sha256 and entry.organisation == unit_a


def test_der_is_read_too(responsible, pki):
    row = certificates.register_certificate(actor=responsible, data=pki["leader"].cert_der)
    assert row.source_format == "der" and bytes(row.der) == pki["leader"].cert_der


def test_pkcs12_with_password_keeps_certificate_only(responsible, pki):
    row = certificates.register_certificate(
        actor=responsible, data=pki["leader"].p12_bytes, password=P12_PASSWORD
    )
    assert row.source_format == "pkcs12" and row.key_storage == KeyStorage.PKCS12_HOLDER
    # Only the certificate: no private key, no password anywhere in the rows or the audit trail.
    assert bytes(row.der) == pki["leader"].cert_der
    stored = Certificate.objects.filter(pk=row.pk).values()[0]
    dumped = json.dumps({k: v for k, v in stored.items() if k != "der"}, default=str)
    assert P12_PASSWORD not in dumped
    assert P12_PASSWORD.encode() not in bytes(stored["der"])
    for entry in AuditEntry.objects.all():
        assert P12_PASSWORD not in json.dumps(entry.data, ensure_ascii=False)


def test_pkcs12_wrong_or_missing_password(responsible, pki):
    for password in ("sai-mat-khau", None):
        with pytest.raises(ValidationFailed) as exc:
            certificates.register_certificate(
                actor=responsible, data=pki["leader"].p12_bytes, password=password
            )
        assert exc.value.code == "wrong_password"
        assert "sai-mat-khau" not in exc.value.message
    assert not Certificate.objects.exists()
    assert not AuditEntry.objects.filter(action="certificate.registered").exists()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "certificate_unreadable"),
        (b"%PDF-1.7 not a certificate", "certificate_unreadable"),
        (
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "certificate_unreadable",
        ),
    ],
)
def test_not_a_certificate(responsible, data, code):
    with pytest.raises(ValidationFailed) as exc:
        certificates.register_certificate(actor=responsible, data=data)
    assert exc.value.code == code
    assert not Certificate.objects.exists()


def test_private_key_file_alone_is_refused(responsible, pki):
    with pytest.raises(ValidationFailed) as exc:
        certificates.register_certificate(
            actor=responsible, data=pki["leader"].key_path.read_bytes()
        )
    assert exc.value.code == "certificate_unreadable"


def test_expired_and_no_signing_usage_are_refused(responsible, pki):
    with pytest.raises(ValidationFailed) as exc:
        certificates.register_certificate(actor=responsible, data=pem(pki, "expired"))
    assert exc.value.code == "certificate_expired"
    with pytest.raises(ValidationFailed) as exc:
        certificates.register_certificate(
            actor=responsible, data=pki["no_usage"].p12_bytes, password=P12_PASSWORD
        )
    assert exc.value.code == "certificate_key_usage"
    with pytest.raises(ValidationFailed) as exc:  # a CA certificate is not a signer's
        certificates.register_certificate(actor=responsible, data=pem(pki, "issuing"))
    assert exc.value.code == "certificate_key_usage"
    assert not Certificate.objects.exists()


def test_pem_chain_registers_the_end_entity(responsible, pki):
    bundle = pem(pki, "root") + pem(pki, "issuing") + pem(pki, "leader")
    row = certificates.register_certificate(actor=responsible, data=bundle)
    assert bytes(row.der) == pki["leader"].cert_der


def test_twice_is_refused_and_after_deactivation_reactivates(responsible, pki):
    row = certificates.register_certificate(actor=responsible, data=pem(pki, "leader"))
    with pytest.raises(ValidationFailed) as exc:
        certificates.register_certificate(actor=responsible, data=pem(pki, "leader"))
    assert exc.value.code == "certificate_already_registered"
    certificates.deactivate_certificate(actor=responsible, certificate_id=row.pk, reason="Mất")
    row.refresh_from_db()
    assert not row.is_active and row.deactivated_by == responsible
    again = certificates.register_certificate(actor=responsible, data=pem(pki, "leader"))
    assert again.pk == row.pk and again.is_active and again.deactivated_at is None
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))
    assert actions[-3:] == [
        "certificate.registered",
        "certificate.deactivated",
        "certificate.registered",
    ]


def test_pkcs11_descriptor_is_kept(responsible, pki):
    row = certificates.register_certificate(
        actor=responsible,
        data=pem(pki, "leader"),
        key_storage=KeyStorage.PKCS11,
        token_label="VGCA Token",
        key_label="chu-ky-ca-nhan",
    )
    assert (row.key_storage, row.token_label, row.key_label) == (
        "pkcs11",
        "VGCA Token",
        "chu-ky-ca-nhan",
    )


# --- Personas ----------------------------------------------------------------------------------


def test_colleague_cannot_register_for_the_official(responsible, colleague, pki):
    with pytest.raises(PermissionDenied):
        certificates.register_certificate(
            actor=colleague, data=pem(pki, "leader"), holder_user=responsible
        )
    assert not Certificate.objects.exists()


def test_commune_admin_registers_for_an_official_of_the_subtree(
    commune_admin, responsible, unit_a, pki
):
    row = certificates.register_certificate(
        actor=commune_admin, data=pem(pki, "leader"), holder_user=responsible
    )
    assert row.user == responsible and row.organisation == unit_a
    assert row.registered_by == commune_admin


def test_other_commune_admin_cannot(other_admin, responsible, pki):
    with pytest.raises(PermissionDenied):
        certificates.register_certificate(
            actor=other_admin, data=pem(pki, "leader"), holder_user=responsible
        )


def test_citizen_and_anonymous_cannot_register(citizen, anonymous, pki):
    for actor in (citizen, anonymous):
        with pytest.raises((PermissionDenied, ValidationFailed)):
            certificates.register_certificate(actor=actor, data=pem(pki, "leader"))
    assert not Certificate.objects.exists()


def test_organisation_seal_by_its_admin_only(
    commune_admin, other_admin, responsible, commune_a, pki
):
    for actor in (responsible, other_admin):
        with pytest.raises(PermissionDenied):
            certificates.register_certificate(
                actor=actor,
                data=pem(pki, "organisation"),
                purpose=CertificatePurpose.ORGANISATION,
                organisation=commune_a,
            )
    row = certificates.register_certificate(
        actor=commune_admin,
        data=pki["organisation"].p12_bytes,
        password=P12_PASSWORD,
        purpose=CertificatePurpose.ORGANISATION,
        organisation=commune_a,
    )
    assert row.user is None and row.organisation == commune_a
    assert row.holder_name == commune_a.name


def test_visibility_and_lookup(responsible, colleague, commune_admin, other_admin, pki):
    own = certificates.register_certificate(actor=responsible, data=pem(pki, "leader"))
    theirs = certificates.register_certificate(actor=colleague, data=pki["organisation"].cert_der)
    assert list(certificates.certificates_visible_to(responsible)) == [own]
    assert set(certificates.certificates_visible_to(commune_admin)) == {own, theirs}
    assert not certificates.certificates_visible_to(other_admin).exists()
    with pytest.raises(NotFound):
        certificates.get_certificate_for(colleague, own.pk)


def test_deactivation_permissions(responsible, colleague, commune_admin, other_admin, pki):
    row = certificates.register_certificate(actor=responsible, data=pem(pki, "leader"))
    for outsider in (colleague, other_admin):
        with pytest.raises(PermissionDenied):
            certificates.deactivate_certificate(actor=outsider, certificate_id=row.pk)
    certificates.deactivate_certificate(actor=commune_admin, certificate_id=row.pk)
    row.refresh_from_db()
    assert not row.is_active and row.deactivated_by == commune_admin
    with pytest.raises(ValidationFailed) as exc:
        certificates.deactivate_certificate(actor=responsible, certificate_id=row.pk)
    assert exc.value.code == "certificate_inactive"


# --- Expiry warnings ---------------------------------------------------------------------------


def test_six_days_before_expiry_one_seven_day_warning_on_two_runs(responsible, pki, tmp_path):
    data = issue_near_expiry(pki, tmp_path, 6).read_bytes()
    row = certificates.register_certificate(actor=responsible, data=data)
    assert expiry.status_of(row).label == "Sắp hết hạn"
    assert expiry.send_expiry_warnings() == {7: 1}
    assert expiry.send_expiry_warnings() == {}
    notes = Notification.objects.filter(recipient=responsible)
    assert notes.count() == 1
    assert "7 ngày" in notes.get().subject and row.serial in notes.get().body
    row.refresh_from_db()
    assert row.expiry_warned_days == 7
    assert AuditEntry.objects.filter(action="certificate.expiry_warned").count() == 1


def test_each_threshold_once_as_days_pass(responsible, pki, tmp_path):
    data = issue_near_expiry(pki, tmp_path, 20).read_bytes()
    certificates.register_certificate(actor=responsible, data=data)
    now = timezone.now()
    runs = [now, now + dt.timedelta(days=1), now + dt.timedelta(days=14)]
    runs += [now + dt.timedelta(days=15), now + dt.timedelta(days=19, hours=12)]
    results = [expiry.send_expiry_warnings(now=at) for at in runs]
    assert results == [{30: 1}, {}, {7: 1}, {}, {1: 1}]
    assert Notification.objects.filter(recipient=responsible).count() == 3


def test_far_from_expiry_and_inactive_are_not_warned(responsible, pki, tmp_path):
    certificates.register_certificate(actor=responsible, data=pem(pki, "leader"))
    near = certificates.register_certificate(
        actor=responsible, data=issue_near_expiry(pki, tmp_path, 3).read_bytes()
    )
    certificates.deactivate_certificate(actor=responsible, certificate_id=near.pk)
    assert expiry.send_expiry_warnings() == {}
    assert not Notification.objects.exists()


def test_seal_warning_goes_to_the_organisation_admins(commune_admin, commune_a, pki, tmp_path):
    data = issue_near_expiry(pki, tmp_path, 1, name="UBND xã Đơn Dương").read_bytes()
    certificates.register_certificate(
        actor=commune_admin,
        data=data,
        purpose=CertificatePurpose.ORGANISATION,
        organisation=commune_a,
    )
    assert expiry.send_expiry_warnings() == {1: 1}
    assert Notification.objects.filter(recipient=commune_admin).count() == 1


def test_command_runs_the_warnings(responsible, pki, tmp_path, capsys):
    certificates.register_certificate(
        actor=responsible, data=issue_near_expiry(pki, tmp_path, 6).read_bytes()
    )
    call_command("signing_expiry_warnings")
    assert "Đã nhắc 1 chứng thư số" in capsys.readouterr().out
    call_command("signing_expiry_warnings")
    assert "Không có chứng thư số nào" in capsys.readouterr().out
    assert Notification.objects.filter(recipient=responsible).count() == 1


def test_background_task_runs_the_same_service(responsible, pki, tmp_path):
    from chinhquyenso.signing import tasks

    certificates.register_certificate(
        actor=responsible, data=issue_near_expiry(pki, tmp_path, 6).read_bytes()
    )
    assert tasks.send_expiry_warnings.call() == "7 ngày: 1"
    assert tasks.send_expiry_warnings.call() == "0"
    assert Notification.objects.filter(recipient=responsible).count() == 1


def test_status_as_time_passes(responsible, pki, tmp_path):
    row = certificates.register_certificate(
        actor=responsible, data=issue_near_expiry(pki, tmp_path, 45).read_bytes()
    )
    now = timezone.now()
    seen = [expiry.status_of(row, now=now + dt.timedelta(days=d)).label for d in (0, 20, 46)]
    assert seen == ["Đang dùng", "Sắp hết hạn", "Đã hết hạn"]
    certificates.deactivate_certificate(actor=responsible, certificate_id=row.pk)
    row.refresh_from_db()
    assert expiry.status_of(row).label == "Ngừng dùng"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_registrations_of_one_file_make_one_row(responsible, pki):
    """Needs PostgreSQL (SQLite serialises writers): the unique index decides, the losers get
    `certificate_already_registered`, never a server error."""
    import threading

    from django.db import connections

    postgresql_only("row locks under concurrent writers")
    data, count = pem(pki, "leader"), 6
    barrier, lock, codes = threading.Barrier(count), threading.Lock(), []

    def run():
        try:
            barrier.wait(timeout=30)
            certificates.register_certificate(actor=responsible, data=data)
            code = "ok"
        except ValidationFailed as exc:
            code = exc.code
        finally:
            connections.close_all()
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(codes) == ["certificate_already_registered"] * (count - 1) + ["ok"]
    assert Certificate.objects.count() == 1
    assert AuditEntry.objects.filter(action="certificate.registered").count() == 1
