"""Forms 01–05 of the one-stop mechanism as print-ready A5 PDFs (TT 01/2018/TT-VPCP; DOMAIN §3.3).

`render_form(dossier=..., purpose=...)` takes the template of `purpose` from the active form set
(`formsets.active_form_set()`, data, not code), renders it with Django's template engine and
turns the HTML into PDF with WeasyPrint. The layout shared by every form — A5 page, the
organisation block, the national header "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM / Độc lập - Tự do -
Hạnh phúc" — is `templates/dossiers/forms/base.html`, which the bodies extend.

Conventions of the printed text: dates dd/mm/yyyy, times "HH giờ MM phút", always in
Asia/Ho_Chi_Minh whatever the server's zone; fonts Liberation Serif (Times New Roman metrics,
Debian `fonts-liberation2`, which has the Vietnamese glyphs) then DejaVu Serif.

The receipt (Form 01) carries a QR code of the public status page
`settings.CQS_PUBLIC_BASE_URL + "/tra-cuu/<code>/"` (TT 01/2018 Art. 19: units may print a
barcode or QR code with the dossier code), embedded as a PNG data URI so the PDF needs nothing
from outside; the URL is also printed under it.

WeasyPrint is given a URL fetcher that only accepts `data:` URIs: a form body (editable data)
can never make the server fetch a URL.

The template context (what a body may use) is built by `form_context`; see its docstring.

`issue_form` is what the organisation hands out: the printed form sealed with the receiving
organisation's seal (`signing.seal`, issue #4), or, without a seal, unsigned with "Chưa ký số"
printed in the bottom margin of page 1.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import segno
from django.conf import settings
from django.template import engines
from django.utils import timezone

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.dossiers import formsets, timeliness
from chinhquyenso.dossiers.models import (
    Dossier,
    FormPurpose,
    FormTemplate,
    PauseKind,
    ResultDelivery,
    Status,
    Timeliness,
)
from chinhquyenso.procedures.templatetags.procedure_tags import vnd
from chinhquyenso.signing import seal as seal_module

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# Administrative-unit name prefixes dropped to write the place before the date
# ("Đơn Dương, ngày 02 tháng 3 năm 2026").
_PLACE_PREFIXES = ("Thành phố ", "Tỉnh ", "Phường ", "Xã ", "Đặc khu ", "Thị trấn ", "Quận ")


@dataclass(frozen=True)
class VnTime:
    """An instant as the forms print it, in Asia/Ho_Chi_Minh."""

    value: datetime

    @property
    def local(self) -> datetime:
        return self.value.astimezone(VN_TZ)

    @property
    def date(self) -> str:
        """dd/mm/yyyy"""
        return self.local.strftime("%d/%m/%Y")

    @property
    def time(self) -> str:
        """HH giờ MM phút"""
        local = self.local
        return f"{local.hour:02d} giờ {local.minute:02d} phút"

    @property
    def full(self) -> str:
        """HH giờ MM phút, ngày dd/mm/yyyy"""
        return f"{self.time}, ngày {self.date}"

    @property
    def long_date(self) -> str:
        """The date line of an administrative document: "ngày 02 tháng 3 năm 2026".

        Decree 30/2020/NĐ-CP, Annex I (thể thức văn bản: địa danh và thời gian ban hành văn
        bản): a day below 10 and the months 1 and 2 are written with a leading zero, the
        other months without ("ngày 15 tháng 01 năm 2026", "ngày 20 tháng 12 năm 2026").
        """
        local = self.local
        month = f"{local.month:02d}" if local.month <= 2 else str(local.month)
        return f"ngày {local.day:02d} tháng {month} năm {local.year}"

    def __str__(self) -> str:
        return self.full


def vn_time(value: datetime | None) -> VnTime | None:
    return VnTime(value) if value is not None else None


def format_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy; a datetime is converted to Asia/Ho_Chi_Minh first."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(VN_TZ)
    return value.strftime("%d/%m/%Y")


def format_vnd(amount: int | Decimal | None) -> str:
    """A fee as the forms print it, the same text as the pages (the `vnd` filter):
    50000 -> "50.000 đồng", 0 -> "Miễn phí", None (amount not known) -> "Chưa rõ"."""
    return vnd(amount)


# Where the applicant receives the result, as the receipt writes it after the form's own words
# "Đăng ký nhận kết quả tại:" (TT 01/2018/TT-VPCP, Mẫu 01; DOMAIN.md §4): the place, not the
# choice's label (which would read "… tại: Nhận tại …"). `desk` is the set's desk name.
_RECEIPT_DELIVERY = {
    ResultDelivery.DESK: "{desk}",
    ResultDelivery.POST: "địa chỉ của người nộp, qua dịch vụ bưu chính công ích",
    ResultDelivery.ONLINE: "Cổng Dịch vụ công (nhận trực tuyến)",
}


def delivery_text(dossier: Dossier, desk: str) -> str:
    """The place after "Đăng ký nhận kết quả tại:": the desk, the applicant's address by public
    postal service, or the public service portal."""
    text = _RECEIPT_DELIVERY.get(dossier.result_delivery)
    if text is None:
        return dossier.get_result_delivery_display()
    return text.format(desk=desk)


def lookup_url(code: str) -> str:
    """The public status page of a dossier, as printed and encoded in the receipt's QR code."""
    return f"{settings.CQS_PUBLIC_BASE_URL.rstrip('/')}/tra-cuu/{code}/"


