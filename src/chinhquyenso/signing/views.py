"""Pages of the signing module: upload a PDF and read its validation report."""

from __future__ import annotations

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import DomainError
from chinhquyenso.signing import validation
from chinhquyenso.signing.api import read_upload


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
