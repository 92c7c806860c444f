"""On-time accounting (timeliness.py, the 766 rule), and a stateful search for any sequence of
actions that turns a late dossier on time (there must be none)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chinhquyenso.core.errors import DomainError
from chinhquyenso.dossiers import services, timeliness
from chinhquyenso.dossiers.models import FINAL_STATUSES, Dossier, Status, StepRun
from chinhquyenso.procedures.models import StepKind
from tests.dossiers.conftest import MONDAY, local, receive

pytestmark = pytest.mark.django_db


def to_approval(d, desk_officer, responsible, unit_head):
    d = services.forward(actor=desk_officer, dossier=d)
    d = services.claim(actor=responsible, dossier=d)
    d = services.forward(actor=responsible, dossier=d)
    return services.forward(actor=unit_head, dossier=d)


@pytest.fixture
def at_approval(received, desk_officer, responsible, unit_head):
    """Received Monday 09:00, due Thursday 09:00, waiting for the chairman's approval."""
    return to_approval(received, desk_officer, responsible, unit_head)


@pytest.mark.parametrize(
    ("approved_at", "state"),
    [
        ((2026, 3, 9, 16, 0), "early"),  # a working day and more before Thursday 09:00
        ((2026, 3, 11, 9, 0), "early"),  # exactly one working day before
        ((2026, 3, 11, 9, 30), "on_time"),
        ((2026, 3, 12, 9, 0), "on_time"),  # at the due instant
    ],
)
def test_early_and_on_time(at_approval, clock, commune_leader, approved_at, state):
    clock.set(local(*approved_at))
    d = services.approve(actor=commune_leader, dossier=at_approval)
    assert d.timeliness == state
    assert timeliness.evaluate(d).state == state
    assert timeliness.evaluate(d, now=local(2027, 1, 1, 9, 0)).state == state  # fixed for good


def test_late_after_an_apology(at_approval, clock, commune_leader):
    clock.set(local(2026, 3, 12, 9, 1))
    with pytest.raises(DomainError) as exc:
        services.approve(actor=commune_leader, dossier=at_approval)
    assert exc.value.code == "apology_required"
    d = services.issue_apology(
        actor=commune_leader,
        dossier=at_approval,
        reason="Chờ xác minh thông tin",
        new_due_at=local(2026, 3, 13, 17, 0),
    )
    assert timeliness.evaluate(d).state == "overdue"
    d = services.approve(actor=commune_leader, dossier=d)
    assert (d.timeliness, d.due_at) == ("late", local(2026, 3, 13, 17, 0))
    result = timeliness.evaluate(d)
    assert result.state == "late"
    assert result.working_minutes_used > result.working_minutes_allowed == 3 * 450


def test_an_early_apology_does_not_make_it_late(at_approval, clock, commune_leader):
    clock.set(local(2026, 3, 10, 9, 0))
    d = services.issue_apology(
        actor=commune_leader,
        dossier=at_approval,
        reason="Có thể chậm do chờ xác minh",
        new_due_at=local(2026, 3, 16, 17, 0),
    )
    clock.set(local(2026, 3, 11, 16, 0))
    assert services.approve(actor=commune_leader, dossier=d).timeliness == "on_time"


def test_supplement_time_is_subtracted(
    received, clock, desk_officer, responsible, unit_head, commune_leader
):
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    clock.set(local(2026, 3, 9, 10, 0))
    d = services.request_supplement(
        actor=responsible, dossier=d, reason="Thiếu", missing_documents=["Giấy chứng sinh"]
    )
    # Waiting for the applicant: the request is the end, so days later it is still in time.
    later = local(2026, 3, 20, 9, 0)
    assert timeliness.evaluate(d, now=later).state == "in_time"
    assert timeliness.evaluate(d, now=later).working_minutes_used == 60
    clock.set(local(2026, 3, 11, 10, 0))  # two working days later: 900 minutes paused
    d = services.receive_supplement(actor=desk_officer, dossier=d)
    assert d.original_due_at == local(2026, 3, 16, 9, 0)
    d = services.forward(actor=responsible, dossier=d)
    d = services.forward(actor=unit_head, dossier=d)
    clock.set(local(2026, 3, 16, 8, 30))  # after Thursday, yet within the time allowed
    d = services.approve(actor=commune_leader, dossier=d)
    result = timeliness.evaluate(d)
    assert (d.timeliness, result.state) == ("on_time", "on_time")
    assert result.working_minutes_used <= result.working_minutes_allowed


def test_two_supplement_requests_make_it_late(
    received, clock, desk_officer, responsible, unit_head, commune_leader
):
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    for _ in range(2):
        d = services.request_supplement(
            actor=responsible, dossier=d, reason="Thiếu", missing_documents=["Giấy chứng sinh"]
        )
        clock.advance(minutes=30)
        d = services.receive_supplement(actor=desk_officer, dossier=d)
    assert timeliness.evaluate(d).state == "overdue"
    d = services.forward(actor=responsible, dossier=d)
    d = services.forward(actor=unit_head, dossier=d)
    d = services.approve(actor=commune_leader, dossier=d)
    assert d.finished_at < d.original_due_at  # finished within hours, and still:
    assert d.timeliness == "late"


