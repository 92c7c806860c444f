"""Write the demo plan into the database through the core services, idempotently.

`load()` upserts by natural keys (org_code, or name and kind for organisations without one;
username for accounts): what exists and matches the plan is left alone, so a second run creates
nothing, changes nothing and writes no audit entry. It runs in one transaction: all or nothing.

Bootstrap: the superuser `quantri` is created with `User.objects.create_superuser` (nobody exists
yet to act); every other write is made by the core services with `quantri` as the actor.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from chinhquyenso.core.models import (
    AdministrativeUnit,
    Organisation,
    Position,
    Role,
    User,
    UserKind,
)
from chinhquyenso.core.models.people import SECOND_FACTOR_ROLES
from chinhquyenso.core.services import audit, organisations, people
from chinhquyenso.demo.otp import DEMO_DEVICE_NAME, demo_totp_key
from chinhquyenso.demo.plan import (
    DEFAULT_SEED,
    PROVINCE_UNIT,
    WELL_KNOWN_CITIZEN_ID,
    ApplicantSpec,
    OrgSpec,
    Plan,
    build_plan,
)

# Every demo account (officials, citizens, businesses) shares this password.
DEMO_PASSWORD = "ChinhQuyenSo@2026"  # noqa: S105 - published demo credential
SUPERUSER = "quantri"
SUPERUSER_NAME = "Quản trị hệ thống"

# The accounts the README lists, in the order it lists them.
WELL_KNOWN_ACCOUNTS = (
    SUPERUSER,
    "quantri.tinh",
    "chutich.tinh",
    "vanthu.tinh",
    "motcua.donduong",
    "chuyenvien.donduong",
    "chutich.donduong",
    "quantri.donduong",
    WELL_KNOWN_CITIZEN_ID,
)


@dataclass
class LoadReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def changed_anything(self) -> bool:
        return bool(sum(self.created.values()) or sum(self.updated.values()))


class _Loader:
    def __init__(self, plan: Plan, report: LoadReport):
        self.plan = plan
        self.report = report
        self.orgs: dict[str, Organisation] = {}
        self._hash: str | None = None
        self.actor: User | None = None

    @property
    def password_hash(self) -> str:
        # Argon2 is deliberately slow: hash the shared password once, not once per account.
        if self._hash is None:
            self._hash = make_password(DEMO_PASSWORD)
        return self._hash

    # -- the actor -----------------------------------------------------------------------
    def superuser(self) -> User:
        user = User.objects.filter(username=SUPERUSER).first()
        if user is None:
            user = User.objects.create_superuser(
                username=SUPERUSER,
                email=f"{SUPERUSER}@lamdong.gov.vn",
                password=None,
                kind=UserKind.OFFICIAL,
                full_name=SUPERUSER_NAME,
            )
            user.password = self.password_hash
            user.save(update_fields=["password"])
            audit.record(
                action="person.created",
                actor=user,
                obj=user,
                data={"username": SUPERUSER, "superuser": True, "source": "demo"},
            )
            self.report.created["superuser"] += 1
        else:
            self.report.unchanged["superuser"] += 1
        self.actor = user
        return user

    # -- organisations -------------------------------------------------------------------
    def _admin_units(self) -> dict[str, AdministrativeUnit]:
        province = AdministrativeUnit.objects.get(level="province", name=PROVINCE_UNIT)
        units = {PROVINCE_UNIT: province}
        wanted = {o.admin_unit for o in self.plan.organisations} - {None, PROVINCE_UNIT}
        for unit in AdministrativeUnit.objects.filter(
            level="commune", parent=province, name__in=wanted
        ):
            units[unit.name] = unit
        missing = wanted - set(units)
        if missing:
            raise LookupError(
                "Thiếu đơn vị hành chính (chạy migrate để nạp vietnam-provinces): "
                + ", ".join(sorted(missing))
            )
        return units

    def _find(self, spec: OrgSpec) -> Organisation | None:
        if spec.org_code:
            return Organisation.objects.filter(org_code=spec.org_code).first()
        return Organisation.objects.filter(name=spec.name, kind=spec.kind).first()

    def _upsert_org(self, spec: OrgSpec, units: dict[str, AdministrativeUnit]) -> Organisation:
        parent = self.orgs[spec.parent_key] if spec.parent_key else None
        wanted = {
            "name": spec.name,
            "short_name": spec.short_name,
            "kind": spec.kind,
            "org_code": spec.org_code,
            "admin_unit": units.get(spec.admin_unit) if spec.admin_unit else None,
            "address": spec.address,
            "phone": spec.phone,
            "email": spec.email,
        }
        org = self._find(spec)
        if org is None:
            org = organisations.create_organisation(actor=self.actor, parent=parent, **wanted)
            self.report.created["organisation"] += 1
            return org
        current = {name: getattr(org, name) for name in wanted if name != "admin_unit"}
        current["admin_unit"] = org.admin_unit_id
        changes = {
            name: value
            for name, value in wanted.items()
            if current[name] != (value.pk if isinstance(value, AdministrativeUnit) else value)
        }
        touched = False
        if changes:
            org = organisations.update_organisation(actor=self.actor, organisation=org, **changes)
            touched = True
        if parent is not None and org.parent_id != parent.pk:
            org = organisations.move_organisation(
                actor=self.actor, organisation=org, new_parent=parent
            )
            touched = True
        if touched:
            self.report.updated["organisation"] += 1
        else:
            self.report.unchanged["organisation"] += 1
        return org

    def organisations(self) -> None:
        units = self._admin_units()
        for spec in self.plan.organisations:
            self.orgs[spec.key] = self._upsert_org(spec, units)
        for item in self.plan.historical:
            org = self._upsert_org(item.org, units)
            self.orgs[item.org.key] = org
            if org.is_active:
                organisations.merge_organisations(
                    actor=self.actor,
                    sources=[org],
                    target=self.orgs[item.merged_into_key],
                    on_date=item.on_date,
                    reason=item.reason,
                )
                self.report.updated["historical merge"] += 1

    # -- officials -----------------------------------------------------------------------
    def officials(self) -> None:
        usernames = [o.username for o in self.plan.officials]
        existing = {u.username: u for u in User.objects.filter(username__in=usernames)}
        held = set(
            Position.objects.active()
            .filter(user__username__in=usernames)
            .values_list("user__username", "organisation_id", "role")
        )
        for spec in self.plan.officials:
            user = existing.get(spec.username)
            positions = spec.positions
            if user is None:
                first = positions[0]
                user = people.create_official(
                    actor=self.actor,
                    username=spec.username,
                    full_name=spec.full_name,
                    organisation=self.orgs[first.org_key],
                    role=first.role,
                    title=first.title,
                    email=spec.email,
                    phone=spec.phone,
                    password_hash=self.password_hash,
                )
                self.report.created["official"] += 1
                positions = positions[1:]
            else:
                self.report.unchanged["official"] += 1
            for position in positions:
                org = self.orgs[position.org_key]
                if (spec.username, org.pk, position.role) in held:
                    continue
                people.add_position(
                    actor=self.actor,
                    user=user,
                    organisation=org,
                    role=position.role,
                    title=position.title,
                    is_primary=position is spec.positions[0],
                )
                self.report.created["position (kiêm nhiệm)"] += 1

    def demo_devices(self) -> None:
        """A confirmed demo TOTP device for the superuser and every leader and administrator
        who has none yet (an account whose holder enrolled a real device is left alone)."""
        usernames = [SUPERUSER] + [
            o.username for o in self.plan.officials if o.roles & SECOND_FACTOR_ROLES
        ]
        users = User.objects.filter(username__in=usernames).order_by("username")
        with_device = set(
            TOTPDevice.objects.filter(user__in=users, confirmed=True).values_list(
                "user_id", flat=True
            )
        )
        for user in users:
            if user.pk in with_device:
                self.report.unchanged["demo TOTP"] += 1
                continue
            TOTPDevice.objects.create(
                user=user,
                name=DEMO_DEVICE_NAME,
                key=demo_totp_key(user.username),
                confirmed=True,
            )
            audit.record(
                action="person.totp_enrolled", actor=self.actor, obj=user, data={"demo": True}
            )
            self.report.created["demo TOTP"] += 1

    # -- applicants ----------------------------------------------------------------------
    def applicants(self) -> None:
        existing = set(
            User.objects.filter(
                username__in=[a.username for a in self.plan.applicants]
            ).values_list("username", flat=True)
        )
        for spec in self.plan.applicants:
            if spec.username in existing:
                self.report.unchanged[spec.kind] += 1
                continue
            self._register(spec)
            self.report.created[spec.kind] += 1

    def _register(self, spec: ApplicantSpec) -> None:
        people.register_applicant(
            kind=spec.kind,
            full_name=spec.full_name,
            password="",
            password_hash=self.password_hash,
            personal_id=spec.personal_id,
            tax_code=spec.tax_code,
            phone=spec.phone,
            date_of_birth=spec.date_of_birth,
            address=spec.address,
            actor=self.actor,
        )


def demo_usernames(seed: int = DEFAULT_SEED) -> frozenset[str]:
    """Every account name the demo creates for `seed`."""
    plan = build_plan(seed)
    return frozenset(
        [SUPERUSER] + [o.username for o in plan.officials] + [a.username for a in plan.applicants]
    )


def load(*, seed: int = DEFAULT_SEED) -> LoadReport:
    """Create or complete the demo data for `seed`. Safe to run again: see the module docstring."""
    started = time.perf_counter()
    report = LoadReport()
    loader = _Loader(build_plan(seed), report)
    with transaction.atomic():
        loader.superuser()
        loader.organisations()
        loader.officials()
        loader.demo_devices()
        loader.applicants()
    report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class AccountRow:
    username: str
    full_name: str
    role: str
    organisation: str
    password: str
    otp: str


def well_known_accounts() -> list[AccountRow]:
    """The README's demo accounts as they are in the database (missing ones are skipped)."""
    users = {u.username: u for u in User.objects.filter(username__in=WELL_KNOWN_ACCOUNTS)}
    with_device = set(
        TOTPDevice.objects.filter(
            user__in=users.values(), name=DEMO_DEVICE_NAME, confirmed=True
        ).values_list("user__username", flat=True)
    )
    rows = []
    for username in WELL_KNOWN_ACCOUNTS:
        user = users.get(username)
        if user is None:
            continue
        position = (
            Position.objects.active()
            .filter(user=user, is_primary=True)
            .select_related("organisation")
            .first()
        )
        if user.is_superuser:
            role, org = "Quản trị toàn hệ thống (superuser)", "—"
        elif position is not None:
            role = position.title or Role(position.role).label
            org = position.organisation.name
        else:
            role, org = UserKind(user.kind).label, "—"
        rows.append(
            AccountRow(
                username=username,
                full_name=user.full_name,
                role=str(role),
                organisation=org,
                password=DEMO_PASSWORD,
                otp=f"mã OTP: cqs demo_otp {username}" if username in with_device else "—",
            )
        )
    return rows
