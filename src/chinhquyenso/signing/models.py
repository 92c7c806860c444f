"""Tables of the signing module: the trust store.

A trusted certificate is either a trust anchor (a root: chains ending there are trusted) or an
intermediate kept only to build chains when a signed PDF does not embed it (the Government CA's
issuing certificate is the usual case). Only active rows are used. Rows are never edited, only
added or switched off/removed by an administrator (services.trust).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TrustKind(models.TextChoices):
    ANCHOR = "anchor", _("Chứng thư gốc tin cậy")  # chains ending here are trusted
    INTERMEDIATE = "intermediate", _("Chứng thư trung gian")  # only helps to build chains


class TrustedCertificate(models.Model):
    kind = models.CharField(_("loại"), max_length=16, choices=TrustKind.choices)
    subject = models.CharField(_("chủ thể"), max_length=500)
    issuer = models.CharField(_("tổ chức cấp"), max_length=500)
    serial = models.CharField(_("số hiệu"), max_length=80)
    sha256 = models.CharField(_("dấu vân tay SHA-256"), max_length=64, unique=True)
    not_before = models.DateTimeField(_("hiệu lực từ"))
    not_after = models.DateTimeField(_("hiệu lực đến"))
    der = models.BinaryField(_("chứng thư (DER)"))
    is_active = models.BooleanField(_("đang dùng"), default=True)
    note = models.CharField(_("ghi chú"), max_length=255, blank=True)
    added_at = models.DateTimeField(_("thêm lúc"), auto_now_add=True)

    class Meta:
        verbose_name = _("chứng thư tin cậy")
        verbose_name_plural = _("kho chứng thư tin cậy")
        ordering = ["kind", "subject"]

    def __str__(self) -> str:
        return self.subject
