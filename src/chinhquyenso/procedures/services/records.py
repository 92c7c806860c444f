"""Reading catalogue records: the national portal's format and our own export format.

Both are turned into one `ParsedRecord`: the procedure's own attributes and the content of a
version (`VERSION_FIELDS`). Parsing only checks and normalises; it never touches the database,
so every problem of a record is found before anything is written.

National portal format (`shared/data/procedures-national-portal-sample.json`)
------------------------------------------------------------------------------
`code`, `name`, `field`, `level` ("Cấp xã", "Cấp tỉnh", "Cấp xã, Cơ quan khác"),
`processing_time` + `processing_unit` ("Ngày làm việc", "Ngày", "Giờ" or null), `fee_vnd`
(null: not stated), `documents` [{document, quantity, copy_type}], `legal_basis` [numbers],
`online` (null: none), `channels` [{channel, time_text, fee_text, note}], `decision`,
`source`. A null `processing_unit` is read as working days (the CSDL quốc gia về TTHC counts
in working days unless it says otherwise), and the portal's wording is kept verbatim in
`processing_time_text`. The fee becomes one line; its notes (the portal's fee text and remarks
per channel) are kept, and a null amount stays null ("not stated", never "free").

Our format (`export_catalogue`)
-------------------------------
One dict per procedure with the model's names: see `export_record`. A record is the full
content of the current version: a list it does not carry is empty. The procedure attributes
`level_text`, `location_independent`, `is_active` and `organisations` are left as they are
when absent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.procedures.models import (
    ImplementingLevel,
    OnlineService,
    ProcedureVersion,
    TimeUnit,
)
from chinhquyenso.procedures.text import fold

# The content of a ProcedureVersion, in the order of the export.
VERSION_FIELDS = (
    "name",
    "processing_time",
    "processing_unit",
    "processing_time_text",
    "fees",
    "documents",
    "result_type",
    "legal_basis",
    "online_service",
    "forms",
    "channels",
    "decision",
    "source",
)

CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$")
TENTH = Decimal("0.1")
MAX_PROCESSING_TIME = Decimal("99999.9")
FEE_LABEL = "Phí, lệ phí"
NO_INFORMATION = "Không có thông tin"

# Folded level words, in the order they are recognised inside a text such as
# "Cấp xã, Cơ quan khác" (the first recognised part gives the level).
_LEVEL_WORDS = (
    ("cap xa", ImplementingLevel.COMMUNE),
    ("cap tinh", ImplementingLevel.PROVINCE),
    ("cap huyen", ImplementingLevel.DISTRICT),
    ("cap bo", ImplementingLevel.CENTRAL),
    ("trung uong", ImplementingLevel.CENTRAL),
    ("co quan khac", ImplementingLevel.OTHER),
)
_UNIT_WORDS = {
    "": TimeUnit.WORKING_DAYS,
    "ngay lam viec": TimeUnit.WORKING_DAYS,
    "ngay": TimeUnit.CALENDAR_DAYS,
    "gio": TimeUnit.WORKING_HOURS,
    "gio lam viec": TimeUnit.WORKING_HOURS,
}
_ONLINE_WORDS = {
    "": OnlineService.NONE,
    "toan trinh": OnlineService.FULL,
    "dich vu cong truc tuyen toan trinh": OnlineService.FULL,
    "muc do 4": OnlineService.FULL,
    "mot phan": OnlineService.PARTIAL,
    "dich vu cong truc tuyen mot phan": OnlineService.PARTIAL,
    "muc do 3": OnlineService.PARTIAL,
    "khong": OnlineService.NONE,
    "muc do 2": OnlineService.NONE,
    "muc do 1": OnlineService.NONE,
}
_CHANNEL_WORDS = {
    "truc tiep": "direct",
    "truc tuyen": "online",
    "dich vu buu chinh": "postal",
    "buu chinh": "postal",
    "buu chinh cong ich": "postal",
}
CHANNEL_CODES = ("direct", "online", "postal", "other")
_TRUE_WORDS = {"true", "1", "co", "x", "yes"}
_FALSE_WORDS = {"false", "0", "khong", "", "no"}


@dataclass
class ParsedRecord:
    code: str
    field: str
    level: str
    content: dict[str, Any]
    # None: leave the procedure's value as it is (a new procedure gets the default).
    level_text: str | None = None
    location_independent: bool | None = None
    is_active: bool | None = None
    organisations: list[str] | None = None
    change_note: str = ""
    problems: list[str] = field(default_factory=list)


def _fail(message: str, code: str = "invalid_record") -> ValidationFailed:
    return ValidationFailed(message, code=code)


def _text(value: Any, what: str, *, max_length: int | None = None, required=False) -> str:
    if value is None:
        value = ""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _fail(f"{what}: phải là chuỗi ký tự.")
    text = str(value)
    if required and not text.strip():
        raise _fail(f"Thiếu {what}.", "missing_value")
    if max_length is not None and len(text) > max_length:
        raise _fail(f"{what}: dài quá {max_length} ký tự.")
    return text


def _bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = fold(value)
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise _fail(f"{what}: phải là có/không (true/false).")


def _int(value: Any, what: str, *, minimum: int, allow_none=False) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if allow_none:
            return None
        raise _fail(f"Thiếu {what}.", "missing_value")
    if isinstance(value, bool):
        raise _fail(f"{what}: phải là số nguyên.")
    try:
        number = Decimal(str(value).strip().replace(" ", ""))
    except InvalidOperation:
        raise _fail(f"{what}: phải là số nguyên.") from None
    if number != number.to_integral_value():
        raise _fail(f"{what}: phải là số nguyên.")
    if number < minimum:
        raise _fail(f"{what}: không được nhỏ hơn {minimum}.")
    return int(number)


def parse_code(value: Any) -> str:
    code = _text(value, "mã thủ tục", required=True).strip()
    if not CODE_RE.match(code):
        raise _fail(
            f"Mã thủ tục “{code}” không hợp lệ (chỉ gồm chữ, số, dấu chấm, gạch; tối đa 40 ký tự).",
            "invalid_code",
        )
    return code


def parse_processing_time(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise _fail("Thời hạn giải quyết phải là một số.", "invalid_processing_time")
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise _fail("Thời hạn giải quyết phải là một số.", "invalid_processing_time") from None
    if not number.is_finite() or number < 0 or number > MAX_PROCESSING_TIME:
        raise _fail(
            "Thời hạn giải quyết phải là số không âm, tối đa 99999,9.", "invalid_processing_time"
        )
    if number.quantize(TENTH) != number:
        raise _fail(
            "Thời hạn giải quyết chỉ được có một chữ số thập phân.", "invalid_processing_time"
        )
    return number.quantize(TENTH)


def parse_unit(value: Any) -> str:
    if value in TimeUnit.values:
        return value
    word = fold(_text(value, "đơn vị thời hạn"))
    for unit in TimeUnit:
        if word == fold(unit.label):
            return unit.value
    if word in _UNIT_WORDS:
        return _UNIT_WORDS[word]
    raise _fail(
        f"Không hiểu đơn vị thời hạn “{value}” (ngày làm việc, giờ làm việc, ngày).",
        "invalid_processing_unit",
    )


def parse_level(value: Any) -> tuple[str, str]:
    """(level code, the text as written) from a code ("commune") or a text ("Cấp xã")."""
    if value in ImplementingLevel.values:
        return value, str(ImplementingLevel(value).label)
    text = _text(value, "cấp thực hiện", required=True).strip()
    for part in re.split(r"[,;/]", text):
        word = fold(part)
        for level in ImplementingLevel:
            if word == fold(level.label):
                return level.value, text
        for key, level in _LEVEL_WORDS:
            if key in word:
                return level.value, text
    raise _fail(f"Không hiểu cấp thực hiện “{text}”.", "invalid_level")


def parse_online(value: Any) -> str:
    if value in OnlineService.values:
        return value
    word = fold(_text(value, "dịch vụ công trực tuyến"))
    for service in OnlineService:
        if word == fold(service.label):
            return service.value
    if word in _ONLINE_WORDS:
        return _ONLINE_WORDS[word]
    for key, service in _ONLINE_WORDS.items():
        if key and key in word:
            return service
    raise _fail(
        f"Không hiểu mức dịch vụ công trực tuyến “{value}” (toàn trình, một phần, không).",
        "invalid_online_service",
    )


def channel_code(label: str) -> str:
    word = fold(label)
    if word in CHANNEL_CODES:
        return word
    return _CHANNEL_WORDS.get(word, "other")


def _list(value: Any, what: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        # An Excel cell or form field may carry a JSON list.
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            raise _fail(f"{what}: phải là một danh sách.") from None
    if not isinstance(value, list):
        raise _fail(f"{what}: phải là một danh sách.")
    return value


def _dict_item(item: Any, what: str, index: int) -> dict:
    if not isinstance(item, dict):
        raise _fail(f"{what} thứ {index}: phải là một đối tượng.")
    return item


def normalise_documents(value: Any) -> list[dict]:
    documents = []
    for i, raw in enumerate(_list(value, "Thành phần hồ sơ"), start=1):
        item = _dict_item(raw, "Thành phần hồ sơ", i)
        where = f"Thành phần hồ sơ thứ {i}"
        name = item.get("name", item.get("document"))
        documents.append(
            {
                "name": _text(name, f"tên {where.lower()}", required=True),
                "copy_type": _text(item.get("copy_type"), f"{where}: loại bản", max_length=100),
                "quantity": _int(
                    item.get("quantity", 1), f"{where}: số lượng", minimum=1, allow_none=True
                )
                or 1,
                "state_holds_data": _bool(item.get("state_holds_data", False), where),
                "required": _bool(item.get("required", True), where),
            }
        )
    return documents


def normalise_fees(value: Any) -> list[dict]:
    fees = []
    for i, raw in enumerate(_list(value, "Phí, lệ phí"), start=1):
        item = _dict_item(raw, "Phí, lệ phí", i)
        where = f"Phí, lệ phí thứ {i}"
        fees.append(
            {
                "label": _text(item.get("label"), f"{where}: tên", max_length=255) or FEE_LABEL,
                "amount_vnd": _int(
                    item.get("amount_vnd"), f"{where}: số tiền", minimum=0, allow_none=True
                ),
                "note": _text(item.get("note"), f"{where}: ghi chú"),
            }
        )
    return fees


def normalise_legal_basis(value: Any) -> list[dict]:
    items = []
    for i, raw in enumerate(_list(value, "Căn cứ pháp lý"), start=1):
        if isinstance(raw, str):
            raw = {"number": raw, "title": ""}
        item = _dict_item(raw, "Căn cứ pháp lý", i)
        items.append(
            {
                "number": _text(item.get("number"), f"Căn cứ pháp lý thứ {i}", required=True),
                "title": _text(item.get("title"), f"Căn cứ pháp lý thứ {i}: trích yếu"),
            }
        )
    return items


def normalise_forms(value: Any) -> list[dict]:
    items = []
    for i, raw in enumerate(_list(value, "Mẫu đơn, tờ khai"), start=1):
        if isinstance(raw, str):
            raw = {"name": raw, "url": ""}
        item = _dict_item(raw, "Mẫu đơn, tờ khai", i)
        items.append(
            {
                "name": _text(item.get("name"), f"Mẫu đơn, tờ khai thứ {i}", required=True),
                "url": _text(item.get("url"), f"Mẫu đơn, tờ khai thứ {i}: địa chỉ tải về"),
            }
        )
    return items


def normalise_channels(value: Any) -> list[dict]:
    items = []
    for i, raw in enumerate(_list(value, "Cách thức thực hiện"), start=1):
        item = _dict_item(raw, "Cách thức thực hiện", i)
        where = f"Cách thức thực hiện thứ {i}"
        label = _text(item.get("label", item.get("channel")), where)
        code = item.get("code") or channel_code(label)
        if code not in CHANNEL_CODES:
            raise _fail(f"{where}: mã kênh “{code}” không hợp lệ.")
        items.append(
            {
                "code": code,
                "label": label,
                "time_text": _text(item.get("time_text"), f"{where}: thời hạn"),
                "fee_text": _text(item.get("fee_text"), f"{where}: phí, lệ phí"),
                "note": _text(item.get("note"), f"{where}: ghi chú"),
            }
        )
    return items


def _source(value: Any) -> dict:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _fail("Nguồn: phải là một đối tượng JSON.") from None
    if not isinstance(value, dict):
        raise _fail("Nguồn: phải là một đối tượng JSON.")
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _unique(values) -> list[str]:
    out: list[str] = []
    for value in values:
        if value and value not in out:
            out.append(value)
    return out


def _national_fee_note(amount: int | None, channels: list[dict]) -> str:
    """The portal's fee wording per channel, said once when every channel says the same."""

    def wording(ch: dict) -> str:
        fee_text = (ch.get("fee_text") or "").strip()
        if fee_text == NO_INFORMATION or (amount == 0 and fee_text == "Miễn phí"):
            fee_text = ""
        return " ".join(_unique([fee_text, (ch.get("note") or "").strip()]))

    groups: dict[str, list[str]] = {}
    for ch in channels:
        text = wording(ch)
        if text:
            groups.setdefault(text, []).append(ch.get("label") or "")
    if len(groups) == 1:
        return next(iter(groups))
    return "\n".join(f"{', '.join(_unique(labels))}: {text}" for text, labels in groups.items())


