"""Forms for the core pages. They parse and validate input only; services do the writing.

Labels are Vietnamese source strings (translated to English through the catalogue). Forms are
rendered with Bootstrap markup by `core/forms/form.html`.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chinhquyenso.core import permissions
from chinhquyenso.core.models import AdministrativeUnit, Organisation, Role
from chinhquyenso.core.models.calendar import OverrideKind
from chinhquyenso.core.models.organisations import AdminLevel, OrganisationKind
from chinhquyenso.core.services.apikeys import KNOWN_SCOPES

DATE_PLACEHOLDER = "dd/mm/yyyy"


class DateInput(forms.DateInput):
    """A text box for dd/mm/yyyy: the browser's own date picker would post yyyy-mm-dd and show
    the date in the browser's locale, not ours."""

    def __init__(self, attrs=None):
        base = {"placeholder": DATE_PLACEHOLDER, "inputmode": "numeric", "autocomplete": "off"}
        super().__init__(attrs={**base, **(attrs or {})}, format="%d/%m/%Y")


class DateField(forms.DateField):
    """dd/mm/yyyy in every language (the English locale would otherwise read 05/01 as May 1st);
    yyyy-mm-dd is accepted too."""

    input_formats = ["%d/%m/%Y", "%Y-%m-%d"]

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", DateInput())
        kwargs.setdefault("error_messages", {"invalid": _("Nhập ngày theo dạng dd/mm/yyyy.")})
        super().__init__(**kwargs)


class BootstrapMixin:
    """Bootstrap classes on widgets, `is-invalid` on fields with errors, our form template."""

    template_name = "core/forms/form.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def _mark_invalid(self, name):
        field = self.fields.get(name) if name else None
        if field is not None and "is-invalid" not in field.widget.attrs.get("class", ""):
            field.widget.attrs["class"] = f"{field.widget.attrs.get('class', '')} is-invalid"

    def full_clean(self):
        super().full_clean()
        for name in getattr(self, "_errors", None) or {}:
            self._mark_invalid(name)

    def add_error(self, field, error):
        super().add_error(field, error)
        self._mark_invalid(field)

    def add_domain_error(self, exc) -> None:
        """Show a service's DomainError: per-field details where the form has that field,
        the message on top otherwise."""
        placed = False
        details = getattr(exc, "details", None)
        if isinstance(details, dict):
            for name, messages in details.items():
                if name in self.fields and name not in (self._errors or {}):
                    for message in messages if isinstance(messages, list) else [messages]:
                        self.add_error(name, str(message))
                    placed = True
        if not placed:
            self.add_error(None, exc.message)


# --- Sign-in -------------------------------------------------------------------------------


class LoginForm(BootstrapMixin, AuthenticationForm):
    """Django's AuthenticationForm: it calls `authenticate(request, ...)`, which django-axes
    needs to count failures and lock out."""

    error_messages = {
        "invalid_login": _(
            "Tên đăng nhập hoặc mật khẩu không đúng. Lưu ý: nhập sai nhiều lần, tài khoản sẽ bị "
            "tạm khóa."
        ),
        "inactive": _("Tài khoản này đã bị vô hiệu hóa."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Tên đăng nhập")
        self.fields["username"].help_text = _(
            "Cán bộ: tên đăng nhập được cấp. Công dân: số định danh cá nhân (12 chữ số). "
            "Doanh nghiệp: mã số thuế."
        )
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].label = _("Mật khẩu")


class TokenForm(BootstrapMixin, forms.Form):
    token = forms.CharField(
        label=_("Mã xác thực (6 chữ số)"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "autofocus": True,
            }
        ),
    )

    def clean_token(self):
        token = self.cleaned_data["token"].replace(" ", "")
        if not token.isdigit():
            raise forms.ValidationError(_("Mã xác thực chỉ gồm chữ số."))
        return token


# --- Organisations -------------------------------------------------------------------------


def _org_choice_label(org: Organisation) -> str:
    return f"{'— ' * org.depth}{org.name}"


class OrganisationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _org_choice_label(obj)


class OrganisationMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        code = f" ({obj.org_code})" if obj.org_code else ""
        return f"{_org_choice_label(obj)}{code}"


