"""The supervision summary of finished dossiers by official (`FinishedHandler`, issue #3): kept
in step by the services, rebuilt by the backfill migration, and the by-official figures read
from it agree with the dossiers the leader lists when clicking on them."""

from __future__ import annotations

import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Count, Q

from chinhquyenso.core.permissions import forget_positions
from chinhquyenso.dossiers import queries, services, supervision_queries
from chinhquyenso.dossiers.models import Dossier, FinishedHandler, Status, StepRun, Timeliness
from tests.dossiers.conftest import local, receive

pytestmark = pytest.mark.django_db

backfill_migration = importlib.import_module(
    "chinhquyenso.dossiers.migrations.0007_backfill_finished_handler"
)

FIELDS = (
    "dossier_id",
    "handler_id",
    "handling_organisation_id",
    "receiving_organisation_id",
    "current_unit_id",
    "finished_at",
    "timeliness",
)


def summary() -> set[tuple]:
    return set(FinishedHandler.objects.values_list(*FIELDS))


def from_the_dossiers() -> set[tuple]:
    """What the summary must hold, read from the dossiers and their step runs."""
    return {
        (
            d.pk,
            handler_id,
            d.handling_organisation_id,
            d.receiving_organisation_id,
            d.current_unit_id,
            d.finished_at,
            d.timeliness,
        )
        for d in Dossier.objects.filter(finished_at__isnull=False)
        for handler_id in StepRun.objects.filter(dossier=d, handler__isnull=False)
        .order_by()
        .values_list("handler_id", flat=True)
        .distinct()
    }


def resolve(d, *, desk_officer, responsible, unit_head, commune_leader):
    d = services.forward(actor=desk_officer, dossier=d)
    d = services.claim(actor=responsible, dossier=d)
    d = services.forward(actor=responsible, dossier=d)
    d = services.forward(actor=unit_head, dossier=d)
    return services.approve(actor=commune_leader, dossier=d)


@pytest.fixture
def month(
    clock, birth, desk_officer, desk_unit_a, responsible, colleague, unit_head, commune_leader
):
    """March 2026 at Xã A: resolved early, returned (the desk handles two steps), sent back to
    a second specialist and resolved late, stopped, refused at the desk, one still running."""
    people = dict(
        desk_officer=desk_officer,
        responsible=responsible,
        unit_head=unit_head,
        commune_leader=commune_leader,
    )
    made = {}
    clock.set(local(2026, 3, 2, 9, 0))
    made["early"] = resolve(receive(desk_officer, desk_unit_a, birth.procedure), **people)
    clock.set(local(2026, 3, 2, 10, 0))
    d = resolve(receive(desk_officer, desk_unit_a, birth.procedure), **people)
    clock.set(local(2026, 3, 3, 9, 0))
    made["returned"] = services.return_result(
        actor=desk_officer, dossier=d, method="desk", recipient_signature_name="Đặng Thị Hoa"
    )
    clock.set(local(2026, 3, 3, 10, 0))
    d = receive(desk_officer, desk_unit_a, birth.procedure)
    d = services.forward(actor=desk_officer, dossier=d)
    d = services.assign(actor=unit_head, dossier=d, handler=colleague)
    d = services.forward(actor=colleague, dossier=d)
    d = services.forward(actor=unit_head, dossier=d)
    d = services.send_back(actor=commune_leader, dossier=d, to_step=2, comment="Sai họ tên cha")
    clock.set(local(2026, 3, 16, 9, 0))
    d = services.issue_apology(
        actor=colleague, dossier=d, reason="Chậm", new_due_at=local(2026, 3, 18, 17, 0)
    )
    d = services.forward(actor=colleague, dossier=d)
    d = services.forward(actor=unit_head, dossier=d)
    made["late"] = services.approve(actor=commune_leader, dossier=d)
    clock.set(local(2026, 3, 17, 9, 0))
    d = services.forward(
        actor=desk_officer, dossier=receive(desk_officer, desk_unit_a, birth.procedure)
    )
    d = services.claim(actor=responsible, dossier=d)
    made["stopped"] = services.stop(actor=commune_leader, dossier=d, reason="Hồ sơ giả mạo")
    d = receive(desk_officer, desk_unit_a, birth.procedure)
    made["refused"] = services.refuse(
        actor=desk_officer, dossier=d, reason="Không thuộc thẩm quyền"
    )
    clock.set(local(2026, 3, 18, 9, 0))
    made["running"] = services.forward(
        actor=desk_officer, dossier=receive(desk_officer, desk_unit_a, birth.procedure)
    )
    clock.set(local(2026, 3, 31, 16, 0))
    return made


