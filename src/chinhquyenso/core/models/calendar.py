"""Working-day calendar data: administrator overrides and office sessions."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class OverrideKind(models.TextChoices):
    DAY_OFF = "day_off", _("Ngày nghỉ (thêm)")
    WORKING_DAY = "working_day", _("Ngày làm việc (làm bù)")


class CalendarOverride(models.Model):
    """An exception to the statutory calendar: an extra day off (e.g. a nghỉ bù the government
    announces), or a day that becomes working (làm bù on a Saturday). With no organisation it
    applies everywhere; with one, to that organisation and everything under it."""

    date = models.DateField(_("ngày"))
    kind = models.CharField(_("loại"), max_length=12, choices=OverrideKind.choices)
    organisation = models.ForeignKey(
        "core.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calendar_overrides",
        verbose_name=_("áp dụng cho"),
    )
    reason = models.CharField(_("lý do, căn cứ"), max_length=255)
    created_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ngày nghỉ/làm bù điều chỉnh")
        verbose_name_plural = _("ngày nghỉ/làm bù điều chỉnh")
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "organisation"], name="calendar_override_date_org_uniq"
            ),
            models.UniqueConstraint(
                fields=["date"],
                condition=models.Q(organisation__isnull=True),
                name="calendar_override_date_global_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%d/%m/%Y} – {self.get_kind_display()}"


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Thứ Hai")
    TUESDAY = 1, _("Thứ Ba")
    WEDNESDAY = 2, _("Thứ Tư")
    THURSDAY = 3, _("Thứ Năm")
    FRIDAY = 4, _("Thứ Sáu")
    SATURDAY = 5, _("Thứ Bảy")
    SUNDAY = 6, _("Chủ nhật")


class OfficeSession(models.Model):
    """One office session on one weekday (e.g. Monday 07:30–11:30). With no organisation, the
    default for everybody; an organisation with its own sessions (for itself or the nearest
    ancestor that has some) uses those instead."""

    organisation = models.ForeignKey(
        "core.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="office_sessions",
    )
    weekday = models.PositiveSmallIntegerField(_("thứ"), choices=Weekday.choices)
    start = models.TimeField(_("bắt đầu"))
    end = models.TimeField(_("kết thúc"))

    class Meta:
        verbose_name = _("giờ làm việc")
        verbose_name_plural = _("giờ làm việc")
        ordering = ["organisation_id", "weekday", "start"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start and self.end and self.start >= self.end:
            raise ValidationError({"end": _("Giờ kết thúc phải sau giờ bắt đầu.")})