def test_a_supplement_after_the_due_date_does_not_rescue_it(
    received, clock, desk_officer, responsible, unit_head, commune_leader
):
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    # Saturday, after Thursday's due date: the pause starts in non-working time, so resuming
    # on Monday moves the due date by nothing (no working time passed) — it stays late.
    clock.set(local(2026, 3, 14, 10, 0))
    d = services.request_supplement(
        actor=responsible, dossier=d, reason="Thiếu", missing_documents=["Giấy chứng sinh"]
    )
    assert d.counted_late
    clock.set(local(2026, 3, 16, 7, 30))
    d = services.receive_supplement(actor=desk_officer, dossier=d)
    assert d.original_due_at == local(2026, 3, 12, 9, 0)
    assert timeliness.evaluate(d).state == "overdue"
    d = services.issue_apology(
        actor=commune_leader, dossier=d, reason="Chậm", new_due_at=local(2026, 3, 17, 17, 0)
    )
    d = services.forward(actor=responsible, dossier=d)
    d = services.forward(actor=unit_head, dossier=d)
    assert services.approve(actor=commune_leader, dossier=d).timeliness == "late"


def test_running_dossier_becomes_overdue(received):
    assert timeliness.evaluate(received, now=local(2026, 3, 12, 9, 0)).state == "in_time"
    assert timeliness.evaluate(received, now=local(2026, 3, 12, 9, 1)).state == "overdue"


def test_step_runs_are_graded(received, clock, desk_officer, responsible):
    clock.set(local(2026, 3, 9, 11, 0))  # the desk step had until 10:00
    d = services.forward(actor=desk_officer, dossier=received)
    first = StepRun.objects.filter(dossier=d).order_by("id").first()
    assert (first.finished_at, first.timeliness) == (local(2026, 3, 9, 11, 0), "late")


def test_sql_filters_agree_with_evaluate(clock, birth, desk_officer, desk_unit_a, responsible):
    dossiers = []
    for hour in (8, 10, 14, 16):
        clock.set(local(2026, 3, 9, hour, 0))
        dossiers.append(receive(desk_officer, desk_unit_a, birth.procedure))
    d = services.forward(actor=desk_officer, dossier=dossiers[0])
    d = services.claim(actor=responsible, dossier=d)
    services.request_supplement(actor=responsible, dossier=d, reason="x", missing_documents=["y"])
    for now in (local(2026, 3, 12, 8, 0), local(2026, 3, 12, 12, 0), local(2026, 3, 13, 9, 0)):
        overdue = set(
            Dossier.objects.filter(timeliness.overdue_q(now)).values_list("pk", flat=True)
        )
        in_time = set(
            Dossier.objects.filter(timeliness.in_time_q(now)).values_list("pk", flat=True)
        )
        for x in Dossier.objects.all():
            state = timeliness.evaluate(x, now=now).state
            assert (x.pk in overdue, x.pk in in_time) == (state == "overdue", state == "in_time")


# --- No action turns a late dossier on time ----------------------------------------------------


