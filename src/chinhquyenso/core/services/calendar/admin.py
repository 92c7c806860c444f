"""Administration of the working-day calendar: overrides and office sessions (writes).

Each function is one transaction, checks `calendar.manage`, validates and writes the audit entry;
the in-process calendars are rebuilt after commit.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import (
    PermissionDenied,
    ValidationFailed,
    from_django_validation,
)
from chinhquyenso.core.models import CalendarOverride, OfficeSession, Role
from chinhquyenso.core.services import audit
from chinhquyenso.core.services.calendar.engine import (
    MAX_YEAR,
    MIN_YEAR,
    _after_change,
    _out_of_range,
)


def _require(actor, organisation) -> None:
    """`calendar.manage` on the organisation. A global change (no organisation) touches every
    agency in the installation, so it also needs a superuser or an administrator of a top-level
    organisation, not merely any administrator somewhere."""
    permissions.require(actor, "calendar.manage", organisation)
    if (
        organisation is None
        and not actor.is_superuser
        and not any(
            p.role == Role.ADMIN and p.organisation.parent_id is None
            for p in permissions.active_positions(actor)
        )
    ):
        raise PermissionDenied(
            "Chỉ quản trị của cơ quan cấp cao nhất mới được điều chỉnh lịch chung."
        )


@receiver(post_save, sender=CalendarOverride, dispatch_uid="cqs_calendar_override_saved")
@receiver(post_delete, sender=CalendarOverride, dispatch_uid="cqs_calendar_override_deleted")
@receiver(post_save, sender=OfficeSession, dispatch_uid="cqs_calendar_session_saved")
@receiver(post_delete, sender=OfficeSession, dispatch_uid="cqs_calendar_session_deleted")
def _row_changed(**kwargs) -> None:
    """Cache invalidation only (no domain logic): a safety net for rows written outside the
    services below (Django admin, fixtures, shell). Bulk writes send no signal; the services
    invalidate explicitly."""
    _after_change()


def _override_exists_error(day: date, organisation) -> ValidationFailed:
    where = f" cho {organisation.name}" if organisation is not None else " (toàn hệ thống)"
    return ValidationFailed(
        f"Đã có điều chỉnh lịch ngày {day:%d/%m/%Y}{where}. Xóa điều chỉnh cũ trước khi tạo mới.",
        code="override_exists",
    )


@transaction.atomic
def create_override(
    *, actor, date: date, kind: str, reason: str, organisation=None
) -> CalendarOverride:
    """Make `date` a day off or a working day, for `organisation` and its subtree (None:
    everywhere). Typical use: a nghỉ bù or hoán đổi the government announces late."""
    _require(actor, organisation)
    day = date
    if isinstance(day, datetime) or not hasattr(day, "toordinal"):
        raise ValidationFailed("Ngày không hợp lệ.", code="invalid_date")
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise _out_of_range()
    if CalendarOverride.objects.filter(date=day, organisation=organisation).exists():
        raise _override_exists_error(day, organisation)
    override = CalendarOverride(
        date=day,
        kind=kind,
        reason=(reason or "").strip(),
        organisation=organisation,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    try:
        override.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from None
    try:
        with transaction.atomic():
            override.save(force_insert=True)
    except IntegrityError:
        raise _override_exists_error(day, organisation) from None
    audit.record(
        action="calendar.override_created",
        actor=actor,
        obj=override,
        organisation=organisation,
        data={"date": day.isoformat(), "kind": kind, "reason": override.reason},
    )
    _after_change()
    return override


@transaction.atomic
def delete_override(*, actor, override: CalendarOverride) -> None:
    _require(actor, override.organisation)
    audit.record(
        action="calendar.override_deleted",
        actor=actor,
        obj=override,
        organisation=override.organisation,
        data={
            "date": override.date.isoformat(),
            "kind": override.kind,
            "reason": override.reason,
        },
    )
    CalendarOverride.objects.filter(pk=override.pk).delete()
    _after_change()


def _session_label(weekday: int, start: time, end: time) -> str:
    return f"{weekday}:{start:%H:%M}-{end:%H:%M}"


@transaction.atomic
def set_office_sessions(
    *, actor, organisation, sessions: list[tuple[int, time, time]]
) -> list[OfficeSession]:
    """Replace the office sessions of `organisation` (None: the defaults of everybody).

    An empty list removes the organisation's own sessions, so it inherits again from the nearest
    ancestor that has some (or the defaults). Sessions on one weekday may touch but not overlap.
    """
    _require(actor, organisation)
    if organisation is None and not sessions:
        raise ValidationFailed(
            "Giờ làm việc mặc định không được để trống.", code="sessions_required"
        )
    new: list[OfficeSession] = []
    for item in sessions:
        try:
            weekday, start, end = item
        except (TypeError, ValueError):
            raise ValidationFailed(
                "Mỗi buổi làm việc gồm (thứ, giờ bắt đầu, giờ kết thúc).", code="invalid_session"
            ) from None
        if not isinstance(start, time) or not isinstance(end, time) or start.tzinfo or end.tzinfo:
            raise ValidationFailed("Giờ làm việc không hợp lệ.", code="invalid_session")
        session = OfficeSession(organisation=organisation, weekday=weekday, start=start, end=end)
        try:
            session.full_clean()
        except ValidationError as exc:
            raise from_django_validation(exc) from None
        new.append(session)
    new.sort(key=lambda s: (s.weekday, s.start))
    for prev, cur in zip(new, new[1:], strict=False):
        if prev.weekday == cur.weekday and cur.start < prev.end:
            raise ValidationFailed(
                f"Các buổi làm việc {prev} và {cur} bị chồng lên nhau.",
                code="sessions_overlap",
            )
    existing = OfficeSession.objects.filter(organisation=organisation)
    before = [_session_label(s.weekday, s.start, s.end) for s in existing]
    existing.delete()
    OfficeSession.objects.bulk_create(new)
    audit.record(
        action="calendar.sessions_set",
        actor=actor,
        obj=organisation,
        object_type="" if organisation is not None else "core.officesession",
        object_id="" if organisation is not None else "default",
        organisation=organisation,
        data={
            "before": before,
            "after": [_session_label(s.weekday, s.start, s.end) for s in new],
        },
    )
    _after_change()
    return new
