"""Checks of what the desk types in: the applicant's identification, the document checklist,
files, fees. Each refusal is a ValidationFailed with a stable code and a Vietnamese message.

* Personal identification number (số định danh cá nhân, CCCD): 12 digits; the first three are
  the code of the province of birth registration (TT 07/2016/TT-BCA), the fourth the century
  and sex, the next two the year of birth.
* Tax code (mã số thuế): 10 digits, or 10-3 for a dependent unit (branch).
* Documents the state already holds must not be asked for (NQ 66.7/2025/NQ-CP): they are
  recorded `from_state_data` and never required.
"""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.core.models import ApiKey, StoredFile
from chinhquyenso.core.services import files as file_service
from chinhquyenso.dossiers.models import ApplicantKind, DossierDocument
from chinhquyenso.procedures.text import fold

# Province codes that open a personal identification number (Circular 07/2016/TT-BCA, Annex).
_PROVINCE_ID_CODES_TEXT = """
001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033
034 035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066
067 068 070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096
"""
PROVINCE_ID_CODES = frozenset(_PROVINCE_ID_CODES_TEXT.split())
# re.ASCII: \d is 0-9 only (to Python, "١٢" and "²" are digits too).
_PERSONAL_ID_RE = re.compile(r"^\d{12}$", re.ASCII)
_TAX_CODE_RE = re.compile(r"^\d{10}(-\d{3})?$", re.ASCII)
_PHONE_RE = re.compile(r"^\+?\d{9,15}$", re.ASCII)

# --- Applicant ------------------------------------------------------------------------------


def invalid(field: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, details={field: [message]})