def make_qr(data: str) -> segno.QRCode:
    """The QR code printed on the forms: error correction M, no boosting, so the symbol for a
    given text is always the same."""
    return segno.make_qr(data, error="m", boost_error=False)


def qr_data_uri(data: str) -> str:
    """A PNG data URI with one pixel per module and the 4-module quiet zone; the form scales it
    up with `image-rendering: pixelated`, so the printed symbol stays sharp."""
    return make_qr(data).png_data_uri(scale=1, border=4)


def place_name(organisation) -> str:
    unit = getattr(organisation, "admin_unit", None)
    name = unit.name if unit is not None else ""
    for prefix in _PLACE_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _processing_time(version) -> str:
    if version.processing_time_text:
        return version.processing_time_text
    if version.processing_time is None:
        return ""
    amount = version.processing_time
    amount_text = str(int(amount)) if amount == int(amount) else str(amount).replace(".", ",")
    return f"{amount_text} {version.get_processing_unit_display()}"


def _step_timeliness(run) -> str:
    """The step's own result for Form 05: what the lifecycle recorded, else the one on-time
    rule (`timeliness.evaluate_step`) for a finished step; "" while the step runs."""
    if run.timeliness:
        return run.timeliness
    if run.finished_at is None:
        return ""
    return timeliness.evaluate_step(run).state


# Form 05 wording ("trước hạn/đúng hạn/quá hạn"), not the UI's.
FORM05_RESULT = {
    Timeliness.EARLY: "Trước hạn",
    Timeliness.ON_TIME: "Đúng hạn",
    Timeliness.LATE: "Quá hạn",
}


def _label(value: str) -> str:
    return FORM05_RESULT.get(value, "") if value else ""


def _person(user) -> str:
    if user is None:
        return ""
    return user.full_name or user.get_username()


def _received_at(run, taken: list[tuple]) -> datetime | None:
    """When the step's receiver (`run.handler`) received the dossier: the last time they took
    it ("claimed") or were given it ("assigned") while the step ran; otherwise the hand-over
    itself (they were named at the hand-over, or worked on it from their unit's queue, where it
    arrived then); None while nobody has received it."""
    if run.handler_id is None:
        return None
    received = None
    for at, action, actor_id, data, step_id in taken:
        if step_id != run.step_id or at < run.started_at:
            continue
        if run.finished_at is not None and at > run.finished_at:
            continue
        handler = actor_id if action == "claimed" else (data or {}).get("handler")
        if handler == run.handler_id:
            received = at
    return received or run.started_at


