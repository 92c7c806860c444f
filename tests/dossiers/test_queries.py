"""Who sees which dossier, the officials' queues and the supervision figures."""

from __future__ import annotations

import pytest

from chinhquyenso.core.errors import NotFound, PermissionDenied
from chinhquyenso.core.models.organisations import OrganisationKind
from chinhquyenso.core.permissions import forget_positions
from chinhquyenso.dossiers import queries, rating_queries, services, supervision_queries, timeliness
from chinhquyenso.dossiers.models import Dossier
from chinhquyenso.dossiers.supervision_queries import Figure
from tests.conftest import make_org
from tests.dossiers.conftest import local, receive

pytestmark = pytest.mark.django_db


def visible(user) -> set[str]:
    forget_positions(user)
    return set(queries.dossiers_visible_to(user).values_list("code", flat=True))


def test_visibility_by_persona(
    received,
    desk_officer,
    responsible,
    colleague,
    commune_leader,
    leader,
    other_commune_official,
    desk_officer_b,
    citizen,
    anonymous,
    superuser,
):
    code = received.code
    for user in (desk_officer, commune_leader, leader, superuser):
        assert code in visible(user), user
    for user in (
        responsible,
        colleague,
        other_commune_official,
        desk_officer_b,
        citizen,
        anonymous,
    ):
        assert code not in visible(user), user
    services.forward(actor=desk_officer, dossier=received)
    assert code in visible(responsible) and code in visible(colleague)
    assert code not in visible(other_commune_official)


def test_get_dossier_for_does_not_leak(received, desk_officer, desk_officer_b):
    assert queries.get_dossier_for(desk_officer, received.code) == received
    for code in (received.code, "000.01.39.H39-260309-9999"):
        with pytest.raises(NotFound) as exc:
            queries.get_dossier_for(desk_officer_b, code)
        assert (exc.value.code, exc.value.message) == ("dossier_not_found", "Không tìm thấy hồ sơ.")


def test_both_sides_of_a_transfer_see_it(
    clock,
    transfer_world,
    desk_officer,
    desk_unit_a,
    responsible,
    department_desk,
    department_specialist,
    desk_officer_b,
):
    d = receive(desk_officer, desk_unit_a, transfer_world.procedure)
    d = services.forward(actor=desk_officer, dossier=d)
    assert d.code not in visible(department_desk)
    d = services.forward(actor=responsible, dossier=d)
    child = Dossier.objects.get(parent=d)
    assert {d.code, child.code} <= visible(department_desk)
    assert {d.code, child.code} <= visible(responsible)
    assert not {d.code, child.code} & visible(desk_officer_b)
    # The department's specialist sees it once it reaches their unit, and its parent too.
    child = services.forward(actor=department_desk, dossier=child)
    assert {d.code, child.code} <= visible(department_specialist)


def test_queues(
    clock, received, birth, desk_officer, desk_unit_a, responsible, colleague, unit_head
):
    def queue(user, kind):
        forget_positions(user)
        return [d.code for d in queries.queue_for(user, kind)]

    assert queue(desk_officer, "to_handle") == [received.code]
    assert queue(responsible, "to_handle") == []
    d = services.forward(actor=desk_officer, dossier=received)
    assert queue(desk_officer, "to_handle") == []
    assert queue(desk_officer, "waiting_others") == [d.code]
    assert queue(responsible, "to_handle") == queue(colleague, "to_handle") == [d.code]
    d = services.claim(actor=responsible, dossier=d)
    assert queue(colleague, "to_handle") == []
    # Due soon: within one working day of the dossier's or the step's due date.
    clock.set(local(2026, 3, 11, 10, 0))
    assert queue(responsible, "due_soon") == [d.code]
    assert queue(responsible, "late") == []
    clock.set(local(2026, 3, 12, 10, 0))
    assert queue(responsible, "late") == [d.code]
    assert queue(responsible, "due_soon") == []
    d = services.issue_apology(
        actor=responsible, dossier=d, reason="Chậm", new_due_at=local(2026, 3, 13, 17, 0)
    )
    assert queue(responsible, "late") == [d.code]  # an apology does not make it in time
    d = services.forward(actor=responsible, dossier=d)
    assert queue(responsible, "waiting_others") == [d.code]
    assert queue(unit_head, "to_handle") == [d.code]
    d = services.request_supplement(
        actor=unit_head, dossier=d, reason="Thiếu", missing_documents=["Tờ khai"]
    )
    assert queue(unit_head, "to_handle") == []
    assert queue(unit_head, "waiting_others") == [d.code]
    with pytest.raises(Exception) as exc:
        queries.queue_for(unit_head, "everything")
    assert exc.value.code == "invalid_queue"


