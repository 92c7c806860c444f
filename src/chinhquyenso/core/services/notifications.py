"""Telling people things: in-app, e-mail and SMS notifications (issue #2, point 13).

`notify` writes one `Notification` row per channel in the caller's transaction (the rows are the
outbox) and queues `core.tasks.deliver_notification` for each e-mail and SMS row, to run only
if that transaction commits (`core.tasks.enqueue_with_commit`). The task reloads the row,
skips it unless it is still queued, sends it under a row lock (so two workers never send the
same row), and records the attempt. Failures are
retried with backoff by `core.tasks.retrying`; a permanent failure (bad phone number or address)
or the last failed attempt ends the row in state "failed" with `last_error` saying why.

States: in-app rows are "delivered" at once (the bell shows them); e-mail and SMS rows become
"sent" when the server or gateway accepts them ("delivered" is left for delivery reports).

Delivery is system work on rows written by a person's action, which that action audited; the
rows themselves are the delivery log ("notification.view_log"), so sending and reading are not
written to the hash-chained audit trail, except giving up ("notification.failed").
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, make_msgid
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from chinhquyenso.core import sms
from chinhquyenso.core.errors import NotFound, ValidationFailed
from chinhquyenso.core.models import Notification
from chinhquyenso.core.models.notifications import Channel, DeliveryState
from chinhquyenso.core.services import audit

log = logging.getLogger(__name__)

DEFAULT_EMAIL_SUBJECT = "Thông báo từ Chính quyền số"
NOT_FOUND_MESSAGE = "Không tìm thấy thông báo."
FINISHED = {DeliveryState.SENT, DeliveryState.DELIVERED, DeliveryState.FAILED}


@transaction.atomic
def notify(
    *,
    recipient=None,
    channels: list[str],
    subject: str,
    body: str,
    link: str = "",
    address_overrides: dict[str, str] | None = None,
    about=None,
    bodies: dict[str, str] | None = None,
) -> list[Notification]:
    """One notification per channel; e-mail and SMS are sent after the caller's commit.

    Addresses: `address_overrides[channel]`, else the recipient's e-mail / phone. In-app needs a
    recipient. `about` (any saved model instance) is recorded as the object it concerns. A
    missing or malformed address does not fail the caller: that row ends "failed" when sent.
    `bodies[channel]` replaces `body` for that channel (e.g. a shorter SMS).
    """
    address_overrides = address_overrides or {}
    wanted = list(dict.fromkeys(channels))
    unknown = [c for c in wanted if c not in Channel.values]
    if not wanted or unknown:
        raise ValidationFailed(
            f"Kênh thông báo không hợp lệ: {', '.join(unknown) or '(trống)'}.",
            code="unknown_channel",
        )
    if Channel.IN_APP in wanted and recipient is None:
        raise ValidationFailed(
            "Thông báo trong ứng dụng cần người nhận.", code="notification_recipient_required"
        )
    if not body.strip():
        raise ValidationFailed("Thông báo cần có nội dung.", code="notification_body_required")

    object_type = about._meta.label_lower if about is not None else ""
    object_id = str(about.pk) if about is not None else ""
    now = timezone.now()
    created = []
    for channel in wanted:
        if channel == Channel.EMAIL:
            address = address_overrides.get(channel) or getattr(recipient, "email", "") or ""
        elif channel == Channel.SMS:
            address = address_overrides.get(channel) or getattr(recipient, "phone", "") or ""
        else:
            address = ""
        in_app = channel == Channel.IN_APP
        notification = Notification.objects.create(
            recipient=recipient,
            channel=channel,
            address=address.strip()[:255],
            subject=subject[:255],
            body=(bodies or {}).get(channel) or body,
            link=link[:255],
            state=DeliveryState.DELIVERED if in_app else DeliveryState.QUEUED,
            sent_at=now if in_app else None,
            object_type=object_type,
            object_id=object_id,
        )
        if not in_app:
            # Sent only if the caller commits (core.tasks.enqueue_with_commit); a lost enqueue
            # leaves the row "queued" with no attempt: `cqs notifications_requeue` sends it.
            _enqueue(notification.pk, with_commit=True)
        created.append(notification)
    return created


def _enqueue(notification_id: int, *, with_commit: bool = False) -> None:
    from chinhquyenso.core.tasks import deliver_notification, enqueue_with_commit

    if with_commit:
        enqueue_with_commit(deliver_notification, notification_id)
    else:
        deliver_notification.enqueue(notification_id)


def requeue_unsent(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Enqueue delivery again for e-mail/SMS rows never attempted (their enqueue was lost).

    Rows with attempts are left alone: their retry chain is still running or has ended.
    A duplicate task is harmless (delivery skips rows that are no longer queued).
    """
    ids = list(
        Notification.objects.filter(
            state=DeliveryState.QUEUED,
            attempts=0,
            channel__in=[Channel.EMAIL, Channel.SMS],
            created_at__lt=timezone.now() - older_than,
        ).values_list("pk", flat=True)[:1000]
    )
    for notification_id in ids:
        _enqueue(notification_id)
    return len(ids)


