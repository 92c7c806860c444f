"""Shared fixtures: a small province with two communes, and the personas of STYLE.md habit 9.

Personas: the responsible official (specialist of Xã A), a colleague in the same unit, an
official of another commune (Xã B), a citizen, an anonymous visitor; plus an administrator and a
leader of the province who must use TOTP.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from chinhquyenso.core.models import (
    AdministrativeUnit,
    Organisation,
    Position,
    Role,
    User,
    UserKind,
)
from chinhquyenso.core.models.organisations import OrganisationKind

PASSWORD = "Mat-khau-thu-nghiem-2026"


@pytest.fixture(autouse=True)
def _fast_and_simple_settings(settings):
    """Tests hash persona passwords with a fast hasher (Argon2 is tested where it matters),
    serve static files without the collectstatic manifest and look at the calendar's shared
    revision once per test."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # The calendar cache looks at the shared revision (set by other nodes) every 60 s of real
    # time; when it has changed (here: a test cleared the cache), the next working-time
    # computation reloads the calendar (2 queries). Left at 60 s, that reload fell at random
    # into the query-count assertions of slow tests. With an hour, each test looks once, at its
    # first calendar use (this override resets the timer); a test of the revision sets 0.
    settings.CQS_CALENDAR_CACHE_SECONDS = 3600


def make_org(name, kind, parent=None, org_code=None, admin_unit=None) -> Organisation:
    """Test-only shortcut around the tree path (services are tested in their own files)."""
    org = Organisation.objects.create(
        name=name, kind=kind, parent=parent, org_code=org_code, admin_unit=admin_unit
    )
    org.path = (parent.path if parent else "/") + f"{org.pk}/"
    org.depth = org.path.count("/") - 2
    org.save(update_fields=["path", "depth"])
    return org


def make_official(username, org, role, title="", **extra) -> User:
    user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        kind=UserKind.OFFICIAL,
        full_name=extra.pop("full_name", username),
        **extra,
    )
    Position.objects.create(user=user, organisation=org, role=role, title=title)
    return user


@pytest.fixture
def province(db):
    unit = AdministrativeUnit.objects.get(level="province", name="Lâm Đồng")
    return make_org(
        "UBND tỉnh Lâm Đồng", OrganisationKind.PROVINCE_COMMITTEE, None, "000.00.00.H39", unit
    )


@pytest.fixture
def commune_a(province):
    unit = AdministrativeUnit.objects.get(level="commune", name="Xã Đơn Dương")
    return make_org(
        "UBND xã Đơn Dương", OrganisationKind.COMMUNE_COMMITTEE, province, "000.01.39.H39", unit
    )


@pytest.fixture
def commune_b(province):
    unit = AdministrativeUnit.objects.get(level="commune", name="Xã D'Ran")
    return make_org(
        "UBND xã D'Ran", OrganisationKind.COMMUNE_COMMITTEE, province, "000.02.39.H39", unit
    )


@pytest.fixture
def unit_a(commune_a):
    return make_org("Văn phòng HĐND và UBND xã Đơn Dương", OrganisationKind.UNIT, commune_a)


@pytest.fixture
def responsible(unit_a):
    return make_official(
        "chuyenvien.a", unit_a, Role.SPECIALIST, "Chuyên viên", full_name="Nguyễn Văn An"
    )


@pytest.fixture
def colleague(unit_a):
    return make_official(
        "dongnghiep.a", unit_a, Role.SPECIALIST, "Chuyên viên", full_name="Trần Thị Bình"
    )


@pytest.fixture
def other_commune_official(commune_b):
    return make_official(
        "chuyenvien.b", commune_b, Role.SPECIALIST, "Chuyên viên", full_name="Lê Văn Cường"
    )


@pytest.fixture
def commune_admin(commune_a):
    return make_official(
        "quantri.a", commune_a, Role.ADMIN, "Quản trị hệ thống", full_name="Phạm Thị Dung"
    )


@pytest.fixture
def province_admin(province):
    return make_official(
        "quantri.tinh", province, Role.ADMIN, "Quản trị hệ thống", full_name="Hoàng Văn Em"
    )


@pytest.fixture
def leader(province):
    return make_official("chutich", province, Role.LEADER, "Chủ tịch", full_name="Võ Minh Giang")


@pytest.fixture
def citizen(db):
    return User.objects.create_user(
        username="068090001234",
        password=PASSWORD,
        kind=UserKind.CITIZEN,
        full_name="Đặng Thị Hoa",
        personal_id="068090001234",
    )


@pytest.fixture
def anonymous():
    return AnonymousUser()


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(
        username="root", password=PASSWORD, kind=UserKind.OFFICIAL, full_name="Quản trị gốc"
    )


def sign_in(client, user):
    """Sign `user` in on the test client; leaders and admins also pass the second factor
    (a confirmed TOTP device recorded in the session, as django_otp.login does)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from chinhquyenso.core.services.people import requires_second_factor

    client.force_login(user)
    if requires_second_factor(user):
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, confirmed=True, defaults={"name": "Thiết bị thử nghiệm"}
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Mark every test that has no django_db marker as a (rolled-back) database test.

    pytest-django orders tests by marker: database tests first, transactional ones after, then
    the rest. A test that reaches the database through `request.getfixturevalue` carries no
    marker and would run after the transactional tests, on a flushed database without the
    migrated reference data. With this marker it runs in the first group, inside a transaction.
    """
    for item in items:
        if item.get_closest_marker("django_db") is None:
            item.add_marker(pytest.mark.django_db)


def postgresql_only(why: str) -> None:
    """Skip on SQLite a test of something only PostgreSQL has (row locks under concurrent
    writers, server-side sessions and prepared statements). `.ci/run` runs the whole suite on
    PostgreSQL too, so these tests always run there."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(f"PostgreSQL only: {why}")


@pytest.fixture(scope="session")
def require_poppler():
    """pdftotext/pdftoppm/pdfinfo (Debian poppler-utils) read back the PDFs we produce.
    `make test` installs them; their absence is a broken machine, not a reason to pass."""
    import shutil

    missing = [t for t in ("pdftotext", "pdftoppm", "pdfinfo") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"Thiếu công cụ {', '.join(missing)}: apt-get install poppler-utils")
