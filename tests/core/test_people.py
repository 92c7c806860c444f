import pytest
from django_otp.oath import TOTP

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import Conflict, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry, Position, Role, User, UserKind
from chinhquyenso.core.services import people


def test_admin_creates_an_official_with_argon2_password(commune_admin, unit_a, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = people.create_official(
        actor=commune_admin,
        username="nguyenthilan",
        full_name="Nguyễn Thị Lan",
        organisation=unit_a,
        role=Role.DESK_OFFICER,
        title="Công chức một cửa",
        password="Lam-Dong-Don-Duong-2026",
    )
    assert user.password.startswith("argon2")
    assert user.check_password("Lam-Dong-Don-Duong-2026")
    assert user.positions.get().organisation == unit_a
    assert AuditEntry.objects.filter(action="person.created", object_id=str(user.pk)).exists()
    # Nothing secret goes into the audit trail.
    assert "Lam-Dong" not in str(AuditEntry.objects.get(action="person.created").data)


def test_weak_password_and_duplicate_username_change_nothing(commune_admin, unit_a, responsible):
    with pytest.raises(ValidationFailed) as exc:
        people.create_official(
            actor=commune_admin,
            username="x1",
            full_name="X",
            organisation=unit_a,
            role=Role.SPECIALIST,
            password="123456",
        )
    assert exc.value.code == "weak_password"
    with pytest.raises(Conflict):
        people.create_official(
            actor=commune_admin,
            username=responsible.username,
            full_name="Trùng",
            organisation=unit_a,
            role=Role.SPECIALIST,
        )
    assert not User.objects.filter(username="x1").exists()
    assert User.objects.filter(username=responsible.username).count() == 1


def test_other_commune_admin_cannot_create_people_here(commune_admin, commune_b):
    with pytest.raises(PermissionDenied):
        people.create_official(
            actor=commune_admin,
            username="y",
            full_name="Y",
            organisation=commune_b,
            role=Role.SPECIALIST,
        )


def test_concurrent_positions_widen_the_scope(province_admin, responsible, commune_b):
    assert not permissions.can(responsible, "organisation.view", commune_b)
    people.add_position(
        actor=province_admin,
        user=responsible,
        organisation=commune_b,
        role=Role.SPECIALIST,
        title="Chuyên viên (kiêm nhiệm)",
    )
    assert Position.objects.active().filter(user=responsible).count() == 2
    assert permissions.can(responsible, "organisation.view", commune_b)


def test_citizen_registration_validates_the_personal_id(db):
    with pytest.raises(ValidationFailed) as exc:
        people.register_applicant(
            kind=UserKind.CITIZEN,
            full_name="Lê Thị Mai",
            personal_id="06809000",
            password="Mat-khau-dai-2026",
        )
    assert "12 chữ số" in exc.value.message
    user = people.register_applicant(
        kind=UserKind.CITIZEN,
        full_name="Lê Thị Mai",
        personal_id="068090009999",
        password="Mat-khau-dai-2026",
    )
    assert user.username == "068090009999" and user.is_applicant
    with pytest.raises(Conflict):
        people.register_applicant(
            kind=UserKind.CITIZEN,
            full_name="Lê Thị Mai",
            personal_id="068090009999",
            password="Mat-khau-dai-2026",
        )


def test_business_registration_uses_the_tax_code(db):
    user = people.register_applicant(
        kind=UserKind.BUSINESS,
        full_name="Công ty TNHH Hoa Đà Lạt",
        tax_code="5801234567",
        password="Mat-khau-dai-2026",
    )
    assert user.username == "5801234567" and user.kind == UserKind.BUSINESS


def test_second_factor_required_for_leaders_and_admins_only(
    leader, commune_admin, responsible, citizen
):
    assert people.requires_second_factor(leader)
    assert people.requires_second_factor(commune_admin)
    assert not people.requires_second_factor(responsible)
    assert not people.requires_second_factor(citizen)


def test_totp_enrolment_needs_a_current_code(leader):
    device = people.start_totp_enrolment(user=leader)
    token = f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"
    wrong = f"{(int(token) + 1) % 1_000_000:06d}"
    assert not people.confirm_totp_enrolment(user=leader, device=device, token=wrong)
    device.refresh_from_db()
    assert not device.confirmed
    # Right after a failure django-otp throttles: even the right code is refused for a while.
    assert not people.confirm_totp_enrolment(user=leader, device=device, token=token)
    device.throttle_reset()  # the throttling delay has passed
    assert people.confirm_totp_enrolment(user=leader, device=device, token=token)
    assert people.confirmed_totp(leader) == device


def test_a_position_ends_on_or_after_its_start(commune_admin, responsible):
    import datetime as dt

    position = responsible.positions.get()
    with pytest.raises(ValidationFailed) as exc:
        people.end_position(
            actor=commune_admin, position=position, end_date=position.start_date - dt.timedelta(1)
        )
    assert exc.value.message == "Ngày kết thúc không được trước ngày bắt đầu."
    # The same day is accepted: the message must not say "after".
    ended = people.end_position(
        actor=commune_admin, position=position, end_date=position.start_date
    )
    assert ended.end_date == position.start_date