def _national_time_text(record: dict, channels: list[dict]) -> str:
    texts = _unique((ch.get("time_text") or "").strip() for ch in channels)
    if len(texts) == 1:
        return texts[0]
    if texts:
        return "; ".join(
            f"{ch['label']}: {ch['time_text']}" for ch in channels if ch.get("time_text")
        )
    parts = [record.get("processing_time"), record.get("processing_unit")]
    return " ".join(str(p) for p in parts if p not in (None, ""))


def _parse_national(record: dict) -> ParsedRecord:
    code = parse_code(record.get("code"))
    level, level_text = parse_level(record.get("level"))
    channels = normalise_channels(record.get("channels"))
    documents = normalise_documents(record.get("documents"))
    amount = _int(record.get("fee_vnd"), "Phí, lệ phí", minimum=0, allow_none=True)
    source = _source(record.get("source"))
    total = record.get("documents_total_in_source")
    if isinstance(total, int) and not isinstance(total, bool) and total != len(documents):
        # The portal page listed more components than the crawl kept: say so.
        source["documents_total_in_source"] = total
    content = {
        "name": _text(record.get("name"), "tên thủ tục", max_length=500, required=True).strip(),
        "processing_time": parse_processing_time(record.get("processing_time")),
        "processing_unit": parse_unit(record.get("processing_unit")),
        "processing_time_text": _national_time_text(record, channels)[:500],
        "fees": [
            {"label": FEE_LABEL, "amount_vnd": amount, "note": _national_fee_note(amount, channels)}
        ],
        "documents": documents,
        "result_type": _text(record.get("result_type"), "kết quả thực hiện", max_length=500),
        "legal_basis": normalise_legal_basis(record.get("legal_basis")),
        "online_service": parse_online(record.get("online")),
        "forms": normalise_forms(record.get("forms")),
        "channels": channels,
        "decision": _text(record.get("decision"), "quyết định công bố", max_length=120).strip(),
        "source": source,
    }
    return ParsedRecord(
        code=code,
        field=_text(record.get("field"), "lĩnh vực", max_length=200, required=True).strip(),
        level=level,
        level_text=level_text[:200],
        content=content,
    )