class OrganisationForm(BootstrapMixin, forms.Form):
    """Create or edit an organisation. The administrative unit is chosen as a province, then
    (optionally) one of its communes; the commune list is reloaded by htmx."""

    name = forms.CharField(label=_("Tên cơ quan, đơn vị"), max_length=255)
    short_name = forms.CharField(label=_("Tên viết tắt"), max_length=60, required=False)
    kind = forms.ChoiceField(
        label=_("Loại"), choices=OrganisationKind.choices, initial=OrganisationKind.UNIT
    )
    org_code = forms.CharField(
        label=_("Mã định danh"),
        max_length=13,
        required=False,
        help_text=_("Mã định danh điện tử của cơ quan, ví dụ 000.00.00.H41."),
    )
    province = forms.ModelChoiceField(
        label=_("Tỉnh/Thành phố"),
        queryset=AdministrativeUnit.objects.filter(level=AdminLevel.PROVINCE).order_by("name"),
        required=False,
        empty_label=_("— Chưa chọn —"),
    )
    commune = forms.ModelChoiceField(
        label=_("Xã/Phường/Đặc khu"),
        queryset=AdministrativeUnit.objects.filter(level=AdminLevel.COMMUNE),
        required=False,
        empty_label=_("— Cả tỉnh/thành phố —"),
    )
    address = forms.CharField(label=_("Địa chỉ"), max_length=255, required=False)
    phone = forms.CharField(label=_("Điện thoại"), max_length=30, required=False)
    email = forms.EmailField(label=_("Thư điện tử"), required=False)

    SERVICE_FIELDS = ("name", "short_name", "kind", "org_code", "address", "phone", "email")

    def __init__(self, *args, user=None, with_parent=False, **kwargs):
        super().__init__(*args, **kwargs)
        if with_parent:
            # New organisations go under one the user may manage; only a superuser may add a
            # top-level one (a new province committee).
            self.fields = {
                "parent": OrganisationChoiceField(
                    label=_("Cơ quan cấp trên"),
                    queryset=permissions.organisations_for(user, "organisation.manage")
                    .filter(is_active=True)
                    .order_by("path"),
                    required=not user.is_superuser,
                    empty_label=_("— Không có (cấp cao nhất) —")
                    if user.is_superuser
                    else _("— Chọn —"),
                ),
                **self.fields,
            }
            self.fields["parent"].widget.attrs["class"] = "form-select"
        # Only the selected province's communes are offered (3,321 options would be unusable).
        province_id = self._province_id()
        communes = self.fields["commune"]
        communes.queryset = communes.queryset.filter(parent_id=province_id).order_by("name")
        communes.widget.attrs["id"] = "id_commune"
        self.fields["province"].widget.attrs.update(
            {
                "hx-get": reverse("core:admin_unit_options"),
                "hx-target": "#id_commune",
                "hx-trigger": "change",
            }
        )

    def _province_id(self):
        if self.is_bound:
            value = self.data.get(self.add_prefix("province"))
        else:
            value = self.initial.get("province")
            value = getattr(value, "pk", value)
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    @classmethod
    def initial_for(cls, org: Organisation) -> dict:
        initial = {name: getattr(org, name) or "" for name in cls.SERVICE_FIELDS}
        unit = org.admin_unit
        if unit is not None:
            if unit.level == AdminLevel.PROVINCE:
                initial["province"] = unit.pk
            else:
                initial["province"] = unit.parent_id
                initial["commune"] = unit.pk
        return initial

    def clean(self):
        data = super().clean()
        province, commune = data.get("province"), data.get("commune")
        if commune is not None and province is not None and commune.parent_id != province.pk:
            self.add_error("commune", _("Xã/phường không thuộc tỉnh/thành phố đã chọn."))
        data["org_code"] = (data.get("org_code") or "").strip().upper() or None
        return data

    def service_fields(self) -> dict:
        data = self.cleaned_data
        fields = {name: data.get(name) for name in self.SERVICE_FIELDS}
        for name in ("short_name", "address", "phone", "email"):
            fields[name] = fields[name] or ""
        fields["admin_unit"] = data.get("commune") or data.get("province")
        return fields


