"""Pages of the signing module: validate a PDF; registered certificates; the trust store."""

from __future__ import annotations

from functools import wraps

from asn1crypto import x509 as asn1_x509
from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import DomainError, NotFound
from chinhquyenso.core.errors import PermissionDenied as DomainPermissionDenied
from chinhquyenso.core.forms import BootstrapMixin
from chinhquyenso.core.models import Organisation, User
from chinhquyenso.core.views.account import login_required_page
from chinhquyenso.signing import certificates, expiry, services, trust, validation
from chinhquyenso.signing.api import read_upload
from chinhquyenso.signing.models import (
    CertificatePurpose,
    KeyStorage,
    TrustedCertificate,
    TrustKind,
)


class ValidateForm(forms.Form):
    file = forms.FileField(
        label=_("Tệp PDF đã ký"), help_text=_("Tối đa 50 MB. Tệp không được lưu lại.")
    )


@require_http_methods(["GET", "POST"])
def validate_page(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not permissions.can(request.user, "signature.validate"):
        raise PermissionDenied
    report, error = None, None
    form = ValidateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            report = validation.validate_pdf(read_upload(form.cleaned_data["file"]))
        except DomainError as exc:
            error = exc.message
    status = 400 if error else 200
    return render(
        request,
        "signing/validate.html",
        {"form": form, "report": report, "error": error},
        status=status,
    )


# --- Registered certificates and the trust store (issue #4, "Certificates and trust") -----------
# Thin: parse a form, call `signing.certificates` (or the trust-store services), render. Objects
# are looked up inside the person's scope: an id outside it is a 404 like one that does not exist.

CERTIFICATES_PER_PAGE = 50
CERT_ACCEPT = ".pem,.crt,.cer,.der,.p12,.pfx"


def _decorate(rows, now=None):
    """Status badge and key usage labels for the templates."""
    now = now or timezone.now()
    government = trust.government_fingerprints()
    for row in rows:
        row.status = expiry.status_of(row, now=now)
        row.usage_labels = [
            certificates.KEY_USAGE_LABELS.get(u, u) for u in getattr(row, "key_usage", [])
        ]
        row.is_government = row.sha256 in government
        parsed = asn1_x509.Certificate.load(bytes(row.der))
        row.subject_view = certificates.describe_name(parsed.subject)
        row.issuer_view = certificates.describe_name(parsed.issuer)
    return rows


def _page(allowed):
    """A page decorator: signed in (else the login page) and `allowed(user)` (else 403); the
    services' NotFound / PermissionDenied become 404 / 403."""

    def decorator(view):
        @wraps(view)
        @login_required_page
        def wrapped(request, *args, **kwargs):
            if not allowed(request.user):
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from None
            except DomainPermissionDenied:
                raise PermissionDenied from None

        return wrapped

    return decorator


# An official with a current position who may register a certificate (their own, or as admin).
_official_page = _page(
    lambda user: (
        permissions.can(user, certificates.REGISTER_OWN)
        or permissions.can(user, certificates.MANAGE)
    )
)


class CertificateForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=_("Tệp chứng thư số"),
        help_text=_(
            "PEM hoặc DER (.pem, .crt, .cer) hoặc PKCS#12 (.p12, .pfx), tối đa 1 MB. Chỉ chứng "
            "thư được lưu; khóa bí mật trong tệp PKCS#12 không bao giờ được lưu."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": CERT_ACCEPT}),
    )
    password = forms.CharField(
        label=_("Mật khẩu tệp PKCS#12"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text=_("Chỉ dùng một lần để đọc chứng thư; không được lưu lại."),
    )
    purpose = forms.ChoiceField(
        label=_("Mục đích"), choices=CertificatePurpose.choices, initial=CertificatePurpose.PERSONAL
    )
    holder = forms.ModelChoiceField(
        label=_("Cán bộ sở hữu"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("— Chính tôi —"),
        help_text=_("Với chữ ký số cá nhân."),
    )
    organisation = forms.ModelChoiceField(
        label=_("Cơ quan, tổ chức"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("— Chọn —"),
        help_text=_("Với chữ ký số của cơ quan, tổ chức (con dấu)."),
    )
    key_storage = forms.ChoiceField(
        label=_("Nơi giữ khóa bí mật"),
        choices=[("", _("— Tự nhận biết —")), *KeyStorage.choices],
        required=False,
    )
    token_label = forms.CharField(
        label=_("Nhãn thiết bị ký (PKCS#11)"), max_length=100, required=False
    )
    key_label = forms.CharField(label=_("Nhãn khóa (PKCS#11)"), max_length=100, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_admin = permissions.can(user, certificates.MANAGE)
        if self.is_admin:
            self.fields["holder"].queryset = certificates.officials_manageable_by(user)
            self.fields["holder"].label_from_instance = lambda u: f"{u} ({u.username})"
            self.fields["organisation"].queryset = permissions.organisations_for(
                user, certificates.MANAGE
            )
        else:
            for name in ("purpose", "holder", "organisation"):
                del self.fields[name]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size is not None and upload.size > certificates.MAX_CERTIFICATE_BYTES:
            raise forms.ValidationError(_("Tệp chứng thư quá lớn (tối đa 1 MB)."))
        return upload


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
@_official_page
def certificates_page(request):
    """The certificates the person may see, and the registration form."""
    user = request.user
    form = CertificateForm(request.POST or None, request.FILES or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        purpose = data.get("purpose") or CertificatePurpose.PERSONAL
        seal = purpose == CertificatePurpose.ORGANISATION
        try:
            row = certificates.register_certificate(
                actor=user,
                data=data["file"].read(),
                password=data["password"] or None,
                purpose=purpose,
                holder_user=None if seal else data.get("holder"),
                organisation=data.get("organisation") if seal else None,
                key_storage=data["key_storage"],
                token_label=data["token_label"],
                key_label=data["key_label"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Đã đăng ký chứng thư số %(s)s.") % {"s": row.subject})
            return redirect("signing:certificate_detail", pk=row.pk)
    rows = certificates.certificates_visible_to(user).order_by("-is_active", "not_after", "pk")
    page_obj = Paginator(rows, CERTIFICATES_PER_PAGE).get_page(request.GET.get("trang"))
    _decorate(page_obj.object_list)
    return render(
        request,
        "signing/certificates.html",
        {"form": form, "page_obj": page_obj, "rows": page_obj.object_list},
        status=400 if form.errors else 200,
    )


@require_GET
@_official_page
def certificate_detail(request, pk: int):
    row = certificates.get_certificate_for(request.user, pk)
    _decorate([row])
    return render(
        request,
        "signing/certificates_detail.html",
        {
            "cert": row,
            "can_deactivate": row.is_active and certificates.can_deactivate(request.user, row),
        },
    )


@require_POST
@_official_page
def certificate_deactivate(request, pk: int):
    row = certificates.get_certificate_for(request.user, pk)
    try:
        certificates.deactivate_certificate(
            actor=request.user, certificate_id=row.pk, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        if isinstance(exc, DomainPermissionDenied):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Đã ngừng dùng chứng thư số %(s)s.") % {"s": row.subject})
    return redirect("signing:certificate_detail", pk=row.pk)


class TrustForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=_("Tệp chứng thư (PEM hoặc DER)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pem,.crt,.cer,.der"}),
    )
    kind = forms.ChoiceField(label=_("Loại"), choices=TrustKind.choices, initial=TrustKind.ANCHOR)
    note = forms.CharField(label=_("Ghi chú"), max_length=255, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size is not None and upload.size > certificates.MAX_CERTIFICATE_BYTES:
            raise forms.ValidationError(_("Tệp chứng thư quá lớn (tối đa 1 MB)."))
        return upload


# The trust store is shared by every agency: top-level administrators only.
_trust_page = _page(lambda user: permissions.can_installation_wide(user, certificates.TRUST_MANAGE))


@require_http_methods(["GET", "POST"])
@_trust_page
def trust_page(request):
    form = TrustForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rows = services.add_trusted_certificate(
                actor=request.user, data=data["file"].read(), kind=data["kind"], note=data["note"]
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request,
                _("Đã thêm %(n)d chứng thư vào kho tin cậy.") % {"n": len(rows)},
            )
            return redirect("signing:trust")
    rows = _decorate(list(TrustedCertificate.objects.order_by("kind", "subject")))
    return render(
        request,
        "signing/trust.html",
        {"form": form, "rows": rows},
        status=400 if form.errors else 200,
    )


@require_POST
@_trust_page
def trust_toggle(request, sha256: str):
    row = TrustedCertificate.objects.filter(sha256=sha256).only("is_active", "subject").first()
    if row is None:
        raise Http404
    services.set_trusted_certificate_active(
        actor=request.user, sha256=sha256, active=not row.is_active
    )
    if row.is_active:
        messages.success(request, _("Đã tắt chứng thư %(s)s.") % {"s": row.subject})
    else:
        messages.success(request, _("Đã bật lại chứng thư %(s)s.") % {"s": row.subject})
    return redirect("signing:trust")


@require_POST
@_trust_page
def trust_remove(request, sha256: str):
    row = TrustedCertificate.objects.filter(sha256=sha256).only("subject").first()
    if row is None:
        raise Http404
    services.remove_trusted_certificate(actor=request.user, sha256=sha256)
    messages.success(request, _("Đã gỡ chứng thư %(s)s khỏi kho tin cậy.") % {"s": row.subject})
    return redirect("signing:trust")