def _absolute(link: str) -> str:
    if link.startswith("/"):
        return settings.CQS_PUBLIC_BASE_URL.rstrip("/") + link
    return link


def _send_email(notification: Notification) -> str:
    try:
        validate_email(notification.address)
    except ValidationError:
        raise sms.SmsRejected(  # a permanent failure, same handling as a refused SMS
            f"Địa chỉ thư điện tử “{notification.address}” không hợp lệ."
            if notification.address
            else "Người nhận chưa có địa chỉ thư điện tử."
        ) from None
    body = notification.body
    if notification.link:
        body += f"\n\nXem chi tiết: {_absolute(notification.link)}"
    message_id = make_msgid(idstring=f"cqs-{notification.pk}")
    EmailMessage(
        subject=notification.subject or DEFAULT_EMAIL_SUBJECT,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.address],
        headers={"Message-ID": message_id},
    ).send(fail_silently=False)
    return message_id


def _send_sms(notification: Notification) -> str:
    return sms.send_sms(
        phone=notification.address,
        text=notification.body,
        # Stable across retries, so the gateway (and the simulator) drop a duplicate send.
        request_id=f"cqs-notification-{notification.pk}",
    )


def deliver(*, notification_id: int) -> str:
    """Send one queued e-mail or SMS notification; returns what happened.

    Safe to run twice: only a row still "queued" is sent, under a row lock. A failure is
    recorded (attempts, last_error) and re-raised after the commit, for the task to retry;
    `sms.SmsRejected` (bad number or address) marks the row failed at once.
    """
    error: Exception | None = None
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None:
            return "missing"
        if notification.state in FINISHED or notification.channel == Channel.IN_APP:
            return "skipped"
        try:
            if notification.channel == Channel.EMAIL:
                provider_id = _send_email(notification)
            else:
                provider_id = _send_sms(notification)
        except Exception as exc:  # any channel error is recorded, then re-raised below
            error = exc
        notification.attempts += 1
        fields = ["attempts", "last_error"]
        if error is None:
            notification.state = DeliveryState.SENT
            notification.sent_at = timezone.now()
            notification.provider_message_id = provider_id[:100]
            notification.last_error = ""
            fields += ["state", "sent_at", "provider_message_id"]
        else:
            notification.last_error = _describe(error)
        notification.save(update_fields=fields)
    if error is None:
        return "sent"
    if isinstance(error, sms.SmsRejected):
        from chinhquyenso.core.tasks import PermanentFailure

        raise PermanentFailure(str(error)) from error
    raise error


def _describe(error: BaseException) -> str:
    text = str(error) or error.__class__.__name__
    if isinstance(error, sms.SmsRejected):
        return text
    return f"{error.__class__.__name__}: {text}"[:2000]


@transaction.atomic
def mark_failed(*, notification_id: int, error: BaseException | None = None) -> bool:
    """Give up on a queued notification (called when its delivery task stops retrying)."""
    notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
    if notification is None or notification.state != DeliveryState.QUEUED:
        return False
    notification.state = DeliveryState.FAILED
    fields = ["state"]
    if error is not None and not notification.last_error:
        notification.last_error = _describe(error.__cause__ or error)
        fields.append("last_error")
    notification.save(update_fields=fields)
    audit.record(
        action="notification.failed",
        actor="hệ thống",
        obj=notification,
        data={
            "channel": notification.channel,
            "attempts": notification.attempts,
            "error": notification.last_error[:500],
        },
    )
    return True


# --- In-app ---------------------------------------------------------------------------------


def in_app_for(user) -> QuerySet[Notification]:
    """The user's own in-app notifications, newest first."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP).order_by(
        "-created_at", "-id"
    )


def get_in_app_for(*, user, notification_id: int) -> Notification:
    notification = in_app_for(user).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound(NOT_FOUND_MESSAGE, code="notification_not_found")
    return notification


@transaction.atomic
def mark_read(*, user, notification: Notification) -> Notification:
    """Mark one of `user`'s own in-app notifications read (idempotent).

    Someone else's notification is NotFound `notification_not_found` (no existence leak).
    Not audited: reading one's own messages changes nothing anybody else relies on.
    """
    if (
        not getattr(user, "is_authenticated", False)
        or notification.recipient_id != user.pk
        or notification.channel != Channel.IN_APP
    ):
        raise NotFound(NOT_FOUND_MESSAGE, code="notification_not_found")
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def unread_count(user) -> int:
    return in_app_for(user).filter(read_at__isnull=True).count()
