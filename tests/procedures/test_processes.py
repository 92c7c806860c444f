"""Internal processes: validation (each refusal), versions, the default process, who may."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chinhquyenso.core.errors import PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry, Role
from chinhquyenso.core.models.organisations import OrganisationKind
from chinhquyenso.procedures import queries, services
from chinhquyenso.procedures.models import Procedure, Process, ProcessStep, StepKind
from chinhquyenso.procedures.services import StepSpec
from tests.conftest import make_official, make_org

DAY = 450


@pytest.fixture
def birth(catalogue) -> Procedure:  # 1 working day = 450 working minutes
    return Procedure.objects.select_related("current_version", "field").get(
        national_code="1.001193"
    )


@pytest.fixture
def desk(commune_a):
    return make_org("Bộ phận Một cửa xã Đơn Dương", OrganisationKind.SERVICE_CENTRE, commune_a)


@pytest.fixture
def department(province):
    return make_org("Sở Tư pháp", OrganisationKind.DEPARTMENT, province, "000.00.12.H39")


def steps_for(commune_a, unit_a, desk) -> list[StepSpec]:
    return [
        StepSpec("Tiếp nhận", StepKind.RECEIVE, desk, Role.DESK_OFFICER, 60),
        StepSpec("Thẩm định", StepKind.HANDLE, unit_a, Role.SPECIALIST, 240, allowed_next=(4,)),
        StepSpec("Phê duyệt", StepKind.APPROVE, commune_a, Role.LEADER, 90, allowed_next=(2,)),
        StepSpec("Trả kết quả", StepKind.RETURN, desk, Role.DESK_OFFICER, 60),
    ]


def refusal(**kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as exc:
        services.save_process(**kwargs)
    return exc.value


# --- Saving and versions --------------------------------------------------------------------------


def test_save_creates_version_1_then_2(birth, commune_a, unit_a, desk, commune_admin):
    steps = steps_for(commune_a, unit_a, desk)
    v1 = services.save_process(
        actor=commune_admin, procedure=birth, organisation=commune_a, steps=steps
    )
    assert (v1.number, v1.is_current, v1.created_by) == (1, True, commune_admin)
    assert [s.order for s in v1.steps.all()] == [1, 2, 3, 4]
    changed = [*steps[:1], replace(steps[1], allotment_minutes=200), *steps[2:]]
    v2 = services.save_process(
        actor=commune_admin, procedure=birth, organisation=commune_a, steps=changed
    )
    v1.refresh_from_db()
    assert (v2.number, v2.is_current, v1.is_current) == (2, True, False)
    # Version 1 is kept as it was for the dossiers that started on it.
    assert v1.steps.get(order=2).allotment_minutes == 240
    assert queries.current_process(birth, commune_a) == v2
    entry = AuditEntry.objects.filter(action="process.saved").order_by("id").last()
    assert entry.organisation == commune_a and entry.data["previous"] == 1


def test_saving_the_same_steps_keeps_the_version(birth, commune_a, unit_a, desk, commune_admin):
    steps = steps_for(commune_a, unit_a, desk)
    v1 = services.save_process(
        actor=commune_admin, procedure=birth, organisation=commune_a, steps=steps
    )
    again = services.save_process(
        actor=commune_admin, procedure=birth, organisation=commune_a, steps=steps
    )
    assert again.pk == v1.pk
    assert Process.objects.count() == 1


def test_full_legal_time_is_allowed(birth, commune_a, unit_a, desk, commune_admin):
    steps = steps_for(commune_a, unit_a, desk)
    steps[1] = replace(steps[1], allotment_minutes=DAY - 60 - 90 - 60)
    process = services.save_process(
        actor=commune_admin, procedure=birth, organisation=commune_a, steps=steps
    )
    assert sum(s.allotment_minutes for s in process.steps.all()) == DAY


# --- Each refusal ---------------------------------------------------------------------------------


@pytest.fixture
def base(birth, commune_a, unit_a, desk, commune_admin):
    return {
        "actor": commune_admin,
        "procedure": birth,
        "organisation": commune_a,
        "steps": steps_for(commune_a, unit_a, desk),
    }


def test_refuses_no_steps(base):
    assert refusal(**{**base, "steps": []}).code == "process_no_steps"


def test_refuses_first_step_not_receive(base):
    steps = base["steps"]
    steps[0] = replace(steps[0], kind=StepKind.HANDLE)
    exc = refusal(**base)
    assert exc.code == "process_first_not_receive"
    assert "tiếp nhận" in exc.message


def test_refuses_last_step_not_return(base):
    steps = base["steps"]
    steps[3] = replace(steps[3], kind=StepKind.APPROVE)
    assert refusal(**base).code == "process_last_not_return"


def test_refuses_a_return_step_before_the_end(base):
    steps = base["steps"]
    steps[2] = replace(steps[2], kind=StepKind.RETURN)
    assert refusal(**base).code == "process_return_not_last"


def test_refuses_a_unit_outside_the_organisation(base, commune_b):
    steps = base["steps"]
    steps[1] = replace(steps[1], unit=commune_b)
    exc = refusal(**base)
    assert exc.code == "step_unit_outside"
    assert "Bước 2" in exc.message


def test_refuses_a_transfer_without_target(base):
    steps = base["steps"]
    steps[2] = replace(steps[2], kind=StepKind.TRANSFER)
    assert refusal(**base).code == "step_transfer_target_required"


def test_refuses_a_transfer_to_itself(base, unit_a):
    steps = base["steps"]
    steps[2] = replace(steps[2], kind=StepKind.TRANSFER, transfer_to=unit_a)
    assert refusal(**base).code == "step_transfer_target_invalid"


def test_refuses_a_target_on_an_ordinary_step(base, department):
    steps = base["steps"]
    steps[1] = replace(steps[1], transfer_to=department)
    assert refusal(**base).code == "step_transfer_target_unexpected"


def test_accepts_a_transfer_to_another_organisation(base, department):
    steps = base["steps"]
    steps.insert(
        2,
        StepSpec(
            "Chuyển Sở Tư pháp",
            StepKind.TRANSFER,
            department,
            Role.SPECIALIST,
            30,
            transfer_to=department,
        ),
    )
    steps[1] = replace(steps[1], allotment_minutes=210, allowed_next=(5,))
    steps[3] = replace(steps[3], allowed_next=(2,))
    process = services.save_process(**base)
    transfer = process.steps.get(order=3)
    assert transfer.transfer_to == department


@pytest.mark.parametrize("target", [9, 0, 2])
def test_refuses_unknown_next_steps(base, target):
    steps = base["steps"]
    steps[1] = replace(steps[1], allowed_next=(target,))
    assert refusal(**base).code == "step_next_unknown"


def test_refuses_a_process_that_can_never_finish(base):
    # Step 3 may not go on, and may only go back to 2, which only goes on to 3: a loop.
    steps = base["steps"]
    steps[1] = replace(steps[1], allowed_next=())
    steps[2] = replace(steps[2], can_forward=False, allowed_next=(2,))
    exc = refusal(**base)
    assert exc.code == "process_cannot_finish"
    assert "không bao giờ kết thúc" in exc.message
    assert "Từ bước 1, 2, 3 " in exc.message


def test_a_branch_that_skips_ahead_can_finish(base):
    steps = base["steps"]
    steps[2] = replace(steps[2], can_forward=False, allowed_next=(4,))
    assert services.save_process(**base).steps.get(order=3).can_forward is False


def test_refuses_more_than_the_legal_time(base):
    steps = base["steps"]
    steps[1] = replace(steps[1], allotment_minutes=300)  # 60 + 300 + 90 + 60 = 510 > 450
    exc = refusal(**base)
    assert exc.code == "process_too_long"
    assert "1 ngày làm việc" in exc.message
    assert not Process.objects.exists()


def test_refuses_bad_role_name_and_allotment(base):
    steps = base["steps"]
    steps[1] = replace(steps[1], role="janitor", name=" ", allotment_minutes=0)
    codes = {p["code"] for p in refusal(**base).details["problems"]}
    assert {"step_role_invalid", "step_name_required", "step_allotment_invalid"} <= codes


def test_working_hours_limit(catalogue, commune_a, unit_a, desk, commune_admin):
    notice = Procedure.objects.get(national_code="2.001159")  # 1 giờ
    steps = steps_for(commune_a, unit_a, desk)
    base = {"actor": commune_admin, "procedure": notice, "organisation": commune_a}
    assert refusal(**base, steps=steps).code == "process_too_long"
    short = [replace(s, allotment_minutes=15) for s in steps]
    assert services.save_process(**base, steps=short).number == 1


# --- Legal time ----------------------------------------------------------------------------------


def test_legal_time_conversions(catalogue):
    def minutes(code):
        version = Procedure.objects.get(national_code=code).current_version
        return services.legal_time(version).minutes

    assert services.standard_day_minutes() == DAY
    assert minutes("1.001193") == DAY  # 1 working day
    assert minutes("1.004222") == 7 * DAY  # 7 ngày làm việc
    assert minutes("2.001159") == 60  # 1 giờ
    assert minutes("2.000779") == 6 * DAY  # 10 calendar days hold at least 6 working days
    assert minutes("2.000913") is None  # not stated: not checked
    assert services.calendar_days_as_working_days(1) == 1
    assert services.calendar_days_as_working_days(7) == 5
    assert services.calendar_days_as_working_days(20) == 14


def test_unknown_legal_time_is_not_checked(catalogue, commune_a, unit_a, desk, commune_admin):
    certify = Procedure.objects.get(national_code="2.000913")
    steps = [replace(s, allotment_minutes=5 * DAY) for s in steps_for(commune_a, unit_a, desk)]
    process = services.save_process(
        actor=commune_admin, procedure=certify, organisation=commune_a, steps=steps
    )
    assert process.number == 1


# --- The default process --------------------------------------------------------------------------


def test_default_process_for_birth_registration(birth, commune_a, unit_a, desk, commune_admin):
    process = services.default_process(actor=commune_admin, procedure=birth, organisation=commune_a)
    steps = list(process.steps.all())
    assert [s.kind for s in steps] == ["receive", "handle", "approve", "return"]
    assert steps[0].unit == desk and steps[0].role == Role.DESK_OFFICER
    assert steps[1].unit == unit_a and steps[1].role == Role.SPECIALIST
    assert steps[2].unit == commune_a and steps[2].role == Role.LEADER
    assert sum(s.allotment_minutes for s in steps) == DAY
    assert steps[2].allowed_next == [2]
    # Idempotent: the same default again is the same version.
    again = services.default_process(actor=commune_admin, procedure=birth, organisation=commune_a)
    assert again.pk == process.pk


def test_default_process_with_review_for_a_long_procedure(
    catalogue, commune_a, unit_a, commune_admin
):
    land = Procedure.objects.get(national_code="1.012753")  # 17 ngày làm việc
    steps = services.default_steps(procedure=land, organisation=commune_a)
    assert [s.role for s in steps] == [
        Role.DESK_OFFICER,
        Role.SPECIALIST,
        Role.UNIT_HEAD,
        Role.LEADER,
        Role.DESK_OFFICER,
    ]
    assert steps[0].unit == commune_a  # no desk unit in this commune: the commune itself
    assert sum(s.allotment_minutes for s in steps) == 17 * DAY
    assert steps[0].allotment_minutes <= DAY // 2
    process = services.default_process(actor=commune_admin, procedure=land, organisation=commune_a)
    assert process.steps.count() == 5


@pytest.mark.parametrize("code", ["2.001159", "2.000913", "2.000779", "2.002039"])
def test_default_process_is_valid_for_every_kind_of_time(catalogue, commune_a, unit_a, code):
    procedure = Procedure.objects.select_related("current_version", "field").get(national_code=code)
    steps = services.default_steps(procedure=procedure, organisation=commune_a)
    assert services.validate_steps(procedure=procedure, organisation=commune_a, steps=steps) == []


def test_default_process_for_every_sample_procedure(catalogue, province, commune_a, unit_a):
    for procedure in Procedure.objects.select_related("current_version", "field"):
        org = province if procedure.level == "province" else commune_a
        steps = services.default_steps(procedure=procedure, organisation=org)
        problems = services.validate_steps(procedure=procedure, organisation=org, steps=steps)
        assert problems == [], procedure.national_code


def test_ensure_process_keeps_a_customised_one(base, birth, commune_a):
    custom = services.save_process(**base)
    assert (
        services.ensure_process(actor=base["actor"], procedure=birth, organisation=commune_a)
        == custom
    )


def test_system_may_build_default_processes(birth, commune_a, unit_a):
    process = services.ensure_process(
        actor=None, system=True, procedure=birth, organisation=commune_a
    )
    assert process.created_by is None
    entry = AuditEntry.objects.get(action="process.saved")
    assert entry.actor_label == "hệ thống"


# --- Who may --------------------------------------------------------------------------------------


def test_leader_of_the_province_may_edit_a_commune_process(base, leader):
    assert services.save_process(**{**base, "actor": leader}).created_by == leader


@pytest.mark.parametrize(
    "persona", ["responsible", "colleague", "other_commune_official", "citizen"]
)
def test_others_may_not_edit(request, base, persona):
    with pytest.raises(PermissionDenied):
        services.save_process(**{**base, "actor": request.getfixturevalue(persona)})
    assert not Process.objects.exists()


def test_admin_of_another_commune_may_not_edit(base, commune_b):
    admin_b = make_official("quantri.b", commune_b, Role.ADMIN)
    with pytest.raises(PermissionDenied):
        services.save_process(**{**base, "actor": admin_b})
    with pytest.raises(PermissionDenied):
        services.default_process(
            actor=admin_b, procedure=base["procedure"], organisation=base["organisation"]
        )


def test_next_orders(base):
    process = services.save_process(**base)
    steps = {s.order: s for s in ProcessStep.objects.filter(process=process)}
    assert queries.next_orders(steps[1]) == [2]
    assert queries.next_orders(steps[2], step_count=4) == [3, 4]
    assert queries.next_orders(steps[3]) == [2, 4]
    assert queries.next_orders(steps[4]) == []
