"""Sending SMS through a brandname gateway, behind one small contract (STYLE.md habit 14).

The platform talks to `SmsGateway`; which one is used is the dotted path in
`settings.SMS_BACKEND` (environment variable SMS_BACKEND), instantiated with the brandname
`settings.SMS_BRANDNAME`. The default, `SimulatorGateway`, sends nothing: it records each message
as an `SmsSimulatorMessage` row, so a laptop demo and the tests need no telecom contract.

Phone numbers: Vietnamese mobile numbers only, written 0xxxxxxxxx (10 digits) or +84xxxxxxxxx /
84xxxxxxxxx; spaces, dots, dashes and brackets are ignored. Since the 2018 renumbering mobile
numbers start 03, 05, 07, 08 or 09; landlines (02x) cannot receive SMS. `normalise_phone`
returns the E.164 form +84xxxxxxxxx; a gateway converts it to whatever its API wants.

Length: a message in the GSM 03.38 alphabet (Vietnamese without diacritics) holds 160
characters, or 153 per part when split; one character outside it (any Vietnamese letter with a
diacritic) makes the whole message UCS-2: 70 characters, 67 per part. Telcos bill per part, and
brandname contracts usually cap the parts; `SmsGateway.max_parts` enforces the cap.
`SmsGateway.unicode` = False sends text without diacritics (`strip_diacritics`), for contracts
that only allow unsigned messages.

How to add a real brandname gateway (VNPT, Viettel, MobiFone, or an aggregator):

1. Subclass `SmsGateway` in a module of your own (e.g. `chinhquyenso.core.sms_vnpt`), set
   `unicode`/`max_parts` to what the contract allows, and implement `send(*, phone, text,
   request_id)`: call the provider's API with `phone` (already +84…, convert as needed), `text`
   (already checked by `prepare`) and `request_id` as the client reference, so the provider can
   drop a duplicate when a retried task sends the same message twice. Read credentials from
   environment variables (`chinhquyenso.envparse`, `*_FILE` for secrets), never from code.
2. Return the provider's message id. Raise `SmsRejected` when the provider refuses the message
   for good (bad number, blocked content, brandname not registered for that telco: not retried,
   the notification ends "failed"), and `SmsError` (or let a network error escape) when it may
   work later: the delivery task retries with backoff.
3. Set SMS_BACKEND to the class's dotted path and SMS_BRANDNAME to the registered brandname.
   Test it against the provider's sandbox; keep the simulator for the test suite.
"""