# An official's queue as the page and the API read it (count, a page of rows with their
# procedure, step, handler and organisations): their positions, their units' ids, the count,
# the page, the rows' organisations, and their parents when a row has one.
QUEUE_QUERIES = 6


@pytest.mark.parametrize("n", [10, 50])
def test_queue_query_count_is_bounded(
    n, clock, birth, desk_officer, desk_unit_a, responsible, django_assert_max_num_queries
):
    for i in range(n):
        d = receive(desk_officer, desk_unit_a, birth.procedure, channel=1 + i % 3)
        if i % 2:
            d = services.forward(actor=desk_officer, dossier=d)
            if i % 4 == 1:
                services.claim(actor=responsible, dossier=d)
    clock.advance(days=10)  # some are due soon or late by now
    seen = {}
    for user in (desk_officer, responsible):
        for kind in queries.QUEUE_KINDS:
            forget_positions(user)
            with django_assert_max_num_queries(QUEUE_QUERIES):
                qs = queries.queue_for(user, kind)
                total = qs.count()
                rows = list(qs[:20])
                shown = [
                    (
                        timeliness.evaluate(d).state,
                        d.procedure.national_code,
                        d.procedure_version.name,
                        d.current_step.name if d.current_step else None,
                        d.current_handler.full_name if d.current_handler else None,
                        d.receiving_organisation.name,
                        d.handling_organisation.name,
                        d.current_unit.name if d.current_unit else None,
                        d.parent.code if d.parent else None,
                    )
                    for d in rows
                ]
            assert len(shown) == min(total, 20)
            seen[user.username, kind] = total
    assert seen[desk_officer.username, "to_handle"] == (n + 1) // 2
    assert seen[desk_officer.username, "waiting_others"] == n // 2
    assert seen[responsible.username, "to_handle"] == n // 2


# The permission check's positions, the organisation's subtree ids, the figures by procedure,
# in progress by handler, finished by official, the officials' names.
SUPERVISION_QUERIES = 6


@pytest.fixture
def busy_commune(clock, birth, desk_officer, desk_unit_a, responsible, unit_head, commune_leader):
    """A month at Xã A: early, on time, late, waiting for supplement, in progress."""
    made = {}
    clock.set(local(2026, 3, 2, 9, 0))
    d = receive(desk_officer, desk_unit_a, birth.procedure)
    d = services.forward(actor=desk_officer, dossier=d)
    d = services.claim(actor=responsible, dossier=d)
    d = services.forward(actor=responsible, dossier=d)
    d = services.forward(actor=unit_head, dossier=d)
    made["early"] = services.approve(actor=commune_leader, dossier=d)
    clock.set(local(2026, 3, 3, 9, 0))
    late = receive(desk_officer, desk_unit_a, birth.procedure, channel=2)
    late = services.forward(actor=desk_officer, dossier=late)
    late = services.claim(actor=responsible, dossier=late)
    clock.set(local(2026, 3, 9, 8, 0))
    late = services.issue_apology(
        actor=responsible, dossier=late, reason="Chậm", new_due_at=local(2026, 3, 10, 17, 0)
    )
    made["in_progress_late"] = late
    clock.set(local(2026, 3, 9, 9, 0))
    waiting = receive(desk_officer, desk_unit_a, birth.procedure, channel=3)
    waiting = services.forward(actor=desk_officer, dossier=waiting)
    waiting = services.claim(actor=responsible, dossier=waiting)
    made["supplement"] = services.request_supplement(
        actor=responsible, dossier=waiting, reason="Thiếu", missing_documents=["Tờ khai"]
    )
    clock.set(local(2026, 3, 9, 10, 0))
    made["in_time"] = receive(desk_officer, desk_unit_a, birth.procedure)
    return made


