"""The one-stop demo: catalogue, processes and dossiers in every state, loaded idempotently.

Loaded once per module (generator then one-stop) inside a transaction rolled back at the end.
A smaller number of dossiers than `load_demo` keeps the module quick; the mix is the same.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from chinhquyenso.core.models import AuditEntry, StoredFile
from chinhquyenso.demo import generator, one_stop
from chinhquyenso.dossiers import tasks
from chinhquyenso.dossiers.models import Dossier, Rating, Status
from chinhquyenso.procedures.models import Procedure, Process
from chinhquyenso.signing.models import Certificate
from chinhquyenso.signing.validation import validate_pdf

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
COUNT = 160


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    files = tmp_path_factory.mktemp("files")
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=FAST_HASHERS,
            VAR_DIR=files,
            STORAGES={
                "default": {
                    "BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(files)},
                },
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            },
        ),
        transaction.atomic(),
    ):
        generator.load()
        report = one_stop.load(dossiers=COUNT, var_dir=files)
        yield report
        transaction.set_rollback(True)


@pytest.fixture
def loaded(demo, db):
    return demo


def counts() -> dict:
    return {
        "dossiers": Dossier.objects.count(),
        "procedures": Procedure.objects.count(),
        "processes": Process.objects.count(),
        "ratings": Rating.objects.count(),
        "audit": AuditEntry.objects.count(),
        "certificates": Certificate.objects.count(),
    }


def test_the_catalogue_is_the_62_real_procedures(loaded):
    assert Procedure.objects.count() == 62
    birth = Procedure.objects.get(national_code="1.001193")
    names = set(birth.organisations.values_list("name", flat=True))
    assert "UBND xã Đơn Dương" in names and len(names) >= 10
    judicial = Procedure.objects.get(national_code="3.000333")  # lý lịch tư pháp
    assert list(judicial.organisations.values_list("short_name", flat=True)) == ["STP"]


def test_every_status_is_present(loaded):
    present = set(Dossier.objects.values_list("status", flat=True))
    assert present == set(Status.values)


def test_birth_registrations_at_don_duong(loaded):
    assert Dossier.objects.filter(
        procedure__national_code="1.001193",
        receiving_organisation__parent__name="UBND xã Đơn Dương",
    ).exists()


def test_some_late_supplemented_transferred_and_rated(loaded):
    assert Dossier.objects.filter(counted_late=True, apology_count__gt=0).exists()
    assert Dossier.objects.filter(supplement_count__gt=0).exists()
    child = Dossier.objects.filter(parent__isnull=False, status=Status.RETURNED).first()
    assert child is not None and child.handling_organisation.short_name == "STP"
    assert Rating.objects.exists()


def test_history_lies_in_the_past(loaded):
    oldest = Dossier.objects.exclude(received_at=None).order_by("received_at").first()
    newest = Dossier.objects.exclude(received_at=None).order_by("-received_at").first()
    assert (newest.received_at - oldest.received_at).days > 60
    finished = Dossier.objects.filter(status=Status.RETURNED).first()
    assert finished.returned_at > finished.received_at


def test_signed_results_and_sealed_receipts_for_the_validation_page(loaded):
    """Issue #4: a dozen returned dossiers of Đơn Dương carry a result signed by the chairman
    (demo PKCS#12) and a receipt sealed with the commune's seal; both validate."""
    signed = list(AuditEntry.objects.filter(action="dossier.result_signed").order_by("pk"))
    assert 0 < len(signed) <= one_stop.SIGNED_RESULTS
    d = Dossier.objects.get(pk=signed[0].object_id)
    assert d.status == Status.RETURNED and d.result_file_id == signed[0].data["file"]
    assert signed[0].actor.username == "chutich.donduong"
    report = validate_pdf(read(d.result_file))
    assert report["signatures"][0]["verdict"]["indication"] == "passed"
    # The certificate names the account that signed (the demo PKI takes the demo plan's names).
    assert report["signatures"][0]["signer"]["name"] == signed[0].actor.full_name
    receipt = tasks.receipt_entry(d)
    assert receipt.data["signed"] is True
    report = validate_pdf(read(StoredFile.objects.get(pk=receipt.data["file"])))
    assert report["signatures"][0]["verdict"]["indication"] == "passed"
    assert report["signatures"][0]["signer"]["name"] == "UBND xã Đơn Dương"


def test_the_seals_keys_and_passwords_are_readable_by_their_owner_only(loaded):
    from chinhquyenso.signing import seal

    private = [p for p in seal.seal_dir().rglob("*") if p.suffix in (".p12", ".password")]
    assert {p.name for p in private} >= {"tsa.p12", "tsa.password"}
    assert {p.stat().st_mode & 0o777 for p in private} == {0o600}


def test_the_demo_certificates_are_registered_to_their_holders(loaded):
    """Issue #4: a person signs only with a certificate registered to them; the demo registers
    the chairmen's and the clerk's to their accounts and the seals to their organisations."""
    chairman = Certificate.objects.get(
        purpose="personal", user__username="chutich.donduong", is_active=True
    )
    assert chairman.organisation.name == "UBND xã Đơn Dương"
    # The results the chairman signed carry that very certificate.
    entry = AuditEntry.objects.filter(action="dossier.result_signed").order_by("pk").first()
    d = Dossier.objects.get(pk=entry.object_id)
    report = validate_pdf(read(d.result_file))
    assert report["signatures"][0]["signer"]["name"] == chairman.user.full_name
    assert entry.data["certificate_serial"] == chairman.serial
    personal = set(
        Certificate.objects.filter(purpose="personal", is_active=True).values_list(
            "user__username", flat=True
        )
    )
    assert {"chutich.tinh", "chutich.donduong", "vanthu.tinh"} <= personal
    seals = set(
        Certificate.objects.filter(purpose="organisation", is_active=True).values_list(
            "organisation__name", flat=True
        )
    )
    assert {"UBND tỉnh Lâm Đồng", "UBND xã Đơn Dương"} <= seals


def read(stored) -> bytes:
    from django.core.files.storage import default_storage

    with default_storage.open(stored.storage_name) as fh:
        return fh.read()


def test_a_second_run_creates_nothing(loaded):
    before = counts()
    report = one_stop.load(dossiers=COUNT, var_dir=settings.VAR_DIR)
    assert counts() == before
    assert report.created["hồ sơ"] == 0
