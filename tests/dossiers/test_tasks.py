"""The receipt (Form 01) is printed and stored by a background task queued at intake."""

from __future__ import annotations

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from chinhquyenso.core.models import AuditEntry, StoredFile
from chinhquyenso.dossiers import tasks
from tests.core.test_tasks import run_worker
from tests.dossiers.conftest import receive


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def receipt_entries(dossier):
    return AuditEntry.objects.filter(
        action=tasks.RECEIPT_RENDERED, object_id=str(dossier.pk), object_type="dossiers.dossier"
    )


@pytest.mark.django_db
def test_intake_queues_the_receipt_and_the_worker_stores_it(
    database_tasks, clock, birth, desk_officer, desk_unit_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        d = receive(desk_officer, desk_unit_a, birth.procedure)
    queued = DBTaskResult.objects.filter(task_path="chinhquyenso.dossiers.tasks.render_receipt")
    assert queued.count() == 1
    run_worker()
    entry = receipt_entries(d).get()
    stored = StoredFile.objects.get(pk=entry.data["file"])
    assert stored.sha256 == entry.data["sha256"]
    assert stored.content_type == "application/pdf"
    assert stored.organisation_id == desk_unit_a.pk
    assert queued.get().status == "SUCCESSFUL"


@pytest.mark.django_db
def test_a_rolled_back_intake_queues_nothing(
    database_tasks, clock, birth, desk_officer, desk_unit_a, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        receive(desk_officer, desk_unit_a, birth.procedure)
        raise RuntimeError("rolled back")
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_rendering_twice_stores_one_receipt(received):
    assert tasks.store_receipt(dossier_id=received.pk) == "rendered"
    assert tasks.store_receipt(dossier_id=received.pk) == "already_rendered"
    assert receipt_entries(received).count() == 1
    assert tasks.store_receipt(dossier_id=999_999) == "missing"