def _control_rows(dossier: Dossier, desk: str) -> list[dict[str, Any]]:
    """Form 05 rows from the StepRun history: one row per hand-over.

    Row n hands the dossier from the unit of step n-1 (the desk for the first) to the unit of
    step n at the step's start ("Giao"), and is received by the step's handler (`_received_at`,
    "Nhận"); its result is step n's own early/on time/late. When the dossier has come back
    with its result, a last row hands it from the last unit to the desk, graded with the
    dossier's overall result.
    """
    runs = list(
        dossier.step_runs.select_related("unit", "handler", "handed_over_by", "step").order_by(
            "started_at", "id"
        )
    )
    taken = list(
        dossier.events.filter(action__in=("claimed", "assigned"))
        .order_by("at", "id")
        .values_list("at", "action", "actor_id", "data", "to_step_id")
    )
    rows = []
    previous_unit = desk
    for index, run in enumerate(runs, start=1):
        result = _step_timeliness(run)
        rows.append(
            {
                "index": index,
                "step": run.step.name,
                "from_name": previous_unit,
                "to_name": run.unit.name,
                "handed_over": VnTime(run.started_at),
                "received": vn_time(_received_at(run, taken)),
                "due": VnTime(run.due_at),
                "finished": vn_time(run.finished_at),
                "giver": _person(run.handed_over_by),
                "receiver": _person(run.handler),
                "result": result,
                "result_label": _label(result) if result else "Đang giải quyết",
                "note": run.comment,
            }
        )
        previous_unit = run.unit.name
    last = runs[-1] if runs else None
    overall = ""
    if (
        last is not None
        and last.finished_at is not None
        and dossier.status in {Status.RESOLVED, Status.RETURNED}
    ):
        overall = dossier.timeliness or timeliness.evaluate(dossier).state
        rows.append(
            {
                "index": len(rows) + 1,
                "step": "Trả hồ sơ, kết quả về Bộ phận tiếp nhận và trả kết quả",
                "from_name": last.unit.name,
                "to_name": desk,
                "handed_over": VnTime(last.finished_at),
                "received": None,  # the desk's receipt is not recorded
                "due": vn_time(dossier.due_at),
                "finished": vn_time(dossier.finished_at),
                "giver": _person(last.handler),
                "receiver": "",
                "result": overall,
                "result_label": _label(overall),
                "note": "",
            }
        )
    return rows


def _documents(dossier: Dossier) -> list[dict[str, Any]]:
    documents = [
        {"name": d.name, "copy_type": d.copy_type, "quantity": d.quantity}
        for d in dossier.documents.all()
    ]
    if documents:
        return documents
    # No checklist recorded: print what the procedure version asks for (not what the state
    # already holds, which must not be asked for: NQ 66.7/2025/NQ-CP).
    return [
        {
            "name": d.get("name", ""),
            "copy_type": d.get("copy_type", ""),
            "quantity": d.get("quantity", 1),
        }
        for d in (dossier.procedure_version.documents or [])
        if not d.get("state_holds_data")
    ]


def _latest_reason(dossier: Dossier, *, pause_kind: str | None, status: int | None) -> str:
    if pause_kind is not None:
        pause = dossier.pauses.filter(kind=pause_kind).order_by("-started_at").first()
        if pause is not None and pause.reason:
            return pause.reason
    if status is not None:
        event = dossier.events.filter(to_status=status).order_by("-at", "-id").first()
        if event is not None and event.comment:
            return event.comment
    return ""


def _sequence(code: str) -> str:
    """The XXXX part of `<org code>-YYMMDD-XXXX` (TT 01/2018 Art. 19)."""
    match = re.search(r"-(\d+)$", code)
    return match.group(1) if match else code


