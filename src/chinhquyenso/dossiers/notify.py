"""What the applicant is told, and when: SMS, e-mail and in-app messages about their dossier.

Each message names the dossier code and carries the public lookup link
(`settings.CQS_PUBLIC_BASE_URL + "/tra-cuu/<code>/"`), instants as dd/mm/yyyy HH:MM in
Asia/Ho_Chi_Minh. `schedule(dossier, event)` sends after the caller's transaction commits (a
rolled-back change tells nobody anything); `send(dossier_id, event)` reloads the dossier and
writes the notifications through `core.services.notifications.notify` (the outbox).

An inter-agency child dossier tells nobody: the applicant follows the parent, whose desk they
dealt with.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chinhquyenso.core.services import notifications

log = logging.getLogger(__name__)

RECEIVED = "received"
SUPPLEMENT_REQUESTED = "supplement_requested"
RESOLVED = "resolved"
RETURNED = "returned"
APOLOGY = "apology"
REFUSED = "refused"
STOPPED = "stopped"
EVENTS = (RECEIVED, SUPPLEMENT_REQUESTED, RESOLVED, RETURNED, APOLOGY, REFUSED, STOPPED)


def lookup_link(code: str) -> str:
    return f"{settings.CQS_PUBLIC_BASE_URL.rstrip('/')}/tra-cuu/{code}/"


def vn_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")


def _latest_pause(dossier):
    return dossier.pauses.order_by("-started_at", "-id").first()


def _latest_event(dossier, action: str):
    return dossier.events.filter(action=action).order_by("-at", "-id").first()


def message(dossier, event: str) -> tuple[str, str]:
    """(subject, body) for `event` about `dossier`, in Vietnamese."""
    code = dossier.code
    name = dossier.procedure_version.name
    link = lookup_link(code)
    tail = f" Tra cứu: {link}"
    if event == RECEIVED:
        due = f" Ngày hẹn trả kết quả: {vn_time(dossier.due_at)}." if dossier.due_at else ""
        return (
            f"Hồ sơ {code} đã được tiếp nhận",
            f"Hồ sơ {code} ({name}) đã được {dossier.receiving_organisation.name} tiếp nhận "
            f"lúc {vn_time(dossier.received_at)}.{due}{tail}",
        )
    if event == SUPPLEMENT_REQUESTED:
        pause = _latest_pause(dossier)
        missing = "; ".join(pause.missing_documents) if pause is not None else ""
        reason = pause.reason if pause is not None else ""
        return (
            f"Hồ sơ {code} cần bổ sung",
            f"Hồ sơ {code} cần bổ sung, hoàn thiện: {missing}. Lý do: {reason}. "
            f"Thời gian bổ sung không tính vào thời hạn giải quyết.{tail}",
        )
    if event == RESOLVED:
        return (
            f"Hồ sơ {code} đã có kết quả",
            f"Hồ sơ {code} ({name}) đã có kết quả. Hình thức nhận: "
            f"{dossier.get_result_delivery_display()}.{tail}",
        )
    if event == RETURNED:
        via = dossier.get_returned_via_display() if dossier.returned_via else ""
        post = f" Số hiệu bưu gửi: {dossier.postal_tracking}." if dossier.postal_tracking else ""
        return (
            f"Hồ sơ {code} đã trả kết quả",
            f"Kết quả hồ sơ {code} ({name}) đã được trả lúc {vn_time(dossier.returned_at)}"
            f"{f' ({via})' if via else ''}.{post}{tail}",
        )
    if event == APOLOGY:
        entry = _latest_event(dossier, "apology_issued")
        reason = entry.comment if entry is not None else ""
        return (
            f"Hồ sơ {code}: xin lỗi và hẹn lại ngày trả kết quả",
            f"Cơ quan giải quyết xin lỗi vì hồ sơ {code} chậm trả kết quả. Lý do: {reason}. "
            f"Ngày hẹn trả mới: {vn_time(dossier.due_at)}.{tail}",
        )
    if event == REFUSED:
        entry = _latest_event(dossier, "refused")
        return (
            f"Hồ sơ {code} không được tiếp nhận",
            f"Hồ sơ {code} không được tiếp nhận, giải quyết. Lý do: "
            f"{entry.comment if entry else ''}.{tail}",
        )
    if event == STOPPED:
        entry = _latest_event(dossier, "stopped")
        return (
            f"Hồ sơ {code} dừng xử lý",
            f"Hồ sơ {code} đã dừng xử lý. Lý do: {entry.comment if entry else ''}.{tail}",
        )
    raise ValueError(f"unknown applicant event {event!r}")


def _shortened(name: str, length: int) -> str:
    if len(name) <= length:
        return name
    return name[:length].rsplit(" ", 1)[0].rstrip(" ,;(") + "…"


def fit_sms(body: str, dossier) -> str:
    """`body` as an SMS the gateway accepts. A 4-part brandname SMS holds 268 Vietnamese
    characters and some procedure names from the national portal are longer than that alone:
    the name written as " (name)" is shortened, then left out; past that the text is cut before
    the lookup link, which is kept."""
    from chinhquyenso.core import sms

    if sms.fits(body):
        return body
    full = dossier.procedure_version.name
    marker = f" ({full})"
    if marker in body:
        for short in (f" ({_shortened(full, 60)})", f" ({_shortened(full, 30)})", ""):
            candidate = body.replace(marker, short)
            if sms.fits(candidate):
                return candidate
        body = candidate
    tail = f" Tra cứu: {lookup_link(dossier.code)}"
    if not body.endswith(tail):
        tail = ""
    head = body[: len(body) - len(tail)]
    while head and not sms.fits(head + "…" + tail):
        head = head[:-10]
    return head.rstrip() + "…" + tail


def send(dossier_id: int, event: str) -> list:
    """Write the notifications of `event` for the dossier (SMS to its phone, e-mail to its
    address, in-app to its account); nothing when it has no way to reach the applicant."""
    from chinhquyenso.dossiers.models import Dossier

    dossier = (
        Dossier.objects.select_related("procedure_version", "receiving_organisation", "applicant")
        .filter(pk=dossier_id)
        .first()
    )
    if dossier is None or dossier.parent_id is not None:
        return []
    channels: list[str] = []
    overrides: dict[str, str] = {}
    if dossier.applicant_phone:
        channels.append("sms")
        overrides["sms"] = dossier.applicant_phone
    if dossier.applicant_email:
        channels.append("email")
        overrides["email"] = dossier.applicant_email
    if dossier.applicant_id is not None:
        channels.append("in_app")
    if not channels:
        return []
    subject, body = message(dossier, event)
    return notifications.notify(
        recipient=dossier.applicant,
        channels=channels,
        subject=subject,
        body=body,
        link=f"/tra-cuu/{dossier.code}/",
        address_overrides=overrides,
        about=dossier,
        bodies={"sms": fit_sms(body, dossier)} if "sms" in channels else None,
    )


def _send_logged(dossier_id: int, event: str) -> None:
    try:
        send(dossier_id, event)
    except Exception:
        # After the commit: the change stands; a lost notice is logged, not raised at the user.
        log.exception("Applicant notification %s for dossier %s failed", event, dossier_id)


def schedule(dossier, event: str) -> None:
    """Tell the applicant about `event` once the caller's transaction commits."""
    if event not in EVENTS:
        raise ValueError(f"unknown applicant event {event!r}")
    transaction.on_commit(functools.partial(_send_logged, dossier.pk, event))
