"""What the applicant is told, and when: SMS, e-mail and in-app messages about their dossier.

One path for every service: `tell(dossier, event, **details)`, called inside the service's
transaction. It writes the notifications (the outbox, `core.services.notifications.notify`),
which are sent after the commit: a rolled-back change tells nobody anything.

Each message names the dossier code and ends with the public lookup link
(`settings.CQS_PUBLIC_BASE_URL + "/tra-cuu/<code>/"`), instants as dd/mm/yyyy HH:MM in
Asia/Ho_Chi_Minh; an SMS longer than a 4-part brandname SMS is shortened (`fit_sms`).

An inter-agency child dossier tells nobody: the applicant follows the parent, whose desk they
dealt with (the services tell the parent instead when the applicant must act).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from chinhquyenso.core.services import notifications

RECEIVED = "received"
SUPPLEMENT_REQUESTED = "supplement_requested"
PAYMENT_REQUESTED = "payment_requested"
RESOLVED = "resolved"
RETURNED = "returned"
APOLOGY = "apology"
REFUSED = "refused"
STOPPED = "stopped"
EVENTS = (
    RECEIVED,
    SUPPLEMENT_REQUESTED,
    PAYMENT_REQUESTED,
    RESOLVED,
    RETURNED,
    APOLOGY,
    REFUSED,
    STOPPED,
)


def lookup_link(code: str) -> str:
    return f"{settings.CQS_PUBLIC_BASE_URL.rstrip('/')}/tra-cuu/{code}/"


def lookup_path(code: str) -> str:
    try:
        return reverse("public:dossier", kwargs={"code": code})
    except NoReverseMatch:
        return f"/tra-cuu/{code}/"


def vn_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def message(
    dossier,
    event: str,
    *,
    reason: str = "",
    missing_documents=(),
    amount_vnd: int | None = None,
    previous_due_at: datetime | None = None,
    new_due_at: datetime | None = None,
) -> tuple[str, str]:
    """(subject, body) for `event` about `dossier`, in Vietnamese. The details are the ones the
    service has at hand: the reason of a supplement request, refusal, stop or apology, the
    documents to supplement, the amount to pay (0 or None: no amount recorded, the text then
    names the obligation without a sum), the due dates before and after an apology (after:
    the dossier's own by default)."""
    code = dossier.code
    name = dossier.procedure_version.name
    tail = f" Tra cứu: {lookup_link(code)}"
    if event == RECEIVED:
        due = f" Ngày hẹn trả kết quả: {vn_time(dossier.due_at)}." if dossier.due_at else ""
        return (
            f"Hồ sơ {code} đã được tiếp nhận",
            f"Hồ sơ {code} ({name}) đã được {dossier.receiving_organisation.name} tiếp nhận "
            f"lúc {vn_time(dossier.received_at)}.{due}{tail}",
        )
    if event == SUPPLEMENT_REQUESTED:
        return (
            f"Hồ sơ {code} cần bổ sung",
            f"Hồ sơ {code} cần bổ sung, hoàn thiện: {'; '.join(missing_documents)}. Lý do: "
            f"{reason}. Thời gian bổ sung không tính vào thời hạn giải quyết.{tail}",
        )
    if event == PAYMENT_REQUESTED:
        why = f" {reason}." if reason else ""
        # No amount recorded (the fee is unknown or the obligation is a tax set elsewhere):
        # never "cần nộp 0 đồng".
        due = (
            f"cần nộp {_vnd(amount_vnd)} đồng" if amount_vnd else "cần thực hiện nghĩa vụ tài chính"
        )
        return (
            f"Hồ sơ {code}: yêu cầu thực hiện nghĩa vụ tài chính",
            f"Hồ sơ {code} ({name}) {due}.{why}{tail}",
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
        late = f" so với hẹn ({vn_time(previous_due_at)})" if previous_due_at else ""
        return (
            f"Hồ sơ {code}: xin lỗi và hẹn lại ngày trả kết quả",
            f"Cơ quan giải quyết xin lỗi vì hồ sơ {code} chậm trả kết quả{late}. Lý do: "
            f"{reason}. Ngày hẹn trả mới: {vn_time(new_due_at or dossier.due_at)}.{tail}",
        )
    if event == REFUSED:
        return (
            f"Hồ sơ {code} không được tiếp nhận",
            f"Hồ sơ {code} không được tiếp nhận, giải quyết. Lý do: {reason}.{tail}",
        )
    if event == STOPPED:
        return (
            f"Hồ sơ {code} dừng xử lý",
            f"Hồ sơ {code} đã dừng xử lý. Lý do: {reason}.{tail}",
        )
    raise ValueError(f"unknown applicant event {event!r}")


def tell(dossier, event: str, **details) -> list:
    """Tell the applicant of `dossier` about `event` (see `message` for the details): SMS to
    its phone, e-mail to its address, in-app to its account; nothing for an inter-agency child
    or a dossier with no way to reach the applicant. Sent after the caller's commit."""
    subject, body = message(dossier, event, **details)  # ValueError for an unknown event
    if dossier.parent_id is not None:
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
    return notifications.notify(
        recipient=dossier.applicant,
        channels=channels,
        subject=subject,
        body=body,
        link=lookup_path(dossier.code),
        address_overrides=overrides,
        about=dossier,
        bodies={"sms": fit_sms(body, dossier)} if "sms" in channels else None,
    )


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
