"""Returning results by public postal service (bưu chính công ích): the carrier adapter.

Results may be returned at the desk, online, or by post through the public postal service
(Quyết định 45/2016/QĐ-TTg; NĐ 118/2025/NĐ-CP keeps the channel). The dossier services call
`get_gateway().ship(...)` when a result leaves by post, store the tracking number on the dossier
(`Dossier.postal_tracking`) and ask `status(...)` later; they never talk to a carrier directly.

Tracking numbers follow UPU standard S10 (VNPost uses it for domestic items too): two letters
(service indicator), an 8-digit serial, one check digit, and the country code "VN", e.g.
"EB123456785VN". The check digit is computed with `s10_check_digit`.

Which carrier is used is a setting, a dotted path to a `PostalGateway` subclass (or one of the
short names in `BACKENDS`):

    CQS_POSTAL_BACKEND = "chinhquyenso.dossiers.postal.SimulatorGateway"   # the default

How to add a real carrier
-------------------------
1. Write a subclass of `PostalGateway` (in its own module, e.g. `chinhquyenso.dossiers.vnpost`)
   implementing `ship` and `status`. Call the carrier's API there; read its credentials from
   settings (`*_FILE` secrets, never in code); translate its errors into `ValidationFailed`
   (bad address, phone...) or `PostalUnavailable` (carrier down: the caller retries later) with
   Vietnamese messages. Use `validate_recipient` first so every carrier refuses the same bad
   input the same way, and `make_tracking_number`/`is_valid_tracking_number` for S10 numbers.
2. Map the carrier's statuses onto `ShipmentState` (accepted, in transit, out for delivery,
   delivered, returned to sender); keep the carrier's own text in `ShipmentStatus.detail`.
3. Add a short name to `BACKENDS` if you like, and set `CQS_POSTAL_BACKEND` to it.
4. Test it against a recorded or local fake of the carrier: no network in tests.

The simulator
-------------
`SimulatorGateway` behaves like the carrier as seen from here: it validates the address and the
phone number as a post office counter would, issues S10 "EB…VN" numbers, records each shipment
as a small JSON file under `settings.VAR_DIR / "postal"` (no table; one file per item, created
exclusively, so two processes never issue the same number), and reports a status that moves on
with time: accepted → in transit after 2 hours → out for delivery after 24 hours → delivered
after 48 hours.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.module_loading import import_string

from chinhquyenso.core.errors import DomainError, NotFound, ValidationFailed

DEFAULT_BACKEND = "chinhquyenso.dossiers.postal.SimulatorGateway"
BACKENDS = {"simulator": DEFAULT_BACKEND}

# UPU S10: weights of the 8 serial digits.
S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
S10_RE = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$", re.ASCII)  # \d: 0-9 only

# Vietnamese numbers after the 2018 renumbering: mobiles 03x/05x/07x/08x/09x + 7 digits (10 in
# all); fixed lines 02xx + 7–8 digits (11 in all). "+84"/"84" is read as the leading 0.
PHONE_RE = re.compile(r"^(0[35789]\d{8}|02\d{9})$", re.ASCII)

MAX_WEIGHT_GRAMS = 30_000  # heaviest parcel the public postal service takes as one item


class PostalUnavailable(DomainError):
    """The carrier could not be reached or refused for reasons of its own; try again later."""

    status = 503
    code = "postal_unavailable"


class ShipmentState(TextChoices):
    ACCEPTED = "accepted", "Bưu cục đã nhận bưu gửi"
    IN_TRANSIT = "in_transit", "Đang vận chuyển"
    OUT_FOR_DELIVERY = "out_for_delivery", "Đang phát"
    DELIVERED = "delivered", "Phát thành công"
    RETURNED = "returned", "Chuyển hoàn"


@dataclass(frozen=True)
class Shipment:
    tracking_number: str
    accepted_at: datetime


@dataclass(frozen=True)
class ShipmentStatus:
    tracking_number: str
    state: str  # ShipmentState value
    label: str
    at: datetime  # when the item reached this state
    detail: str = ""
    history: tuple[tuple[str, datetime], ...] = field(default_factory=tuple)

    @property
    def delivered(self) -> bool:
        return self.state == ShipmentState.DELIVERED


def s10_check_digit(serial: str) -> int:
    """The UPU S10 check digit of an 8-digit serial: weights 8 6 4 2 3 5 9 7, sum mod 11;
    11 − remainder, where 10 becomes 0 and 11 becomes 5."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError("S10 serial must be 8 digits")
    remainder = sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True)) % 11
    check = 11 - remainder
    if check == 10:
        return 0
    if check == 11:
        return 5
    return check


