"""The demo generator: content, determinism, idempotence, and the demo second factor.

The demo is loaded once per module inside a transaction that is rolled back at the end, so the
other test modules still start from an empty database; each test runs in a savepoint.
"""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from chinhquyenso.core.models import AuditEntry, Organisation, Position, Role, User, UserKind
from chinhquyenso.core.models.organisations import OrganisationKind
from chinhquyenso.core.services import audit, organisations
from chinhquyenso.core.services.people import confirmed_totp, requires_second_factor
from chinhquyenso.demo import generator
from chinhquyenso.demo.otp import DEMO_DEVICE_NAME, current_code, demo_totp_key
from chinhquyenso.demo.plan import DEFAULT_SEED, build_plan, tax_check_digit

# The generator hashes the shared password once (Argon2) but register_applicant hashes each
# citizen's; a fast hasher keeps this module quick. Production timing: see `load_demo`.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS),
        transaction.atomic(),
    ):
        report = generator.load()
        yield report
        transaction.set_rollback(True)


@pytest.fixture
def loaded(demo, db):
    return demo


def snapshot() -> dict:
    """Everything the generator writes, as comparable values plus a digest."""
    orgs = list(
        Organisation.objects.order_by("pk").values_list(
            "pk",
            "org_code",
            "name",
            "short_name",
            "kind",
            "parent_id",
            "path",
            "admin_unit_id",
            "address",
            "phone",
            "email",
            "is_active",
            "merged_into_id",
        )
    )
    users = list(
        User.objects.order_by("pk").values_list(
            "pk",
            "username",
            "full_name",
            "kind",
            "email",
            "phone",
            "password",
            "personal_id",
            "tax_code",
            "date_of_birth",
            "address",
            "is_superuser",
        )
    )
    positions = list(
        Position.objects.order_by("pk").values_list(
            "user_id", "organisation_id", "role", "title", "is_primary", "start_date", "end_date"
        )
    )
    devices = list(TOTPDevice.objects.order_by("pk").values_list("user_id", "name", "key"))
    digest = hashlib.sha256(
        repr(
            (
                [o[1] for o in orgs],
                [u[1] for u in users],
                orgs,
                users,
                positions,
                devices,
            )
        ).encode()
    ).hexdigest()
    return {
        "organisations": len(orgs),
        "users": len(users),
        "positions": len(positions),
        "devices": len(devices),
        "audit": AuditEntry.objects.count(),
        "digest": digest,
    }


def test_province_departments_and_communes(loaded):
    province = Organisation.objects.get(org_code="000.00.00.H39")
    assert province.name == "UBND tỉnh Lâm Đồng"
    assert province.admin_unit.name == "Lâm Đồng"
    departments = Organisation.objects.filter(kind=OrganisationKind.DEPARTMENT, parent=province)
    assert {"Sở Tư pháp tỉnh Lâm Đồng", "Sở Nông nghiệp và Môi trường tỉnh Lâm Đồng"} <= set(
        departments.values_list("name", flat=True)
    )
    assert departments.count() == 10
    for department in departments:
        assert 2 <= department.children.count() <= 3
    communes = Organisation.objects.filter(kind=OrganisationKind.COMMUNE_COMMITTEE, is_active=True)
    assert communes.count() >= 10
    names = set(communes.values_list("admin_unit__name", flat=True))
    assert {"Xã Đơn Dương", "Xã D'Ran"} <= names
    for commune in communes:
        kinds = sorted(commune.children.values_list("kind", flat=True))
        assert kinds == ["service_centre", "unit", "unit", "unit"], commune.name
        assert commune.admin_unit.parent == province.admin_unit
    codes = list(Organisation.objects.exclude(org_code=None).values_list("org_code", flat=True))
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"\d{3}\.\d{2}\.\d{2}\.H39", code) for code in codes)


def test_historical_district_is_merged_into_the_commune(loaded):
    district = Organisation.objects.get(
        name="UBND huyện Đơn Dương", kind=OrganisationKind.DISTRICT_COMMITTEE
    )
    assert not district.is_active
    assert district.merged_into.name == "UBND xã Đơn Dương"
    assert district.dissolved_on.isoformat() == "2025-07-01"