def form_context(
    *, dossier: Dossier, template: FormTemplate, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a form body may use.

    dossier, form (the FormTemplate), form_set, organisation, organisation_upper, parent_upper,
    desk (the one-stop desk's name in this set's wording), place, issued (VnTime of the form's
    date), procedure_code, procedure_name, processing_time, received, due, original_due,
    returned, finished (VnTime or None), number (receipt number), register_book,
    register_sequence, documents [{name, copy_type, quantity}], fees [{label, amount}] (amount
    as printed: "50.000 đồng", "Miễn phí", "Chưa rõ"), result_delivery (the choice's label),
    result_delivery_text (the place the receipt prints after "Đăng ký nhận kết quả tại:"),
    received_by, channel, status_label, lookup_url, qr_data_uri (receipt only), reason,
    missing_documents, new_due, contact, rows (Form 05: index, step, from_name, to_name,
    handed_over, received, due, finished (VnTime; received and finished may be None), giver,
    receiver, result, result_label, note), extra (the caller's dict).

    Keys of `extra` the shipped forms read: reason (02, 03, 04, stop), missing_documents (02:
    list of names; default: the documents not provided), new_due_at (04: datetime; default the
    dossier's due date), original_due_at (04), issued_at (the form's date; default the receipt
    instant for 01, now otherwise), number, contact (who to call), handler_name (signatory).
    """
    extra = dict(extra or {})
    organisation = dossier.receiving_organisation
    parent = organisation.parent
    version = dossier.procedure_version
    purpose = template.purpose
    now = timezone.now()

    issued_at = extra.get("issued_at")
    if issued_at is None:
        issued_at = dossier.received_at if purpose == FormPurpose.RECEIPT else None
    issued_at = issued_at or now

    desk = extra.get("desk") or (
        "Bộ phận Một cửa"
        if template.form_set.code == formsets.TT03_2025
        else "Bộ phận tiếp nhận và trả kết quả"
    )

    reason = extra.get("reason")
    if reason is None:
        reason = {
            FormPurpose.SUPPLEMENT: lambda: _latest_reason(
                dossier, pause_kind=PauseKind.SUPPLEMENT, status=Status.AWAITING_SUPPLEMENT
            ),
            FormPurpose.REFUSAL: lambda: _latest_reason(
                dossier, pause_kind=None, status=Status.REFUSED
            ),
            FormPurpose.STOP: lambda: _latest_reason(
                dossier, pause_kind=PauseKind.STOPPED, status=Status.STOPPED
            ),
            FormPurpose.APOLOGY: lambda: _latest_reason(dossier, pause_kind=None, status=None),
        }.get(purpose, lambda: "")()

    missing = extra.get("missing_documents")
    if missing is None and purpose == FormPurpose.SUPPLEMENT:
        missing = [
            d.name
            for d in dossier.documents.filter(provided=False).order_by("supplement_round", "id")
        ]

    original_due = extra.get("original_due_at") or dossier.original_due_at or dossier.due_at
    new_due = extra.get("new_due_at") or dossier.due_at

    context: dict[str, Any] = {
        "dossier": dossier,
        "form": template,
        "form_set": template.form_set,
        "organisation": organisation,
        "organisation_upper": organisation.name.upper(),
        "parent_upper": parent.name.upper() if parent is not None else "",
        "desk": desk,
        "desk_upper": desk.upper(),
        "place": extra.get("place") or place_name(organisation) or organisation.name,
        "issued": VnTime(issued_at),
        "procedure_code": dossier.procedure.national_code,
        "procedure_name": version.name,
        "processing_time": _processing_time(version),
        "received": vn_time(dossier.received_at),
        "submitted": vn_time(dossier.submitted_at),
        "due": vn_time(dossier.due_at),
        "original_due": vn_time(original_due),
        "new_due": vn_time(new_due),
        "returned": vn_time(dossier.returned_at),
        "finished": vn_time(dossier.finished_at),
        "number": extra.get("number") or _sequence(dossier.code),
        "register_book": extra.get("register_book")
        or (str(dossier.received_at.astimezone(VN_TZ).year) if dossier.received_at else ""),
        "register_sequence": extra.get("register_sequence") or _sequence(dossier.code),
        "documents": _documents(dossier) if purpose == FormPurpose.RECEIPT else [],
        "fees": [
            {"label": f.get("label", ""), "amount": format_vnd(f.get("amount_vnd"))}
            for f in (dossier.fees or [])
        ],
        "result_delivery": dossier.get_result_delivery_display(),
        "result_delivery_text": delivery_text(dossier, desk),
        "received_by": extra.get("handler_name") or _person(dossier.received_by),
        "channel": dossier.get_channel_display(),
        "status_label": dossier.get_status_display(),
        "handling_organisation": dossier.handling_organisation,
        "lookup_url": lookup_url(dossier.code),
        "reason": reason or "",
        "missing_documents": missing or [],
        "contact": extra.get("contact") or organisation.phone,
        "rows": _control_rows(dossier, desk) if purpose == FormPurpose.CONTROL_SHEET else [],
        "extra": extra,
    }
    if purpose == FormPurpose.RECEIPT:
        context["qr_data_uri"] = qr_data_uri(context["lookup_url"])
    return context


@functools.lru_cache(maxsize=64)
def _compiled(body: str):
    # Keyed by the source itself: an edited body is a new key, so no stale form is printed.
    return engines["django"].from_string(body)


def render_html(*, dossier: Dossier, purpose: str, extra: dict[str, Any] | None = None) -> str:
    """The form as HTML (what `render_form` prints); useful for previews."""
    if purpose == FormPurpose.REGISTER:
        raise ValidationFailed(
            "Sổ theo dõi hồ sơ là tệp Excel: dùng register_xlsx.build_register.",
            code="form_not_printable",
        )
    template = formsets.form_template(purpose)
    context = form_context(dossier=dossier, template=template, extra=extra)
    return _compiled(template.body).render(context)


# Printed in the bottom margin of page 1 of a form issued without the organisation's seal,
# where a sealed form carries the seal's mark (signing/seal.py `A5_MARK_BOX`).
UNSIGNED_NOTE = "Chưa ký số"
_UNSIGNED_CSS = (
    "@page :first { @bottom-left { content: '" + UNSIGNED_NOTE + "'; font-size: 7pt; "
    "color: #555; font-style: italic; } }"
)


def html_to_pdf(html: str, *, unsigned_note: bool = False) -> bytes:
    """HTML to PDF with WeasyPrint; only `data:` URIs may be loaded. `unsigned_note`: print
    "Chưa ký số" in the bottom margin of page 1."""
    from weasyprint import CSS, HTML, URLFetcher  # heavy import: only when a form is printed

    fetcher = URLFetcher(allowed_protocols={"data"})
    stylesheets = [CSS(string=_UNSIGNED_CSS)] if unsigned_note else None
    return HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf(stylesheets=stylesheets)


def render_form(*, dossier: Dossier, purpose: str, extra: dict[str, Any] | None = None) -> bytes:
    """Print form `purpose` (a `FormPurpose` value) for `dossier` from the active form set.

    Raises ValidationFailed `form_not_in_set` when the active set has no such form (e.g. the
    stop notice under TT 01/2018) and `form_not_printable` for the register (Excel).
    Permission is the caller's business (the dossier services print for whoever may see the
    dossier); this function only reads.
    """
    _check_applicable(dossier, purpose)
    return html_to_pdf(render_html(dossier=dossier, purpose=purpose, extra=extra))


def _check_applicable(dossier: Dossier, purpose: str) -> None:
    if purpose == FormPurpose.RECEIPT and dossier.received_at is None:
        raise ValidationFailed(
            "Hồ sơ chưa được tiếp nhận nên không có giấy tiếp nhận.", code="form_not_applicable"
        )


@dataclass(frozen=True)
class IssuedForm:
    """A form as the organisation issues it: sealed (`sealed` says with what) or not."""

    pdf: bytes
    purpose: str
    sealed: seal_module.Sealed | None

    @property
    def signed(self) -> bool:
        return self.sealed is not None


def form_title(purpose: str) -> str:
    """ "Mẫu 01: Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in the active set, or the purpose."""
    try:
        template = formsets.form_template(purpose)
    except ValidationFailed:
        return FormPurpose(purpose).label if purpose in FormPurpose.values else purpose
    return f"Mẫu {template.number}: {template.title}"


def issue_form(
    *, dossier: Dossier, purpose: str, extra: dict[str, Any] | None = None
) -> IssuedForm:
    """Print form `purpose` and seal it with the receiving organisation's seal
    (`signing.seal`, Decree 30/2020 Annex I; issue #4). Without a usable seal the form is
    issued unsigned and prints "Chưa ký số" (the reason is logged by the seal module).
    Same errors as `render_form`."""
    organisation = dossier.receiving_organisation
    if seal_module.has_seal(organisation):
        pdf = render_form(dossier=dossier, purpose=purpose, extra=extra)
        sealed = seal_module.seal(
            organisation=organisation,
            pdf_bytes=pdf,
            purpose=f"{purpose} {dossier.code}",
            title=f"{form_title(purpose)} — {dossier.code}",
        )
        if sealed is not None:
            return IssuedForm(pdf=sealed.pdf, purpose=purpose, sealed=sealed)
    _check_applicable(dossier, purpose)
    html = render_html(dossier=dossier, purpose=purpose, extra=extra)
    return IssuedForm(pdf=html_to_pdf(html, unsigned_note=True), purpose=purpose, sealed=None)