def test_no_sequence_of_actions_makes_a_late_dossier_on_time(
    clock,
    birth,
    desk_officer,
    desk_unit_a,
    responsible,
    colleague,
    unit_head,
    commune_leader,
    citizen,
):
    people = {
        "desk_officer": desk_officer,
        "specialist": responsible,
        "unit_head": unit_head,
        "leader": commune_leader,
    }
    everyone = [desk_officer, responsible, colleague, unit_head, commune_leader, citizen]

    class LateStaysLate(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            clock.set(MONDAY)
            self.dossier = receive(desk_officer, desk_unit_a, birth.procedure)
            self.seen_late = False
            self.final_state = None

        def teardown(self):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

        # -- helpers ----------------------------------------------------------------------

        def fresh(self) -> Dossier:
            return Dossier.objects.select_related("current_step").get(pk=self.dossier.pk)

        def holder(self, d):
            if d.current_handler_id:
                return d.current_handler
            step = d.current_step
            return people.get(step.role) if step else desk_officer

        def attempt(self, call):
            before = self.fresh()
            try:
                call(before)
            except DomainError:
                after = self.fresh()
                # A refused action changes nothing.
                assert (after.revision, after.status, after.due_at, after.original_due_at) == (
                    before.revision,
                    before.status,
                    before.due_at,
                    before.original_due_at,
                )

        # -- time -------------------------------------------------------------------------

        @rule(hours=st.integers(min_value=0, max_value=60), minutes=st.sampled_from([0, 7, 30]))
        def time_passes(self, hours, minutes):
            clock.advance(hours=hours, minutes=minutes)

        @rule()
        def jump_past_the_due_date(self):
            d = self.fresh()
            if d.original_due_at and clock.now <= d.original_due_at:
                clock.set(d.original_due_at + timedelta(minutes=1))

        # -- actions, by whoever may (and sometimes by someone who may not) -----------------

        @rule(who=st.sampled_from(everyone), to_step=st.sampled_from([None, 2, 3, 5]))
        def forward(self, who, to_step):
            self.attempt(lambda d: services.forward(actor=who, dossier=d, to_step=to_step))

        @rule()
        def forward_by_holder(self):
            self.attempt(lambda d: services.forward(actor=self.holder(d), dossier=d))

        @rule(hours=st.integers(min_value=1, max_value=100))
        def apologise_then_move_on(self, hours):
            """What a diligent office does: apologise when past the appointment, then go on."""
            d = self.fresh()
            if d.due_at and clock.now > d.due_at:
                self.attempt(
                    lambda d: services.issue_apology(
                        actor=commune_leader,
                        dossier=d,
                        reason="Xin lỗi",
                        new_due_at=clock.now + timedelta(hours=hours),
                    )
                )
            self.attempt(lambda d: services.forward(actor=self.holder(d), dossier=d))

        @rule()
        def push_to_the_result(self):
            """Route to the return step as fast as the rules allow (apologising when due)."""
            for _ in range(5):
                d = self.fresh()
                if d.status not in (Status.RECEIVED, Status.PROCESSING):
                    return
                if d.due_at and clock.now > d.due_at:
                    services.issue_apology(
                        actor=commune_leader,
                        dossier=d,
                        reason="Xin lỗi",
                        new_due_at=clock.now + timedelta(hours=8),
                    )
                self.attempt(lambda d: services.forward(actor=self.holder(d), dossier=d))

        @rule()
        def approve(self):
            self.attempt(lambda d: services.approve(actor=commune_leader, dossier=d))

        @rule()
        def claim(self):
            self.attempt(lambda d: services.claim(actor=self.holder(d), dossier=d))

        @rule()
        def send_back(self):
            self.attempt(
                lambda d: services.send_back(actor=self.holder(d), dossier=d, comment="Làm lại")
            )

        @rule()
        def request_supplement(self):
            self.attempt(
                lambda d: services.request_supplement(
                    actor=self.holder(d), dossier=d, reason="Thiếu", missing_documents=["Tờ khai"]
                )
            )

        @rule()
        def receive_supplement(self):
            self.attempt(lambda d: services.receive_supplement(actor=desk_officer, dossier=d))

        @rule()
        def request_payment(self):
            self.attempt(
                lambda d: services.request_payment(actor=self.holder(d), dossier=d, reason="Phí")
            )

        @rule()
        def confirm_payment(self):
            self.attempt(lambda d: services.confirm_payment(actor=desk_officer, dossier=d))

        @rule(hours=st.integers(min_value=-10, max_value=200))
        def apologise(self, hours):
            self.attempt(
                lambda d: services.issue_apology(
                    actor=commune_leader,
                    dossier=d,
                    reason="Xin lỗi",
                    new_due_at=clock.now + timedelta(hours=hours),
                )
            )

        @rule()
        def return_result(self):
            self.attempt(
                lambda d: services.return_result(
                    actor=desk_officer, dossier=d, method="desk", recipient_signature_name="Hoa"
                )
            )

        @precondition(lambda self: self.fresh().status == Status.PROCESSING)
        @rule(kind=st.sampled_from(["stop", "withdraw", "refuse"]))
        def end(self, kind):
            if kind == "stop":
                call = lambda d: services.stop(actor=commune_leader, dossier=d, reason="Dừng")  # noqa: E731
            elif kind == "withdraw":
                call = lambda d: services.withdraw(actor=citizen, dossier=d, reason="Rút")  # noqa: E731
            else:
                call = lambda d: services.refuse(actor=desk_officer, dossier=d, reason="Từ chối")  # noqa: E731
            self.attempt(call)

        # -- the property -------------------------------------------------------------------

        @invariant()
        def late_stays_late(self):
            d = self.fresh()
            result = timeliness.evaluate(d, now=clock.now)
            # The public lookup's shortcut (no working-minute counts) says the same, always.
            assert timeliness.state_of(d, now=clock.now) == result.state
            if self.seen_late:
                assert result.is_late, (result, d.status)
            self.seen_late = self.seen_late or result.is_late
            event(f"{Status(d.status).name} {result.state}")
            if d.status in FINAL_STATUSES:
                assert d.timeliness == result.state
                if self.final_state is None:
                    self.final_state = result.state
                assert result.state == self.final_state
            else:
                overdue = Dossier.objects.filter(pk=d.pk).filter(timeliness.overdue_q(clock.now))
                assert overdue.exists() == (result.state == "overdue")
            if d.status == Status.RESOLVED:
                assert d.current_step.kind == StepKind.RETURN

    run_state_machine_as_test(
        LateStaysLate,
        settings=settings(
            max_examples=50,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            database=None,
        ),
    )
