"""Messages to people (in-app, e-mail, SMS) with their delivery state."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    IN_APP = "in_app", _("Trong ứng dụng")
    EMAIL = "email", _("Thư điện tử")
    SMS = "sms", _("Tin nhắn SMS")


class DeliveryState(models.TextChoices):
    QUEUED = "queued", _("Đang chờ gửi")  # written, not yet handed to the channel
    SENT = "sent", _("Đã gửi")  # the channel accepted it
    DELIVERED = "delivered", _("Đã nhận")  # the channel confirmed delivery, or in-app shown
    FAILED = "failed", _("Gửi lỗi")  # gave up after the last retry; last_error says why


class Notification(models.Model):
    recipient = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    channel = models.CharField(_("kênh"), max_length=8, choices=Channel.choices)
    address = models.CharField(_("địa chỉ nhận"), max_length=255, blank=True)
    subject = models.CharField(_("tiêu đề"), max_length=255, blank=True)
    body = models.TextField(_("nội dung"))
    link = models.CharField(max_length=255, blank=True)
    state = models.CharField(
        _("trạng thái"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("thông báo")
        verbose_name_plural = _("thông báo")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "channel", "read_at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.address or self.recipient_id}"


class SmsSimulatorMessage(models.Model):
    """What the local SMS simulator received: the message a real brandname gateway would send."""

    brandname = models.CharField(max_length=20)
    phone = models.CharField(max_length=20)
    text = models.TextField()
    request_id = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.brandname} → {self.phone}"