def test_people_counts_and_roles(loaded):
    officials = User.objects.filter(kind=UserKind.OFFICIAL)
    assert 180 <= officials.count() <= 230
    assert User.objects.filter(kind=UserKind.CITIZEN).count() == 30
    assert User.objects.filter(kind=UserKind.BUSINESS).count() >= 3
    assert set(Position.objects.values_list("role", flat=True)) == set(Role.values)
    # Kiêm nhiệm: some officials hold more than one current position.
    multi = [u for u in officials if u.positions.count() > 1]
    assert len(multi) >= 3
    # Every organisation (not phòng) has a leader and a clerk; every commune an administrator.
    for org in Organisation.objects.filter(is_active=True).exclude(kind=OrganisationKind.UNIT):
        roles = set(org.positions.values_list("role", flat=True))
        assert {Role.LEADER, Role.CLERK} <= roles, org.name
        if org.kind == OrganisationKind.COMMUNE_COMMITTEE:
            assert Role.ADMIN in roles
    for unit in Organisation.objects.filter(kind=OrganisationKind.UNIT):
        roles = set(unit.positions.values_list("role", flat=True))
        assert {Role.UNIT_HEAD, Role.UNIT_DEPUTY} <= roles, unit.name


def test_names_usernames_emails_and_phones(loaded):
    officials = list(User.objects.filter(kind=UserKind.OFFICIAL, is_superuser=False))
    with_diacritics = [u for u in officials if any(ord(ch) > 127 for ch in u.full_name)]
    assert len(with_diacritics) >= 0.9 * len(officials)
    assert len({u.full_name.split()[0] for u in officials}) >= 10
    for user in officials:
        assert re.fullmatch(r"[a-z0-9.]+", user.username), user.username
        assert user.email == f"{user.username}@lamdong.gov.vn"
        assert re.fullmatch(r"09\d{8}", user.phone)
    citizens = User.objects.filter(kind=UserKind.CITIZEN)
    for citizen in citizens:
        assert re.fullmatch(r"068\d{9}", citizen.personal_id)
        assert citizen.username == citizen.personal_id
        assert citizen.date_of_birth is not None
        assert citizen.address.endswith("tỉnh Lâm Đồng")
    for business in User.objects.filter(kind=UserKind.BUSINESS):
        assert re.fullmatch(r"\d{10}", business.tax_code)
        assert tax_check_digit(business.tax_code[:9]) == int(business.tax_code[9])


def test_well_known_accounts(loaded):
    def position(username):
        return Position.objects.get(user__username=username, is_primary=True)

    root = User.objects.get(username="quantri")
    assert root.is_superuser and root.kind == UserKind.OFFICIAL
    assert position("quantri.tinh").role == Role.ADMIN
    assert position("quantri.tinh").organisation.org_code == "000.00.00.H39"
    assert position("chutich.tinh").role == Role.LEADER
    assert position("chutich.tinh").title == "Chủ tịch UBND tỉnh"
    assert position("vanthu.tinh").role == Role.CLERK
    desk = position("motcua.donduong")
    assert desk.role == Role.DESK_OFFICER
    assert desk.organisation.kind == OrganisationKind.SERVICE_CENTRE
    assert desk.organisation.parent.name == "UBND xã Đơn Dương"
    specialist = position("chuyenvien.donduong")
    assert specialist.role == Role.SPECIALIST
    assert specialist.organisation.parent.name == "UBND xã Đơn Dương"
    assert position("chutich.donduong").role == Role.LEADER
    assert position("chutich.donduong").organisation.name == "UBND xã Đơn Dương"
    assert position("quantri.donduong").role == Role.ADMIN
    citizen = User.objects.get(username="068090000001")
    assert citizen.kind == UserKind.CITIZEN and citizen.personal_id == "068090000001"
    for username in generator.WELL_KNOWN_ACCOUNTS:
        assert User.objects.get(username=username).check_password(generator.DEMO_PASSWORD)
    rows = {row.username: row for row in generator.well_known_accounts()}
    assert list(rows) == list(generator.WELL_KNOWN_ACCOUNTS)
    assert rows["chutich.donduong"].otp == "mã OTP: cqs demo_otp chutich.donduong"
    assert rows["motcua.donduong"].otp == "—"


