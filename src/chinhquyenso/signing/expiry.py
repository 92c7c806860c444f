"""Certificate expiry (issue #4: "warn before expiry"): the status the pages show, and the
warnings to the holders 30, 7 and 1 days before a registered certificate expires, once per
threshold (Nghị định 23/2025/NĐ-CP Điều 6: a digital signature is valid only while its
certificate is valid). Run daily by `cqs signing_expiry_warnings` or the task
`signing.tasks.send_expiry_warnings`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chinhquyenso.core.models import Position, Role, User
from chinhquyenso.core.services import audit
from chinhquyenso.signing.models import Certificate

EXPIRY_WARNED = "certificate.expiry_warned"
EXPIRY_THRESHOLDS = (30, 7, 1)


@dataclass(frozen=True)
class Status:
    code: str  # inactive | expired | expiring | not_yet_valid | valid
    label: str
    css: str  # Bootstrap badge class
    days_left: int | None


def status_of(cert, *, now: datetime | None = None) -> Status:
    """What the pages show about a certificate (or trusted certificate) right now."""
    now = now or timezone.now()
    days = (cert.not_after - now) / timedelta(days=1)
    days_left = math.ceil(days) if days > 0 else 0  # 5.9 days left reads "6 days"
    if not cert.is_active:
        return Status("inactive", "Ngừng dùng", "text-bg-secondary", days_left)
    if cert.not_after <= now:
        return Status("expired", "Đã hết hạn", "text-bg-danger", 0)
    if cert.not_before > now:
        return Status("not_yet_valid", "Chưa có hiệu lực", "text-bg-info", days_left)
    if days <= EXPIRY_THRESHOLDS[0]:
        return Status("expiring", "Sắp hết hạn", "text-bg-warning", days_left)
    return Status("valid", "Đang dùng", "text-bg-success", days_left)


def threshold_for(not_after: datetime, now: datetime) -> int | None:
    """The smallest warning threshold (days) the remaining validity has reached, if any."""
    remaining = not_after - now
    if remaining <= timedelta(0):
        return None
    reached = [t for t in EXPIRY_THRESHOLDS if remaining <= timedelta(days=t)]
    return min(reached) if reached else None


def _expiry_recipients(cert: Certificate) -> list[User]:
    """The official; for a seal, the administrators of the organisation (else who registered it)."""
    if cert.user_id is not None:
        return [cert.user] if cert.user.is_active else []
    admins = list(
        User.objects.filter(
            is_active=True,
            pk__in=Position.objects.active()
            .filter(organisation=cert.organisation, role=Role.ADMIN)
            .values("user_id"),
        ).order_by("pk")
    )
    if not admins and cert.registered_by_id and cert.registered_by.is_active:
        admins = [cert.registered_by]
    return admins


@transaction.atomic
def warn_expiry(*, certificate_id: int, now: datetime | None = None) -> int | None:
    """Tell the holder once that the certificate reaches the next threshold; returns the
    threshold notified, or None. Safe to run twice: the threshold is claimed by a conditional
    UPDATE before anything is sent."""
    from chinhquyenso.core.services import notifications

    now = now or timezone.now()
    cert = (
        Certificate.objects.select_related("user", "organisation", "registered_by")
        .filter(pk=certificate_id, is_active=True)
        .first()
    )
    if cert is None:
        return None
    threshold = threshold_for(cert.not_after, now)
    if threshold is None:
        return None
    claimed = (
        Certificate.objects.filter(pk=cert.pk, is_active=True)
        .filter(Q(expiry_warned_days__isnull=True) | Q(expiry_warned_days__gt=threshold))
        .update(expiry_warned_days=threshold, expiry_warned_at=now)
    )
    if not claimed:
        return None
    expiry = timezone.localtime(cert.not_after).strftime("%H:%M ngày %d/%m/%Y")
    subject = f"Chứng thư số sắp hết hạn ({threshold} ngày)"
    body = (
        f"Chứng thư số “{cert.subject}” (số hiệu {cert.serial}, do {cert.issuer} cấp) "
        f"của {cert.holder_name} hết hạn lúc {expiry}. Hãy đề nghị tổ chức cung cấp dịch vụ "
        "chứng thực chữ ký số gia hạn hoặc cấp mới và đăng ký chứng thư mới trên hệ thống."
    )
    recipients = _expiry_recipients(cert)
    for recipient in recipients:
        channels = ["in_app"] + (["email"] if recipient.email else [])
        notifications.notify(
            recipient=recipient,
            channels=channels,
            subject=subject,
            body=body,
            link=f"/chu-ky-so/chung-thu/{cert.pk}/",
            about=cert,
        )
    audit.record(
        action=EXPIRY_WARNED,
        actor=None,
        obj=cert,
        organisation=cert.organisation,
        data={
            "threshold_days": threshold,
            "not_after": cert.not_after.isoformat(),
            "recipients": [r.pk for r in recipients],
        },
    )
    return threshold


def send_expiry_warnings(*, now: datetime | None = None) -> dict[int, int]:
    """Warn about every active certificate within the largest threshold; {threshold: count}."""
    now = now or timezone.now()
    horizon = now + timedelta(days=EXPIRY_THRESHOLDS[0])
    ids = Certificate.objects.filter(
        is_active=True, not_after__gt=now, not_after__lte=horizon
    ).values_list("pk", flat=True)
    sent: dict[int, int] = {}
    for pk in list(ids):
        threshold = warn_expiry(certificate_id=pk, now=now)
        if threshold is not None:
            sent[threshold] = sent.get(threshold, 0) + 1
    return sent
