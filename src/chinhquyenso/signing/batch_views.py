"""The bulk-signing page for leaders: upload several PDFs, choose the key, sign with one PIN
entry, download a ZIP of the signed PDFs with a summary of failures (signing/batch.py)."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import DomainError
from chinhquyenso.signing import batch, services
from chinhquyenso.signing.api import read_upload

LEVEL_CHOICES = [
    ("B-T", _("B-T — có dấu thời gian (khuyến nghị)")),
    ("B-LT", _("B-LT — lưu trữ dài hạn (kèm thông tin thu hồi)")),
    ("B-B", _("B-B — chữ ký cơ bản")),
]
KEY_CHOICES = [
    ("pkcs12", _("Tệp khóa PKCS#12 (.p12/.pfx) và mật khẩu")),
    ("pkcs11", _("Thiết bị ký (token/HSM PKCS#11) và mã PIN")),
    ("remote", _("Ký số từ xa (xác nhận trên điện thoại)")),
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list."""

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class BatchForm(forms.Form):
    files = MultipleFileField(
        label=_("Các tệp PDF cần ký"),
        widget=MultipleFileInput(attrs={"accept": "application/pdf"}),
        help_text=_("Tối đa %(n)s tệp, mỗi tệp tối đa 50 MB.") % {"n": batch.MAX_BATCH},
    )
    level = forms.ChoiceField(label=_("Mức chữ ký"), choices=LEVEL_CHOICES, initial="B-T")
    reason = forms.CharField(label=_("Lý do ký"), max_length=200, required=False)
    key_kind = forms.ChoiceField(
        label=_("Khóa ký"), choices=KEY_CHOICES, widget=forms.RadioSelect, initial="pkcs12"
    )
    p12_file = forms.FileField(label=_("Tệp khóa PKCS#12"), required=False)
    password = forms.CharField(
        label=_("Mật khẩu tệp khóa"), required=False, widget=forms.PasswordInput
    )
    token_label = forms.CharField(label=_("Nhãn thiết bị ký"), max_length=100, required=False)
    key_label = forms.CharField(label=_("Nhãn khóa trên thiết bị"), max_length=100, required=False)
    remote_user = forms.CharField(label=_("Tài khoản ký số từ xa"), max_length=100, required=False)
    pin = forms.CharField(
        label=_("Mã PIN (thiết bị ký hoặc ký số từ xa)"),
        required=False,
        widget=forms.PasswordInput,
    )


def _summary(results, when) -> str:
    ok = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    lines = [
        "KẾT QUẢ KÝ SỐ HÀNG LOẠT",
        f"Thời điểm: {when:%d/%m/%Y %H:%M}",
        f"Đã ký: {len(ok)}/{len(results)} tài liệu",
    ]
    if failed:
        lines += ["", "Tài liệu chưa ký được (giữ nguyên, không thay đổi):"]
        lines += [f"- {r.name}: {r.message} (mã lỗi: {r.code})" for r in failed]
    return "\n".join(lines) + "\n"


def _signed_name(name: str, used: set[str]) -> str:
    stem = PurePath(name).stem or "tai-lieu"
    candidate, n = f"{stem}-da-ky.pdf", 1
    while candidate in used:
        n += 1
        candidate = f"{stem}-da-ky-{n}.pdf"
    used.add(candidate)
    return candidate


def _zip(results, when) -> bytes:
    out, used = io.BytesIO(), set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for result in results:
            if result.ok:
                archive.writestr(_signed_name(result.name, used), result.signed)
        archive.writestr("KET-QUA.txt", _summary(results, when))
    return out.getvalue()


@never_cache
@sensitive_post_parameters("password", "pin")
@require_http_methods(["GET", "POST"])
def batch_page(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not permissions.can(request.user, "signature.sign_batch"):
        raise PermissionDenied
    initial = {
        "token_label": getattr(settings, "SIGNING_PKCS11_TOKEN", ""),
        "key_label": request.user.username,
        "remote_user": request.user.username,
    }
    form = BatchForm(request.POST or None, request.FILES or None, initial=initial)
    error, results = None, None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            uploads = data["files"]
            batch.check_batch(actor=request.user, count=len(uploads))
            items = [
                batch.BatchItem(name=f.name or f"tai-lieu-{i + 1}.pdf", pdf_bytes=read_upload(f))
                for i, f in enumerate(uploads)
            ]
            p12 = data.get("p12_file")
            with batch.open_key(
                kind=data["key_kind"],
                count=len(items),
                p12_data=read_upload(p12) if p12 else None,
                password=data["password"],
                token_label=data["token_label"],
                key_label=data["key_label"],
                pin=data["pin"],
                remote_user=data["remote_user"],
                description=f"Ký {len(items)} tài liệu trên hệ thống Chính quyền số",
            ) as key:
                results = batch.sign_batch(
                    actor=request.user,
                    items=items,
                    key=key,
                    level=data["level"],
                    options=services.SignOptions(reason=data["reason"]),
                )
        except DomainError as exc:
            error = exc.message
        if results and any(r.ok for r in results):
            when = timezone.localtime()
            response = HttpResponse(_zip(results, when), content_type="application/zip")
            response["Content-Disposition"] = (
                f'attachment; filename="ky-hang-loat-{when:%Y%m%d-%H%M}.zip"'
            )
            return response
    status = 400 if (error or results or form.errors) else 200
    return render(
        request,
        "signing/batch.html",
        {"form": form, "error": error, "results": results},
        status=status,
    )