def test_leaders_and_admins_have_a_demo_device(loaded):
    for user in User.objects.filter(kind=UserKind.OFFICIAL):
        if requires_second_factor(user):
            device = confirmed_totp(user)
            assert device is not None, user.username
            assert device.name == DEMO_DEVICE_NAME
            assert device.key == demo_totp_key(user.username)
    assert confirmed_totp(User.objects.get(username="motcua.donduong")) is None


def test_second_run_changes_nothing(loaded):
    before = snapshot()
    report = generator.load()
    assert not report.changed_anything
    assert snapshot() == before


def test_second_run_restores_an_edited_organisation(loaded):
    root = User.objects.get(username="quantri")
    office = Organisation.objects.get(org_code="002.01.39.H39")
    with transaction.atomic():
        organisations.update_organisation(actor=root, organisation=office, name="Tên sai")
    report = generator.load()
    assert report.updated["organisation"] == 1
    office.refresh_from_db()
    assert office.name == "Văn phòng HĐND và UBND xã Đơn Dương"
    assert AuditEntry.objects.filter(action="organisation.updated").count() == 2


def test_audit_chain_holds_after_the_load(loaded):
    result = audit.verify()
    assert result.ok, result.reason
    assert result.checked >= 300


def test_plan_is_deterministic():
    first, second = build_plan(DEFAULT_SEED), build_plan(DEFAULT_SEED)
    assert first == second
    other = build_plan(DEFAULT_SEED + 1)
    assert [o.username for o in other.officials] == [o.username for o in first.officials]
    assert [o.full_name for o in other.officials] != [o.full_name for o in first.officials]
    usernames = [o.username for o in first.officials] + [a.username for a in first.applicants]
    assert len(usernames) == len(set(usernames))


def test_load_demo_command_prints_the_accounts(loaded, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the demo PKI and signed document go here, not into var/
    out = io.StringIO()
    call_command("load_demo", "--dossiers", "12", stdout=out)
    text = out.getvalue()
    assert "Tạo mới: không có" in text
    for username in generator.WELL_KNOWN_ACCOUNTS:
        assert username in text
    assert "ChinhQuyenSo@2026" in text
    assert "mã OTP: cqs demo_otp chutich.tinh" in text


def test_demo_otp_code_verifies(loaded):
    out = io.StringIO()
    call_command("demo_otp", "chutich.donduong", stdout=out, stderr=io.StringIO())
    code = out.getvalue().strip()
    assert re.fullmatch(r"\d{6}", code)
    device = TOTPDevice.objects.get(user__username="chutich.donduong")
    assert device.verify_token(code)


def test_demo_otp_url(loaded):
    out = io.StringIO()
    call_command("demo_otp", "quantri.tinh", "--url", stdout=out, stderr=io.StringIO())
    code, url = out.getvalue().split()
    device = TOTPDevice.objects.get(user__username="quantri.tinh")
    assert url.startswith("otpauth://totp/") and "quantri.tinh" in url
    assert code == current_code(device)[0]


def test_demo_otp_refuses_accounts_that_are_not_demo(loaded):
    stranger = User.objects.create_user(
        username="nguoithat", password=None, kind=UserKind.OFFICIAL, full_name="Người Thật"
    )
    TOTPDevice.objects.create(user=stranger, name=DEMO_DEVICE_NAME, confirmed=True)
    with pytest.raises(CommandError, match="không phải tài khoản mẫu"):
        call_command("demo_otp", "nguoithat")
    # A demo leader who enrolled a real authenticator is no longer served either.
    leader = User.objects.get(username="chutich.tinh")
    TOTPDevice.objects.filter(user=leader).update(key="ab" * 20)
    with pytest.raises(CommandError, match="không phải tài khoản mẫu"):
        call_command("demo_otp", "chutich.tinh")
    with pytest.raises(CommandError, match="không cần mã OTP"):
        call_command("demo_otp", "motcua.donduong")
    with pytest.raises(CommandError, match="Không có tài khoản"):
        call_command("demo_otp", "khongtontai")


def test_plan_writes_the_reform_date_as_dd_mm_yyyy():
    """The reform date as every date is shown, dd/mm/yyyy: 01/07/2025, not 01/7/2025."""
    (district,) = build_plan(DEFAULT_SEED).historical
    assert district.org.address.endswith("(trước 01/07/2025)")
    assert district.reason.startswith("Chính quyền địa phương hai cấp từ 01/07/2025:")
