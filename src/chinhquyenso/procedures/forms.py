"""Forms of the procedures pages. They parse input only; the services decide and write."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from chinhquyenso.core.models import Role
from chinhquyenso.procedures.models import ImplementingLevel, StepKind
from chinhquyenso.procedures.services import StepSpec

MAX_IMPORT_BYTES = 20 * 1024 * 1024


def _bootstrap(form: forms.BaseForm) -> None:
    """Bootstrap classes on the widgets. Called from __init__, so it must not look at
    `form.errors` (that would clean the form before a formset adds its DELETE field)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-sm" if form.prefix else "form-select"
        else:
            css = "form-control form-control-sm" if form.prefix else "form-control"
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class CatalogueFilterForm(forms.Form):
    q = forms.CharField(label=_("Tìm theo mã hoặc tên"), required=False, max_length=200)
    linh_vuc = forms.TypedChoiceField(label=_("Lĩnh vực"), required=False, coerce=int)
    cap = forms.ChoiceField(
        label=_("Cấp thực hiện"),
        required=False,
        choices=[("", _("Tất cả các cấp")), *ImplementingLevel.choices],
    )

    def __init__(self, *args, fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["linh_vuc"].choices = [("", _("Tất cả lĩnh vực"))] + [
            (f.pk, f.name) for f in fields
        ]
        self.fields["q"].widget.attrs.update(
            {"type": "search", "placeholder": _("Ví dụ: khai sinh")}
        )
        _bootstrap(self)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Tệp danh mục (JSON hoặc Excel .xlsx)"),
        help_text=_(
            "Định dạng Cổng Dịch vụ công quốc gia hoặc tệp xuất từ hệ thống này. Tối đa 20 MB."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".json,.xlsx,application/json"
        _bootstrap(self)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("Tệp quá lớn (tối đa 20 MB)."))
        return upload


ALLOTMENT_UNITS = (("ngay", _("ngày")), ("gio", _("giờ")), ("phut", _("phút")))


def allotment_initial(minutes: int, day_minutes: int) -> tuple[Decimal, str]:
    """How to show an allotment in the editor: whole days, else hours, else minutes."""
    if minutes % day_minutes == 0:
        return Decimal(minutes // day_minutes), "ngay"
    if minutes % 15 == 0:
        return (Decimal(minutes) / 60).normalize(), "gio"
    return Decimal(minutes), "phut"


class StepForm(forms.Form):
    name = forms.CharField(label=_("Tên bước"), max_length=255)
    kind = forms.ChoiceField(label=_("Loại bước"), choices=StepKind.choices)
    unit = forms.ModelChoiceField(label=_("Đơn vị thực hiện"), queryset=None)
    role = forms.ChoiceField(label=_("Vai trò"), choices=Role.choices)
    allotment = forms.DecimalField(
        label=_("Thời gian"), min_value=Decimal("0.01"), max_digits=9, decimal_places=2
    )
    allotment_unit = forms.ChoiceField(label=_("Đơn vị"), choices=ALLOTMENT_UNITS)
    transfer_to = forms.ModelChoiceField(
        label=_("Chuyển liên thông tới"), queryset=None, required=False
    )
    allowed_next = forms.CharField(
        label=_("Được chuyển tới bước"),
        required=False,
        max_length=100,
        help_text=_("Số thứ tự các bước, cách nhau bởi dấu phẩy, ví dụ: 2, 5"),
    )
    can_forward = forms.BooleanField(label=_("Chuyển bước kế tiếp"), required=False, initial=True)

    def __init__(self, *args, units=None, targets=None, day_minutes=450, **kwargs):
        super().__init__(*args, **kwargs)
        self.day_minutes = day_minutes
        self.fields["unit"].queryset = units
        self.fields["transfer_to"].queryset = targets
        self.fields["allowed_next"].widget.attrs["placeholder"] = "2, 5"
        _bootstrap(self)

    def clean_allowed_next(self) -> tuple[int, ...]:
        text = self.cleaned_data.get("allowed_next") or ""
        orders = []
        for part in text.replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not (part.isascii() and part.isdigit()):  # "²".isdigit() is true; int() refuses it
                raise forms.ValidationError(_("Chỉ nhập số thứ tự bước, cách nhau bởi dấu phẩy."))
            orders.append(int(part))
        return tuple(sorted(set(orders)))

    def minutes(self) -> int:
        value = self.cleaned_data["allotment"]
        factor = {"ngay": self.day_minutes, "gio": 60, "phut": 1}[
            self.cleaned_data["allotment_unit"]
        ]
        return int((value * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def spec(self) -> StepSpec:
        data = self.cleaned_data
        return StepSpec(
            name=data["name"],
            kind=data["kind"],
            unit=data["unit"],
            role=data["role"],
            allotment_minutes=self.minutes(),
            transfer_to=data.get("transfer_to"),
            allowed_next=data["allowed_next"],
            can_forward=bool(data.get("can_forward")),
        )

    @staticmethod
    def initial_for(spec: StepSpec, day_minutes: int) -> dict:
        amount, unit = allotment_initial(spec.allotment_minutes, day_minutes)
        return {
            "name": spec.name,
            "kind": spec.kind,
            "unit": spec.unit.pk,
            "role": spec.role,
            "allotment": amount,
            "allotment_unit": unit,
            "transfer_to": spec.transfer_to.pk if spec.transfer_to else None,
            "allowed_next": ", ".join(str(n) for n in spec.allowed_next),
            "can_forward": spec.can_forward,
        }


StepFormSet = forms.formset_factory(
    StepForm, extra=0, can_delete=True, max_num=50, validate_max=True
)