def _parse_ours(record: dict) -> ParsedRecord:
    code = parse_code(record.get("code"))
    level, level_text = parse_level(record.get("level"))
    if "level_text" in record:
        level_text = _text(record.get("level_text"), "cấp thực hiện", max_length=200)
    else:
        level_text = None
    content = {
        "name": _text(record.get("name"), "tên thủ tục", max_length=500, required=True).strip(),
        "processing_time": parse_processing_time(record.get("processing_time")),
        "processing_unit": parse_unit(record.get("processing_unit")),
        "processing_time_text": _text(
            record.get("processing_time_text"), "thời hạn (nguyên văn)", max_length=500
        ),
        "fees": normalise_fees(record.get("fees")),
        "documents": normalise_documents(record.get("documents")),
        "result_type": _text(record.get("result_type"), "kết quả thực hiện", max_length=500),
        "legal_basis": normalise_legal_basis(record.get("legal_basis")),
        "online_service": parse_online(record.get("online_service")),
        "forms": normalise_forms(record.get("forms")),
        "channels": normalise_channels(record.get("channels")),
        "decision": _text(record.get("decision"), "quyết định công bố", max_length=120).strip(),
        "source": _source(record.get("source")),
    }
    organisations = None
    if "organisations" in record:
        organisations = [
            _text(item, "cơ quan thực hiện", required=True).strip()
            for item in _list(record.get("organisations"), "Cơ quan thực hiện")
        ]
    return ParsedRecord(
        code=code,
        field=_text(record.get("field"), "lĩnh vực", max_length=200, required=True).strip(),
        level=level,
        level_text=level_text,
        location_independent=(
            _bool(record["location_independent"], "Tiếp nhận phi địa giới")
            if record.get("location_independent") is not None
            else None
        ),
        is_active=(
            _bool(record["is_active"], "Đang áp dụng")
            if record.get("is_active") is not None
            else None
        ),
        organisations=organisations,
        change_note=_text(record.get("change_note"), "nội dung thay đổi", max_length=500),
        content=content,
    )


def is_national(record: dict) -> bool:
    return "fee_vnd" in record or "online" in record


def parse_record(record: Any) -> ParsedRecord:
    """Check and normalise one record of either format; ValidationFailed names the problem."""
    if not isinstance(record, dict):
        raise _fail("Bản ghi phải là một đối tượng JSON.", "invalid_record")
    if is_national(record):
        return _parse_national(record)
    return _parse_ours(record)


# --- Comparing and exporting ---------------------------------------------------------------------


def content_of(version: ProcedureVersion) -> dict[str, Any]:
    return {name: getattr(version, name) for name in VERSION_FIELDS}


def _canonical_time(value) -> str | None:
    if value is None:
        return None
    return str(Decimal(str(value)).quantize(TENTH))


def fingerprint(content: dict[str, Any]) -> str:
    """Equal for two contents that would make the same version."""
    data = dict(content)
    data["processing_time"] = _canonical_time(data.get("processing_time"))
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


def time_number(value) -> int | float | None:
    """A processing time as a JSON number: 1 rather than 1.0."""
    if value is None:
        return None
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)