def test_finishing_writes_one_row_per_distinct_handler(
    clock, received, desk_officer, responsible, unit_head, commune_leader
):
    people = dict(
        desk_officer=desk_officer,
        responsible=responsible,
        unit_head=unit_head,
        commune_leader=commune_leader,
    )
    assert summary() == set()
    d = resolve(received, **people)
    assert d.status == Status.RESOLVED
    rows = FinishedHandler.objects.filter(dossier=d)
    assert {r.handler for r in rows} == {desk_officer, responsible, unit_head, commune_leader}
    assert {(r.finished_at, r.timeliness) for r in rows} == {(d.finished_at, d.timeliness)}
    # The desk officer then hands the result over: a second step run of theirs, still one row,
    # and the row follows the dossier (the unit holding it is now the desk).
    clock.advance(hours=1)
    d = services.return_result(
        actor=desk_officer, dossier=d, method="desk", recipient_signature_name="Đặng Thị Hoa"
    )
    assert StepRun.objects.filter(dossier=d, handler=desk_officer).count() == 2
    assert FinishedHandler.objects.filter(dossier=d, handler=desk_officer).count() == 1
    assert FinishedHandler.objects.filter(dossier=d).count() == 4
    assert summary() == from_the_dossiers()


def test_the_summary_follows_every_kind_of_ending(month):
    assert summary() == from_the_dossiers()
    assert not FinishedHandler.objects.filter(dossier=month["running"]).exists()
    assert FinishedHandler.objects.filter(dossier=month["late"], timeliness="late").count() == 4
    assert FinishedHandler.objects.filter(dossier=month["stopped"]).count() == 2


def test_the_backfill_builds_what_the_services_wrote(month):
    written = summary()
    assert len(written) > 10
    backfill_migration.empty(apps, None)
    assert summary() == set()
    backfill_migration.backfill(apps, SimpleNamespace(connection=connection))
    assert summary() == written


def the_join_as_before(organisation, start, end) -> dict[int, dict[str, int]]:
    """Finished in the period by official, the way it was counted before the summary: step
    runs joined with their dossiers, distinct dossiers per official and on-time result."""
    rows = (
        StepRun.objects.filter(
            queries.organisation_q(organisation, prefix="dossier__"),
            handler__isnull=False,
            dossier__finished_at__gte=queries.start_of(start),
            dossier__finished_at__lt=queries.start_of(end + timedelta(days=1)),
        )
        .values("handler_id")
        .annotate(
            **{
                s.value: Count("dossier_id", distinct=True, filter=Q(dossier__timeliness=s))
                for s in Timeliness
            }
        )
        .order_by()
    )
    return {r["handler_id"]: {s.value: r[s.value] for s in Timeliness} for r in rows}


@pytest.mark.parametrize("scope", ["commune", "province"])
def test_by_official_counts_agree_with_the_lists(
    scope, month, commune_leader, commune_a, leader, province
):
    user, organisation = (commune_leader, commune_a) if scope == "commune" else (leader, province)
    forget_positions(user)
    for period in (None, (local(2026, 3, 16).date(), local(2026, 3, 17).date())):
        s = supervision_queries.supervision_counts(user, organisation, period)
        start, end = s.period
        counted = {
            row["user_id"]: {t.value: row[t.value].value for t in Timeliness}
            for row in s.by_official
            if any(row[t.value].value for t in Timeliness)
        }
        assert counted == the_join_as_before(organisation, start, end)
        assert sum(sum(c.values()) for c in counted.values()) > 0
        for row in s.by_official:
            for t in Timeliness:
                figure = row[t.value]
                listed = queries.filtered_dossiers(user, figure.filters)
                assert listed.count() == figure.value, (row["name"], t.value, period)
    # The whole month: the early ones, the returned one and the late one by their officials.
    s = supervision_queries.supervision_counts(user, organisation)
    by_name = {row["name"]: row for row in s.by_official}
    assert by_name["Lý Thị Mai"]["early"].value >= 2  # desk officer: both resolved early
    assert by_name["Bùi Văn Phúc"]["late"].value == 1  # chairman approved the late one