from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The gateway could not take the message now; trying again later may work."""


class SmsRejected(SmsError):
    """The message can never be sent as it is (bad number, too long, refused content)."""


class InvalidPhoneNumber(SmsRejected):
    pass


# --- Phone numbers --------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s.\-()]")
MOBILE_PREFIXES = ("3", "5", "7", "8", "9")


def normalise_phone(raw: str) -> str:
    """+84xxxxxxxxx for a Vietnamese mobile number; InvalidPhoneNumber (Vietnamese) otherwise."""
    value = _SEPARATORS.sub("", raw or "")
    if not value:
        raise InvalidPhoneNumber("Chưa có số điện thoại nhận tin nhắn.")
    if value.startswith("+84"):
        national = value[3:]
    elif value.startswith("84") and len(value) == 11:
        national = value[2:]
    elif value.startswith("0"):
        national = value[1:]
    else:
        raise InvalidPhoneNumber(
            f"Số điện thoại “{raw}” không hợp lệ: cần dạng 0xxxxxxxxx hoặc +84xxxxxxxxx."
        )
    if not national.isdigit() or len(national) != 9:
        raise InvalidPhoneNumber(
            f"Số điện thoại “{raw}” không hợp lệ: số di động Việt Nam gồm 10 chữ số (0xxxxxxxxx)."
        )
    if not national.startswith(MOBILE_PREFIXES):
        raise InvalidPhoneNumber(
            f"Số điện thoại “{raw}” không phải số di động (đầu số 03, 05, 07, 08, 09)."
        )
    return "+84" + national


# --- Text length ----------------------------------------------------------------------------

# GSM 03.38 basic alphabet, and the extension table whose characters take two septets.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    parts: int
    per_part: int


def measure(text: str) -> SmsLength:
    """How many parts `text` takes (160/153 GSM-7, 70/67 UCS-2 characters per part)."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return SmsLength(encoding, units, 1 if units else 0, single)
    return SmsLength(encoding, units, -(-units // multi), multi)


def strip_diacritics(text: str) -> str:
    """Vietnamese without diacritics ("Hồ sơ đã được duyệt" → "Ho so da duoc duyet")."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    )


# --- Gateways -------------------------------------------------------------------------------


class SmsGateway(ABC):
    """A brandname SMS provider. Subclasses implement `send`; see the module docstring."""

    #: Whether the contract allows Vietnamese with diacritics (UCS-2).
    unicode: bool = True
    #: The most parts one message may take.
    max_parts: int = 4

    def __init__(self, *, brandname: str):
        self.brandname = brandname

    def prepare(self, text: str) -> str:
        """The text to send, or SmsRejected if it cannot be sent under this contract."""
        text = (text or "").strip()
        if not self.unicode:
            text = strip_diacritics(text)
        if not text:
            raise SmsRejected("Tin nhắn không có nội dung.")
        length = measure(text)
        if length.parts > self.max_parts:
            raise SmsRejected(
                f"Tin nhắn quá dài: {length.units} ký tự {length.encoding} = {length.parts} "
                f"tin, tối đa {self.max_parts} tin ({self.max_parts * length.per_part} ký tự)."
            )
        return text

    @abstractmethod
    def send(self, *, phone: str, text: str, request_id: str) -> str:
        """Hand the message to the provider; return the provider's message id.

        `phone` is +84xxxxxxxxx, `text` passed `prepare`, `request_id` is unique per message and
        the same on every retry of it (pass it on, so the provider can drop duplicates).
        """


class SimulatorGateway(SmsGateway):
    """Sends nothing; records what a real gateway would send (idempotent on request_id)."""

    def send(self, *, phone: str, text: str, request_id: str) -> str:
        from chinhquyenso.core.models import SmsSimulatorMessage

        try:
            with transaction.atomic():
                message, _ = SmsSimulatorMessage.objects.get_or_create(
                    request_id=request_id,
                    defaults={"brandname": self.brandname, "phone": phone, "text": text},
                )
        except IntegrityError:
            message = SmsSimulatorMessage.objects.get(request_id=request_id)
        return f"sim-{message.pk}"


# Short names accepted in SMS_BACKEND besides a dotted path.
GATEWAYS: dict[str, str] = {"simulator": "chinhquyenso.core.sms.SimulatorGateway"}


def get_gateway() -> SmsGateway:
    """The gateway configured by settings.SMS_BACKEND, with settings.SMS_BRANDNAME."""
    path = GATEWAYS.get(settings.SMS_BACKEND, settings.SMS_BACKEND)
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"SMS_BACKEND={path!r} không nạp được: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, SmsGateway)):
        raise ImproperlyConfigured(f"SMS_BACKEND={path!r} không phải một SmsGateway.")
    return cls(brandname=settings.SMS_BRANDNAME)


def fits(text: str) -> bool:
    """Whether the configured gateway would accept `text` (its alphabet and its parts cap), so
    that a caller can shorten a message before queueing it rather than have it fail later."""
    gateway = get_gateway()
    text = (text or "").strip()
    if not gateway.unicode:
        text = strip_diacritics(text)
    return bool(text) and measure(text).parts <= gateway.max_parts


def send_sms(*, phone: str, text: str, request_id: str) -> str:
    """Normalise, check and send one message through the configured gateway."""
    gateway = get_gateway()
    return gateway.send(
        phone=normalise_phone(phone), text=gateway.prepare(text), request_id=request_id
    )
