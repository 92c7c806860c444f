"""Forms of the one-stop back-office pages. They parse input only: the services check the
rules and give the Vietnamese messages (`place_error` puts them next to the right field)."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from chinhquyenso.core.forms import BootstrapMixin, DateField
from chinhquyenso.dossiers.models import Channel, ResultDelivery, SatisfactionLevel
from chinhquyenso.dossiers.services.rating import CRITERIA

DATETIME_PLACEHOLDER = "dd/mm/yyyy HH:MM"


def place_error(form: forms.Form, exc) -> None:
    """A service's DomainError on `form`: list-valued details go next to fields the form has;
    the message always goes on top (a document's name in `details` is not a field error)."""
    details = getattr(exc, "details", None)
    placed = set()
    if isinstance(details, dict):
        for name, messages in details.items():
            if name in form.fields and isinstance(messages, list):
                for message in messages:
                    form.add_error(name, str(message))
                placed.add(name)
        index = details.get("index")
        if getattr(exc, "code", "") == "missing_document" and f"doc_{index}" in form.fields:
            form.add_error(f"doc_{index}", exc.message)
    if not placed or exc.message not in form.non_field_errors():
        form.add_error(None, exc.message)


class ProcedureSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Tìm thủ tục"),
        required=False,
        widget=forms.TextInput(
            attrs={
                "class": "form-control",
                "placeholder": _("Mã hoặc tên thủ tục, ví dụ 1.001193 hoặc khai sinh"),
                "autocomplete": "off",
            }
        ),
    )


APPLICANT_KINDS = [("citizen", _("Công dân")), ("business", _("Tổ chức, doanh nghiệp"))]


class IntakeForm(BootstrapMixin, forms.Form):
    """The desk's intake form for one procedure version: applicant, channel, result delivery,
    the checklist (`doc_<i>` ticks and `scan_<i>` uploads, for documents the applicant must
    provide; the ones the state holds are not asked)."""

    kind = forms.ChoiceField(label=_("Người nộp là"), choices=APPLICANT_KINDS, initial="citizen")
    id_number = forms.CharField(
        label=_("Số định danh cá nhân / mã số thuế"),
        max_length=20,
        help_text=_(
            "Công dân: số định danh cá nhân 12 chữ số. Tổ chức, doanh nghiệp: mã số thuế 10 chữ "
            "số (đơn vị phụ thuộc: 10 chữ số-3 chữ số, ví dụ 0101234567-001)."
        ),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    name = forms.CharField(label=_("Họ tên người nộp / tên tổ chức"), max_length=200)
    phone = forms.CharField(label=_("Điện thoại"), max_length=20, required=False)
    email = forms.CharField(label=_("Thư điện tử"), max_length=254, required=False)
    address = forms.CharField(label=_("Địa chỉ"), max_length=255, required=False)
    channel = forms.TypedChoiceField(
        label=_("Kênh tiếp nhận"), choices=Channel.choices, coerce=int, initial=Channel.DIRECT
    )
    result_delivery = forms.ChoiceField(
        label=_("Hình thức nhận kết quả"),
        choices=ResultDelivery.choices,
        initial=ResultDelivery.DESK,
    )
    # One key per form shown: posted twice (a double click, the browser's "resend"), the
    # intake receives one dossier (services.receive_dossier `intake_key`).
    intake_key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, documents: list[dict] = (), reusable: dict | None = None, **kwargs):
        if not args or args[0] is None:
            kwargs.setdefault("initial", {}).setdefault("intake_key", uuid.uuid4().hex)
        self.spec = list(documents or [])
        # index -> the applicant's earlier DossierDocuments of that name (digitisation).
        self.reusable = reusable or {}
        super().__init__(*args, **kwargs)
        self.checklist = []
        for i, doc in enumerate(self.spec):
            if doc.get("state_holds_data"):
                self.checklist.append({"index": i, "doc": doc, "state": True})
                continue
            required = doc.get("required", True)
            self.fields[f"doc_{i}"] = forms.BooleanField(
                label=doc.get("name", ""),
                required=False,
                widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
            )
            self.fields[f"scan_{i}"] = forms.FileField(
                label=_("Bản quét"),
                required=False,
                widget=forms.ClearableFileInput(
                    attrs={"class": "form-control form-control-sm", "accept": ".pdf,image/*"}
                ),
            )
            earlier = self.reusable.get(i) or []
            if earlier:
                self.fields[f"reuse_{i}"] = forms.TypedChoiceField(
                    label=doc.get("name", ""),
                    required=False,
                    coerce=int,
                    empty_value=None,
                    choices=[("", _("Không dùng lại"))]
                    + [(e.pk, f"{e.dossier.code} · {e.file.original_name}") for e in earlier],
                    widget=forms.RadioSelect,
                )
            self.checklist.append(
                {
                    "index": i,
                    "doc": doc,
                    "state": False,
                    "required": required,
                    "tick": self[f"doc_{i}"],
                    "scan": self[f"scan_{i}"],
                    "reuse": self[f"reuse_{i}"] if earlier else None,
                }
            )
        self.applicant_fields = [self[n] for n in ("kind", "id_number", "name", "phone")] + [
            self[n] for n in ("email", "address")
        ]
        self.delivery_fields = [self["channel"], self["result_delivery"]]

    def applicant(self) -> dict:
        data = self.cleaned_data
        return {k: data.get(k, "") for k in ("kind", "id_number", "name", "phone", "email")} | {
            "address": data.get("address", "")
        }