def make_tracking_number(service: str, serial: int | str, country: str = "VN") -> str:
    serial = f"{int(serial):08d}"
    return f"{service}{serial}{s10_check_digit(serial)}{country}"


def is_valid_tracking_number(value: str) -> bool:
    match = S10_RE.match(value or "")
    return bool(match) and s10_check_digit(match.group(2)) == int(match.group(3))


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"[\s.\-()]", "", phone or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits


def validate_recipient(
    *, dossier_code: str, recipient_name: str, address: str, phone: str, weight_grams: int
) -> dict[str, str]:
    """Check what a counter clerk checks; return the cleaned values or raise ValidationFailed
    (code `postal_invalid`) listing every problem by field, in Vietnamese."""
    errors: dict[str, list[str]] = {}
    name = " ".join(unicodedata.normalize("NFC", recipient_name or "").split())
    address_clean = " ".join(unicodedata.normalize("NFC", address or "").split())
    phone_clean = normalise_phone(phone)
    code = (dossier_code or "").strip()

    if not code:
        errors["dossier_code"] = ["Thiếu mã hồ sơ gửi kèm bưu gửi."]
    if len(name) < 2:
        errors["recipient_name"] = ["Thiếu họ tên người nhận."]
    elif len(name) > 100:
        errors["recipient_name"] = ["Họ tên người nhận dài quá 100 ký tự."]
    if len(address_clean) < 10 or "," not in address_clean:
        errors["address"] = [
            "Địa chỉ nhận không đủ để phát: cần số nhà hoặc thôn/tổ, xã/phường và tỉnh/thành "
            "phố, cách nhau bằng dấu phẩy."
        ]
    elif len(address_clean) > 255:
        errors["address"] = ["Địa chỉ nhận dài quá 255 ký tự."]
    if not phone_clean:
        errors["phone"] = ["Thiếu số điện thoại người nhận."]
    elif not PHONE_RE.match(phone_clean):
        errors["phone"] = [
            "Số điện thoại người nhận không hợp lệ: cần 10 chữ số (di động, ví dụ 0912345678) "
            "hoặc 11 chữ số (cố định, ví dụ 02633812345)."
        ]
    if not isinstance(weight_grams, int) or isinstance(weight_grams, bool):
        errors["weight_grams"] = ["Khối lượng bưu gửi phải là số gam nguyên."]
    elif not 1 <= weight_grams <= MAX_WEIGHT_GRAMS:
        errors["weight_grams"] = [
            f"Khối lượng bưu gửi phải từ 1 đến {MAX_WEIGHT_GRAMS:,} gam.".replace(",", ".")
        ]
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, code="postal_invalid", details=errors)
    return {
        "dossier_code": code,
        "recipient_name": name,
        "address": address_clean,
        "phone": phone_clean,
    }


class PostalGateway(ABC):
    """A carrier for returning results by post. Implementations must be safe to use from
    several processes at once and must not keep per-request state on the instance."""

    name: str = ""

    @abstractmethod
    def ship(
        self,
        *,
        dossier_code: str,
        recipient_name: str,
        address: str,
        phone: str,
        weight_grams: int = 100,
    ) -> Shipment:
        """Hand an item to the carrier; return its tracking number and acceptance time.
        Raises ValidationFailed (bad recipient data) or PostalUnavailable."""

    @abstractmethod
    def status(self, tracking_number: str) -> ShipmentStatus:
        """Where the item is. Raises NotFound `shipment_not_found` for an unknown number and
        ValidationFailed `tracking_number_invalid` for a malformed one."""