def validate_personal_id(value: str, *, today: date | None = None) -> str:
    """A 12-digit personal identification number (số định danh cá nhân, CCCD): province code,
    century-and-sex digit, two digits of the birth year, six serial digits."""
    number = (value or "").strip().replace(" ", "")
    if not _PERSONAL_ID_RE.match(number):
        raise invalid(
            "id_number",
            "Số định danh cá nhân phải gồm đúng 12 chữ số.",
            "invalid_personal_id",
        )
    if number[:3] not in PROVINCE_ID_CODES:
        raise invalid(
            "id_number",
            f"Số định danh cá nhân không hợp lệ: mã tỉnh nơi đăng ký khai sinh “{number[:3]}” "
            "không tồn tại.",
            "invalid_personal_id",
        )
    century = 1900 + 100 * (int(number[3]) // 2)
    year = century + int(number[4:6])
    if year > (today or date.today()).year:
        raise invalid(
            "id_number",
            f"Số định danh cá nhân không hợp lệ: năm sinh {year} chưa tới.",
            "invalid_personal_id",
        )
    return number


def validate_tax_code(value: str) -> str:
    number = (value or "").strip().replace(" ", "")
    if not _TAX_CODE_RE.match(number):
        raise invalid(
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
        raise invalid(
            "kind",
            "Loại người nộp phải là công dân hoặc tổ chức, doanh nghiệp.",
            "invalid_applicant_kind",
        )
    return kind


def clean_applicant(applicant: dict) -> dict:
    """Applicant fields of a Dossier from the intake form's dict."""
    if not isinstance(applicant, dict):
        raise invalid("applicant", "Thiếu thông tin người nộp hồ sơ.", "applicant_required")
    kind = _applicant_kind(applicant.get("kind", "citizen"))
    name = " ".join(str(applicant.get("name") or "").split())
    if not name:
        raise invalid("name", "Cần nhập họ tên người nộp hồ sơ.", "applicant_name_required")
    if len(name) > 200:
        raise invalid("name", "Họ tên người nộp quá dài (tối đa 200 ký tự).", "invalid_name")
    raw_id = str(applicant.get("id_number") or "")
    id_number = (
        validate_personal_id(raw_id) if kind == ApplicantKind.CITIZEN else validate_tax_code(raw_id)
    )
    phone = re.sub(r"[\s.\-()]", "", str(applicant.get("phone") or ""))
    if phone and not _PHONE_RE.match(phone):
        raise invalid(
            "phone",
            "Số điện thoại không hợp lệ: chỉ gồm chữ số, ví dụ 0912345678 hoặc +84912345678.",
            "invalid_phone",
        )
    email = str(applicant.get("email") or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise invalid("email", "Địa chỉ thư điện tử không hợp lệ.", "invalid_email") from None
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


def file_for(
    actor, file_id, *, purpose: str = "attachment", field: str = "documents"
) -> StoredFile:
    """The stored file `file_id` for a dossier, if `actor` may read it, it is intact and its
    type (read from its content when stored) is one `purpose` accepts: the API attaches files
    uploaded earlier (`/api/v1/files`, purpose "attachment"), and a scan or a result must meet
    the rule the pages apply when they upload one ("scan": PDF, JPEG, PNG, TIFF)."""
    try:
        pk = int(file_id)
    except (TypeError, ValueError):
        raise invalid(field, "Mã tệp đính kèm không hợp lệ.", "file_not_found") from None
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
        raise invalid(field, f"Không tìm thấy tệp đính kèm số {file_id}.", "file_not_found")
    spec = file_service.get_purpose(purpose)
    if stored.content_type not in spec.allowed_types:
        kind = file_service.TYPE_LABELS.get(stored.content_type, stored.content_type)
        raise invalid(
            field,
            f"Tệp “{stored.original_name or file_id}” là {kind}, không được dùng làm "
            f"{spec.label_vi.lower()}. Chỉ chấp nhận: {spec.allowed_labels()}.",
            "file_type_not_allowed",
        )
    return stored


def reusable_document(actor, document_id, id_number: str) -> DossierDocument | None:
    """The earlier document `document_id` if `actor` may reuse it for the applicant
    `id_number` (digitisation: a digitised document is reused rather than asked again, Decree
    61/2018 as amended by Decree 107/2021): it belongs to a dossier of the same applicant that
    `actor` may see, by the dossiers module's own rule (`queries`): an official's visibility,
    an API key's organisation, an applicant's own dossiers. The intake page offers only those
    (`views.intake.reusable_documents`); the API is held to the same here.

    None for an unknown id, another applicant's document and one on a dossier out of sight
    alike, so the answer does not tell whether the id exists elsewhere."""
    # Imported here: the read side imports this package (deadlines) at its own import.
    from chinhquyenso.dossiers import queries

    if isinstance(document_id, bool):
        return None
    try:
        pk = int(document_id)
    except (TypeError, ValueError):
        return None
    if isinstance(actor, ApiKey):
        dossiers = queries.dossiers_visible_to_api_key(actor)
    elif getattr(actor, "is_applicant", False):
        dossiers = queries.dossiers_of_applicant(actor)
    else:
        dossiers = queries.dossiers_visible_to(actor)
    holders = dossiers.filter(applicant_id_number=id_number).order_by().values("pk")
    return (
        DossierDocument.objects.select_related("dossier", "file")
        .filter(pk=pk, dossier__in=holders)
        .first()
    )


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
        raise invalid("documents", "Danh sách giấy tờ không hợp lệ.", "invalid_documents")
    spec = list(version.documents or [])
    by_name: dict[str, int] | None = None  # folded names, built only when an item has no index
    rows: dict[int | str, DossierDocument] = {}
    for n, item in enumerate(documents, start=1):
        if not isinstance(item, dict):
            raise invalid("documents", f"Giấy tờ thứ {n} không hợp lệ.", "invalid_documents")
        index = item.get("index")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(spec):
                raise invalid(
                    "documents",
                    f"Giấy tờ thứ {n}: không có thành phần hồ sơ số {index}.",
                    "invalid_documents",
                )
        else:
            if by_name is None:
                by_name = {fold(d.get("name", "")): i for i, d in enumerate(spec)}
            index = by_name.get(fold(item.get("name", "")))
        template = spec[index] if index is not None else {}
        name = template.get("name") or " ".join(str(item.get("name") or "").split())
        if not name:
            raise invalid("documents", f"Giấy tờ thứ {n} cần có tên.", "invalid_documents")
        stored = (
            file_for(actor, item["file_id"], purpose="scan")
            if item.get("file_id") not in (None, "")
            else None
        )
        reused = None
        if item.get("reused_from") not in (None, ""):
            reused = reusable_document(actor, item["reused_from"], id_number)
            if reused is None:
                raise invalid(
                    "documents",
                    f"Giấy tờ thứ {n}: chỉ dùng lại giấy tờ đã nộp của chính người nộp, "
                    "trong hồ sơ bạn được xem.",
                    "reuse_not_allowed",
                )
            stored = stored or reused.file
        provided = bool(item.get("provided", True)) or stored is not None
        try:
            quantity = int(item.get("quantity") or template.get("quantity") or 1)
        except (TypeError, ValueError):
            quantity = 0
        if not 1 <= quantity <= 99:
            raise invalid(
                "documents", f"Giấy tờ thứ {n}: số lượng phải từ 1 đến 99.", "invalid_documents"
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


def choice(value, choices, field: str, message: str):
    for member in choices:
        if value == member.value or str(value).lower() in (str(member.value), member.name.lower()):
            return member.value
    raise invalid(field, message, f"invalid_{field}")


def clean_fees(fees, version) -> list[dict]:
    if fees is None:
        return [
            {
                "label": f.get("label", ""),
                # An amount the procedure does not state stays unknown (None), not 0 (free).
                "amount_vnd": None if f.get("amount_vnd") in (None, "") else int(f["amount_vnd"]),
            }
            for f in (version.fees or [])
        ]
    if not isinstance(fees, list | tuple):
        raise invalid("fees", "Danh sách phí, lệ phí không hợp lệ.", "invalid_fees")
    out = []
    for item in fees:
        try:
            amount = int(item.get("amount_vnd", 0))
            label = str(item.get("label") or "").strip()[:200]
        except (AttributeError, TypeError, ValueError):
            raise invalid("fees", "Phí, lệ phí không hợp lệ.", "invalid_fees") from None
        if amount < 0 or not label:
            raise invalid("fees", "Mỗi khoản phí cần tên và số tiền không âm.", "invalid_fees")
        out.append({"label": label, "amount_vnd": amount})
    return out
