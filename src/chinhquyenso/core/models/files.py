"""Stored files: each distinct content once, named by its SHA-256."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class StoredFile(models.Model):
    sha256 = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField(_("kích thước"))
    content_type = models.CharField(_("kiểu nội dung"), max_length=120)
    original_name = models.CharField(_("tên tệp"), max_length=255)
    storage_name = models.CharField(max_length=255)
    created_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    organisation = models.ForeignKey(
        "core.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when a read found bytes that no longer match sha256; such a file is never served.
    integrity_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("tệp lưu trữ")
        verbose_name_plural = _("tệp lưu trữ")

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]})"