class SimulatorGateway(PostalGateway):
    """A local stand-in for VNPost's public postal service (see the module docstring)."""

    name = "Mô phỏng bưu chính công ích"
    service_indicator = "EB"
    # Hours after acceptance at which the item reaches each state.
    SCHEDULE: tuple[tuple[str, timedelta], ...] = (
        (ShipmentState.ACCEPTED, timedelta(0)),
        (ShipmentState.IN_TRANSIT, timedelta(hours=2)),
        (ShipmentState.OUT_FOR_DELIVERY, timedelta(hours=24)),
        (ShipmentState.DELIVERED, timedelta(hours=48)),
    )

    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory or Path(settings.VAR_DIR) / "postal")

    def _path(self, tracking_number: str) -> Path:
        return self.directory / f"{tracking_number}.json"

    def ship(
        self,
        *,
        dossier_code: str,
        recipient_name: str,
        address: str,
        phone: str,
        weight_grams: int = 100,
        now: datetime | None = None,
    ) -> Shipment:
        clean = validate_recipient(
            dossier_code=dossier_code,
            recipient_name=recipient_name,
            address=address,
            phone=phone,
            weight_grams=weight_grams,
        )
        accepted_at = now or timezone.now()
        self.directory.mkdir(parents=True, exist_ok=True)
        record = {
            **clean,
            "weight_grams": weight_grams,
            "accepted_at": accepted_at.isoformat(),
        }
        for _attempt in range(20):
            number = make_tracking_number(self.service_indicator, secrets.randbelow(10**8))
            try:
                # "x": created exclusively, so a number is never issued twice.
                with open(self._path(number), "x", encoding="utf-8") as fh:
                    json.dump({"tracking_number": number, **record}, fh, ensure_ascii=False)
            except FileExistsError:
                continue
            except OSError as exc:
                raise PostalUnavailable(
                    "Không ghi nhận được bưu gửi. Vui lòng thử lại sau."
                ) from exc
            return Shipment(tracking_number=number, accepted_at=accepted_at)
        raise PostalUnavailable("Không cấp được số hiệu bưu gửi. Vui lòng thử lại sau.")

    def _load(self, tracking_number: str) -> dict:
        number = (tracking_number or "").strip().upper()
        if not is_valid_tracking_number(number):
            raise ValidationFailed(
                "Số hiệu bưu gửi không hợp lệ (dạng EB123456785VN).",
                code="tracking_number_invalid",
            )
        try:
            return json.loads(self._path(number).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound(
                "Không tìm thấy bưu gửi với số hiệu này.", code="shipment_not_found"
            ) from None

    def status(self, tracking_number: str, *, now: datetime | None = None) -> ShipmentStatus:
        record = self._load(tracking_number)
        accepted_at = datetime.fromisoformat(record["accepted_at"])
        now = now or timezone.now()
        history = tuple(
            (state, accepted_at + after)
            for state, after in self.SCHEDULE
            if accepted_at + after <= now
        ) or ((ShipmentState.ACCEPTED, accepted_at),)
        state, at = history[-1]
        return ShipmentStatus(
            tracking_number=record["tracking_number"],
            state=state,
            label=ShipmentState(state).label,
            at=at,
            detail=f"Người nhận: {record['recipient_name']}" if state == "delivered" else "",
            history=history,
        )

    def shipments(self) -> list[dict]:
        """Every recorded item (for the demo and tests)."""
        if not self.directory.exists():
            return []
        return [
            json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(self.directory.glob("*.json"))
        ]


@functools.lru_cache(maxsize=8)
def _load_backend(path: str) -> type[PostalGateway]:
    cls = import_string(BACKENDS.get(path, path))
    if not (isinstance(cls, type) and issubclass(cls, PostalGateway)):
        raise TypeError(f"{path} is not a PostalGateway")
    return cls


def get_gateway() -> PostalGateway:
    """The configured carrier (`settings.CQS_POSTAL_BACKEND`, default the simulator)."""
    path = getattr(settings, "CQS_POSTAL_BACKEND", DEFAULT_BACKEND) or DEFAULT_BACKEND
    return _load_backend(path)()


__all__ = [
    "BACKENDS",
    "PostalGateway",
    "PostalUnavailable",
    "Shipment",
    "ShipmentState",
    "ShipmentStatus",
    "SimulatorGateway",
    "get_gateway",
    "is_valid_tracking_number",
    "make_tracking_number",
    "s10_check_digit",
    "validate_recipient",
]