# --- Actions on a dossier -------------------------------------------------------------------


class ActionForm(BootstrapMixin, forms.Form):
    expected_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class CommentForm(ActionForm):
    comment = forms.CharField(
        label=_("Ý kiến"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ForwardForm(CommentForm):
    to_step = forms.TypedChoiceField(label=_("Bước tiếp theo"), coerce=int, choices=())

    def __init__(self, *args, steps=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_step"].choices = [(s.order, f"{s.order}. {s.name}") for s in steps]


class SendBackForm(ActionForm):
    comment = forms.CharField(
        label=_("Lý do trả lại"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReasonForm(ActionForm):
    reason = forms.CharField(
        label=_("Lý do"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class TransferForm(CommentForm):
    to_organisation = forms.TypedChoiceField(label=_("Chuyển đến cơ quan"), coerce=int, choices=())

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_organisation"].choices = [(o.pk, o.name) for o in organisations]


class AssignForm(CommentForm):
    handler = forms.TypedChoiceField(label=_("Giao cho"), coerce=int, choices=())

    def __init__(self, *args, handlers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["handler"].choices = [(u.pk, u.full_name or u.username) for u in handlers]


class SupplementRequestForm(ReasonForm):
    missing = forms.MultipleChoiceField(
        label=_("Giấy tờ cần bổ sung"),
        required=False,
        choices=(),
        widget=forms.CheckboxSelectMultiple,
    )
    other = forms.CharField(
        label=_("Giấy tờ khác (mỗi dòng một giấy tờ)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["missing"].choices = [(name, name) for name in documents]

    def missing_documents(self) -> list[str]:
        names = list(self.cleaned_data.get("missing") or [])
        names += [line.strip() for line in self.cleaned_data.get("other", "").splitlines()]
        return [n for n in names if n]


class ReceiveSupplementForm(CommentForm):
    scan = forms.FileField(label=_("Bản quét giấy tờ bổ sung"), required=False)


class ConfirmPaymentForm(ActionForm):
    reference = forms.CharField(label=_("Số biên lai / mã giao dịch"), required=False)


class PaymentRequestForm(ReasonForm):
    pass


class ApologyForm(ReasonForm):
    new_due_at = forms.DateTimeField(
        label=_("Ngày hẹn trả mới"),
        input_formats=["%d/%m/%Y %H:%M"],
        widget=forms.DateTimeInput(
            format="%d/%m/%Y %H:%M",
            attrs={"placeholder": DATETIME_PLACEHOLDER, "autocomplete": "off"},
        ),
        error_messages={"invalid": _("Nhập thời điểm theo dạng dd/mm/yyyy HH:MM.")},
    )


class ReturnToDeskForm(CommentForm):
    result = forms.FileField(label=_("Tệp kết quả"), required=False)


class ReturnResultForm(ActionForm):
    method = forms.ChoiceField(label=_("Hình thức trả"), choices=ResultDelivery.choices)
    recipient = forms.CharField(
        label=_("Họ tên người nhận (ký nhận)"),
        required=False,
        max_length=200,
        help_text=_("Gửi qua bưu chính: để trống thì gửi cho người nộp hồ sơ."),
    )


KEY_SOURCES = [
    ("pkcs12", _("Tệp chứng thư số (PKCS#12: .p12, .pfx)")),
    ("token", _("Thiết bị ký (USB token)")),
]
MAX_P12_BYTES = 256 * 1024


class SignResultForm(ActionForm):
    """The signer's key for "Ký số kết quả": a PKCS#12 file and its password, or the PIN of the
    configured USB token. Neither the password nor the PIN is ever shown again or stored."""

    source = forms.ChoiceField(
        label=_("Khóa ký"), choices=KEY_SOURCES, initial="pkcs12", widget=forms.RadioSelect
    )
    p12 = forms.FileField(label=_("Tệp chứng thư số (.p12, .pfx)"), required=False)
    password = forms.CharField(
        label=_("Mật khẩu tệp chứng thư số"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    pin = forms.CharField(
        label=_("Mã PIN thiết bị ký"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, token: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not token:
            self.fields["source"].choices = KEY_SOURCES[:1]
            del self.fields["pin"]

    def clean(self):
        data = super().clean()
        if data.get("source") == "token":
            if not data.get("pin"):
                self.add_error("pin", _("Nhập mã PIN của thiết bị ký."))
            return data
        upload = data.get("p12")
        if not upload:
            self.add_error("p12", _("Chọn tệp chứng thư số (.p12, .pfx)."))
        elif upload.size > MAX_P12_BYTES:
            self.add_error("p12", _("Tệp chứng thư số quá lớn (tối đa 256 KB)."))
        if not data.get("password"):
            self.add_error("password", _("Nhập mật khẩu của tệp chứng thư số."))
        return data


# --- Supervision, register, kiosk -----------------------------------------------------------


class PeriodForm(BootstrapMixin, forms.Form):
    to_chuc = forms.TypedChoiceField(label=_("Cơ quan, đơn vị"), coerce=int, choices=())
    tu = DateField(label=_("Từ ngày"), required=False)
    den = DateField(label=_("Đến ngày"), required=False)

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_chuc"].choices = [(o.pk, o.name) for o in organisations]

    def clean(self):
        data = super().clean()
        if data.get("tu") and data.get("den") and data["den"] < data["tu"]:
            raise forms.ValidationError(_("“Đến ngày” không được trước “Từ ngày”."))
        return data


SCORE_CHOICES = [("", "—"), ("3", _("Tốt")), ("2", _("Bình thường")), ("1", _("Chưa tốt"))]


class KioskForm(forms.Form):
    level = forms.TypedChoiceField(
        choices=SatisfactionLevel.choices,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Xin chọn một mức độ hài lòng."),
            "invalid_choice": _("Xin chọn một mức độ hài lòng."),
        },
    )
    comment = forms.CharField(
        label=_("Góp ý (không bắt buộc)"),
        required=False,
        max_length=2000,
        # A line break counts as two characters once sent: the browser's limit is not enough.
        error_messages={"max_length": _("Góp ý dài quá: xin viết gọn trong 2.000 ký tự.")},
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-lg"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in CRITERIA.items():
            self.fields[key] = forms.ChoiceField(
                label=label, choices=SCORE_CHOICES, required=False, widget=forms.RadioSelect
            )
        self.criteria_fields = [self[key] for key in CRITERIA]

    def criteria(self) -> dict:
        return {k: self.cleaned_data.get(k) for k in CRITERIA if self.cleaned_data.get(k)}

    def error_text(self) -> str:
        """Every error of the form in one line, a criterion's prefixed with its name."""
        return " ".join(
            f"{self.fields[name].label}: {error}" if name in CRITERIA else str(error)
            for name, field_errors in self.errors.items()
            for error in field_errors
        )
