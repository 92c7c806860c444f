"""Intake: receiving a dossier at the desk, online submission and its acceptance, refusal.

Legal basis: the dossier code is `<receiving organisation code>-YYMMDD-XXXX` (TT 01/2018/TT-VPCP
Art. 19), sequential per organisation and receipt day; documents the state already holds are
not asked for again (NQ 66.7/2025/NQ-CP; DOMAIN.md §3.6); processing time runs from the receipt
of a valid dossier, from the next working day after the cut-off (DOMAIN.md §3.5).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from chinhquyenso.core.errors import NotFound, ValidationFailed, from_django_validation
from chinhquyenso.core.models import ApiKey, Organisation, StoredFile
from chinhquyenso.core.services import files as file_service
from chinhquyenso.dossiers.models import (
    ApplicantKind,
    Channel,
    Dossier,
    DossierCounter,
    DossierDocument,
    ResultDelivery,
    Status,
    StepRun,
)
from chinhquyenso.dossiers.permissions import APPROVE, RECEIVE
from chinhquyenso.dossiers.services import _common as c
from chinhquyenso.dossiers.services import deadlines
from chinhquyenso.procedures.models import Procedure, Process, ProcessStep
from chinhquyenso.procedures.text import fold

API_SCOPE = "dossiers:write"

# Province codes that open a personal identification number (Circular 07/2016/TT-BCA, Annex).
PROVINCE_ID_CODES = frozenset(
    [
        "001",
        "002",
        "004",
        "006",
        "008",
        "010",
        "011",
        "012",
        "014",
        "015",
        "017",
        "019",
        "020",
        "022",
        "024",
        "025",
        "026",
        "027",
        "030",
        "031",
        "033",
        "034",
        "035",
        "036",
        "037",
        "038",
        "040",
        "042",
        "044",
        "045",
        "046",
        "048",
        "049",
        "051",
        "052",
        "054",
        "056",
        "058",
        "060",
        "062",
        "064",
        "066",
        "067",
        "068",
        "070",
        "072",
        "074",
        "075",
        "077",
        "079",
        "080",
        "082",
        "083",
        "084",
        "086",
        "087",
        "089",
        "091",
        "092",
        "093",
        "094",
        "095",
        "096",
    ]
)
_PERSONAL_ID_RE = re.compile(r"^\d{12}$")
_TAX_CODE_RE = re.compile(r"^\d{10}(-\d{3})?$")
_PHONE_RE = re.compile(r"^\+?\d{9,15}$")

# --- Applicant ------------------------------------------------------------------------------


def _invalid(field: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, details={field: [message]})


def validate_personal_id(value: str, *, today: date | None = None) -> str:
    """A 12-digit personal identification number (số định danh cá nhân, CCCD): province code,
    century-and-sex digit, two digits of the birth year, six serial digits."""
    number = (value or "").strip().replace(" ", "")
    if not _PERSONAL_ID_RE.match(number):
        raise _invalid(
            "id_number",
            "Số định danh cá nhân phải gồm đúng 12 chữ số.",
            "invalid_personal_id",
        )
    if number[:3] not in PROVINCE_ID_CODES:
        raise _invalid(
            "id_number",
            f"Số định danh cá nhân không hợp lệ: mã tỉnh nơi đăng ký khai sinh “{number[:3]}” "
            "không tồn tại.",
            "invalid_personal_id",
        )
    century = 1900 + 100 * (int(number[3]) // 2)
    year = century + int(number[4:6])
    if year > (today or date.today()).year:
        raise _invalid(
            "id_number",
            f"Số định danh cá nhân không hợp lệ: năm sinh {year} chưa tới.",
            "invalid_personal_id",
        )
    return number


def validate_tax_code(value: str) -> str:
    number = (value or "").strip().replace(" ", "")
    if not _TAX_CODE_RE.match(number):
        raise _invalid(
            "id_number",
            "Mã số thuế phải gồm 10 chữ số, hoặc 10 chữ số, dấu gạch ngang và 3 chữ số "
            "(đơn vị phụ thuộc).",
            "invalid_tax_code",
        )
    return number


def _applicant_kind(value) -> int:
    mapping = {
        "citizen": ApplicantKind.CITIZEN,
        "business": ApplicantKind.BUSINESS,
        "1": ApplicantKind.CITIZEN,
        "2": ApplicantKind.BUSINESS,
        1: ApplicantKind.CITIZEN,
        2: ApplicantKind.BUSINESS,
    }
    kind = mapping.get(value if isinstance(value, int) else str(value or "citizen").lower())
    if kind is None:
        raise _invalid(
            "kind",
            "Loại người nộp phải là công dân hoặc tổ chức, doanh nghiệp.",
            "invalid_applicant_kind",
        )
    return kind


def clean_applicant(applicant: dict) -> dict:
    """Applicant fields of a Dossier from the intake form's dict."""
    if not isinstance(applicant, dict):
        raise _invalid("applicant", "Thiếu thông tin người nộp hồ sơ.", "applicant_required")
    kind = _applicant_kind(applicant.get("kind", "citizen"))
    name = " ".join(str(applicant.get("name") or "").split())
    if not name:
        raise _invalid("name", "Cần nhập họ tên người nộp hồ sơ.", "applicant_name_required")
    if len(name) > 200:
        raise _invalid("name", "Họ tên người nộp quá dài (tối đa 200 ký tự).", "invalid_name")
    raw_id = str(applicant.get("id_number") or "")
    id_number = (
        validate_personal_id(raw_id) if kind == ApplicantKind.CITIZEN else validate_tax_code(raw_id)
    )
    phone = re.sub(r"[\s.\-()]", "", str(applicant.get("phone") or ""))
    if phone and not _PHONE_RE.match(phone):
        raise _invalid("phone", "Số điện thoại không hợp lệ.", "invalid_phone")
    email = str(applicant.get("email") or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise _invalid("email", "Địa chỉ thư điện tử không hợp lệ.", "invalid_email") from None
    address = " ".join(str(applicant.get("address") or "").split())[:255]
    return {
        "applicant_kind": kind,
        "applicant_name": name,
        "applicant_id_number": id_number,
        "applicant_phone": phone,
        "applicant_email": email,
        "applicant_address": address,
    }


# --- Documents ------------------------------------------------------------------------------


def _file(actor, file_id) -> StoredFile:
    try:
        pk = int(file_id)
    except (TypeError, ValueError):
        raise _invalid("documents", "Mã tệp đính kèm không hợp lệ.", "file_not_found") from None
    stored = StoredFile.objects.select_related("organisation").filter(pk=pk).first()
    readable = stored is not None and (
        (
            isinstance(actor, ApiKey)
            and stored.organisation is not None
            and stored.organisation.path.startswith(actor.organisation.path)
        )
        or (not isinstance(actor, ApiKey) and file_service.can_read(actor, stored))
    )
    if not readable or stored.integrity_failed_at is not None:
        raise _invalid("documents", f"Không tìm thấy tệp đính kèm số {file_id}.", "file_not_found")
    return stored


def clean_documents(
    *, actor, version, documents: list[dict], id_number: str, supplement_round: int = 0
) -> list[DossierDocument]:
    """DossierDocument rows (unsaved) for the checklist: every required document the state does
    not hold must be provided; the ones it holds are recorded `from_state_data` and not asked.

    Each item: {"index": position in the version's list (0-based) or "name", "provided": bool,
    "file_id": StoredFile id, "reused_from": DossierDocument id of the applicant's earlier
    dossier, "copy_type", "quantity"}.
    """
    if documents is None:
        documents = []
    if not isinstance(documents, list | tuple):
        raise _invalid("documents", "Danh sách giấy tờ không hợp lệ.", "invalid_documents")
    spec = list(version.documents or [])
    by_name = {fold(d.get("name", "")): i for i, d in enumerate(spec)}
    rows: dict[int | str, DossierDocument] = {}
    for n, item in enumerate(documents, start=1):
        if not isinstance(item, dict):
            raise _invalid("documents", f"Giấy tờ thứ {n} không hợp lệ.", "invalid_documents")
        index = item.get("index")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(spec):
                raise _invalid(
                    "documents",
                    f"Giấy tờ thứ {n}: không có thành phần hồ sơ số {index}.",
                    "invalid_documents",
                )
        else:
            index = by_name.get(fold(item.get("name", "")))
        template = spec[index] if index is not None else {}
        name = template.get("name") or " ".join(str(item.get("name") or "").split())
        if not name:
            raise _invalid("documents", f"Giấy tờ thứ {n} cần có tên.", "invalid_documents")
        stored = _file(actor, item["file_id"]) if item.get("file_id") not in (None, "") else None
        reused = None
        if item.get("reused_from") not in (None, ""):
            reused = (
                DossierDocument.objects.select_related("dossier", "file")
                .filter(pk=item["reused_from"])
                .first()
            )
            if reused is None or reused.dossier.applicant_id_number != id_number:
                raise _invalid(
                    "documents",
                    f"Giấy tờ thứ {n}: chỉ dùng lại giấy tờ đã nộp của chính người nộp.",
                    "reuse_not_allowed",
                )
            stored = stored or reused.file
        provided = bool(item.get("provided", True)) or stored is not None
        try:
            quantity = int(item.get("quantity") or template.get("quantity") or 1)
        except (TypeError, ValueError):
            quantity = 0
        if not 1 <= quantity <= 99:
            raise _invalid(
                "documents", f"Giấy tờ thứ {n}: số lượng không hợp lệ.", "invalid_documents"
            )
        rows[index if index is not None else f"extra-{n}"] = DossierDocument(
            name=name[:1000],
            copy_type=str(item.get("copy_type") or template.get("copy_type") or "")[:60],
            quantity=quantity,
            provided=provided,
            file=stored,
            reused_from=reused,
            from_state_data=bool(template.get("state_holds_data")),
            supplement_round=supplement_round,
        )
    if supplement_round:
        return list(rows.values())
    for i, template in enumerate(spec):
        holds = bool(template.get("state_holds_data"))
        if holds and i not in rows:
            rows[i] = DossierDocument(
                name=template.get("name", "")[:1000],
                copy_type=str(template.get("copy_type") or "")[:60],
                quantity=int(template.get("quantity") or 1),
                provided=False,
                from_state_data=True,
            )
            continue
        if holds or not template.get("required", True):
            continue
        if i not in rows or not rows[i].provided:
            raise ValidationFailed(
                f"Thiếu thành phần hồ sơ bắt buộc: “{template.get('name', '')}”.",
                code="missing_document",
                details={"index": i, "name": template.get("name", "")},
            )
    ordered = [rows[k] for k in sorted(k for k in rows if isinstance(k, int))]
    return ordered + [v for k, v in rows.items() if not isinstance(k, int)]


# --- Small parsers --------------------------------------------------------------------------


def _choice(value, choices, field: str, message: str):
    for member in choices:
        if value == member.value or str(value).lower() in (str(member.value), member.name.lower()):
            return member.value
    raise _invalid(field, message, f"invalid_{field}")


def _fees(fees, version) -> list[dict]:
    if fees is None:
        return [
            {"label": f.get("label", ""), "amount_vnd": int(f.get("amount_vnd") or 0)}
            for f in (version.fees or [])
        ]
    if not isinstance(fees, list | tuple):
        raise _invalid("fees", "Danh sách phí, lệ phí không hợp lệ.", "invalid_fees")
    out = []
    for item in fees:
        try:
            amount = int(item.get("amount_vnd", 0))
            label = str(item.get("label") or "").strip()[:200]
        except (AttributeError, TypeError, ValueError):
            raise _invalid("fees", "Phí, lệ phí không hợp lệ.", "invalid_fees") from None
        if amount < 0 or not label:
            raise _invalid("fees", "Mỗi khoản phí cần tên và số tiền không âm.", "invalid_fees")
        out.append({"label": label, "amount_vnd": amount})
    return out


def _procedure(procedure) -> tuple[Procedure, object]:
    if not isinstance(procedure, Procedure):
        lookup = {"pk": procedure} if isinstance(procedure, int) else {"national_code": procedure}
        procedure = Procedure.objects.select_related("current_version").filter(**lookup).first()
    if procedure is None or not procedure.is_active or procedure.current_version_id is None:
        raise NotFound(
            "Không tìm thấy thủ tục hành chính đang áp dụng.", code="procedure_not_found"
        )
    version = procedure.current_version
    return procedure, version


def _ancestor_ids(organisation: Organisation) -> list[int]:
    return [int(x) for x in organisation.path.strip("/").split("/") if x]


def current_process(procedure: Procedure, organisation: Organisation) -> Process | None:
    """The current process of `procedure` in `organisation` or its nearest ancestor."""
    ids = _ancestor_ids(organisation) or [organisation.pk]
    found = {
        p.organisation_id: p
        for p in Process.objects.filter(
            procedure=procedure, organisation_id__in=ids, is_current=True
        ).select_related("organisation")
    }
    for oid in reversed(ids):
        if oid in found:
            return found[oid]
    return None


def first_step(process: Process) -> ProcessStep:
    step = process.steps.select_related("unit").order_by("order").first()
    if step is None:
        raise ValidationFailed("Quy trình nội bộ chưa có bước nào.", code="no_process")
    return step


def _process_for(procedure, organisation, handling_organisation) -> Process:
    target = handling_organisation or organisation
    process = current_process(procedure, target)
    if process is None:
        raise ValidationFailed(
            f"{target.name} chưa có quy trình nội bộ cho thủ tục này.", code="no_process"
        )
    if handling_organisation is not None and not (
        organisation.is_within(process.organisation) or procedure.location_independent
    ):
        raise ValidationFailed(
            "Thủ tục này không được tiếp nhận phi địa giới: chỉ cơ quan có thẩm quyền tiếp nhận.",
            code="not_competent",
        )
    return process


def _received_at(value, at: datetime) -> datetime:
    if value is None:
        return at
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise _invalid("received_at", "Thời điểm tiếp nhận phải có múi giờ.", "invalid_received_at")
    if value > at + timedelta(minutes=5):
        raise _invalid(
            "received_at", "Thời điểm tiếp nhận không được ở tương lai.", "invalid_received_at"
        )
    return value


# --- The dossier code -----------------------------------------------------------------------


def code_owner(organisation: Organisation) -> Organisation:
    """The organisation whose identifier opens the code: itself or its nearest ancestor with
    one (a desk unit without its own code numbers under its agency)."""
    if organisation.org_code:
        return organisation
    ids = _ancestor_ids(organisation)
    coded = {
        o.pk: o
        for o in Organisation.objects.filter(pk__in=ids, org_code__isnull=False).exclude(
            org_code=""
        )
    }
    for oid in reversed(ids):
        if oid in coded:
            return coded[oid]
    raise ValidationFailed(
        f"{organisation.name} chưa có mã định danh điện tử nên không cấp được mã hồ sơ.",
        code="organisation_code_missing",
    )


def _locked_counter(owner: Organisation, day: date) -> DossierCounter:
    """The counter row of (owner, day) under a row lock, created race-safely."""
    for _attempt in range(5):
        try:
            with transaction.atomic():
                counter, _ = DossierCounter.objects.select_for_update().get_or_create(
                    organisation=owner, day=day
                )
            return counter
        except IntegrityError:
            continue  # a concurrent intake created it first: lock theirs
    raise RuntimeError("could not lock the dossier counter")


def next_code(organisation: Organisation, at: datetime) -> str:
    """The next dossier code of `organisation` for the receipt day of `at` (local date).

    Must run inside the transaction that inserts the dossier: the counter row stays locked
    until it commits, and a rollback gives the number back (no gaps, no duplicates).
    """
    owner = code_owner(organisation)
    day = at.astimezone(deadlines.TZ).date()
    counter = _locked_counter(owner, day)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{owner.org_code}-{day:%y%m%d}-{counter.last:04d}"


# --- Services -------------------------------------------------------------------------------


def _start_processing(
    dossier: Dossier, *, actor, process: Process, received_at: datetime
) -> StepRun:
    """Received: clock, due dates, the first step (shared by desk intake and acceptance)."""
    handling = process.organisation
    step = first_step(process)
    start = deadlines.clock_start(received_at, handling.pk)
    due = deadlines.legal_due(start, dossier.procedure_version, handling.pk)
    handler = actor if c.is_person(actor) and c.holds_role(actor, step.role, step.unit) else None
    run = StepRun(
        step=step,
        unit=step.unit,
        handler=handler,
        handed_over_by=c.person_or_none(actor),
        started_at=received_at,
        due_at=deadlines.step_due(max(received_at, start), step),
    )
    dossier.process = process
    dossier.handling_organisation = handling
    dossier.received_at = received_at
    dossier.clock_started_at = start
    dossier.due_at = due
    dossier.original_due_at = due
    dossier.current_step = step
    dossier.current_unit = step.unit
    dossier.current_handler = handler
    dossier.step_due_at = run.due_at
    dossier.received_by = c.person_or_none(actor)
    return run


def _full_clean(dossier: Dossier) -> None:
    try:
        dossier.full_clean(
            exclude=[f.name for f in Dossier._meta.fields if f.is_relation] + ["code"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        raise from_django_validation(exc) from None


def _notify_received(dossier: Dossier) -> None:
    due = f" Ngày hẹn trả kết quả: {c.vn(dossier.due_at)}." if dossier.due_at else ""
    c.notify_applicant(
        dossier,
        subject=f"Hồ sơ {dossier.code} đã được tiếp nhận",
        body=(
            f"Hồ sơ {dossier.code} ({dossier.procedure_version.name}) đã được "
            f"{dossier.receiving_organisation.name} tiếp nhận lúc {c.vn(dossier.received_at)}."
            f"{due}"
        ),
    )


@transaction.atomic
def receive_dossier(
    *,
    actor,
    organisation: Organisation,
    procedure,
    applicant: dict,
    documents: list[dict],
    channel=Channel.DIRECT,
    result_delivery=ResultDelivery.DESK,
    fees: list[dict] | None = None,
    received_at: datetime | None = None,
    handling_organisation: Organisation | None = None,
) -> Dossier:
    """Receive a valid dossier at the one-stop desk of `organisation` (status 2).

    `actor`: a desk officer of `organisation`, or an API key with scope "dossiers:write" over
    it. `procedure`: a Procedure, its id or its national code (the current version is kept).
    `handling_organisation`: the competent organisation when it is not `organisation` or an
    ancestor (TTHC phi địa giới, NĐ 118/2025). Raises ValidationFailed with codes
    invalid_personal_id / invalid_tax_code / missing_document / file_not_found / no_process...
    and changes nothing in that case.
    """
    c.require_desk(actor, organisation, RECEIVE, scope=API_SCOPE)
    at = c.now()
    received_at = _received_at(received_at, at)
    procedure, version = _procedure(procedure)
    process = _process_for(procedure, organisation, handling_organisation)
    fields = clean_applicant(applicant)
    docs = clean_documents(
        actor=actor, version=version, documents=documents, id_number=fields["applicant_id_number"]
    )
    dossier = Dossier(
        procedure=procedure,
        procedure_version=version,
        receiving_organisation=organisation,
        status=Status.RECEIVED,
        channel=_choice(channel, Channel, "channel", "Kênh tiếp nhận không hợp lệ."),
        result_delivery=_choice(
            result_delivery,
            ResultDelivery,
            "result_delivery",
            "Hình thức nhận kết quả không hợp lệ.",
        ),
        fees=_fees(fees, version),
        submitted_at=received_at,
        **fields,
    )
    run = _start_processing(dossier, actor=actor, process=process, received_at=received_at)
    _full_clean(dossier)
    # Last, so the counter row is locked for as short a time as possible.
    dossier.code = next_code(organisation, received_at)
    dossier.save(force_insert=True)
    for doc in docs:
        doc.dossier = dossier
    DossierDocument.objects.bulk_create(docs)
    run.dossier = dossier
    run.save(force_insert=True)
    c.save(
        dossier,
        actor=actor,
        action="received",
        fields=[],
        at=at,
        from_status=Status.RECEIVED,
        to_step=dossier.current_step,
        data={
            "channel": dossier.channel,
            "procedure": procedure.national_code,
            "procedure_version": version.number,
            "due_at": dossier.due_at.isoformat() if dossier.due_at else None,
            "documents": len(docs),
        },
    )
    _notify_received(dossier)
    return dossier


@transaction.atomic
def submit_online(
    *,
    actor,
    organisation: Organisation,
    procedure,
    applicant: dict | None,
    documents: list[dict],
    result_delivery=ResultDelivery.ONLINE,
    fees: list[dict] | None = None,
) -> Dossier:
    """An applicant's online submission (status 1, not yet received): the code is issued now
    (the applicant needs it to follow the dossier), the clock starts at acceptance.

    `actor`: the applicant's account (citizen or business), or an API key with scope
    "dossiers:write" (a portal synchronising submissions). For an account the identification
    number is the account's own.
    """
    if isinstance(actor, ApiKey):
        c.require_desk(actor, organisation, RECEIVE, scope=API_SCOPE)
        data = dict(applicant or {})
    else:
        if not c.is_person(actor) or not getattr(actor, "is_applicant", False):
            raise c.PermissionDenied(
                "Chỉ công dân, tổ chức có tài khoản mới nộp hồ sơ trực tuyến.",
                code="applicant_required",
            )
        own_id = actor.personal_id if actor.kind == "citizen" else actor.tax_code
        data = {
            "kind": "citizen" if actor.kind == "citizen" else "business",
            "name": actor.full_name,
            "phone": actor.phone,
            "email": actor.email,
            "address": actor.address,
            **(applicant or {}),
            "id_number": own_id or (applicant or {}).get("id_number"),
        }
    at = c.now()
    procedure, version = _procedure(procedure)
    if current_process(procedure, organisation) is None:
        raise ValidationFailed(
            f"{organisation.name} chưa nhận hồ sơ trực tuyến cho thủ tục này.", code="no_process"
        )
    fields = clean_applicant(data)
    docs = clean_documents(
        actor=actor, version=version, documents=documents, id_number=fields["applicant_id_number"]
    )
    dossier = Dossier(
        procedure=procedure,
        procedure_version=version,
        receiving_organisation=organisation,
        handling_organisation=organisation,
        status=Status.SUBMITTED,
        channel=Channel.ONLINE,
        applicant=c.person_or_none(actor),
        result_delivery=_choice(
            result_delivery,
            ResultDelivery,
            "result_delivery",
            "Hình thức nhận kết quả không hợp lệ.",
        ),
        fees=_fees(fees, version),
        submitted_at=at,
        **fields,
    )
    _full_clean(dossier)
    dossier.code = next_code(organisation, at)
    dossier.save(force_insert=True)
    for doc in docs:
        doc.dossier = dossier
    DossierDocument.objects.bulk_create(docs)
    c.save(
        dossier,
        actor=actor,
        action="submitted",
        fields=[],
        at=at,
        from_status=Status.SUBMITTED,
        data={"procedure": procedure.national_code, "procedure_version": version.number},
    )
    return dossier


@transaction.atomic
def accept_online_submission(
    *, actor, dossier: Dossier, expected_revision: int | None = None
) -> Dossier:
    """The desk accepts an online submission: 1 → 2, the clock starts now (cut-off applies).
    A second acceptance is refused (`transition_not_allowed`)."""
    d = c.lock(dossier)
    c.require_desk(actor, d.receiving_organisation, RECEIVE)
    c.check_revision(d, expected_revision)
    c.check_action(d, "accept", Status.RECEIVED)
    process = current_process(d.procedure, d.receiving_organisation)
    if process is None:
        raise ValidationFailed(
            f"{d.receiving_organisation.name} chưa có quy trình nội bộ cho thủ tục này.",
            code="no_process",
        )
    at = c.now()
    run = _start_processing(d, actor=actor, process=process, received_at=at)
    run.dossier = d
    run.save(force_insert=True)
    d.status = Status.RECEIVED
    c.save(
        d,
        actor=actor,
        action="received",
        fields=[
            "status",
            "process",
            "handling_organisation",
            "received_at",
            "clock_started_at",
            "due_at",
            "original_due_at",
            "current_step",
            "current_unit",
            "current_handler",
            "step_due_at",
            "received_by",
        ],
        at=at,
        from_status=Status.SUBMITTED,
        to_step=d.current_step,
        data={"online": True, "due_at": d.due_at.isoformat() if d.due_at else None},
    )
    _notify_received(d)
    return d


@transaction.atomic
def refuse(
    *, actor, dossier: Dossier, reason: str, expected_revision: int | None = None
) -> Dossier:
    """Refuse the dossier (status 3, Form 03) with the reason.

    At reception (statuses 1–2): a desk officer of the receiving organisation. During
    processing: the current step's actor or a leader / unit head of the handling organisation.
    """
    d = c.lock(dossier)
    if d.status in (Status.SUBMITTED, Status.RECEIVED):
        c.require_desk(actor, d.receiving_organisation, RECEIVE)
    elif not c.may_act_on_step(actor, d):
        c.require_any(actor, d, [(APPROVE, d.handling_organisation), (APPROVE, d.current_unit)])
    c.check_revision(d, expected_revision)
    c.check_action(d, "refuse", Status.REFUSED)
    reason = c.check_text(reason, "reason", "Cần ghi rõ lý do từ chối.")
    c.refuse_while_transferred(d)
    at = c.now()
    from_status, from_step = d.status, d.current_step
    fields: list[str] = []
    c.observe_lateness(d, at, fields)
    d.status = Status.REFUSED
    c.finish(d, at, fields, actor=actor, comment=reason)
    c.save(
        d,
        actor=actor,
        action="refused",
        fields=["status", *fields],
        at=at,
        from_status=from_status,
        from_step=from_step,
        comment=reason,
    )
    if d.parent_id is not None:
        from chinhquyenso.dossiers.services import routing

        routing.parent_finished(d, actor=actor, at=at)
        return d
    c.notify_applicant(
        d,
        subject=f"Hồ sơ {d.code} không được tiếp nhận",
        body=f"Hồ sơ {d.code} không được tiếp nhận, giải quyết. Lý do: {reason}",
    )
    return d