def test_supervision_counts_and_click_through(
    busy_commune, clock, commune_leader, responsible, commune_a, django_assert_max_num_queries
):
    forget_positions(commune_leader)
    with django_assert_max_num_queries(SUPERVISION_QUERIES):
        s = supervision_queries.supervision_counts(commune_leader, commune_a)
    assert s.period == (local(2026, 3, 1, 0, 0).date(), local(2026, 3, 9, 0, 0).date())
    assert s.received_today["total"].value == 2
    assert s.received_today["1"].value == 1 and s.received_today["3"].value == 1
    assert s.received_period["total"].value == 4
    assert s.received_period["2"].value == 1
    assert s.in_progress["in_time"].value == 1
    assert s.in_progress["overdue"].value == 1
    assert s.awaiting_supplement.value == 1
    assert s.finished["early"].value == 1
    assert s.finished["on_time"].value == s.finished["late"].value == 0
    [procedure] = s.by_procedure
    assert (procedure["received"].value, procedure["overdue"].value) == (4, 1)
    by_name = {row["name"]: row for row in s.by_official}
    assert by_name[responsible.full_name]["overdue"].value == 1
    assert by_name[responsible.full_name]["early"].value == 1
    # Every figure lists exactly the dossiers it counts.
    figures = [
        *s.received_today.values(),
        *s.received_period.values(),
        *s.in_progress.values(),
        s.awaiting_supplement,
        *s.finished.values(),
        *(f for row in s.by_procedure for f in row.values() if isinstance(f, Figure)),
        *(f for row in s.by_official for f in row.values() if isinstance(f, Figure)),
    ]
    for figure in figures:
        listed = queries.filtered_dossiers(commune_leader, figure.filters).count()
        assert listed == figure.value, figure
    assert {
        d.code for d in queries.filtered_dossiers(commune_leader, s.in_progress["overdue"].filters)
    } == {busy_commune["in_progress_late"].code}


def test_supervision_needs_the_role(
    busy_commune, responsible, commune_a, commune_b, commune_leader
):
    with pytest.raises(PermissionDenied):
        supervision_queries.supervision_counts(responsible, commune_a)
    with pytest.raises(PermissionDenied):
        supervision_queries.supervision_counts(commune_leader, commune_b)


@pytest.mark.parametrize("n", [10, 50])
def test_supervision_query_count_does_not_grow(
    n,
    busy_commune,
    clock,
    birth,
    desk_officer,
    desk_unit_a,
    responsible,
    commune_leader,
    commune_a,
    django_assert_max_num_queries,
):
    for i in range(n):
        d = receive(desk_officer, desk_unit_a, birth.procedure, channel=1 + i % 3)
        if i % 2:
            d = services.forward(actor=desk_officer, dossier=d)
            services.claim(actor=responsible, dossier=d)
    forget_positions(commune_leader)
    with django_assert_max_num_queries(SUPERVISION_QUERIES):
        s = supervision_queries.supervision_counts(commune_leader, commune_a)
    assert s.received_today["total"].value == n + 2
    by_name = {row["name"]: row for row in s.by_official}
    assert by_name[responsible.full_name]["in_time"].value == n // 2


def test_supervision_of_the_whole_tree_is_the_same_with_or_without_other_trees(
    busy_commune, clock, leader, province, commune_leader, commune_a
):
    """The province's figures (its tree holds every organisation: no organisation filter) are
    those of its only busy commune, and stay the same once another tree exists."""

    def values(s):
        return [
            f.value
            for f in (
                *s.received_today.values(),
                *s.received_period.values(),
                *s.in_progress.values(),
                s.awaiting_supplement,
                *s.finished.values(),
                *(f for row in s.by_official for f in row.values() if isinstance(f, Figure)),
            )
        ]

    forget_positions(commune_leader)
    commune = values(supervision_queries.supervision_counts(commune_leader, commune_a))
    forget_positions(leader)
    whole = supervision_queries.supervision_counts(leader, province)
    assert values(whole) == commune
    for figure in (whole.in_progress["overdue"], whole.finished["early"]):
        assert queries.filtered_dossiers(leader, figure.filters).count() == figure.value
    whole_ratings = rating_queries.rating_summary(leader, province)
    assert whole_ratings.total == rating_queries.rating_summary(commune_leader, commune_a).total
    make_org("UBND tỉnh Khánh Hòa", OrganisationKind.PROVINCE_COMMITTEE)
    assert values(supervision_queries.supervision_counts(leader, province)) == commune
    assert rating_queries.rating_summary(leader, province).total == whole_ratings.total