class MergeForm(BootstrapMixin, forms.Form):
    sources = OrganisationMultipleChoiceField(
        label=_("Các cơ quan, đơn vị được hợp nhất"),
        queryset=Organisation.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text=_("Giữ phím Ctrl (hoặc Cmd) để chọn nhiều."),
    )
    target = OrganisationChoiceField(
        label=_("Hợp nhất vào"), queryset=Organisation.objects.none(), empty_label=_("— Chọn —")
    )
    on_date = DateField(label=_("Ngày có hiệu lực"), initial=timezone.localdate)
    reason = forms.CharField(
        label=_("Căn cứ, lý do"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Ví dụ: Nghị quyết số .../NQ-UBTVQH15 về sắp xếp đơn vị hành chính."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = permissions.organisations_for(user, "organisation.merge").filter(is_active=True)
        self.fields["sources"].queryset = allowed.order_by("path")
        self.fields["target"].queryset = allowed.order_by("path")

    def clean(self):
        data = super().clean()
        sources, target = data.get("sources"), data.get("target")
        if sources and target and target in sources:
            self.add_error("sources", _("Cơ quan nhận hợp nhất không được nằm trong danh sách."))
        return data


# --- People --------------------------------------------------------------------------------


def _managed_organisations(user):
    return (
        permissions.organisations_for(user, "person.manage").filter(is_active=True).order_by("path")
    )


class OfficialForm(BootstrapMixin, forms.Form):
    username = forms.CharField(
        label=_("Tên đăng nhập"),
        max_length=150,
        help_text=_("Chữ cái không dấu, chữ số và . _ - (ví dụ: nguyenvan.an)."),
    )
    full_name = forms.CharField(label=_("Họ và tên"), max_length=150)
    organisation = OrganisationChoiceField(
        label=_("Cơ quan, đơn vị"), queryset=Organisation.objects.none(), empty_label=_("— Chọn —")
    )
    role = forms.ChoiceField(label=_("Vai trò"), choices=Role.choices)
    title = forms.CharField(label=_("Chức danh"), max_length=120, required=False)
    email = forms.EmailField(label=_("Thư điện tử"), required=False)
    phone = forms.CharField(label=_("Số điện thoại"), max_length=20, required=False)
    password1 = forms.CharField(
        label=_("Mật khẩu"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Ít nhất 10 ký tự, không quá đơn giản."),
    )
    password2 = forms.CharField(
        label=_("Nhập lại mật khẩu"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = _managed_organisations(user)

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") != data.get("password1"):
            self.add_error("password2", _("Hai lần nhập mật khẩu không khớp."))
        return data


class PositionForm(BootstrapMixin, forms.Form):
    organisation = OrganisationChoiceField(
        label=_("Cơ quan, đơn vị"), queryset=Organisation.objects.none(), empty_label=_("— Chọn —")
    )
    role = forms.ChoiceField(label=_("Vai trò"), choices=Role.choices)
    title = forms.CharField(label=_("Chức danh"), max_length=120, required=False)
    is_primary = forms.BooleanField(label=_("Vị trí chính"), required=False)
    start_date = DateField(label=_("Từ ngày"), required=False, initial=timezone.localdate)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = _managed_organisations(user)


class PersonSearchForm(forms.Form):
    q = forms.CharField(label=_("Tìm kiếm"), required=False, max_length=100)


# --- Calendar ------------------------------------------------------------------------------


class OverrideForm(BootstrapMixin, forms.Form):
    date = DateField(label=_("Ngày"))
    kind = forms.ChoiceField(label=_("Loại"), choices=OverrideKind.choices)
    reason = forms.CharField(
        label=_("Lý do, căn cứ"),
        max_length=255,
        help_text=_("Ví dụ: Thông báo số .../TB-BNV về lịch nghỉ Tết."),
    )
    organisation = OrganisationChoiceField(
        label=_("Áp dụng cho"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("Tất cả cơ quan, đơn vị"),
        help_text=_("Để trống: áp dụng cho mọi cơ quan; chọn một cơ quan: cơ quan đó và cấp dưới."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = (
            permissions.organisations_for(user, "calendar.manage")
            .filter(is_active=True)
            .order_by("path")
        )


# --- Audit ---------------------------------------------------------------------------------


class AuditFilterForm(BootstrapMixin, forms.Form):
    action = forms.CharField(label=_("Mã hành động"), required=False, max_length=80)
    actor = forms.CharField(label=_("Người thực hiện"), required=False, max_length=150)
    object_type = forms.CharField(label=_("Loại đối tượng"), required=False, max_length=60)
    object_id = forms.CharField(label=_("Mã đối tượng"), required=False, max_length=64)
    date_from = DateField(label=_("Từ ngày"), required=False)
    date_to = DateField(label=_("Đến ngày"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].widget.attrs["list"] = "audit-actions"

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("Ngày kết thúc không được trước ngày bắt đầu."))
        return data


# --- API keys ------------------------------------------------------------------------------


class ApiKeyForm(BootstrapMixin, forms.Form):
    organisation = OrganisationChoiceField(
        label=_("Cơ quan, đơn vị"), queryset=Organisation.objects.none(), empty_label=_("— Chọn —")
    )
    name = forms.CharField(
        label=_("Tên khóa"),
        max_length=120,
        help_text=_("Hệ thống nào dùng khóa này, ví dụ: Cổng dịch vụ công tỉnh."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Phạm vi"),
        # Callable: modules add their scopes to KNOWN_SCOPES when they load.
        choices=lambda: sorted(KNOWN_SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    expires_on = DateField(
        label=_("Hết hạn ngày"),
        required=False,
        help_text=_("Để trống: không tự hết hạn."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = (
            permissions.organisations_for(user, "apikey.manage")
            .filter(is_active=True)
            .order_by("path")
        )

    def clean_expires_on(self):
        day = self.cleaned_data.get("expires_on")
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError(_("Ngày hết hạn phải sau hôm nay."))
        return day
