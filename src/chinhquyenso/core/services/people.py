"""Accounts and positions: officials, citizens and businesses; second factor enrolment."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import Conflict, ValidationFailed, from_django_validation
from chinhquyenso.core.models import Organisation, Position, Role, User, UserKind
from chinhquyenso.core.models.people import SECOND_FACTOR_ROLES
from chinhquyenso.core.services import audit


def _clean(obj, exclude=None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise from_django_validation(exc) from None


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed(
            " ".join(str(m) for m in exc.messages),
            code="weak_password",
            details={"password": [str(m) for m in exc.messages]},
        ) from None


@transaction.atomic
def create_official(
    *,
    actor,
    username: str,
    full_name: str,
    organisation: Organisation,
    role: str,
    title: str = "",
    email: str = "",
    phone: str = "",
    password: str | None = None,
    password_hash: str | None = None,
    check_password_strength: bool = True,
) -> User:
    """Create an official's account with a first position in `organisation`.

    `password_hash` (an already hashed password, e.g. one Argon2 hash shared by all demo
    accounts) skips hashing; it is never a plaintext."""
    permissions.require(actor, "person.manage", organisation)
    if role not in Role.values:
        raise ValidationFailed(f"Vai trò không hợp lệ: {role}", code="unknown_role")
    if User.objects.filter(username=username).exists():
        raise Conflict(f"Tên đăng nhập {username} đã tồn tại.", code="username_taken")
    user = User(
        username=username,
        full_name=full_name,
        first_name="",
        last_name="",
        email=email,
        phone=phone,
        kind=UserKind.OFFICIAL,
    )
    if password_hash:
        user.password = password_hash
    elif password:
        if check_password_strength:
            _check_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    _clean(user)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise Conflict(f"Tên đăng nhập {username} đã tồn tại.", code="username_taken") from None
    position = Position(
        user=user, organisation=organisation, role=role, title=title, is_primary=True
    )
    _clean(position)
    position.save()
    audit.record(
        action="person.created",
        actor=actor,
        obj=user,
        organisation=organisation,
        data={"username": username, "role": role, "title": title},
    )
    return user


@transaction.atomic
def add_position(
    *,
    actor,
    user: User,
    organisation: Organisation,
    role: str,
    title: str = "",
    is_primary: bool = False,
    start_date: dt.date | None = None,
) -> Position:
    """Give an official another position (kiêm nhiệm) or a new one after a transfer."""
    permissions.require(actor, "person.manage", organisation)
    if not user.is_official:
        raise ValidationFailed("Chỉ tài khoản cán bộ mới có vị trí công tác.", code="not_official")
    position = Position(
        user=user,
        organisation=organisation,
        role=role,
        title=title,
        is_primary=is_primary,
        start_date=start_date or timezone.localdate(),
    )
    _clean(position)
    position.save()
    permissions.forget_positions(user)
    audit.record(
        action="position.added",
        actor=actor,
        obj=position,
        organisation=organisation,
        data={"user": user.username, "role": role, "title": title},
    )
    return position


@transaction.atomic
def end_position(*, actor, position: Position, end_date: dt.date | None = None) -> Position:
    permissions.require(actor, "person.manage", position.organisation)
    position = Position.objects.select_for_update().get(pk=position.pk)
    position.end_date = end_date or timezone.localdate()
    if position.end_date < position.start_date:
        raise ValidationFailed(
            "Ngày kết thúc không được trước ngày bắt đầu.", code="end_before_start"
        )
    position.save(update_fields=["end_date"])
    audit.record(
        action="position.ended",
        actor=actor,
        obj=position,
        organisation=position.organisation,
        data={"user": position.user.username, "end_date": position.end_date.isoformat()},
    )
    return position


@transaction.atomic
def register_applicant(
    *,
    kind: str,
    full_name: str,
    password: str,
    personal_id: str | None = None,
    tax_code: str | None = None,
    email: str = "",
    phone: str = "",
    date_of_birth=None,
    address: str = "",
    password_hash: str | None = None,
    actor=None,
) -> User:
    """Create a citizen (log in with the 12-digit personal identification number) or a business
    (log in with its tax code) account. `password` may be empty when `password_hash` is given."""
    if kind == UserKind.CITIZEN:
        if not personal_id:
            raise ValidationFailed("Cần số định danh cá nhân (12 chữ số).", code="personal_id")
        username = personal_id
    elif kind == UserKind.BUSINESS:
        if not tax_code:
            raise ValidationFailed("Cần mã số thuế của tổ chức.", code="tax_code")
        username = tax_code
    else:
        raise ValidationFailed("Loại tài khoản không hợp lệ.", code="unknown_kind")
    if User.objects.filter(username=username).exists():
        raise Conflict("Tài khoản với số định danh này đã tồn tại.", code="account_exists")
    user = User(
        username=username,
        full_name=full_name,
        kind=kind,
        personal_id=personal_id or None,
        tax_code=tax_code or None,
        email=email,
        phone=phone,
        date_of_birth=date_of_birth,
        address=address,
    )
    _clean(user, exclude=["password"])
    if password_hash:
        # An already hashed password (seeded accounts share one Argon2 hash); never plaintext.
        user.password = password_hash
    else:
        _check_password(password, user)
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise Conflict(
            "Tài khoản với số định danh này đã tồn tại.", code="account_exists"
        ) from None
    audit.record(action="applicant.registered", actor=actor or user, obj=user, data={"kind": kind})
    return user


def requires_second_factor(user) -> bool:
    """Leaders and administrators (and superusers) must use TOTP (issue #2, point 5)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return any(p.role in SECOND_FACTOR_ROLES for p in permissions.active_positions(user))


def confirmed_totp(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


@transaction.atomic
def start_totp_enrolment(*, user) -> TOTPDevice:
    """A fresh unconfirmed TOTP device for `user`; replaces an earlier unconfirmed one."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Ứng dụng xác thực", confirmed=False)


@transaction.atomic
def confirm_totp_enrolment(*, user, device: TOTPDevice, token: str) -> bool:
    """Confirm the device when `token` is a current code; other devices are removed."""
    if device.user_id != user.pk or device.confirmed:
        raise ValidationFailed("Thiết bị xác thực không hợp lệ.", code="bad_device")
    if not device.verify_token(token.strip()):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    audit.record(action="person.totp_enrolled", actor=user, obj=user)
    return True