def test_waiting_others_follows_the_official_only_where_they_still_see(
    client, clock, received, desk_officer, responsible, commune_b
):
    """An official who handed a dossier on, then moved to another commune, no longer has it in
    their `waiting_others` queue (page and API): they may not see it any more."""
    from datetime import date

    from django.urls import reverse

    from chinhquyenso.core.models import Position, Role
    from tests.conftest import sign_in

    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    d = services.forward(actor=responsible, dossier=d)  # now with the unit head

    def listed() -> tuple[list[str], list[str], str]:
        forget_positions(responsible)
        queue = [x.code for x in queries.queue_for(responsible, "waiting_others")]
        api = client.get("/api/v1/dossiers", {"queue": "waiting_others"}).json()
        page = client.get(reverse("dossiers:queue"), {"tab": "waiting_others"})
        assert page.status_code == 200
        return queue, [x["code"] for x in api["items"]], page.content.decode()

    sign_in(client, responsible)
    queue, api, page = listed()
    assert queue == api == [d.code] and d.code in page
    # Moved to Xã B: the position in Xã A ended yesterday.
    Position.objects.filter(user=responsible).update(end_date=date(2026, 3, 8))
    Position.objects.create(user=responsible, organisation=commune_b, role=Role.SPECIALIST)
    queue, api, page = listed()
    assert queue == api == [] and d.code not in page
    assert client.get(f"/api/v1/dossiers/{d.code}").status_code == 404


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("received_to", "9999-12-31"),  # no next day
        ("received_from", "0001-01-01"),  # before year 1 once in UTC
        ("finished_to", "9999-12-31"),
        ("finished_from", "1999-12-31"),
        ("received_to", "2101-01-01"),
    ],
)
def test_a_day_out_of_range_is_a_filter_error_not_a_crash(
    client, received, desk_officer, key, value
):
    from django.urls import reverse

    from chinhquyenso.core.errors import ValidationFailed
    from tests.conftest import sign_in

    with pytest.raises(ValidationFailed) as exc:
        queries.filter_q({key: value})
    assert exc.value.code == "invalid_filter"
    message = exc.value.message
    assert "nằm ngoài khoảng cho phép" in message and "01/01/2000 đến 31/12/2100" in message
    sign_in(client, desk_officer)
    page = client.get(reverse("dossiers:list"), {key: value})
    assert page.status_code == 400
    assert message in page.content.decode()
    api = client.get("/api/v1/dossiers", {key: value})
    assert api.status_code == 400
    assert (api.json()["code"], api.json()["message"]) == ("invalid_filter", message)
    # The first and last days allowed still list.
    wide = {"received_from": "2000-01-01", "received_to": "2100-12-31"}
    assert client.get("/api/v1/dossiers", wide).json()["count"] == 1
    assert received.code in client.get(reverse("dossiers:list"), wide).content.decode()


@pytest.mark.parametrize(
    ("key", "value", "label"),
    [
        ("procedure", "99999999999999999999", "Thủ tục"),  # beyond a bigint
        ("handler", "١", "Người đang xử lý"),  # an Arabic-Indic one: a digit, not a number here
        ("handled_by", "²", "Người đã xử lý"),
        ("status", "-1", "Trạng thái"),
    ],
)
def test_an_id_filter_that_is_not_a_plain_number_is_named_in_the_error(
    client, received, desk_officer, key, value, label
):
    from django.urls import reverse

    from tests.conftest import sign_in

    sign_in(client, desk_officer)
    page = client.get(reverse("dossiers:list"), {key: value})
    assert page.status_code == 400
    assert f"Giá trị lọc không hợp lệ: “{label}” = {value}." in page.content.decode()
    fine = client.get(reverse("dossiers:list"), {key: "1" if key != "status" else "2"})
    assert fine.status_code == 200
