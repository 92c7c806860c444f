"""Races: parallel intakes at one desk never share a code; concurrent edits of one dossier.

The parallel tests need real row locks, so they run on PostgreSQL only (`select_for_update`
does nothing on SQLite, which serialises writers anyway; there the sequential tests apply).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from chinhquyenso.core.errors import Conflict
from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.models import Dossier, DossierCounter
from tests.conftest import postgresql_only
from tests.dossiers.conftest import receive

PARALLEL = 20


def _postgres_only():
    postgresql_only("row locks (SQLite serialises writers; select_for_update is a no-op)")


def _run_in_threads(count: int, work) -> tuple[list, list]:
    barrier = threading.Barrier(count)
    results, errors = [], []
    lock = threading.Lock()

    def run(i):
        try:
            barrier.wait(timeout=30)
            value = work(i)
            with lock:
                results.append(value)
        except Exception as exc:  # noqa: BLE001  (collected and asserted on)
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_intakes_get_distinct_consecutive_codes(clock, birth, desk_officer, desk_unit_a):
    _postgres_only()
    results, errors = _run_in_threads(
        PARALLEL, lambda i: receive(desk_officer, desk_unit_a, birth.procedure).code
    )
    assert errors == []
    assert sorted(results) == [f"000.01.39.H39-260309-{n:04d}" for n in range(1, PARALLEL + 1)]
    assert Dossier.objects.count() == PARALLEL
    assert DossierCounter.objects.get().last == PARALLEL


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_edits_one_wins_the_others_conflict(
    clock, birth, desk_officer, desk_unit_a, responsible, colleague
):
    _postgres_only()
    d = receive(desk_officer, desk_unit_a, birth.procedure)
    d = services.forward(actor=desk_officer, dossier=d)
    revision = d.revision
    people = [responsible, colleague] * 3
    results, errors = _run_in_threads(
        len(people),
        lambda i: services.claim(actor=people[i], dossier=d, expected_revision=revision).revision,
    )
    assert results == [revision + 1]
    assert len(errors) == len(people) - 1
    assert all(isinstance(e, Conflict) and e.code == "dossier_changed" for e in errors)
    d.refresh_from_db()
    assert d.revision == revision + 1 and d.current_handler in (responsible, colleague)


@pytest.mark.django_db
def test_sequential_intakes_are_numbered_without_gaps(clock, birth, desk_officer, desk_unit_a):
    codes = [receive(desk_officer, desk_unit_a, birth.procedure).code for _ in range(12)]
    assert codes == [f"000.01.39.H39-260309-{n:04d}" for n in range(1, 13)]
    assert len(set(codes)) == 12


@pytest.mark.django_db
def test_a_second_edit_with_the_same_revision_conflicts(received, desk_officer, responsible):
    seen = received.revision
    services.forward(actor=desk_officer, dossier=received, expected_revision=seen)
    with pytest.raises(Conflict):
        services.forward(actor=desk_officer, dossier=received, expected_revision=seen)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_acceptances_of_an_online_submission_one_wins_the_others_are_told_why(
    submitted, desk_officer
):
    """Accepting moves the handling organisation (a joined row): those who waited for the
    lock must be told the dossier was already received, not that it does not exist."""
    from chinhquyenso.core.errors import ValidationFailed

    _postgres_only()
    results, errors = _run_in_threads(
        8,
        lambda i: services.accept_online_submission(actor=desk_officer, dossier=submitted.pk).code,
    )
    assert results == [submitted.code]
    assert len(errors) == 7
    assert {(type(e), e.code) for e in errors} == {(ValidationFailed, "transition_not_allowed")}
    assert all("Được tiếp nhận" in e.message for e in errors)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_intake_sent_several_times_at_once_receives_one_dossier(
    clock, birth, desk_officer, desk_unit_a
):
    _postgres_only()
    results, errors = _run_in_threads(
        6,
        lambda i: (
            receive(desk_officer, desk_unit_a, birth.procedure, intake_key="double-click-0001").code
        ),
    )
    assert results == ["000.01.39.H39-260309-0001"]
    refused = [(type(e), e.code) for e in errors]
    assert refused == [(services.AlreadyReceived, "already_received")] * 5
    assert all(e.details == {"dossier_code": results[0]} for e in errors)
    assert Dossier.objects.count() == 1
    assert DossierCounter.objects.get().last == 1
