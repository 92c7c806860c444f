"""The audit trail: append-only, hash-chained (each entry's hash covers the previous hash)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One thing somebody did. Written only by `core.services.audit.record`, in the same
    transaction as the change it describes; never updated or deleted by the application."""

    at = models.DateTimeField(_("thời điểm"), db_index=True)
    actor = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(_("người thực hiện"), max_length=150, blank=True)
    action = models.CharField(_("hành động"), max_length=80, db_index=True)
    object_type = models.CharField(_("loại đối tượng"), max_length=60, blank=True)
    object_id = models.CharField(_("mã đối tượng"), max_length=64, blank=True)
    organisation = models.ForeignKey(
        "core.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    data = models.JSONField(_("chi tiết"), default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("nhật ký")
        verbose_name_plural = _("nhật ký hệ thống")
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("Audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Audit entries are append-only")


class AuditChainHead(models.Model):
    """A single row locked while appending, so concurrent writers chain in a strict order."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_entry_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"#{self.last_entry_id} {self.last_hash[:12]}"
