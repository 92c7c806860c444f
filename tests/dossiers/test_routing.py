"""Routing through the process: the full life of a birth registration, inter-agency transfer,
and the bad inputs of issue #3 (disallowed transition, wrong role, stale revision...)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chinhquyenso.core.errors import Conflict, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry, Notification
from chinhquyenso.core.services import audit
from chinhquyenso.dossiers import services, timeliness
from chinhquyenso.dossiers.models import (
    FINAL_STATUSES,
    Dossier,
    ResultDelivery,
    Status,
    StepRun,
)
from chinhquyenso.dossiers.services import _common
from chinhquyenso.procedures.models import StepKind
from tests.dossiers.conftest import local, receive, snapshot

pytestmark = pytest.mark.django_db


def test_the_full_life_of_a_birth_registration(
    received, clock, desk_officer, responsible, unit_head, commune_leader
):
    d = received
    assert d.applicant_phone
    # Desk → appraisal (the unit's specialists' queue).
    clock.set(local(2026, 3, 9, 9, 20))
    d = services.forward(actor=desk_officer, dossier=d, comment="Hồ sơ đủ", expected_revision=1)
    assert (d.status, d.current_step.order, d.current_handler) == (Status.PROCESSING, 2, None)
    d = services.claim(actor=responsible, dossier=d, expected_revision=d.revision)
    assert d.current_handler == responsible
    # Appraisal finds a missing paper: supplement (the clock stops).
    clock.set(local(2026, 3, 9, 14, 0))
    d = services.request_supplement(
        actor=responsible,
        dossier=d,
        reason="Giấy chứng sinh bị mờ",
        missing_documents=["Giấy chứng sinh (bản rõ)"],
        expected_revision=d.revision,
    )
    assert (d.status, d.supplement_count, d.clock_paused_at) == (
        Status.AWAITING_SUPPLEMENT,
        1,
        local(2026, 3, 9, 14, 0),
    )
    # The applicant comes back the next morning: 14:00–17:00 and 07:30–09:00 paused = 270 min.
    clock.set(local(2026, 3, 10, 9, 0))
    d = services.receive_supplement(
        actor=desk_officer,
        dossier=d,
        documents=[{"name": "Giấy chứng sinh (bản rõ)"}],
        expected_revision=d.revision,
    )
    assert d.status == Status.PROCESSING
    assert d.paused_minutes == 270
    # 09:00 + 270 working minutes: 150 before lunch, 120 after.
    assert d.due_at == d.original_due_at == local(2026, 3, 12, 15, 30)
    assert d.current_handler == responsible  # still with the specialist
    assert d.documents.filter(supplement_round=1).count() == 1
    # Appraisal → review by the unit head → approval by the chairman → return step.
    clock.set(local(2026, 3, 10, 10, 0))
    d = services.forward(
        actor=responsible, dossier=d, handler=unit_head, expected_revision=d.revision
    )
    assert (d.current_step.order, d.current_handler) == (3, unit_head)
    d = services.forward(
        actor=unit_head, dossier=d, comment="Trình ký", expected_revision=d.revision
    )
    assert d.current_step.kind == StepKind.APPROVE
    clock.set(local(2026, 3, 10, 15, 0))
    d = services.approve(actor=commune_leader, dossier=d, expected_revision=d.revision)
    assert d.status == Status.RESOLVED
    assert d.finished_at == local(2026, 3, 10, 15, 0)
    assert d.timeliness == "early"  # before Thursday 15:30 by more than a working day
    assert d.current_step.kind == StepKind.RETURN
    # Return by post: the postal simulator issues an S10 tracking number.
    clock.set(local(2026, 3, 11, 8, 0))
    d = services.return_result(
        actor=desk_officer,
        dossier=d,
        method="post",
        recipient_signature_name="Đặng Thị Hoa",
        expected_revision=d.revision,
    )
    assert d.status == Status.RETURNED
    assert d.returned_via == ResultDelivery.POST
    assert d.postal_tracking.startswith("EB") and d.postal_tracking.endswith("VN")
    assert d.returned_at == local(2026, 3, 11, 8, 0)
    assert d.finished_at == local(2026, 3, 10, 15, 0)  # "resolved" stays the end (766 rule)
    assert timeliness.evaluate(d).state == "early"
    # History: every step graded (Form 05), every change an event and an audit entry.
    runs = list(StepRun.objects.filter(dossier=d).select_related("step"))
    assert [r.step.order for r in runs] == [1, 2, 3, 4, 5]
    assert all(r.finished_at and r.timeliness for r in runs)
    actions = list(d.events.values_list("action", flat=True))
    assert actions == [
        "received",
        "forwarded",
        "claimed",
        "supplement_requested",
        "supplement_received",
        "forwarded",
        "forwarded",
        "approved",
        "result_returned",
    ]
    assert (
        AuditEntry.objects.filter(object_id=str(d.pk), action__startswith="dossier.").count() == 9
    )
    assert audit.verify().ok
    # The applicant was told: received, supplement, result ready, result returned.
    subjects = list(
        Notification.objects.filter(object_id=str(d.pk), channel="sms")
        .order_by("pk")
        .values_list("subject", flat=True)
    )
    assert subjects == [
        f"Hồ sơ {d.code} đã được tiếp nhận",
        f"Hồ sơ {d.code} cần bổ sung",
        f"Hồ sơ {d.code} đã có kết quả",
        f"Hồ sơ {d.code} đã trả kết quả",
    ]


def test_a_bad_return_says_what_is_allowed(
    received, desk_officer, responsible, unit_head, commune_leader
):
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    d = services.forward(actor=responsible, dossier=d, handler=unit_head)
    d = services.forward(actor=unit_head, dossier=d)
    d = services.approve(actor=commune_leader, dossier=d)
    before = snapshot(d)
    with pytest.raises(ValidationFailed) as exc:
        services.return_result(
            actor=desk_officer, dossier=d, method="fax", recipient_signature_name="Đặng Thị Hoa"
        )
    assert exc.value.code == "invalid_method"
    assert exc.value.message == (
        "Hình thức trả kết quả không hợp lệ: chọn nhận tại Bộ phận Một cửa, qua bưu chính "
        "công ích hoặc nhận trực tuyến."
    )
    with pytest.raises(ValidationFailed) as exc:
        services.return_result(
            actor=desk_officer,
            dossier=d,
            method="post",
            recipient_signature_name="Đặng Thị Hoa",
            postal_tracking="EB123456784VN",  # wrong check digit
        )
    assert exc.value.code == "tracking_number_invalid"
    assert exc.value.message == "Số hiệu bưu gửi không hợp lệ (dạng EB123456785VN)."
    assert snapshot(d) == before


def test_forward_to_a_step_the_process_does_not_allow(received, desk_officer):
    before = snapshot(received)
    for bad in (4, 5, 1, 99, "x"):
        with pytest.raises(ValidationFailed) as exc:
            services.forward(actor=desk_officer, dossier=received, to_step=bad)
        assert exc.value.code == "transition_not_allowed"
    assert snapshot(received) == before


def test_a_step_by_someone_without_the_role(
    received, desk_officer, responsible, colleague, other_commune_official, commune_leader
):
    before = snapshot(received)
    for actor in (responsible, other_commune_official, commune_leader):
        with pytest.raises(PermissionDenied) as exc:
            services.forward(actor=actor, dossier=received)
        assert exc.value.code in ("step_role_required", "assigned_to_other")
    assert snapshot(received) == before
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    before = snapshot(d)
    with pytest.raises(PermissionDenied) as exc:  # the colleague has the role but not the dossier
        services.forward(actor=colleague, dossier=d)
    assert exc.value.code == "assigned_to_other"
    with pytest.raises(Conflict) as exc:
        services.claim(actor=colleague, dossier=d)
    assert exc.value.code == "already_claimed"
    with pytest.raises(PermissionDenied):
        services.approve(actor=responsible, dossier=d)  # not an approval step, not a leader
    assert snapshot(d) == before


def test_stale_revision_is_a_conflict(received, desk_officer, responsible):
    stale = received.revision
    d = services.forward(actor=desk_officer, dossier=received, expected_revision=stale)
    before = snapshot(d)
    with pytest.raises(Conflict) as exc:
        services.claim(actor=responsible, dossier=d, expected_revision=stale)
    assert exc.value.code == "dossier_changed"
    assert exc.value.details["revision"] == d.revision
    assert snapshot(d) == before


def test_assign_and_send_back(
    received, desk_officer, responsible, colleague, unit_head, commune_leader
):
    d = services.forward(actor=desk_officer, dossier=received)
    with pytest.raises(PermissionDenied):
        services.assign(actor=responsible, dossier=d, handler=colleague)
    with pytest.raises(ValidationFailed) as exc:
        services.assign(actor=unit_head, dossier=d, handler=desk_officer)
    assert exc.value.code == "handler_not_eligible"
    d = services.assign(actor=unit_head, dossier=d, handler=colleague, comment="Giao chị Bình")
    assert d.current_handler == colleague
    assert StepRun.objects.get(dossier=d, finished_at=None).handed_over_by == unit_head
    d = services.forward(actor=colleague, dossier=d)
    d = services.forward(actor=unit_head, dossier=d)
    # The chairman sends it back to the appraisal (allowed_next [2]), to its last handler.
    with pytest.raises(ValidationFailed, match="lý do"):
        services.send_back(actor=commune_leader, dossier=d, comment="")
    d = services.send_back(actor=commune_leader, dossier=d, to_step=2, comment="Sai họ tên cha")
    assert (d.current_step.order, d.current_handler, d.status) == (2, colleague, Status.PROCESSING)
    with pytest.raises(ValidationFailed) as exc:
        services.send_back(actor=colleague, dossier=d, to_step=4, comment="lên")
    assert exc.value.code == "transition_not_allowed"


def test_return_to_desk_only_where_the_process_allows(
    received, desk_officer, responsible, unit_head, scan
):
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    with pytest.raises(ValidationFailed) as exc:  # appraisal must go through approval
        services.return_to_desk(actor=responsible, dossier=d)
    assert exc.value.code == "transition_not_allowed"


def test_apology_required_past_the_appointment(received, clock, desk_officer, responsible):
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    clock.set(local(2026, 3, 12, 10, 0))  # due Thursday 09:00
    before = snapshot(d)
    with pytest.raises(ValidationFailed) as exc:
        services.forward(actor=responsible, dossier=d)
    assert exc.value.code == "apology_required"
    # The appointment as the pages write times: dd/mm/yyyy HH:MM.
    assert "Hồ sơ đã quá ngày hẹn trả (12/03/2026 09:00)." in exc.value.message
    assert snapshot(d) == before
    with pytest.raises(ValidationFailed) as exc:
        services.issue_apology(
            actor=responsible,
            dossier=d,
            reason="Chờ xác minh",
            new_due_at=local(2026, 3, 12, 9, 30),
        )
    assert exc.value.code == "invalid_new_due"
    # The message names the appointment the new one must follow.
    assert exc.value.message == (
        "Ngày hẹn trả mới phải sau thời điểm hiện tại và sau ngày hẹn trả đang có "
        "(12/03/2026 09:00)."
    )
    d = services.issue_apology(
        actor=responsible, dossier=d, reason="Chờ xác minh", new_due_at=local(2026, 3, 13, 16, 0)
    )
    assert (d.due_at, d.original_due_at, d.apology_count) == (
        local(2026, 3, 13, 16, 0),
        local(2026, 3, 12, 9, 0),
        1,
    )
    assert d.counted_late
    d = services.forward(actor=responsible, dossier=d)
    assert d.current_step.order == 3


def test_payment_stops_the_clock(received, clock, desk_officer, responsible):
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    clock.set(local(2026, 3, 9, 10, 0))
    d = services.request_payment(
        actor=responsible,
        dossier=d,
        reason="Lệ phí cấp bản sao trích lục",
        fees=[{"label": "Bản sao trích lục", "amount_vnd": 8000}],
    )
    assert (d.status, d.fees_paid) == (Status.AWAITING_PAYMENT, False)
    clock.set(local(2026, 3, 9, 11, 0))
    d = services.confirm_payment(actor=desk_officer, dossier=d, reference="BL-0001")
    assert (d.status, d.fees_paid, d.paused_minutes) == (Status.PROCESSING, True, 60)
    assert d.due_at == local(2026, 3, 12, 10, 0)


def test_stop_and_withdraw_are_final(received, desk_officer, responsible, commune_leader, citizen):
    with pytest.raises(PermissionDenied):
        services.stop(actor=responsible, dossier=received, reason="x")
    d = services.stop(actor=commune_leader, dossier=received, reason="Người yêu cầu đã chết")
    assert (d.status, d.timeliness) == (Status.STOPPED, "early")
    for call in (
        lambda: services.forward(actor=desk_officer, dossier=d),
        lambda: services.withdraw(actor=desk_officer, dossier=d, reason="x"),
        lambda: services.request_supplement(
            actor=desk_officer, dossier=d, reason="x", missing_documents=["y"]
        ),
    ):
        with pytest.raises((ValidationFailed, PermissionDenied)):
            call()


def test_the_applicant_withdraws(
    clock, birth, desk_officer, desk_unit_a, citizen, other_commune_official
):
    d = receive(desk_officer, desk_unit_a, birth.procedure)
    with pytest.raises(PermissionDenied):
        services.withdraw(actor=other_commune_official, dossier=d, reason="x")
    d = services.withdraw(actor=citizen, dossier=d, reason="Không còn nhu cầu")
    assert d.status == Status.WITHDRAWN and d.finished_at is not None


def test_transition_map_covers_every_service():
    for action, (sources, _label) in _common.ACTIONS.items():
        for status in sources:
            assert status not in FINAL_STATUSES or action == "return_result", action
    for status, targets in _common.TRANSITIONS.items():
        if status in FINAL_STATUSES:
            assert targets <= {Status.RETURNED}


# --- Inter-agency (liên thông) -------------------------------------------------------------------


def test_transfer_to_a_provincial_department_and_back(
    clock,
    transfer_world,
    desk_officer,
    desk_unit_a,
    responsible,
    department,
    department_desk,
    department_specialist,
    colleague,
):
    d = receive(desk_officer, desk_unit_a, transfer_world.procedure)
    d = services.forward(actor=desk_officer, dossier=d)
    d = services.claim(actor=responsible, dossier=d)
    clock.set(local(2026, 3, 9, 14, 0))
    # Forwarding into the transfer step creates the department's dossier.
    d = services.forward(actor=responsible, dossier=d, comment="Đề nghị Sở Tư pháp thẩm định")
    child = Dossier.objects.get(parent=d)
    assert child.code == "000.00.12.H39-260309-0001"
    assert (child.status, child.receiving_organisation, child.handling_organisation) == (
        Status.RECEIVED,
        department,
        department,
    )
    assert child.due_at == d.step_due_at  # the transfer step's allotment
    assert child.documents.count() == d.documents.count()
    assert (d.status, d.current_step.kind) == (Status.PROCESSING, StepKind.TRANSFER)
    # The commune cannot move the parent while the department works on it.
    with pytest.raises((ValidationFailed, PermissionDenied)):
        services.forward(actor=responsible, dossier=d)
    # The department's own process: its desk, its specialist, its return step.
    child = services.forward(actor=department_desk, dossier=child)
    child = services.claim(actor=department_specialist, dossier=child)
    with pytest.raises(PermissionDenied):
        services.claim(actor=colleague, dossier=child)
    clock.set(local(2026, 3, 10, 10, 0))
    child = services.return_to_desk(
        actor=department_specialist, dossier=child, comment="Đủ điều kiện"
    )
    child.refresh_from_db()
    assert child.status == Status.RETURNED and child.timeliness in ("early", "on_time")
    # The parent continues at its next step, in the commune's unit.
    d.refresh_from_db()
    assert (d.status, d.current_step.order, d.current_step.name) == (
        Status.PROCESSING,
        4,
        "Hoàn thiện kết quả",
    )
    assert d.events.filter(action="transfer_completed").exists()
    d = services.claim(actor=responsible, dossier=d)
    d = services.return_to_desk(actor=responsible, dossier=d)
    assert d.status == Status.RESOLVED
    d = services.return_result(
        actor=desk_officer, dossier=d, method="desk", recipient_signature_name="Đặng Thị Hoa"
    )
    assert d.status == Status.RETURNED


@pytest.fixture
def at_the_department(
    clock,
    transfer_world,
    desk_officer,
    desk_unit_a,
    responsible,
    department_desk,
    department_specialist,
):
    """A dossier transferred to the department, its part claimed by the department's
    specialist: (parent, child)."""
    d = receive(desk_officer, desk_unit_a, transfer_world.procedure)
    d = services.forward(actor=desk_officer, dossier=d)
    d = services.claim(actor=responsible, dossier=d)
    d = services.forward(actor=responsible, dossier=d)
    child = Dossier.objects.get(parent=d)
    child = services.forward(actor=department_desk, dossier=child)
    return d, services.claim(actor=department_specialist, dossier=child)


def test_supplement_asked_by_the_department_stops_both_clocks(
    at_the_department,
    clock,
    desk_officer,
    department_specialist,
):
    d, child = at_the_department
    clock.set(local(2026, 3, 9, 10, 0))
    child = services.request_supplement(
        actor=department_specialist,
        dossier=child,
        reason="Thiếu bản dịch",
        missing_documents=["Bản dịch"],
    )
    d.refresh_from_db()
    assert (child.status, d.status) == (Status.AWAITING_SUPPLEMENT, Status.AWAITING_SUPPLEMENT)
    # The applicant brings it to the commune's desk: both restart.
    clock.set(local(2026, 3, 9, 11, 0))
    d = services.receive_supplement(actor=desk_officer, dossier=d, documents=[{"name": "Bản dịch"}])
    child.refresh_from_db()
    assert (child.status, d.status) == (Status.PROCESSING, Status.PROCESSING)
    assert child.paused_minutes == d.paused_minutes == 60
    assert child.documents.filter(name="Bản dịch").exists()


@pytest.mark.parametrize("paid_at", ["department", "commune desk"])
def test_a_fee_asked_by_the_department_shows_on_the_parent_until_paid(
    paid_at,
    at_the_department,
    clock,
    desk_officer,
    department_specialist,
    other_commune_official,
):
    d, child = at_the_department
    parent_fees_paid = d.fees_paid
    clock.set(local(2026, 3, 9, 10, 0))
    child = services.request_payment(
        actor=department_specialist, dossier=child, reason="Lệ phí thẩm định 50.000 đồng"
    )
    d.refresh_from_db()
    # The parent's status reflects the child's: both wait for the payment, both clocks stopped.
    assert (child.status, d.status) == (Status.AWAITING_PAYMENT, Status.AWAITING_PAYMENT)
    assert d.clock_paused_at == child.clock_paused_at == local(2026, 3, 9, 10, 0)
    assert d.events.filter(action="payment_requested", data__child=child.code).exists()
    with pytest.raises(PermissionDenied):
        services.confirm_payment(actor=other_commune_official, dossier=d)
    d.refresh_from_db()
    assert d.status == Status.AWAITING_PAYMENT  # the refusal changed nothing
    clock.set(local(2026, 3, 9, 11, 30))
    if paid_at == "department":
        services.confirm_payment(actor=department_specialist, dossier=child, reference="BL-01")
    else:
        services.confirm_payment(actor=desk_officer, dossier=d, reference="BL-01")
    child.refresh_from_db()
    d.refresh_from_db()
    assert (child.status, d.status) == (Status.PROCESSING, Status.PROCESSING)
    assert child.paused_minutes == d.paused_minutes == 90
    assert child.fees_paid is True
    assert d.fees_paid == parent_fees_paid  # the fee paid was the department's
    assert d.events.filter(action="payment_confirmed").count() == 1
    assert child.events.filter(action="payment_confirmed").count() == 1


def test_withdrawal_ends_the_transferred_part(
    clock, transfer_world, desk_officer, desk_unit_a, responsible, citizen
):
    d = receive(desk_officer, desk_unit_a, transfer_world.procedure)
    d = services.forward(actor=desk_officer, dossier=d)
    d = services.claim(actor=responsible, dossier=d)
    d = services.forward(actor=responsible, dossier=d)
    child = Dossier.objects.get(parent=d)
    with pytest.raises(ValidationFailed):
        services.withdraw(actor=citizen, dossier=child, reason="x")
    services.withdraw(actor=citizen, dossier=d, reason="Không còn nhu cầu")
    child.refresh_from_db()
    assert child.status == Status.WITHDRAWN


def test_a_late_department_apologises_to_the_applicant_under_the_receipt_code(
    at_the_department,
    clock,
    department_specialist,
):
    d, child = at_the_department
    clock.set(child.due_at + timedelta(hours=1))
    new_due = child.due_at + timedelta(days=3)
    services.issue_apology(
        actor=department_specialist,
        dossier=child,
        reason="Chờ ý kiến Sở Tư pháp",
        new_due_at=new_due,
    )
    last = Notification.objects.filter(object_id=str(d.pk), channel="sms").order_by("pk").last()
    assert last.subject == f"Hồ sơ {d.code}: xin lỗi và hẹn lại ngày trả kết quả"
    assert "Chờ ý kiến Sở Tư pháp" in last.body
    assert timezone.localtime(new_due).strftime("%d/%m/%Y %H:%M") in last.body
    assert not Notification.objects.filter(object_id=str(child.pk)).exists()


def test_the_desk_refuses_only_at_reception(
    received, desk_officer, responsible, django_capture_on_commit_callbacks
):
    """Once handed on to a processing step, refusing belongs to the step's actor or the
    leaders: the desk officer is refused with the reason, and nothing changes."""
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    before = snapshot(d)
    notifications = Notification.objects.count()
    audit_entries = AuditEntry.objects.count()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(PermissionDenied) as exc,
    ):
        services.refuse(actor=desk_officer, dossier=d, reason="Không đủ điều kiện")
    assert exc.value.code == "refuse_after_reception"
    assert "“Thẩm định hồ sơ”" in exc.value.message
    assert "chỉ người xử lý bước này hoặc lãnh đạo UBND xã Đơn Dương" in exc.value.message
    assert snapshot(d) == before
    assert Notification.objects.count() == notifications
    assert AuditEntry.objects.count() == audit_entries
    # The specialist holding the step may.
    d = services.refuse(actor=responsible, dossier=d, reason="Không đủ điều kiện")
    assert d.status == Status.REFUSED


def test_the_chairman_refuses_during_processing_and_the_desk_still_at_reception(
    clock, birth, received, desk_officer, desk_unit_a, commune_leader
):
    d = services.forward(actor=desk_officer, dossier=received)
    assert services.refuse(actor=commune_leader, dossier=d, reason="Sai thẩm quyền").status == (
        Status.REFUSED
    )
    # At the reception step, the desk officer holding it refuses (Form 03).
    at_desk = receive(desk_officer, desk_unit_a, birth.procedure)
    assert services.refuse(actor=desk_officer, dossier=at_desk, reason="Thiếu giấy tờ").status == (
        Status.REFUSED
    )
