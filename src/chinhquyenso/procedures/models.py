"""Procedures, their versions (the legal content) and internal processes (quy trình nội bộ).

A procedure's legal content is versioned: every change creates a new immutable
`ProcedureVersion`, and a dossier keeps the version it was received under. Internal processes
are versioned the same way per (procedure, organisation); a running dossier follows the process
version it started with.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Field(models.Model):
    """Lĩnh vực: Hộ tịch, Chứng thực, Đất đai…"""

    name = models.CharField(_("tên lĩnh vực"), max_length=200, unique=True)
    code = models.CharField(_("mã"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("lĩnh vực")
        verbose_name_plural = _("lĩnh vực")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImplementingLevel(models.TextChoices):
    PROVINCE = "province", _("Cấp tỉnh")
    DISTRICT = "district", _("Cấp huyện (trước 01/07/2025)")
    COMMUNE = "commune", _("Cấp xã")
    CENTRAL = "central", _("Cấp trung ương")
    OTHER = "other", _("Cơ quan khác")


class TimeUnit(models.TextChoices):
    """How a processing time is counted; read per procedure (DOMAIN.md §8.2)."""

    WORKING_DAYS = "working_days", _("ngày làm việc")
    WORKING_HOURS = "working_hours", _("giờ làm việc")
    CALENDAR_DAYS = "calendar_days", _("ngày")


class OnlineService(models.TextChoices):
    """Decree 42/2022/NĐ-CP Art. 11; the old Decree 43/2011 levels are shown alongside."""

    FULL = "full", _("Toàn trình (mức độ 4 cũ)")
    PARTIAL = "partial", _("Một phần (mức độ 3 cũ)")
    NONE = "none", _("Không trực tuyến (mức độ 2 cũ)")


# The Decree 42/2022 name alone and the Decree 43/2011 level it corresponds to (DOMAIN.md §4).
ONLINE_SERVICE_NEW_LABELS = {
    OnlineService.FULL: _("Dịch vụ công trực tuyến toàn trình"),
    OnlineService.PARTIAL: _("Dịch vụ công trực tuyến một phần"),
    OnlineService.NONE: _("Không cung cấp dịch vụ công trực tuyến"),
}
ONLINE_SERVICE_OLD_LEVELS = {
    OnlineService.FULL: _("Mức độ 4"),
    OnlineService.PARTIAL: _("Mức độ 3"),
    OnlineService.NONE: _("Mức độ 2"),
}


class Procedure(models.Model):
    national_code = models.CharField(_("mã thủ tục"), max_length=40, unique=True)
    field = models.ForeignKey(Field, on_delete=models.PROTECT, related_name="procedures")
    level = models.CharField(_("cấp thực hiện"), max_length=10, choices=ImplementingLevel.choices)
    organisations = models.ManyToManyField(
        "core.Organisation",
        blank=True,
        related_name="procedures",
        verbose_name=_("cơ quan thực hiện"),
    )
    # Decree 118/2025 Art. ...: received anywhere in the province (TTHC phi địa giới).
    location_independent = models.BooleanField(_("tiếp nhận phi địa giới"), default=False)
    current_version = models.ForeignKey(
        "ProcedureVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(_("đang áp dụng"), default=True)
    # The implementing level as the source wrote it ("Cấp xã, Cơ quan khác"); `level` is the
    # first level recognised in it.
    level_text = models.CharField(_("cấp thực hiện (nguyên văn)"), max_length=200, blank=True)
    # Code, current name and field folded to lower case without diacritics ("dang ky khai sinh"),
    # so that search is accent-insensitive on every database. Maintained by the services.
    search_text = models.TextField(blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("thủ tục hành chính")
        verbose_name_plural = _("thủ tục hành chính")
        ordering = ["national_code"]

    def __str__(self) -> str:
        name = self.current_version.name if self.current_version_id else ""
        return f"{self.national_code} {name}".strip()


class ProcedureVersion(models.Model):
    """The legal content of a procedure at one point in time. Never edited after creation."""

    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(_("tên thủ tục"), max_length=500)
    processing_time = models.DecimalField(
        _("thời hạn giải quyết"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    processing_unit = models.CharField(
        _("đơn vị thời hạn"), max_length=16, choices=TimeUnit.choices, default=TimeUnit.WORKING_DAYS
    )
    processing_time_text = models.CharField(_("thời hạn (nguyên văn)"), max_length=500, blank=True)
    # [{"label": "Lệ phí đăng ký khai sinh", "amount_vnd": 0, "note": ""}]
    fees = models.JSONField(_("phí, lệ phí"), default=list, blank=True)
    # [{"name": ..., "copy_type": "bản chính"|"bản sao"|..., "quantity": 1,
    #   "state_holds_data": false, "required": true}]
    documents = models.JSONField(_("thành phần hồ sơ"), default=list, blank=True)
    result_type = models.CharField(_("kết quả thực hiện"), max_length=500, blank=True)
    legal_basis = models.JSONField(_("căn cứ pháp lý"), default=list, blank=True)
    online_service = models.CharField(
        _("dịch vụ công trực tuyến"),
        max_length=8,
        choices=OnlineService.choices,
        default=OnlineService.NONE,
    )
    forms = models.JSONField(_("mẫu đơn, tờ khai"), default=list, blank=True)
    # [{"code": "direct"|"online"|"postal", "label": "Trực tiếp", "time_text": ...,
    #   "fee_text": ..., "note": ...}]: how the procedure may be submitted (cách thức thực hiện).
    channels = models.JSONField(_("cách thức thực hiện"), default=list, blank=True)
    decision = models.CharField(_("quyết định công bố"), max_length=120, blank=True)
    source = models.JSONField(_("nguồn"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    change_note = models.CharField(_("nội dung thay đổi"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("phiên bản thủ tục")
        verbose_name_plural = _("phiên bản thủ tục")
        ordering = ["procedure_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "number"], name="procversion_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.procedure.national_code} v{self.number}"

    @property
    def online_service_label(self) -> str:
        return str(ONLINE_SERVICE_NEW_LABELS.get(self.online_service, self.online_service))

    @property
    def online_service_old_level(self) -> str:
        return str(ONLINE_SERVICE_OLD_LEVELS.get(self.online_service, ""))


class Process(models.Model):
    """The internal process of one procedure in one organisation, one version of it."""

    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="processes")
    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="processes"
    )
    number = models.PositiveIntegerField(_("phiên bản"))
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("quy trình nội bộ")
        verbose_name_plural = _("quy trình nội bộ")
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "organisation", "number"], name="process_version_uniq"
            ),
            models.UniqueConstraint(
                fields=["procedure", "organisation"],
                condition=models.Q(is_current=True),
                name="process_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.procedure.national_code} @ {self.organisation} v{self.number}"


class StepKind(models.TextChoices):
    RECEIVE = "receive", _("Tiếp nhận")
    HANDLE = "handle", _("Thẩm định, xử lý")
    APPROVE = "approve", _("Lãnh đạo phê duyệt")
    TRANSFER = "transfer", _("Chuyển liên thông")
    RETURN = "return", _("Trả kết quả")


class ProcessStep(models.Model):
    """One step: who is responsible, how long it may take, where it may go next."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(_("thứ tự"))
    name = models.CharField(_("tên bước"), max_length=255)
    kind = models.CharField(_("loại bước"), max_length=10, choices=StepKind.choices)
    unit = models.ForeignKey(
        "core.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("đơn vị thực hiện"),
    )
    role = models.CharField(_("vai trò"), max_length=20)
    allotment_minutes = models.PositiveIntegerField(_("thời gian (phút làm việc)"))
    # For TRANSFER steps: the organisation whose process takes over (liên thông).
    transfer_to = models.ForeignKey(
        "core.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Orders of the steps this one may go to besides the next (send back for rework...).
    allowed_next = models.JSONField(default=list, blank=True)
    # False when the step may not simply go on to the following one (alternative branches):
    # its only ways out are then `allowed_next`. Use `queries.next_orders(step)`.
    can_forward = models.BooleanField(_("được chuyển bước kế tiếp"), default=True)

    class Meta:
        verbose_name = _("bước xử lý")
        verbose_name_plural = _("bước xử lý")
        ordering = ["process_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["process", "order"], name="processstep_order_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"
